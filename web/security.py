"""Security headers on every response: a strict Content-Security-Policy and the usual companions.

Pages get a policy that allows only this origin's scripts, styles and images, and websockets back
to this host for `/ws`. Everything else (JSON, CSV, metrics, static files) gets a policy that
allows nothing at all, since none of it is meant to be rendered as a document.
"""

from __future__ import annotations

import re

from flask import Flask, Response, request

# The page policy. No 'unsafe-inline' anywhere: templates load scripts and styles from /static
# and pass settings as data-* attributes. uPlot sizes its elements through element.style (CSSOM),
# which style-src does not block.
PAGE_CSP = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
# Non-HTML answers are data: if a browser is ever tricked into rendering one, it may run nothing.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone",
    "payment", "usb",
))
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# The Host header is the client's to choose: only a plain host[:port] may enter the policy, so a
# crafted one cannot append directives (CSP3 'self' already covers same-host ws: and wss:).
_PLAIN_HOST = re.compile(r"^[A-Za-z0-9.\-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$")


def page_csp(host: str) -> str:
    """The page policy for a request to `host`, allowing its own `/ws` websocket."""
    connect = "connect-src 'self'"
    if _PLAIN_HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join((*PAGE_CSP, connect))


def _add_headers(response: Response) -> Response:
    """Set the headers on one response; a view that set its own keeps them."""
    policy = page_csp(request.host) if response.mimetype == "text/html" else DATA_CSP
    response.headers.setdefault("Content-Security-Policy", policy)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    """Register the headers for every response of `app`, error pages included."""
    app.after_request(_add_headers)
