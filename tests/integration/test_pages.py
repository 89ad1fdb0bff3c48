"""The HTML pages through the Flask test client: status, security headers, escaping, 404."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from urllib.parse import quote as urlquote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.state import RedisState
from core.types import Opportunity, Quote
from tests.support.apps import app_with
from tests.support.procs import free_port

pytestmark = pytest.mark.integration

HOSTILE_SYMBOL = "<img src=x onerror=alert(1)>"
HOSTILE_EXCHANGE = "<b>x</b>"
PAGES = ("/", "/opportunities", "/feeds", "/symbol/BTC-USD")


class TagCollector(HTMLParser):
    """Collects the tags of a document and any inline event-handler attributes (onclick=...)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [(tag, name) for name, _ in attrs if name.startswith("on")]

    @classmethod
    def parse(cls, html: str) -> TagCollector:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser


@pytest.fixture
def app(private_state: RedisState) -> Flask:
    """An app on this test's own Redis prefix, seeded with a normal and a hostile market."""
    now = time.time_ns()
    private_state.update_quotes([
        Quote("kraken", "BTC-USD", 50000.1, 1.0, 50000.5, 1.0, None, now, now),
        Quote(HOSTILE_EXCHANGE, HOSTILE_SYMBOL, 1.5, 2.0, 1.75, 2.0, None, now, now),
    ])
    private_state.upsert_opportunity(Opportunity(
        HOSTILE_SYMBOL, HOSTILE_EXCHANGE, "kraken", 1.0, 1.2, 1.0, 20.0, 19.0, 0.19), now)
    return app_with(key_prefix=private_state.prefix)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def assert_security_headers(headers: object) -> None:
    """The page headers every HTML response must carry."""
    csp = headers["Content-Security-Policy"]  # type: ignore[index]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["script-src"] == ["'self'"], csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert headers["X-Content-Type-Options"] == "nosniff"  # type: ignore[index]
    assert headers["X-Frame-Options"] == "DENY"  # type: ignore[index]
    assert headers["Referrer-Policy"]  # type: ignore[index]


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_html_with_the_security_headers(client: FlaskClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    assert_security_headers(resp.headers)
    html = resp.get_data(as_text=True)
    # CSP forbids inline scripts, so the pages must not rely on any.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> found"
    handlers = TagCollector.parse(html).handlers
    assert not handlers, f"inline event handlers found: {handlers}"
    for src in re.findall(r'<script[^>]*src="([^"]+)"', html):
        assert client.get(src).status_code == 200, src


def test_json_responses_do_not_get_page_headers(client: FlaskClient) -> None:
    resp = client.get("/api/quotes")
    assert resp.mimetype == "application/json"
    # Data gets web.security's allow-nothing policy, not the page one (see test_security_headers).
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.parametrize("path", ["/", "/opportunities",
                                  "/symbol/" + urlquote(HOSTILE_SYMBOL, safe="")])
def test_hostile_exchange_strings_are_escaped(client: FlaskClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>" not in html
    tags = set(TagCollector.parse(html).tags)
    assert "img" not in tags and "b" not in tags


def test_hostile_strings_in_data_attributes_stay_inside_the_attribute(
    client: FlaskClient,
) -> None:
    html = client.get("/").get_data(as_text=True)
    match = re.search(r'data-exchanges="([^"]*)"', html)
    assert match, "overview has no data-exchanges attribute"
    assert "<" not in match.group(1) and ">" not in match.group(1)
    assert "\\u003cb\\u003ex\\u003c/b\\u003e" in match.group(1)


def test_unknown_symbol_page_is_a_404_html_page(client: FlaskClient) -> None:
    resp = client.get("/symbol/NOPE-XYZ")
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert "Unknown symbol NOPE-XYZ" in resp.get_data(as_text=True)
    assert_security_headers(resp.headers)


def test_unrouted_page_is_404_html_with_headers(client: FlaskClient) -> None:
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert_security_headers(resp.headers)


@pytest.mark.parametrize("path", ["/", "/opportunities", "/feeds"])
def test_pages_still_render_when_redis_is_down(path: str) -> None:
    app = app_with(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    resp = app.test_client().get(path)
    assert resp.status_code == 200
    assert "state store is unavailable" in resp.get_data(as_text=True)


def test_static_assets_and_vendored_chart_library_are_served(client: FlaskClient) -> None:
    for path in ("/static/css/app.css", "/static/js/common.js", "/static/js/overview.js",
                 "/static/vendor/uplot/uPlot.iife.min.js", "/static/vendor/uplot/uPlot.min.css",
                 "/static/vendor/uplot/LICENSE"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        resp.close()
