"""Bitstamp diff-book replay: REST snapshot seeds, `diff_order_book_*` deltas, the recorded
session checked against an independent dict book, and made-up edge cases."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import on_connect, on_message, reconnect_reason, seed_diff_book
from tests.support.recorded import RECORDED_DIR, received, rest_body, rest_responses
from workers.exchanges.bitstamp import BitstampAdapter

pytestmark = pytest.mark.unit

BTC_USD = Market(symbol="BTC-USD", native="btcusd", base="BTC", quote="USD")
ETH_EUR = Market(symbol="ETH-EUR", native="etheur", base="ETH", quote="EUR")
SNAPSHOT_MICROS = 1_767_225_600_000_000


def snapshot(bids: Any = (("64010.15", "0.25"), ("64009.00", "1.1")),
             asks: Any = (("64012.40", "0.05"), ("64015.00", "0.8")),
             micros: Any = str(SNAPSHOT_MICROS)) -> dict[str, Any]:
    """A REST `/api/v2/order_book/{pair}/` body in the documented shape (made-up values)."""
    return {"timestamp": str(int(micros) // 1_000_000) if str(micros).isdigit() else "0",
            "microtimestamp": micros,
            "bids": [list(x) for x in bids] if isinstance(bids, tuple) else bids,
            "asks": [list(x) for x in asks] if isinstance(asks, tuple) else asks}


def diff(bids: Any = (), asks: Any = (), micros: int | str = SNAPSHOT_MICROS + 1,
         native: str = "btcusd") -> str:
    """A `diff_order_book_*` data frame (made-up values)."""
    seconds = str(int(micros) // 1_000_000) if str(micros).isdigit() else "0"
    data = {"timestamp": seconds, "microtimestamp": str(micros),
            "bids": [list(x) for x in bids] if isinstance(bids, tuple) else bids,
            "asks": [list(x) for x in asks] if isinstance(asks, tuple) else asks}
    return json.dumps({"data": data, "channel": f"diff_order_book_{native}", "event": "data"})


@pytest.fixture()
def adapter() -> BitstampAdapter:
    return BitstampAdapter([BTC_USD, ETH_EUR])


def test_two_channels_per_market_within_1024_per_connection() -> None:
    assert BitstampAdapter.max_markets_per_connection == 512
    markets = [Market(f"C{i}-USD", f"c{i}usd", f"C{i}", "USD") for i in range(512)]
    assert len(BitstampAdapter(markets).subscribe_messages()) == 1024


def test_seed_emits_the_snapshot_top(adapter: BitstampAdapter) -> None:
    assert seed_diff_book(adapter, "btcusd", snapshot(), 5) == [
        Quote("bitstamp", "BTC-USD", 64010.15, 0.25, 64012.40, 0.05, None,
              SNAPSHOT_MICROS * 1000, 5)]
    assert not adapter.errors


def test_diffs_move_the_top_and_emit_only_on_change(adapter: BitstampAdapter) -> None:
    seed_diff_book(adapter, "btcusd", snapshot(), 1)
    # Below the top: nothing new.
    assert on_message(adapter, diff(bids=(("64000.00", "3"),)), 2) == []
    # Size 0 deletes the best bid: the next level is the top.
    (quote,) = on_message(adapter, diff(bids=(("64010.15", "0"),), micros=SNAPSHOT_MICROS + 7), 3)
    assert quote == Quote("bitstamp", "BTC-USD", 64009.0, 1.1, 64012.4, 0.05, None,
                          (SNAPSHOT_MICROS + 7) * 1000, 3)
    # A better ask and a size change on the bid in one frame.
    (quote,) = on_message(adapter,
        diff(bids=(("64009.00", "2.5"),), asks=(("64011.00", "0.3"),),
             micros=SNAPSHOT_MICROS + 9), 4)
    assert (quote.bid, quote.bid_size, quote.ask, quote.ask_size) == (64009.0, 2.5, 64011.0, 0.3)
    # A deeper ask level removed: nothing at the top moved.
    assert on_message(adapter, diff(asks=(("64015.00", "0"),)), 5) == []
    assert not adapter.errors


def test_diffs_older_than_the_snapshot_are_dropped(adapter: BitstampAdapter) -> None:
    seed_diff_book(adapter, "btcusd", snapshot(), 1)
    assert on_message(adapter, diff(bids=(("64011.00", "1"),), micros=SNAPSHOT_MICROS - 1), 2) == []
    assert adapter.errors == Counter({"stale_diff": 1})
    # At the snapshot's own time it is applied (levels are absolute, so a repeat is harmless).
    (quote,) = on_message(adapter, diff(bids=(("64011.00", "1"),), micros=SNAPSHOT_MICROS), 3)
    assert quote.bid == 64011.0


def test_trades_give_last_on_diff_quotes(adapter: BitstampAdapter) -> None:
    trade = {"data": {"id": 1, "timestamp": "1767225601", "amount": 0.1, "amount_str": "0.1",
                      "price": 64011.0, "price_str": "64011", "type": 0,
                      "microtimestamp": "1767225601000000", "buy_order_id": 2,
                      "sell_order_id": 3}, "channel": "live_trades_btcusd", "event": "trade"}
    assert on_message(adapter, json.dumps(trade), 1) == []
    (quote,) = seed_diff_book(adapter, "btcusd", snapshot(), 2)
    assert quote.last == 64011.0


def test_unseeded_diffs_stay_unknown_channel(adapter: BitstampAdapter) -> None:
    # The live feed never subscribes to diffs; without a snapshot they cannot be used.
    assert on_message(adapter, diff(), 1) == []
    seed_diff_book(adapter, "btcusd", snapshot(), 2)
    assert on_message(adapter, diff(native="etheur", bids=(("1", "1"),)), 3) == []
    assert adapter.errors == Counter({"unknown_channel": 2})


def test_on_connect_forgets_seeded_books(adapter: BitstampAdapter) -> None:
    seed_diff_book(adapter, "btcusd", snapshot(), 1)
    on_connect(adapter)
    assert on_message(adapter, diff(bids=(("64011.00", "1"),)), 2) == []
    assert adapter.errors == Counter({"unknown_channel": 1})


@pytest.mark.parametrize(
    "body",
    [None, [], "x", snapshot(micros="abc"), snapshot(micros=1.5), snapshot(bids={"1": "2"}),
     snapshot(bids=[["64010.15"]]), snapshot(asks=[["64012.40", "0"]]),
     snapshot(asks=[["NaN", "1"]]), snapshot(bids=[[64010.15, "1"]]),
     {"bids": [], "asks": []}],
)
def test_a_bad_snapshot_is_counted_and_seeds_nothing(adapter: BitstampAdapter, body: Any) -> None:
    seed_diff_book(adapter, "btcusd", snapshot(), 1)
    assert seed_diff_book(adapter, "btcusd", body, 2) == []
    assert adapter.errors == Counter({"bad_snapshot": 1})
    # The previous book is gone too: it belonged to an older snapshot.
    assert on_message(adapter, diff(bids=(("64011.00", "1"),)), 3) == []
    assert adapter.errors == Counter({"bad_snapshot": 1, "unknown_channel": 1})


def test_seed_for_an_unknown_market(adapter: BitstampAdapter) -> None:
    assert seed_diff_book(adapter, "dogeusd", snapshot(), 1) == []
    assert adapter.errors == Counter({"unknown_market": 1})


def test_empty_and_crossed_books_are_counted(adapter: BitstampAdapter) -> None:
    assert seed_diff_book(adapter, "btcusd", snapshot(asks=()), 1) == []
    assert adapter.errors == Counter({"empty_book": 1})
    (quote,) = on_message(adapter, diff(asks=(("64012.40", "0.05"),)), 2)
    assert quote.ask == 64012.4
    assert on_message(adapter, diff(bids=(("64013.00", "1"),)), 3) == []
    assert adapter.errors == Counter({"empty_book": 1, "crossed_book": 1})
    # Back to the top last sent: nothing new; the next real change is sent.
    assert on_message(adapter, diff(bids=(("64013.00", "0"),)), 4) == []
    (quote,) = on_message(adapter, diff(bids=(("64011.00", "2"),)), 5)
    assert (quote.bid, quote.bid_size, quote.ask) == (64011.0, 2.0, 64012.4)


@pytest.mark.parametrize(
    "frame",
    [diff(bids=(("64011.00", "1"),), asks=(("64012.40", "-1"),)),
     diff(bids=(("64011.00", "1"),), asks=[["64012.40"]]),
     diff(bids=(("64011.00", "1"),), asks=[["abc", "1"]]),
     diff(bids=(("64011.00", "1"),), asks=[["64012.40", 0]]),
     diff(bids=(("64011.00", "1"),), micros="abc"),
     diff(bids=(("64011.00", "1"),), asks={"64012.40": "1"})],
)
def test_a_bad_diff_changes_nothing(adapter: BitstampAdapter, frame: str) -> None:
    seed_diff_book(adapter, "btcusd", snapshot(), 1)
    assert on_message(adapter, frame, 2) == []
    assert adapter.errors == Counter({"bad_field": 1})
    # The good half of the bad frame (a new best bid) was not applied.
    assert on_message(adapter, diff(asks=(("64020.00", "1"),)), 3) == []


# --- the recorded session ------------------------------------------------------------------


class DictBook:
    """The test's own book: price text → size, best found by scanning."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.micros = int(body["microtimestamp"])
        self.bids = {float(p): float(s) for p, s in body["bids"]}
        self.asks = {float(p): float(s) for p, s in body["asks"]}

    def apply(self, data: dict[str, Any]) -> None:
        for side, levels in ((self.bids, data["bids"]), (self.asks, data["asks"])):
            for price, size in levels:
                if float(size) == 0.0:
                    side.pop(float(price), None)
                else:
                    side[float(price)] = float(size)

    def top(self) -> tuple[float, float, float, float]:
        bid = max(self.bids)
        ask = min(self.asks)
        return bid, self.bids[bid], ask, self.asks[ask]


