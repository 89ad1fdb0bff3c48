"""The newer-wins Lua script on the real Redis, with many writers at once."""

from __future__ import annotations

import multiprocessing
import random
import threading

import pytest

from core.config import get_settings
from core.state import RedisState
from core.types import Quote

pytestmark = pytest.mark.integration

T0 = 1_767_225_600_000_000_000
WRITERS = 6
QUOTES_PER_WRITER = 400


def write_shuffled(prefix: str, seed: int) -> int:
    """One writer process: its own shuffled slice of timestamps, in batches; returns its max ts."""
    state = RedisState.from_url(get_settings().redis_url, prefix)
    rng = random.Random(seed)
    stamps = [T0 + seed + WRITERS * i for i in range(QUOTES_PER_WRITER)]
    rng.shuffle(stamps)
    for start in range(0, len(stamps), 20):
        batch = []
        for ts in stamps[start : start + 20]:
            for exchange in ("kraken", "bitstamp"):
                # The price encodes the timestamp, so a stale overwrite would be visible.
                batch.append(Quote(exchange, "BTC-USD", float(ts - T0), 1.0, float(ts - T0) + 1,
                                   1.0, None, ts, ts))
        state.update_quotes(batch)
    return max(stamps)


def test_concurrent_writers_never_move_a_quote_back(private_state: RedisState) -> None:
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            quote = private_state.quotes_for("BTC-USD").get("kraken")
            if quote is not None:
                seen.append(quote.ts_ns)

    watcher = threading.Thread(target=watch)
    watcher.start()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        maxima = pool.starmap(write_shuffled, [(private_state.prefix, s) for s in range(WRITERS)])
    stop.set()
    watcher.join()

    newest = max(maxima)
    final = private_state.quotes_for("BTC-USD")
    for exchange in ("kraken", "bitstamp"):
        assert final[exchange].ts_ns == newest
        assert final[exchange].bid == float(newest - T0)
    assert seen, "the watcher never saw a quote"
    assert seen == sorted(seen), "a reader saw the stored quote move back in time"


def test_a_batch_reports_which_quotes_were_applied(private_state: RedisState) -> None:
    old = Quote("kraken", "ETH-USD", 1.0, 1.0, 2.0, 1.0, None, T0, T0)
    new = old._replace(bid=3.0, ts_exchange_ns=T0 + 1)
    assert private_state.update_quotes([new]) == [new]
    other = old._replace(exchange="bitstamp")
    assert private_state.update_quotes([old, other]) == [other]
    assert private_state.quotes_for("ETH-USD")["kraken"].bid == 3.0
