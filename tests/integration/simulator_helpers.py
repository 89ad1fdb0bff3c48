"""Helpers for the simulator tests: run `python -m simulator` as a subprocess, talk to it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import websocket

ROOT = Path(__file__).resolve().parents[2]
FEE = 0.004  # taker fee per side used by the opportunity check


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SimProcess:
    """`python -m simulator` on a free port; started by `start()`, stopped by `stop()`."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.args = ["--port", str(self.port), *args]
        self._log = tempfile.TemporaryFile(mode="w+")
        self.proc: subprocess.Popen[str] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, exchange: str) -> str:
        return f"ws://127.0.0.1:{self.port}/{exchange}"

    def output(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def start(self, timeout: float = 15.0) -> SimProcess:
        """Start the process and poll /stats until it answers."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", *self.args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"simulator exited early:\n{self.output()}")
            try:
                if requests.get(f"{self.http}/stats", timeout=0.5).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"simulator did not come up:\n{self.output()}")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it lingers; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.http}/stats", timeout=5).json()

    def control(self, exchange: str, action: str, **params: Any) -> requests.Response:
        return requests.post(
            f"{self.http}/control/{exchange}/{action}", params=params or None, timeout=10
        )

    def total_emitted(self, exchange: str) -> int:
        return sum(self.stats()["emitted"][exchange].values())


def connect(url: str, timeout: float = 5.0) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=timeout)


def recv_json(ws: websocket.WebSocket, timeout: float) -> Any | None:
    """Next frame as JSON, or None on timeout."""
    ws.settimeout(max(timeout, 0.001))
    try:
        text = ws.recv()
    except websocket.WebSocketTimeoutException:
        return None
    return json.loads(text)


def collect(
    ws: websocket.WebSocket,
    seconds: float,
    until: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """Frames received for `seconds` (or until `until(frame)` is true, that frame included)."""
    frames: list[Any] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        frame = recv_json(ws, left)
        if frame is None:
            break
        frames.append(frame)
        if until is not None and until(frame):
            break
    return frames


def wait_for(
    ws: websocket.WebSocket, predicate: Callable[[Any], bool], seconds: float = 5.0
) -> Any:
    """The first frame matching `predicate`; fails the test if none comes in time."""
    frames = collect(ws, seconds, until=predicate)
    assert frames and predicate(frames[-1]), f"no matching frame in {seconds}s: {frames[-3:]}"
    return frames[-1]


# --- venue-specific ------------------------------------------------------------------------


def bitstamp_subscribe(ws: websocket.WebSocket, channel: str) -> None:
    ws.send(json.dumps({"event": "bts:subscribe", "data": {"channel": channel}}))


def kraken_subscribe(
    ws: websocket.WebSocket, symbols: list[str], req_id: int = 1, trigger: str = "bbo"
) -> None:
    params = {"channel": "ticker", "symbol": symbols, "event_trigger": trigger, "snapshot": True}
    ws.send(json.dumps({"method": "subscribe", "params": params, "req_id": req_id}))


def is_bitstamp_book(frame: Any) -> bool:
    return (
        isinstance(frame, dict)
        and frame.get("event") == "data"
        and str(frame.get("channel", "")).startswith("order_book_")
    )


def is_kraken_update(frame: Any) -> bool:
    if not isinstance(frame, dict):
        return False
    return frame.get("channel") == "ticker" and frame.get("type") == "update"


def kraken_ts_us(stamp: str) -> int:
    """`2026-01-01T00:00:01.234567Z` → µs since the epoch (exact, no float rounding)."""
    from datetime import UTC, datetime

    head, frac = stamp.rstrip("Z").split(".")
    seconds = int(datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())
    return seconds * 1_000_000 + int(frac.ljust(6, "0")[:6])


Top = tuple[float, float, float, float]


def bitstamp_top(frame: dict[str, Any]) -> tuple[str, Top, int]:
    """(symbol like BTC-USD-less pair `btcusd`, (bid, bid_size, ask, ask_size), ts µs)."""
    data = frame["data"]
    bid, bid_size = data["bids"][0]
    ask, ask_size = data["asks"][0]
    pair = frame["channel"].removeprefix("order_book_")
    top = (float(bid), float(bid_size), float(ask), float(ask_size))
    return pair, top, int(data["microtimestamp"])


def kraken_top(frame: dict[str, Any]) -> tuple[str, Top, int]:
    """(v2 symbol like `BTC/USD`, (bid, bid_qty, ask, ask_qty), ts µs)."""
    data = frame["data"][0]
    top = (data["bid"], data["bid_qty"], data["ask"], data["ask_qty"])
    return data["symbol"], top, kraken_ts_us(data["timestamp"])


def normalized(exchange: str, native: str) -> str:
    """The test's own tiny mapping from venue spelling to BASE-QUOTE (BTC/USD, btcusd)."""
    if exchange == "kraken":
        return native.replace("/", "-")
    return f"{native[:-3]}-{native[-3:]}".upper()
