"""Bounds on what a venue can send, and on how far its clock is trusted (issue 14, points 2, 5).

The pure parts: the feed's one per-quote check (clock skew, unusable numbers), the book's level
cap, the reconnect delay policy, oversize frames handed to a connection, and the settings.
"""

from __future__ import annotations

import json
import math
import random
import time
from typing import Any

import pytest

from core.backoff import Backoff
from core.config import ConfigError, Settings
from core.orderbook import BOOK_MAX_LEVELS, BookSide, OrderBook
from core.types import Depth, Market, Quote, depth_fault, quote_fault
from workers.connection import LoopConnection
from workers.exchanges import get_adapter
from workers.feed import OVERSIZE, FeedWorker
from workers.frames import OP_OVERSIZE, OP_TEXT
from workers.publisher import Publisher
from workers.status import aggregate

pytestmark = pytest.mark.unit

S = 1_000_000_000
BTC_USD = Market(symbol="BTC-USD", native="BTC/USD", base="BTC", quote="USD")


class Sink:
    """Stands in for the publisher: keeps what the feed hands over."""

    def __init__(self) -> None:
        self.quotes: list[Quote] = []
        self.depths: list[Depth] = []

    def put(self, quotes: list[Quote], depths: Any = ()) -> None:
        self.quotes.extend(quotes)
        self.depths.extend(depths)


def kraken_frame(ts_ns: int, bid: float = 64010.1, bid_qty: float = 0.5,
                 ask: float = 64010.2) -> str:
    """A Kraken v2 ticker update stamped `ts_ns` (whole µs, as Kraken sends)."""
    seconds, ns = divmod(ts_ns, S)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1000:06d}Z"
    entry = {"symbol": "BTC/USD", "bid": bid, "bid_qty": bid_qty, "ask": ask,
             "ask_qty": 1.2, "last": 64010.2, "volume": 1.0, "vwap": 64000.0, "low": 63000.0,
             "high": 65000.0, "change": 1.0, "change_pct": 0.1, "timestamp": stamp}
    return json.dumps({"channel": "ticker", "type": "update", "data": [entry]})


def kraken_worker(**options: Any) -> tuple[FeedWorker, Sink]:
    sink = Sink()
    worker = FeedWorker(get_adapter("kraken")([BTC_USD]), "ws://x", sink,  # type: ignore[arg-type]
                        **options)
    return worker, sink


# --- clock skew -----------------------------------------------------------------------------

def test_an_exchange_time_past_the_bound_becomes_the_receipt_time_and_is_counted() -> None:
    worker, sink = kraken_worker()
    now = time.time_ns()
    for offset_s, bid in ((10, 1.0), (3600, 2.0), (-3600, 3.0), (-10, 4.0)):
        worker._on_text(kraken_frame(now + offset_s * S, bid=bid))
    near_ahead, ahead, behind, near_behind = sink.quotes
    # Within 30 s (the default) the venue's own time stands, either way.
    assert abs(near_ahead.ts_exchange_ns - (now + 10 * S)) < 1000  # Kraken sends whole µs
    assert abs(near_behind.ts_exchange_ns - (now - 10 * S)) < 1000
    # An hour off either way: stored at receipt time, so it neither freezes the series
    # (ahead) nor loses to the quote before it (behind).
    for quote in (ahead, behind):
        assert quote.ts_exchange_ns == quote.ts_received_ns
        assert abs(quote.ts_ns - now) < 5 * S
    assert worker.clock_skew == 2
    assert worker.status()["clock_skew"] == 2
    assert worker.quotes == 4  # none lost


def test_the_bound_is_the_setting_and_the_status_sums_connections() -> None:
    strict, strict_sink = kraken_worker(max_clock_skew_s=5.0)
    loose, loose_sink = kraken_worker(max_clock_skew_s=60.0)
    now = time.time_ns()
    for worker in (strict, loose):
        worker._on_text(kraken_frame(now + 10 * S))
        worker._on_text(kraken_frame(now + 40 * S, bid=2.0))
    assert strict.clock_skew == 2 and loose.clock_skew == 0
    assert all(q.ts_exchange_ns == q.ts_received_ns for q in strict_sink.quotes)
    assert all(q.ts_exchange_ns != q.ts_received_ns for q in loose_sink.quotes)
    publisher = Publisher(lambda *a: None)
    status = aggregate("kraken", [strict, loose], publisher, "ws://x").to_event()
    assert status["clock_skew"] == 2


def test_a_skewed_time_does_not_count_as_lag() -> None:
    worker, _ = kraken_worker()
    worker._on_text(kraken_frame(time.time_ns() - 3600 * S))
    # The venue's clock is not trusted that far: an hour "late" is not an hour behind.
    assert worker.status()["lag_ns"] < S


