"""Control endpoints for resilience tests: close, silence, reconnect; and a clean shutdown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests
import websocket

from tests.support import bitstamp_kraken as bk
from tests.support import simulator as sh

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve()


def wait_clients(sim: sh.SimProcess, exchange: str, n: int, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while sim.stats()["clients"][exchange] != n:
        assert time.monotonic() < deadline, sim.stats()["clients"]
        time.sleep(0.05)


def closed_by_server(ws: websocket.WebSocket, seconds: float = 5.0) -> bool:
    """True once the server's close frame (or EOF) arrives; data frames before it are skipped."""
    ws.settimeout(seconds)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            opcode, _ = ws.recv_data(control_frame=True)
        except websocket.WebSocketConnectionClosedException:
            return True
        except websocket.WebSocketTimeoutException:
            return False
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return True
    return False


def test_close_drops_every_socket_of_that_exchange_only(sim: sh.SimProcess) -> None:
    bitstamp = [sh.connect(sim.ws_url("bitstamp")) for _ in range(2)]
    kraken = sh.connect(sim.ws_url("kraken"))
    try:
        for ws in bitstamp:
            bk.bitstamp_subscribe(ws, "order_book_btcusd")
        wait_clients(sim, "bitstamp", 2)
        reply = sim.control("bitstamp", "close")
        assert reply.status_code == 200 and reply.json()["closed"] == 2
        assert all(closed_by_server(ws) for ws in bitstamp)
        wait_clients(sim, "bitstamp", 0)
        assert sim.stats()["clients"]["kraken"] == 1
        # Clients can come back at once.
        again = sh.connect(sim.ws_url("bitstamp"))
        bk.bitstamp_subscribe(again, "order_book_btcusd")
        sh.wait_frame(again, bk.is_bitstamp_book)
        again.close()
    finally:
        for ws in [*bitstamp, kraken]:
            ws.close()


def read_books_until_closed(ws: websocket.WebSocket) -> int:
    """Bitstamp book frames received until the server's close frame (or EOF)."""
    books = 0
    ws.settimeout(5)
    while True:
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except websocket.WebSocketConnectionClosedException:
            return books
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return books
        if opcode == websocket.ABNF.OPCODE_TEXT:
            books += bk.is_bitstamp_book(json.loads(data))


def test_close_counts_nothing_it_does_not_deliver() -> None:
    """Every change counted before a control close reaches the closed client.

    The race is one event-loop turn wide (a change queued between the drain and the close
    frame), so it is tried many times at a high rate.
    """
    proc = sh.SimProcess("--exchanges", "bitstamp", "--symbols", "BTC-USD,ETH-USD",
                         "--rate", "5000").start()
    books = 0
    try:
        for _ in range(40):
            ws = sh.connect(proc.ws_url("bitstamp"))
            try:
                for channel in ("order_book_btcusd", "order_book_ethusd"):
                    bk.bitstamp_subscribe(ws, channel)
                sh.wait_frame(ws, bk.is_bitstamp_book)
                books += 1
                time.sleep(0.03)
                closing = threading.Thread(target=proc.control, args=("bitstamp", "close"))
                closing.start()
                books += read_books_until_closed(ws)
                closing.join()
            finally:
                ws.close()
            wait_clients(proc, "bitstamp", 0)
        assert books > 40
        assert proc.total_emitted("bitstamp") == books
    finally:
        assert proc.stop() == 0, proc.output()


def test_silence_sends_nothing_then_resumes(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("kraken")) as ws:
        bk.kraken_subscribe(ws, ["BTC/USD"])
        sh.wait_frame(ws, bk.is_kraken_update)
        reply = sim.control("kraken", "silence", seconds=2.0)
        assert reply.status_code == 200 and reply.json()["seconds"] == 2.0
        sh.collect(ws, 0.1)  # frames already on the wire when the silence began
        emitted = sim.total_emitted("kraken")
        ws.send('{"method":"ping","req_id":9}')  # not even a pong while silenced
        assert sh.collect(ws, 1.4) == []
        assert sim.total_emitted("kraken") == emitted  # emission paused, not just hidden
        assert sim.stats()["silenced"]["kraken"] is True
        resumed = sh.wait_frame(ws, bk.is_kraken_update, seconds=3.0)
        assert resumed["data"][0]["symbol"] == "BTC/USD"
        assert sim.total_emitted("kraken") > emitted


def test_reconnect_notices(sim: sh.SimProcess) -> None:
    bitstamp = sh.connect(sim.ws_url("bitstamp"))
    kraken = sh.connect(sim.ws_url("kraken"))
    try:
        sh.recv_json(kraken, 5)  # status online
        wait_clients(sim, "bitstamp", 1)
        wait_clients(sim, "kraken", 1)
        assert sim.control("bitstamp", "reconnect").json()["notified"] == 1
        assert sim.control("kraken", "reconnect").json()["notified"] == 1
        notice = sh.wait_frame(bitstamp, lambda f: f.get("event") == "bts:request_reconnect")
        assert notice == {"event": "bts:request_reconnect", "channel": "", "data": None}
        status = sh.wait_frame(kraken, lambda f: f.get("channel") == "status")
        assert status["data"][0]["system"] == "maintenance"
    finally:
        bitstamp.close()
        kraken.close()


def test_control_rejects_bad_requests(sim: sh.SimProcess) -> None:
    assert sim.control("nosuch", "close").status_code == 404
    assert sim.control("kraken", "explode").status_code == 404
    assert sim.control("kraken", "silence").status_code == 400
    assert sim.control("kraken", "silence", seconds="-1").status_code == 400
    get = requests.get(f"{sim.http}/control/kraken/close", timeout=5)
    assert get.status_code == 405


def test_sigterm_exits_cleanly_with_clients_connected() -> None:
    proc = sh.SimProcess("--exchanges", "kraken", "--symbols", "SOL-USD").start()
    with sh.connected(proc.ws_url("kraken")) as ws:
        bk.kraken_subscribe(ws, ["SOL/USD"])
        update = sh.wait_frame(ws, bk.is_kraken_update)
        assert 50 < update["data"][0]["bid"] < 300  # other assets start near 100-ish
        emitted = proc.stats()["emitted"]  # one reading: emission goes on between two
        assert list(emitted) == ["kraken"] and list(emitted["kraken"]) == ["SOL-USD"]
        assert emitted["kraken"]["SOL-USD"] >= 1
        # The client keeps reading, as a real one does, so it answers the close frame and the
        # exit does not hang on the close timeout meant for clients that stopped reading.
        closed: list[bool] = []
        reader = threading.Thread(target=lambda: closed.append(closed_by_server(ws, 10.0)))
        reader.start()
        started = time.monotonic()
        assert proc.stop() == 0, proc.output()
        assert time.monotonic() - started < 5
        reader.join(timeout=10)
        assert closed == [True]
        out = proc.output()
        assert f"ws://127.0.0.1:{proc.port}/kraken" in out
        assert "/kraken/0/public/AssetPairs" in out
