"""Faults every venue can suffer, for every adapter the simulator speaks: each recovers within
5 s, records a feed event with its reason, and loses no change emitted after recovery."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.config import DEFAULT_SYMBOLS
from simulator.venues import VENUES
from tests.support.feed import assert_recovers_without_loss, control, streaming
from tests.support.procs import wait_for
from tests.support.simulator import SimProcess, serve
from workers.exchanges import known_exchanges

pytestmark = pytest.mark.integration
EXCHANGES = [name for name in known_exchanges() if name in VENUES]
# binance.com, OKX and Bybit list no USD pairs: each venue follows what it lists of these.
SYMBOLS = DEFAULT_SYMBOLS.split(",")  # every venue lists at least two of them


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    yield from serve("--exchanges", ",".join(EXCHANGES), "--symbols", ",".join(SYMBOLS), "--rate",
                     "100")


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_server_closes_the_socket(sim: SimProcess, exchange: str) -> None:
    with streaming(sim, exchange, symbols=SYMBOLS) as (worker, recorder):
        before = worker.connections
        control(sim, exchange, "close")
        assert_recovers_without_loss(sim, exchange, worker, recorder, before)
        [reason, *_] = recorder.reasons("disconnect")
        assert "closed" in reason or "error" in reason


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_server_goes_silent(sim: SimProcess, exchange: str) -> None:
    with streaming(sim, exchange, symbols=SYMBOLS, watchdog_s=1.0) as (worker, recorder):
        before = worker.connections
        control(sim, exchange, "silence", seconds=2.5)
        wait_for(lambda: "watchdog: silent" in recorder.reasons("disconnect"), 5,
                 "the watchdog to drop the silent connection")
        time.sleep(2.0)  # the silence ends; the watchdog may have fired more than once
        assert_recovers_without_loss(sim, exchange, worker, recorder, before)


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_garbage_frame_is_counted_and_the_feed_goes_on(sim: SimProcess, exchange: str) -> None:
    with streaming(sim, exchange, symbols=SYMBOLS) as (worker, recorder):
        control(sim, exchange, "garbage")
        wait_for(lambda: worker.adapter.errors["bad_json"] >= 1, 5, "the garbage to be counted")
        since = time.time_ns()
        wait_for(lambda: recorder.quotes_after(since), 5, "quotes after the garbage")
        assert worker.connections == 1 and recorder.reasons("disconnect") == []
