"""Idle `/ws` sockets cannot starve HTTP: the real gunicorn with the production config
(web/gunicorn_conf.py, nothing overridden but the port) and the real Redis hold 1,000 idle
websockets while `GET /api/quotes` answers within 1 s and a new client still gets live events;
stopping the server closes every socket with 1001 instead of leaving pages to time out."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests
import websocket
from prometheus_client.parser import text_string_to_metric_families

from bench.idle import IdleClients, lift_open_files
from core.state import RedisState
from tests.integration.test_live import wait_live
from tests.support.procs import ROOT, VENV_BIN, Proc, free_port, wait_for
from web.live import GOING_AWAY

pytestmark = pytest.mark.integration

IDLE = 1000
# 25 client addresses × 40 sockets: within the default WS_MAX_PER_ADDRESS (50), so the server
# runs exactly as configured for production.
SOURCES = [f"127.0.0.{i}" for i in range(2, 27)]


def start_web(port: int) -> Proc:
    """gunicorn exactly as the Procfile runs it, on `port`."""
    proc = Proc("web-idle", [str(VENV_BIN / "gunicorn"), "-c", "web/gunicorn_conf.py",
                             "web:create_app()", "--bind", f"127.0.0.1:{port}"])
    wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
             in (200, 503), 30, "the web app")
    return proc


@pytest.fixture(scope="module")
def web_port() -> Iterator[int]:
    port = free_port()
    proc = start_web(port)
    try:
        yield port
    finally:
        proc.stop()


@pytest.fixture
def idle() -> Iterator[IdleClients]:
    lift_open_files(IDLE + 500)
    clients = IdleClients()
    yield clients
    clients.close()


def quotes_seconds(port: int) -> float:
    """Time of one `GET /api/quotes` on a fresh connection (inf when it did not answer in 5 s)."""
    t0 = time.monotonic()
    try:
        response = requests.get(f"http://127.0.0.1:{port}/api/quotes", timeout=5)
    except requests.Timeout:
        return float("inf")
    assert response.status_code == 200 and "quotes" in response.json()
    return time.monotonic() - t0


def open_ws_metric(port: int) -> float:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    family = next(f for f in text_string_to_metric_families(text)
                  if f.name == "cryptotracker_ws_clients")
    return family.samples[0].value


def test_api_answers_within_one_second_while_1000_sockets_idle(
        web_port: int, idle: IdleClients, state: RedisState) -> None:
    upgraded = idle.connect("127.0.0.1", web_port, IDLE, timeout_s=30, sources=SOURCES)
    times = [quotes_seconds(web_port) for _ in range(5)]
    assert max(times) < 1.0, f"/api/quotes took {times} s with {len(upgraded)} idle sockets"
    assert len(upgraded) == IDLE and idle.refused == 0
    assert idle.poll() == IDLE, f"the server closed {dict(idle.closes)}"
    assert open_ws_metric(web_port) == IDLE
    # And /ws itself is not starved: a new page still connects and gets a live event.
    ws = websocket.create_connection(f"ws://127.0.0.1:{web_port}/ws", timeout=5)
    try:
        wait_live(ws, state)
    finally:
        ws.close()
    assert idle.poll() == IDLE  # the probe events reached the idle ones too; none was dropped


def test_shutdown_closes_every_socket_with_going_away(idle: IdleClients) -> None:
    port = free_port()
    proc = start_web(port)
    try:
        upgraded = idle.connect("127.0.0.1", port, 200, sources=SOURCES)
        assert len(upgraded) == 200
        proc.popen.send_signal(signal.SIGTERM)  # the master only, as a supervisor stops it
        # Waiting out graceful_timeout would end each socket without a close frame
        # (NO_CLOSE_FRAME): only the shutdown hook sends 1001, to all of them.
        wait_for(lambda: idle.poll() == 0, 20, "every socket to be closed")
        assert len(idle.closes) == 200
        assert {code for code, _ in idle.closes.values()} == {GOING_AWAY}
        proc.popen.wait(10)
        assert proc.popen.returncode == 0
    finally:
        proc.stop()


def test_fanout_bench_holds_idle_sockets_and_times_http() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "fanout", "--clients", "5", "--rate", "200", "--seconds",
         "2", "--idle", "300", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=180,
        check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["idle"] == 300 and figures["idle_held_to_end"] == 300
    assert figures["idle_web_rss_kib_per_socket"] > 0
    assert figures["http_requests"] > 0 and figures["http_failed"] == 0
    assert figures["http_baseline_requests"] > 0 and figures["http_baseline_failed"] == 0
    assert figures["http_p50_ms"] <= figures["http_p99_ms"] <= figures["http_max_ms"]
    assert figures["ws_messages_received"] > 0 and figures["ws_clients_dropped"] == 0