def test_recorded_session_replays_against_an_independent_book() -> None:
    markets = BitstampAdapter.parse_markets(rest_body("bitstamp", "trading-pairs-info"))
    symbol_of = {m.native: m.symbol for m in markets}
    adapter = BitstampAdapter(markets)
    snapshots = {r.url.rstrip("/").rsplit("/", 1)[1]: r
                 for r in rest_responses(RECORDED_DIR / "bitstamp.http.txt")}
    assert len(snapshots) == 10

    quotes: list[Quote] = []
    books: dict[str, DictBook] = {}
    tops: dict[str, tuple[float, float, float, float]] = {}
    lasts: dict[str, float] = {}
    expected: list[Quote] = []
    for native, response in snapshots.items():
        # Seeded first: the recorder fetched every snapshot before the buffered diffs arrived.
        quotes += seed_diff_book(adapter, native, response.body, 0)
        books[native] = DictBook(response.body)
        tops[native] = books[native].top()
        expected.append(Quote("bitstamp", symbol_of[native], *tops[native], None,
                              books[native].micros * 1000, 0))

    stale = 0
    for i, text in enumerate(received("bitstamp"), start=1):
        quotes += on_message(adapter, text, i)
        frame = json.loads(text)
        channel, data = frame.get("channel", ""), frame.get("data")
        if frame["event"] == "trade":
            lasts[channel.removeprefix("live_trades_")] = float(data["price_str"])
        elif frame["event"] == "data":
            native = channel.removeprefix("diff_order_book_")
            book = books[native]
            micros = int(data["microtimestamp"])
            if micros < book.micros:
                stale += 1
                continue
            book.apply(data)
            top = book.top()
            assert top[0] < top[2], (native, top)  # the replayed books never cross
            if top != tops[native]:
                tops[native] = top
                expected.append(Quote("bitstamp", symbol_of[native], *top, lasts.get(native),
                                      micros * 1000, i))

    assert quotes == expected
    assert len(quotes) == 87 and stale == 100
    assert adapter.errors == Counter({"stale_diff": stale})
    assert reconnect_reason(adapter) is None
    # The one ETH-USD trade after which its top moved shows up as `last`.
    assert {q.last for q in quotes if q.symbol == "ETH-USD"} >= {3802.89}
