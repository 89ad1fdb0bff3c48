"""`/ws` admission against the real gunicorn (production config) and the real Redis: sockets over
`WS_MAX_PER_ADDRESS` or `WS_MAX_CLIENTS` are closed with 1013 and a reason, a freed slot takes
the next one, X-Forwarded-For counts only from a trusted proxy, and a foreign `Origin` gets a
JSON 403 before any upgrade; /metrics counts what is open and what was refused."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests
import websocket
from prometheus_client.parser import text_string_to_metric_families

from bench.idle import IdleClients
from tests.support.procs import VENV_BIN, Proc, free_port, wait_for
from web.live.admission import TRY_AGAIN_LATER

pytestmark = pytest.mark.integration

MAX_CLIENTS = 5
MAX_PER_ADDRESS = 2
ALLOWED = "https://dash.example"
PROXY = "127.0.0.9"


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """gunicorn as the Procfile runs it, with small caps, one allowed origin, one proxy."""
    port = free_port()
    proc = Proc("web-limits", [str(VENV_BIN / "gunicorn"), "-c", "web/gunicorn_conf.py",
                               "web:create_app()", "--bind", f"127.0.0.1:{port}"],
                {"WS_MAX_CLIENTS": str(MAX_CLIENTS), "WS_MAX_PER_ADDRESS": str(MAX_PER_ADDRESS),
                 "WS_ALLOWED_ORIGINS": ALLOWED, "WS_TRUSTED_PROXIES": PROXY})
    try:
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                 .status_code in (200, 503), 30, "the web app")
        yield port
    finally:
        proc.stop()


def metrics(port: int) -> dict[str, float]:
    """The /ws samples of /metrics: `open` and `refused:<reason>`."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "cryptotracker_ws_clients":
                out["open"] = sample.value
            elif sample.name == "cryptotracker_ws_refused_total":
                out[f"refused:{sample.labels['reason']}"] = sample.value
    return out


@pytest.fixture
def clients(port: int) -> Iterator[IdleClients]:
    """Raw clients, all gone (and the server's count back at 0) after the test."""
    idle = IdleClients()
    yield idle
    idle.close()
    wait_for(lambda: metrics(port)["open"] == 0, 10, "the server to forget the clients")


def one(clients: IdleClients, port: int, source: str, xff: str | None = None) -> socket.socket:
    """Open one client from `source` (optionally through the 'proxy' with X-Forwarded-For)."""
    headers = {"X-Forwarded-For": xff} if xff else {}
    [sock] = clients.connect("127.0.0.1", port, 1, timeout_s=10, sources=[source],
                             headers=headers)
    return sock


def close_of(clients: IdleClients, sock: socket.socket,
             wait_s: float = 3.0) -> tuple[int, str] | None:
    """The server's close of `sock` (code, reason), or None if it stays open for `wait_s`."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        clients.poll()
        if sock in clients.closes:
            return clients.closes[sock]
        time.sleep(0.05)
    return None


def test_per_address_cap_closes_the_extra_socket_with_1013(port: int,
                                                          clients: IdleClients) -> None:
    before = metrics(port)["refused:max_per_address"]
    kept = [one(clients, port, "127.0.0.1") for _ in range(MAX_PER_ADDRESS)]
    extra = one(clients, port, "127.0.0.1")
    code, reason = close_of(clients, extra) or (None, "")
    assert code == TRY_AGAIN_LATER and "WS_MAX_PER_ADDRESS" in reason
    other = one(clients, port, "127.0.0.2")  # another address is not affected
    assert all(close_of(clients, s, 0.5) is None for s in [*kept, other])
    assert metrics(port)["refused:max_per_address"] == before + 1
    clients.drop(kept[0])  # a freed slot is free again
    wait_for(lambda: metrics(port)["open"] == MAX_PER_ADDRESS, 5, "the slot to be released")
    assert close_of(clients, one(clients, port, "127.0.0.1"), 0.5) is None


def test_global_cap_closes_the_extra_socket_with_1013(port: int, clients: IdleClients) -> None:
    sources = ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3", "127.0.0.4"]
    kept = [one(clients, port, s) for s in sources[:MAX_CLIENTS]]
    extra = one(clients, port, "127.0.0.5")
    code, reason = close_of(clients, extra) or (None, "")
    assert code == TRY_AGAIN_LATER and "WS_MAX_CLIENTS" in reason
    assert metrics(port)["open"] == MAX_CLIENTS
    clients.drop(kept[0])
    wait_for(lambda: metrics(port)["open"] == MAX_CLIENTS - 1, 5, "the slot to be released")
    assert close_of(clients, one(clients, port, "127.0.0.5"), 0.5) is None


def test_forwarded_for_counts_only_behind_a_trusted_proxy(port: int,
                                                         clients: IdleClients) -> None:
    # Through the trusted proxy, each forwarded client has its own allowance.
    first = [one(clients, port, PROXY, "10.9.0.1") for _ in range(MAX_PER_ADDRESS)]
    third = one(clients, port, PROXY, "10.9.0.1")
    assert (close_of(clients, third) or (0,))[0] == TRY_AGAIN_LATER
    other = one(clients, port, PROXY, "203.0.113.7, 10.9.0.2")  # the hop the proxy saw counts
    assert all(close_of(clients, s, 0.5) is None for s in [*first, other])
    clients.close()
    wait_for(lambda: metrics(port)["open"] == 0, 10, "the server to forget the clients")
    # From anyone else the header is the client's own claim: every socket counts as its peer.
    spoofed = [one(clients, port, "127.0.0.6", f"10.9.1.{i}") for i in range(3)]
    assert [bool(close_of(clients, s, 1.0)) for s in spoofed] == [False, False, True]


def handshake(port: int, **options: object) -> websocket.WebSocket:
    return websocket.create_connection(f"ws://127.0.0.1:{port}/ws", timeout=5, **options)


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1",
                                    "https://dash.example.evil.example"])
def test_foreign_origin_is_refused_before_the_upgrade(port: int, origin: str) -> None:
    before = metrics(port)["refused:origin"]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        handshake(port, origin=origin)
    assert refused.value.status_code == 403
    assert "origin not allowed" in json.loads(refused.value.resp_body)["error"]
    assert metrics(port)["refused:origin"] == before + 1


@pytest.mark.parametrize("options", [
    {"origin": "http://127.0.0.1:{port}"},  # the page's own host
    {"origin": "https://127.0.0.1:{port}"},  # same host and port behind a TLS proxy
    {"origin": ALLOWED},  # WS_ALLOWED_ORIGINS
    {"suppress_origin": True},  # no Origin: not a browser
], ids=["own-host", "own-host-https", "allowed-list", "no-origin"])
def test_own_listed_or_absent_origin_is_accepted(port: int, options: dict[str, object]) -> None:
    if "origin" in options:
        options = {"origin": str(options["origin"]).format(port=port)}
    ws = handshake(port, **options)
    try:
        ws.send(json.dumps({"subscribe": ["BTC-USD"]}))
        ws.send("not json")  # answered with an error event: the socket is live and served
        event = json.loads(ws.recv())
        while event["type"] == "ping":
            event = json.loads(ws.recv())
        assert event["type"] == "error"
    finally:
        ws.close()