def test_quotes_without_an_exchange_time_are_left_alone() -> None:
    worker, _ = kraken_worker()
    quote = Quote("kraken", "BTC-USD", 1.0, 1.0, 2.0, 1.0, None, None, time.time_ns())
    assert worker.vet([quote], quote.ts_received_ns)[:3] == ([quote], [], None)
    assert worker.clock_skew == 0


# --- numbers --------------------------------------------------------------------------------

GOOD = Quote("kraken", "BTC-USD", 64010.1, 0.5, 64010.2, 1.2, 64010.2, None, 1)


@pytest.mark.parametrize("fields", [
    {"bid": math.inf}, {"bid": math.nan}, {"bid": 0.0}, {"bid": -1.0},
    {"bid_size": math.inf}, {"ask_size": 0.0}, {"ask": math.nan},
    {"bid": 1e200, "bid_size": 1e200},  # each finite, the notional Infinity
    {"ask": 1e300, "ask_size": 1e10},
    {"last": math.inf}, {"last": -5.0},
])
def test_quote_fault_refuses_what_cannot_be_stored(fields: dict[str, float]) -> None:
    assert quote_fault(GOOD._replace(**fields)) == "bad_number"


def test_quote_fault_accepts_sound_numbers() -> None:
    assert quote_fault(GOOD) is None
    assert quote_fault(GOOD._replace(last=None)) is None
    assert quote_fault(GOOD._replace(bid=1e150, bid_size=1e150)) is None  # large, still finite


def test_a_quote_whose_notional_overflows_is_dropped_as_malformed() -> None:
    worker, sink = kraken_worker()
    now = time.time_ns()
    worker._on_text(kraken_frame(now, bid=1e200, bid_qty=1e200, ask=2e200))  # each valid
    worker._on_text(kraken_frame(now, bid=64000.0))
    assert [q.bid for q in sink.quotes] == [64000.0]
    assert worker.adapter.errors["bad_number"] == 1


def test_depth_with_an_overflowing_level_is_dropped() -> None:
    worker, _ = kraken_worker()
    good = Depth("kraken", "BTC-USD", ((100.0, 1.0),), ((101.0, 1.0),), 1)
    bad = good._replace(asks=((101.0, 1.0), (1e200, 1e200)))
    assert depth_fault(good) is None and depth_fault(bad) == "bad_number"
    assert worker.vet([good, bad], 1)[:3] == ([], [good], None)
    assert worker.adapter.errors["bad_number"] == 1


# --- book level cap -------------------------------------------------------------------------

def test_a_side_keeps_its_best_levels_up_to_the_cap() -> None:
    asks = BookSide(descending=False, max_levels=5)
    for price in (105.0, 101.0, 109.0, 103.0, 107.0, 102.0, 108.0):
        asks.set(price, 1.0, (str(price), "1"))
    assert [p for p, _ in asks.levels(10)] == [101.0, 102.0, 103.0, 105.0, 107.0]
    assert len(asks.texts) == 5 and 108.0 not in asks.texts
    asks.set(100.0, 2.0)  # a new best pushes the farthest out
    assert asks.best() == (100.0, 2.0) and len(asks) == 5
    asks.set(101.0, 0.0)  # a delete of a kept level leaves room
    asks.set(150.0, 1.0)
    assert [p for p, _ in asks.levels(10)] == [100.0, 102.0, 103.0, 105.0, 150.0]


def test_deltas_snapshots_and_assign_are_capped_too() -> None:
    bids = BookSide(descending=True, max_levels=3)
    bids.update([(float(p), 1.0, str(p), "1") for p in (10, 12, 11, 9, 13)])
    assert bids.levels(5) == [(13.0, 1.0), (12.0, 1.0), (11.0, 1.0)]
    assert set(bids.texts) == {13.0, 12.0, 11.0}
    bids.replace([(float(p), 1.0) for p in range(1, 10)])
    assert bids.levels(5) == [(9.0, 1.0), (8.0, 1.0), (7.0, 1.0)]
    bids.assign({float(p): 2.0 for p in range(20, 30)})
    assert bids.best() == (29.0, 2.0) and len(bids) == 3


def test_the_cap_never_hides_a_change_of_the_remembered_best_levels() -> None:
    asks = BookSide(descending=False, max_levels=2)
    asks.set(1.0, 1.0)
    asks.set(2.0, 1.0)
    assert asks.best_levels(2) == ((1.0, 1.0), (2.0, 1.0))
    asks.set(1.5, 3.0)  # drops 2.0, one of the remembered levels
    assert asks.best_levels(2) == ((1.0, 1.0), (1.5, 3.0))


def test_the_default_cap_on_a_huge_snapshot_keeps_the_top() -> None:
    book = OrderBook()
    n = BOOK_MAX_LEVELS + 1000
    book.snapshot([(1000.0 - i * 0.01, 1.0) for i in range(n)],
                  [(1000.5 + i * 0.01, 1.0) for i in range(n)])
    assert len(book.bids) == len(book.asks) == BOOK_MAX_LEVELS
    assert book.top() == (1000.0, 1.0, 1000.5, 1.0)


