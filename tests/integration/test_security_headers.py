"""Security headers on every response (pages, API, errors, static files), templates that need no
inline code under the CSP, and no HTTP route an outsider can use to write state or publish."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from core.state import RedisState
from core.types import Quote
from tests.support.apps import app_with
from tests.support.procs import ROOT
from web.security import DATA_CSP

pytestmark = pytest.mark.integration

PAGES = ("/", "/opportunities", "/feeds", "/reports", "/symbol/BTC-USD")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Routes accepting a write method, each with the credentials-free status it must answer. The web
# app is read-only today; a write or admin route added later must be listed here with its auth.
WRITE_ROUTES_NEEDING_AUTH: dict[str, int] = {}
# Path parameters for calling every GET route once.
SAMPLE_PATHS = {"/symbol/<symbol>": "/symbol/BTC-USD",
                "/api/reports/<rid>.json": "/api/reports/daily-2026-11-24.json",
                "/api/reports/<rid>.csv": "/api/reports/daily-2026-11-24.csv",
                "/static/<path:filename>": "/static/js/common.js"}
COMMON = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
          "Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"}


@pytest.fixture
def app(private_state: RedisState) -> Flask:
    now = time.time_ns()
    private_state.update_quotes([Quote("kraken", "BTC-USD", 100.0, 1.0, 101.0, 1.0, None,
                                       now, now)])
    return app_with(key_prefix=private_state.prefix)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in csp.split("; ")}


def assert_common_headers(headers: object, what: str) -> None:
    for name, value in COMMON.items():
        assert headers.get(name) == value, f"{what}: {name}"  # type: ignore[attr-defined]
    permissions = headers.get("Permissions-Policy", "")  # type: ignore[attr-defined]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions, f"{what}: Permissions-Policy {permissions!r}"


def get_routes(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())]


@pytest.mark.parametrize("path", [*PAGES, "/symbol/NOPE-XYZ", "/no-such-page"])
def test_pages_carry_the_page_policy(client: FlaskClient, path: str) -> None:
    resp = client.get(path, headers={"Host": "tracker.example:8443"})
    assert resp.mimetype == "text/html"
    assert resp.status_code == (200 if path in PAGES else 404)
    csp = directives(resp.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    # The live page talks to its own /ws, and nothing else.
    assert csp["connect-src"] == ["'self'", "ws://tracker.example:8443",
                                  "wss://tracker.example:8443"]
    assert "unsafe" not in resp.headers["Content-Security-Policy"]
    assert_common_headers(resp.headers, path)


def test_every_get_route_carries_the_headers(app: Flask, client: FlaskClient) -> None:
    seen = []
    for rule in get_routes(app):
        if rule.rule == "/ws":
            continue  # a websocket upgrade, not a document
        path = SAMPLE_PATHS.get(rule.rule, rule.rule)
        assert "<" not in path, f"add a sample path for {rule.rule}"
        resp = client.get(path)
        assert resp.status_code < 500, (path, resp.status_code)
        assert_common_headers(resp.headers, path)
        policy = resp.headers["Content-Security-Policy"]
        if resp.mimetype == "text/html":
            assert directives(policy)["script-src"] == ["'self'"], path
        else:  # JSON, CSV, metrics, scripts: data that may run nothing if rendered
            assert policy == DATA_CSP, path
        seen.append(path)
    assert {"/api/quotes", "/healthz", "/metrics", "/static/js/common.js", "/"} <= set(seen)


@pytest.mark.parametrize("path", ["/api/nope", "/api/history?symbol=%3Cimg%3E", "/api/quotes"])
def test_api_errors_carry_the_headers(client: FlaskClient, path: str) -> None:
    resp = client.get(path) if path != "/api/quotes" else client.delete(path)
    assert resp.status_code in (400, 404, 405)
    assert resp.mimetype == "application/json" and resp.get_json()["error"]
    assert resp.headers["Content-Security-Policy"] == DATA_CSP
    assert_common_headers(resp.headers, path)


@pytest.mark.parametrize("host", ["evil.example; script-src *", "a b", "x'unsafe-inline'"])
def test_a_crafted_host_cannot_add_policy_directives(client: FlaskClient, host: str) -> None:
    """The Host header is the client's; before web.security it was pasted into connect-src."""
    resp = client.get("/", headers={"Host": host})
    assert resp.status_code == 200
    csp = resp.headers["Content-Security-Policy"]
    assert directives(csp)["connect-src"] == ["'self'"], csp
    assert "unsafe" not in csp and "*" not in csp and "evil" not in csp


def test_templates_need_no_inline_code() -> None:
    """The CSP has no 'unsafe-inline': templates use only /static scripts and stylesheets."""
    for path in sorted((ROOT / "web" / "templates").glob("*.html")):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"{path.name}: inline script"
        assert "<style" not in text, f"{path.name}: inline <style>"
        assert not re.search(r"\sstyle\s*=", text), f"{path.name}: style= attribute"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path.name}: inline event handler"
        assert "javascript:" not in text, f"{path.name}: javascript: URL"


def test_scripts_never_parse_data_as_html() -> None:
    """No page script (vendor code included) hands a string to the HTML parser."""
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|"
                       r"new Function\(|createContextualFragment")
    scripts = sorted(Path(ROOT / "web" / "static").rglob("*.js"))
    assert len(scripts) >= 7
    for path in scripts:
        code = "\n".join(line for line in path.read_text().splitlines()
                         if not line.lstrip().startswith(("//", "/*", "*")))  # not comments
        found = sinks.findall(code)
        assert not found, f"{path.relative_to(ROOT)}: {sorted(set(found))}"


def test_no_route_accepts_a_write_without_credentials(app: Flask) -> None:
    writable = {r.rule: sorted(set(r.methods or ()) & set(WRITE_METHODS))
                for r in app.url_map.iter_rules() if set(r.methods or ()) & set(WRITE_METHODS)}
    assert set(writable) == set(WRITE_ROUTES_NEEDING_AUTH), writable
    with app.test_client() as client:
        for rule, status in WRITE_ROUTES_NEEDING_AUTH.items():
            for method in writable[rule]:
                assert client.open(rule, method=method).status_code == status, (rule, method)


def test_write_methods_change_nothing(app: Flask, client: FlaskClient,
                                      private_state: RedisState) -> None:
    """Every route, every write method, a hostile body: a 405 and the same Redis keys after."""
    redis = private_state.redis
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(private_state.live.pattern)

    def snapshot() -> dict[bytes, bytes | None]:
        return {k: redis.dump(k) for k in sorted(redis.scan_iter(f"{private_state.prefix}*"))}

    before = snapshot()
    body = {"type": "quote", "data": {"exchange": "x", "symbol": "BTC-USD", "bid": 1, "ask": 2}}
    paths = [SAMPLE_PATHS.get(r.rule, r.rule) for r in app.url_map.iter_rules()]
    for path in paths:
        for method in WRITE_METHODS:
            resp = client.open(path, method=method, json=body)
            assert resp.status_code == 405, (method, path, resp.status_code)
    assert snapshot() == before
    assert pubsub.get_message(timeout=0.5) is None, "a write request published a live event"
    pubsub.close()
