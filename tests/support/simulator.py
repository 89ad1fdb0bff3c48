"""Helpers for the simulator tests: run `python -m simulator` as a subprocess, talk to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
import websocket

from tests.support.procs import ROOT, free_port

FEE = 0.004  # taker fee per side used by the opportunity check


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


@contextmanager
def connected(url: str, timeout: float = 5.0) -> Iterator[websocket.WebSocket]:
    """A websocket client of `url`, closed on the way out."""
    ws = connect(url, timeout)
    try:
        yield ws
    finally:
        ws.close()


def recv_text(ws: websocket.WebSocket, timeout: float) -> str | None:
    """Next frame as it came, or None on timeout."""
    ws.settimeout(max(timeout, 0.001))
    try:
        return ws.recv()
    except websocket.WebSocketTimeoutException:
        return None


def recv_json(ws: websocket.WebSocket, timeout: float) -> Any | None:
    """Next frame as JSON, or None on timeout."""
    text = recv_text(ws, timeout)
    return None if text is None else json.loads(text)


def collect_texts(
    ws: websocket.WebSocket,
    seconds: float,
    until: Callable[[str], bool] | None = None,
) -> list[str]:
    """Raw frames received for `seconds` (or until `until(text)` is true, that frame included)."""
    texts: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        text = recv_text(ws, left)
        if text is None:
            break
        texts.append(text)
        if until is not None and until(text):
            break
    return texts


def decoded(predicate: Callable[[Any], bool]) -> Callable[[str], bool]:
    """`predicate` on the decoded frame, as a test of raw text (text not JSON raises)."""
    return lambda text: predicate(json.loads(text))


def collect(
    ws: websocket.WebSocket,
    seconds: float,
    until: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """Frames received for `seconds` (or until `until(frame)` is true, that frame included)."""
    return [json.loads(text)
            for text in collect_texts(ws, seconds, None if until is None else decoded(until))]


def wait_frame(
    ws: websocket.WebSocket, predicate: Callable[[Any], bool], seconds: float = 5.0
) -> Any:
    """The first JSON frame matching `predicate`; fails the test if none comes in time."""
    check = decoded(predicate)
    texts = collect_texts(ws, seconds, until=check)
    assert texts and check(texts[-1]), f"no matching frame in {seconds}s: {texts[-3:]}"
    return json.loads(texts[-1])


def subscribed(sim: SimProcess, adapter_cls: Any, exchange: str,
               symbols: tuple[str, ...]) -> tuple[Any, websocket.WebSocket]:
    """An adapter for `symbols` of the simulator's listing, and a socket it subscribed on."""
    listing = requests.get(adapter_cls.markets_url(f"{sim.http}/{exchange}"), timeout=5).json()
    adapter = adapter_cls([m for m in adapter_cls.parse_markets(listing) if m.symbol in symbols])
    adapter.rest_base = f"{sim.http}/{exchange}"  # its snapshots from the simulator too
    adapter.on_connect()
    ws = connect(sim.ws_url(exchange))
    for request in adapter.subscribe_messages():
        ws.send(request)
    return adapter, ws


def through_adapter(ws: websocket.WebSocket, adapter: Any, count: int,
                    timeout_s: float = 60.0, quiet_s: float = 1.0) -> tuple[list[str], list[Any]]:
    """Frames and what `adapter` made of them, up to `count` and then `quiet_s` more.

    A binary frame (websocket-client hands it over as bytes) goes to `on_binary`, as the feed
    sends it.
    """
    frames: list[Any] = []
    out: list[Any] = []

    def read(frame: Any) -> bool:
        frames.append(frame)
        if isinstance(frame, bytes):
            out.extend(adapter.on_binary(frame, len(frames)))
        else:
            out.extend(adapter.on_message(frame, len(frames)))
        return len(out) >= count

    collect_texts(ws, timeout_s, until=read)
    # Exactly `count`, not at least: whatever comes in the quiet read is counted too.
    for text in collect_texts(ws, quiet_s):
        read(text)
    return frames, out


def simulator_fixture(*args: str) -> Any:
    """A module-scoped fixture `sim`: the simulator started with `args` (see `serve`)."""

    @pytest.fixture(scope="module")
    def sim() -> Iterator[SimProcess]:
        yield from serve(*args)

    return sim


def serve(*args: str) -> Iterator[SimProcess]:
    """A fixture body: the simulator started with `args`, then stopped; it must exit cleanly."""
    proc = SimProcess(*args).start()
    yield proc
    assert proc.stop() == 0, proc.output()
