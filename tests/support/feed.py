"""Run a FeedWorker in-process against the simulator and record what it publishes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from core.backoff import Backoff
from core.state import RedisState
from core.types import Quote
from tests.support.procs import wait_for
from tests.support.simulator import SimProcess
from workers.batcher import Batcher, BatchPath
from workers.discovery import discover
from workers.exchanges import get_adapter
from workers.feed import FeedWorker
from workers.publisher import Publisher
from workers.status import StatusReporter, aggregate

SYMBOLS = ["BTC-USD", "ETH-USD"]


class Recorder:
    """Collects what a feed worker publishes and the feed events it records."""

    def __init__(self) -> None:
        self.quotes: list[tuple[Any, ...]] = []
        self.depths: list[tuple[str, list[Any]]] = []  # (path, depth row) as published
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def send(self, path: str, rows: list[tuple[Any, ...]], depth_rows: list[list[Any]]) -> None:
        with self.lock:
            if path == "storage":
                self.quotes.extend(rows)
            self.depths.extend((path, row) for row in depth_rows)

    def send_events(self, events: list[dict[str, Any]]) -> None:
        with self.lock:
            self.events.extend(events)

    def reasons(self, event: str) -> list[str]:
        with self.lock:
            return [e["reason"] for e in self.events if e["event"] == event]

    def quotes_after(self, t_ns: int) -> list[Quote]:
        """Quotes received after `t_ns` (our clock)."""
        with self.lock:
            return [Quote(*row) for row in self.quotes if row[-1] > t_ns]


def start_worker(
    sim: SimProcess, exchange: str, recorder: Recorder, state: RedisState | None = None,
    symbols: list[str] | None = None, **overrides: float,
) -> tuple[FeedWorker, threading.Thread]:
    """A FeedWorker on its own thread; adapter attributes can be overridden (watchdog_s...)."""
    adapter_cls = get_adapter(exchange)
    markets = discover(adapter_cls, f"{sim.http}/{exchange}", symbols or SYMBOLS,
                       threading.Event())
    adapter = adapter_cls(markets)
    adapter.rest_base = f"{sim.http}/{exchange}"  # snapshots and tokens from the simulator
    for name, value in overrides.items():
        setattr(adapter, name, value)
    publisher = Publisher(recorder.send, Batcher([BatchPath("storage", 0.05, 1000)]))
    publisher.start()
    worker = FeedWorker(adapter, sim.ws_url(exchange), publisher,
                        send_events=recorder.send_events, backoff=Backoff(0.1, 1.0))
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    if state is not None:
        reporter = StatusReporter(exchange, [worker], publisher, state, sim.ws_url(exchange),
                                  interval_s=0.2)
        reporter.start()
        worker.reporter = reporter  # type: ignore[attr-defined]  (stopped by stop_worker)
    return worker, thread


def stop_worker(worker: FeedWorker, thread: threading.Thread) -> None:
    """Stop the loop and its publisher; fails when either hangs."""
    worker.stop()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the feed loop did not stop"
    worker.publisher.stop()
    worker.publisher.join(timeout=10)
    reporter = getattr(worker, "reporter", None)
    if reporter is not None:
        reporter.stop()


@contextmanager
def streaming(
    sim: SimProcess, exchange: str, *, first: int | None = 10, state: RedisState | None = None,
    symbols: list[str] | None = None, **overrides: float,
) -> Iterator[tuple[FeedWorker, Recorder]]:
    """A feed worker past its `first` quotes (None: not waited for), stopped on the way out."""
    recorder = Recorder()
    worker, thread = start_worker(sim, exchange, recorder, state, symbols, **overrides)
    try:
        if first is not None:
            wait_for(lambda: len(recorder.quotes) > first, 15, "first quotes")
        yield worker, recorder
    finally:
        stop_worker(worker, thread)


def control(sim: SimProcess, exchange: str, action: str, **params: Any) -> dict[str, Any]:
    """POST a control action to the simulator; fails unless it is accepted."""
    response = requests.post(f"{sim.http}/control/{exchange}/{action}", params=params, timeout=5)
    assert response.ok, response.text
    return response.json()


def emitted(sim: SimProcess, exchange: str) -> int:
    """Changes the simulator has emitted so far for `exchange`, over all symbols."""
    stats = requests.get(f"{sim.http}/stats", timeout=5).json()
    return sum(stats["emitted"][exchange].values())


def assert_recovers_without_loss(sim: SimProcess, exchange: str, worker: FeedWorker,
                                 recorder: Recorder, connections_before: int) -> None:
    """Within 5 s a new connection streams again, and every change emitted from then on
    (over the next second) is published."""
    wait_for(lambda: worker.connections > connections_before, 5, "a new connection within 5 s")
    since = time.time_ns()
    wait_for(lambda: recorder.quotes_after(since), 5, "quotes on the new connection")
    start = emitted(sim, exchange)
    mark = time.time_ns()
    time.sleep(1.0)
    end = emitted(sim, exchange)
    # Everything emitted in the window must arrive (allow the last batch a moment).
    wait_for(lambda: len(recorder.quotes_after(mark)) >= end - start, 5,
             f"all {end - start} changes emitted after recovery")


def assert_resynced(recorder: Recorder, worker: FeedWorker, reason: str) -> None:
    """The venue dropped frames (`reason`): one resync, counted and shown as falling behind,
    and nothing published between the frame that showed it and the fresh connection's data."""
    assert worker.resyncs == 1
    with recorder.lock:
        events = list(recorder.events)
    lost = next(e["ts_ns"] for e in events if e["event"] == "disconnect" and e["reason"] == reason)
    back = next(e["ts_ns"] for e in events if e["event"] == "connect" and e["ts_ns"] > lost)
    with recorder.lock:
        between = [row for row in recorder.quotes if lost < row[-1] < back]
    assert between == [], f"{len(between)} quotes published from the broken book"
    status = aggregate(worker.name, [worker], worker.publisher, worker.ws_url)
    assert status.resyncs == 1
    assert status.behind is True  # a resync just now: the venue dropped frames for us