# --- reconnect delays -----------------------------------------------------------------------

def bitstamp_worker(base_s: float = 1.0) -> FeedWorker:
    adapter = get_adapter("bitstamp")([Market("BTC-USD", "btcusd", "BTC", "USD")])
    backoff = Backoff(base_s, 60.0, rng=random.Random(1))
    return FeedWorker(adapter, "ws://x", Sink(), backoff=backoff)  # type: ignore[arg-type]


def requested(worker: FeedWorker, reason: str = "request_reconnect") -> float:
    """A connection that worked briefly, then the venue asked for a reconnect."""
    worker.adapter.on_connect()
    worker.connected_since_ns = time.time_ns() - S
    worker.requested = reason  # what dispatching the venue's Reconnect event records
    return worker.reconnect_delay(reason, got_data=True)


def test_a_venue_that_keeps_asking_for_a_reconnect_gets_a_doubling_delay() -> None:
    worker = bitstamp_worker()
    delays = [requested(worker) for _ in range(5)]
    assert delays[0] == 0.0  # the first request of a working connection: at once
    for n, delay in enumerate(delays[1:], start=1):
        ceiling = 2.0 ** n  # base 1 s doubling; jitter takes up to half off
        assert ceiling / 2 <= delay <= ceiling, delays


def test_a_book_failing_its_check_right_after_each_snapshot_is_rate_limited_too() -> None:
    worker = bitstamp_worker()
    delays = [requested(worker, "checksum_mismatch") for _ in range(4)]
    assert delays[0] == 0.0 and delays[1] >= 1.0 and delays[3] >= 4.0


def test_a_healthy_period_starts_the_backoff_over() -> None:
    worker = bitstamp_worker()
    for _ in range(4):
        requested(worker)
    worker.requested = "request_reconnect"
    worker.connected_since_ns = time.time_ns() - int(worker.healthy_s * S) - S
    assert worker.reconnect_delay("request_reconnect", got_data=True) == 0.0
    assert requested(worker) >= 0.5  # and the next quick one waits again


def test_failures_back_off_and_a_request_on_a_dead_connection_is_no_shortcut() -> None:
    worker = bitstamp_worker()
    assert worker.reconnect_delay("connect failed: refused", got_data=False) >= 0.5
    worker.requested = "request_reconnect"
    assert worker.reconnect_delay("request_reconnect", got_data=False) >= 1.0


# --- oversize frames ------------------------------------------------------------------------

def loop_connection(exchange: str, native: str) -> LoopConnection:
    adapter = get_adapter(exchange)([Market("BTC-USD", native, "BTC", "USD")])
    return LoopConnection(adapter, "ws://x", Sink(), max_frame_bytes=1000)


def test_an_oversize_frame_of_a_ticker_venue_is_skipped_and_counted() -> None:
    conn = loop_connection("kraken", "BTC/USD")
    conn.parser.oversize_bytes = 5000
    frames = [(OP_OVERSIZE, b""), (OP_TEXT, kraken_frame(time.time_ns()).encode())]
    assert conn.on_frames(frames) is None  # the connection stays, the next frame is read
    assert conn.adapter.errors[OVERSIZE] == 1 and conn.quotes == 1


def test_an_oversize_frame_of_a_delta_book_resyncs() -> None:
    conn = loop_connection("coinbase", "BTC-USD")
    assert conn.on_frames([(OP_OVERSIZE, b"")]) == OVERSIZE
    assert conn.adapter.errors[OVERSIZE] == 1
    conn.note_disconnect(OVERSIZE)
    assert conn.resyncs == 1


def test_every_venue_says_whether_its_books_are_built_from_deltas() -> None:
    from workers.exchanges import known_exchanges

    deltas = {name for name in known_exchanges() if get_adapter(name).delta_books}
    assert deltas == {"bitfinex", "bitflyer", "coinbase", "cryptocom", "gemini", "poloniex"}


# --- settings -------------------------------------------------------------------------------

def test_settings_read_the_limits() -> None:
    defaults = Settings.from_env({})
    assert defaults.max_clock_skew_s == 30.0
    assert defaults.feed_max_frame_bytes == 16 * 2**20
    settings = Settings.from_env({"MAX_CLOCK_SKEW_S": "2.5", "FEED_MAX_FRAME_BYTES": "65536"})
    assert settings.max_clock_skew_s == 2.5 and settings.feed_max_frame_bytes == 65536


@pytest.mark.parametrize(("name", "value"), [
    ("MAX_CLOCK_SKEW_S", "-1"), ("MAX_CLOCK_SKEW_S", "soon"),
    ("FEED_MAX_FRAME_BYTES", "0"), ("FEED_MAX_FRAME_BYTES", "4MiB"),
])
def test_settings_refuse_bad_limits(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
