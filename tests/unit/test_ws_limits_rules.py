"""The `/ws` admission rules on their own: Origin matching, which address a socket counts
against, the caps' bookkeeping, and the settings that configure them."""

from __future__ import annotations

import ipaddress

import pytest

from core.config import ConfigError, Settings
from web.live.admission import WsLimits, client_address, origin_allowed

pytestmark = pytest.mark.unit

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.9/32"))


@pytest.mark.parametrize(("origin", "host"), [
    (None, "127.0.0.1:5000"),  # not a browser
    ("http://127.0.0.1:5000", "127.0.0.1:5000"),
    ("https://127.0.0.1:5000", "127.0.0.1:5000"),  # scheme-agnostic
    ("HTTPS://Tracker.Example", "tracker.example"),
    ("https://tracker.example", "tracker.example:443"),
    ("http://tracker.example", "tracker.example:80"),
    ("http://[::1]:5000", "[::1]:5000"),
    ("https://dash.example", "127.0.0.1:5000"),  # listed
])
def test_allowed(origin: str | None, host: str) -> None:
    assert origin_allowed(origin, host, {"https://dash.example"})


@pytest.mark.parametrize(("origin", "host"), [
    ("http://evil.example", "127.0.0.1:5000"),
    ("http://127.0.0.1:5001", "127.0.0.1:5000"),  # another port is another site
    ("http://127.0.0.1", "127.0.0.1:5000"),
    ("https://tracker.example", "tracker.example:80"),
    ("null", "127.0.0.1:5000"),  # sandboxed frame or file: page
    ("", "127.0.0.1:5000"),
    ("http://dash.example", "127.0.0.1:5000"),  # listed for https only
    ("https://dash.example.evil", "127.0.0.1:5000"),
    ("http://127.0.0.1:5000/path", "127.0.0.1:5000"),
    ("http://127.0.0.1:5000", ""),
    ("http://127.0.0.1:5000", "127.0.0.1:bad"),
])
def test_refused(origin: str, host: str) -> None:
    assert not origin_allowed(origin, host, {"https://dash.example"})


@pytest.mark.parametrize(("peer", "xff", "expected"), [
    ("192.0.2.1", None, "192.0.2.1"),
    ("192.0.2.1", "198.51.100.7", "192.0.2.1"),  # not a proxy of ours: its header is a claim
    ("127.0.0.9", None, "127.0.0.9"),
    ("127.0.0.9", "198.51.100.7", "198.51.100.7"),
    ("127.0.0.9", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the left part is the client's
    ("127.0.0.9", "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # through two trusted proxies
    ("127.0.0.9", "10.1.2.3, 10.4.5.6", "10.1.2.3"),  # all trusted: the farthest
    ("127.0.0.9", "garbage, 198.51.100.7", "198.51.100.7"),
    ("127.0.0.9", "198.51.100.7, garbage", "127.0.0.9"),  # the proxy passed garbage on
    ("127.0.0.9", " 2001:db8::1 ", "2001:db8::1"),
])
def test_client_address(peer: str, xff: str | None, expected: str) -> None:
    assert client_address(peer, xff, TRUSTED) == expected


def test_caps_refuse_with_a_reason_and_release_frees_the_slot() -> None:
    limits = WsLimits(max_clients=3, max_per_address=2)
    assert limits.acquire("a") is None and limits.acquire("a") is None
    refusal = limits.acquire("a")
    assert refusal is not None and "WS_MAX_PER_ADDRESS" in refusal
    assert limits.acquire("b") is None
    refusal = limits.acquire("c")
    assert refusal is not None and "WS_MAX_CLIENTS" in refusal
    assert len(refusal.encode()) <= 123  # what fits a close frame's reason
    limits.release("a")
    assert limits.acquire("c") is None
    assert not limits.check_origin("http://evil.example", "h:1")
    assert limits.counts() == (3, {"origin": 1, "max_clients": 1, "max_per_address": 1})


def test_settings_parse_and_normalize() -> None:
    settings = Settings.from_env({
        "WS_MAX_CLIENTS": "7", "WS_MAX_PER_ADDRESS": "3",
        "WS_ALLOWED_ORIGINS": " https://Dash.Example:443 , http://localhost:3000/",
        "WS_TRUSTED_PROXIES": "10.0.0.1, 172.16.0.0/12"})
    assert (settings.ws_max_clients, settings.ws_max_per_address) == (7, 3)
    assert settings.ws_allowed_origins == ("https://dash.example", "http://localhost:3000")
    assert settings.ws_trusted_proxies == ("10.0.0.1/32", "172.16.0.0/12")
    defaults = Settings.from_env({})
    assert (defaults.ws_max_clients, defaults.ws_max_per_address) == (5000, 50)
    assert defaults.ws_allowed_origins == () and defaults.ws_trusted_proxies == ()


@pytest.mark.parametrize(("name", "value"), [
    ("WS_MAX_CLIENTS", "0"), ("WS_MAX_PER_ADDRESS", "lots"),
    ("WS_ALLOWED_ORIGINS", "*"), ("WS_ALLOWED_ORIGINS", "dash.example"),
    ("WS_ALLOWED_ORIGINS", "https://dash.example/app"), ("WS_TRUSTED_PROXIES", "proxy.local"),
])
def test_bad_settings_are_clear_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
