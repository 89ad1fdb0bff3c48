"""bitFlyer adapter: JSON-RPC replies, board snapshots and deltas, the mid_price check, tickers and
executions for `last`, bad input, the listing, and the 2021 recording's spot boards replayed
against a book kept in this test."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.adapter_fixtures import adapter_fixture, synced_fixture
from tests.support.frames import by_name, replaced
from tests.support.recorded import rest_body, ws_events
from workers.exchanges.bitflyer import BitflyerAdapter

pytestmark = pytest.mark.unit

BTC = Market("BTC-JPY", "BTC_JPY", "BTC", "JPY")
ETH = Market("ETH-JPY", "ETH_JPY", "ETH", "JPY")


def notify(channel: str, message: Any) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": "channelMessage",
                       "params": {"channel": channel, "message": message}})


def levels(*pairs: tuple[float, float]) -> list[dict[str, float]]:
    return [{"price": price, "size": size} for price, size in pairs]


def snapshot(product: str = "BTC_JPY", mid: Any = 5_860_745.0, bids: Any = None,
             asks: Any = None) -> str:
    # Unsorted on purpose: the venue does not promise an order.
    return notify(f"lightning_board_snapshot_{product}", {
        "mid_price": mid,
        "bids": levels((5_859_000.0, 1.0), (5_859_870.0, 0.05)) if bids is None else bids,
        "asks": levels((5_862_000.0, 2.0), (5_861_621.0, 0.1)) if asks is None else asks})


def delta(bids: list[tuple[float, float]], asks: list[tuple[float, float]],
          mid: Any = 5_860_745.0, product: str = "BTC_JPY") -> str:
    return notify(f"lightning_board_{product}",
                  {"mid_price": mid, "bids": levels(*bids), "asks": levels(*asks)})


def ticker(ltp: Any = 5_860_800.0, product: str = "BTC_JPY") -> str:
    return notify(f"lightning_ticker_{product}", {
        "product_code": product, "state": "RUNNING", "timestamp": "2026-01-01T00:00:01.1234567Z",
        "tick_id": 26934450, "best_bid": 5_859_870.0, "best_ask": 5_861_621.0,
        "best_bid_size": 0.05, "best_ask_size": 0.1, "ltp": ltp, "volume": 1000.5})


def executions(*prices: Any, product: str = "BTC_JPY") -> str:
    return notify(f"lightning_executions_{product}", [
        {"id": 2284078764 + n, "side": "BUY", "price": price, "size": 0.02,
         "exec_date": "2026-01-01T00:00:01.9869304Z"} for n, price in enumerate(prices)])


adapter = adapter_fixture(BitflyerAdapter, [BTC, ETH])
synced = synced_fixture(snapshot)  # the first book in, its quote taken


def test_one_request_per_channel_with_rising_ids(adapter: BitflyerAdapter) -> None:
    frames = [json.loads(f) for f in adapter.subscribe_messages()]
    assert [f["params"]["channel"] for f in frames] == [
        "lightning_board_BTC_JPY", "lightning_board_snapshot_BTC_JPY", "lightning_ticker_BTC_JPY",
        "lightning_board_ETH_JPY", "lightning_board_snapshot_ETH_JPY", "lightning_ticker_ETH_JPY"]
    assert [f["id"] for f in frames] == [1, 2, 3, 4, 5, 6]
    assert all(f["jsonrpc"] == "2.0" and f["method"] == "subscribe" for f in frames)


# --- the listing ---------------------------------------------------------------------------


def test_recorded_listing_keeps_spot_only() -> None:
    # The first response whose URL holds `/v1/markets` is Japan's own (`getmarkets` ones differ).
    markets = BitflyerAdapter.parse_markets(rest_body("bitflyer", "/v1/markets"))
    assert [m.symbol for m in markets] == ["BTC-JPY", "XRP-JPY", "ETH-JPY", "XLM-JPY",
                                           "MONA-JPY", "ETH-BTC", "BCH-BTC"]
    assert markets[0] == BTC


def test_listing_entries_that_do_not_fit_are_skipped() -> None:
    payload = [{"product_code": "BTC_JPY", "market_type": "Spot"},
               {"product_code": "FX_BTC_JPY", "market_type": "FX"},
               {"product_code": "BTCJPY27MAR2026", "alias": "BTCJPY_MAT3M",
                "market_type": "Futures"},
               {"product_code": "A_B_C", "market_type": "Spot"},
               {"product_code": 7, "market_type": "Spot"}, {"market_type": "Spot"}, "x"]
    assert BitflyerAdapter.parse_markets(payload) == [BTC]
    with pytest.raises(ValueError):
        BitflyerAdapter.parse_markets({"status": -1})


# --- boards --------------------------------------------------------------------------------


def test_snapshot_quotes_its_sorted_top_on_receipt_time(adapter: BitflyerAdapter) -> None:
    (quote,) = on_message(adapter, snapshot(), 9)
    assert quote == Quote("bitflyer", "BTC-JPY", 5_859_870.0, 0.05, 5_861_621.0, 0.1, None,
                          None, 9)


def test_deltas_move_the_top(synced: BitflyerAdapter) -> None:
    (quote,) = on_message(synced, delta([(5_860_000.0, 0.3)], []), 2)
    assert quote[2:6] == (5_860_000.0, 0.3, 5_861_621.0, 0.1)
    (quote,) = on_message(synced, delta([], [(5_861_621.0, 0.0)]), 3)
    assert quote[2:6] == (5_860_000.0, 0.3, 5_862_000.0, 2.0)
    assert on_message(synced, delta([(5_850_000.0, 4.0)], []), 4) == []  # behind the top
    assert not synced.errors and reconnect_reason(synced) is None


def test_an_auction_entry_at_price_zero_is_no_level(synced: BitflyerAdapter) -> None:
    (quote,) = on_message(synced, delta([(0.0, 1.5), (5_860_000.0, 0.3)], [(0, 2.0)]), 2)
    assert quote[2:6] == (5_860_000.0, 0.3, 5_861_621.0, 0.1)
    assert not synced.errors


def test_deltas_before_the_first_snapshot_are_counted(adapter: BitflyerAdapter) -> None:
    assert on_message(adapter, delta([(5_860_000.0, 0.3)], []), 1) == []
    assert adapter.errors == Counter({"no_snapshot": 1}) and reconnect_reason(adapter) is None


def test_a_later_snapshot_replaces_the_book(synced: BitflyerAdapter) -> None:
    on_message(synced, delta([(5_860_000.0, 0.3)], []), 2)
    fresh = snapshot(mid=5_870_000.0, bids=levels((5_869_000.0, 1.0)),
                     asks=levels((5_871_000.0, 1.0)))
    (quote,) = on_message(synced, fresh, 3)
    assert quote[2:6] == (5_869_000.0, 1.0, 5_871_000.0, 1.0)


def test_a_book_off_the_venue_mid_resyncs_once(synced: BitflyerAdapter) -> None:
    # The venue's mid above our best ask: a delta was missed.
    assert on_message(synced, delta([(5_859_900.0, 1.0)], [], mid=5_870_000.0), 2) == []
    assert reconnect_reason(synced) == "checksum_mismatch"
    assert synced.errors == Counter({"mid_mismatch": 1})
    # The book is dropped until the next snapshot, which quotes again.
    assert on_message(synced, delta([(5_859_950.0, 1.0)], []), 3) == []
    assert synced.errors["no_snapshot"] == 1
    on_connect(synced)
    on_message(synced, snapshot(), 4)
    on_message(synced, delta([(5_859_900.0, 1.0)], [], mid=5_870_000.0), 5)
    assert reconnect_reason(synced) is None  # the same episode: counted, no second reconnect
    assert synced.errors["mid_mismatch"] == 2


def test_a_mid_on_the_best_price_or_zero_agrees(synced: BitflyerAdapter) -> None:
    # A one-tick spread: the mid cut to the tick is the bid itself.
    assert len(on_message(synced, delta([(5_861_620.0, 1.0)], [], mid=5_861_620.0), 2)) == 1
    assert len(on_message(synced, delta([(5_861_619.0, 1.0)], [], mid=0), 3)) == 0
    assert not synced.errors and reconnect_reason(synced) is None


def test_a_book_crossed_by_deltas_resyncs(synced: BitflyerAdapter) -> None:
    assert on_message(synced, delta([(5_861_700.0, 1.0)], [], mid=5_861_650.0), 2) == []
    assert reconnect_reason(synced) == "crossed_book"


def test_books_are_per_connection(synced: BitflyerAdapter) -> None:
    on_connect(synced)
    assert on_message(synced, delta([(5_860_000.0, 0.3)], []), 2) == []
    assert synced.errors == Counter({"no_snapshot": 1})


def test_tickers_and_executions_set_last(synced: BitflyerAdapter) -> None:
    assert on_message(synced, ticker(), 2) == []
    assert on_message(synced, delta([(5_860_000.0, 0.3)], []), 3)[0].last == 5_860_800.0
    assert on_message(synced, executions(5_860_900.0, 5_861_000.0), 4) == []
    assert on_message(synced, delta([(5_860_001.0, 0.3)], []), 5)[0].last == 5_861_000.0
    assert on_message(synced, executions(), 6) == []  # an empty batch changes nothing
    on_connect(synced)
    assert on_message(synced, snapshot(), 7)[0].last == 5_861_000.0


# --- replies -------------------------------------------------------------------------------


def test_true_replies_are_quiet(adapter: BitflyerAdapter) -> None:
    assert on_message(adapter, '{"jsonrpc":"2.0","id":1,"result":true}', 1) == []
    assert not adapter.errors


@pytest.mark.parametrize(("text", "shown"), [
    ('{"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"Invalid params"}}',
     "-32602: Invalid params"),
    ('{"jsonrpc":"2.0","id":5,"result":false}', "request 5 refused: False"),
])
def test_errors_are_shown_without_reconnecting(adapter: BitflyerAdapter, text: str,
                                               shown: str) -> None:
    assert on_message(adapter, text, 1) == []
    assert last_error(adapter) == shown and adapter.errors == Counter({"venue_error": 1})
    assert reconnect_reason(adapter) is None


# --- bad input -----------------------------------------------------------------------------


BAD: list[tuple[str, str, str]] = [
    ("array", "[]", "not_object"),
    ("empty object", "{}", "unknown_event"),
    ("request echo", '{"method":"subscribe","params":{"channel":"lightning_board_BTC_JPY"}}',
     "unknown_event"),
    ("unknown channel", notify("lightning_chat_BTC_JPY", {}), "unknown_channel"),
    ("channel number", notify("x", {}).replace('"x"', "5"), "bad_field"),
    ("FX product", snapshot("FX_BTC_JPY"), "unknown_market"),
    ("no params", '{"jsonrpc":"2.0","method":"channelMessage"}', "bad_field"),
    ("no mid", replaced(snapshot(), ("params", "message", "mid_price"), ...), "bad_field"),
    ("mid string", snapshot(mid="5860745"), "bad_field"),
    ("mid negative", snapshot(mid=-1.0), "bad_field"),
    ("mid bool", snapshot(mid=True), "bad_field"),
    ("bids object", snapshot(bids={"5859870": 1}), "bad_field"),
    ("level list", snapshot(bids=[[5_859_870.0, 1.0]]), "bad_field"),
    ("price string", snapshot(bids=[{"price": "5859870", "size": 1.0}]), "bad_field"),
    ("price negative", snapshot(asks=levels((-1.0, 1.0))), "bad_field"),
    ("size zero in snapshot", snapshot(asks=levels((5_861_621.0, 0.0))), "bad_field"),
    ("size bool", snapshot(asks=[{"price": 5_861_621.0, "size": True}]), "bad_field"),
    ("size huge", snapshot(asks=levels((5_861_621.0, 1e400))), "bad_field"),
    ("ticker ltp string", ticker(ltp="5860800"), "bad_field"),
    ("ticker ltp zero", ticker(ltp=0), "bad_field"),
    ("executions object", notify("lightning_executions_BTC_JPY", {}), "bad_field"),
    ("execution price null", executions(None), "bad_field"),
]


@by_name(BAD)
def test_bad_frames_are_counted_by_reason(adapter: BitflyerAdapter, text: str,
                                          reason: str) -> None:
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert reconnect_reason(adapter) is None
    assert len(on_message(adapter, snapshot(), 2)) == 1  # nothing half-read was kept


def test_a_bad_delta_changes_nothing(synced: BitflyerAdapter) -> None:
    good = delta([(5_860_000.0, 0.3)], [(5_861_000.0, 1.0)])
    assert on_message(synced, replaced(good, ("params", "message", "asks", 0, "size"), -1), 2) \
        == []
    assert synced.errors == Counter({"bad_field": 1})
    (quote,) = on_message(synced, good, 3)
    assert quote[2:6] == (5_860_000.0, 0.3, 5_861_000.0, 1.0)


# --- the recorded 2021 session -------------------------------------------------------------


def test_recorded_spot_boards_match_an_independent_book() -> None:
    adapter = BitflyerAdapter(BitflyerAdapter.parse_markets(rest_body("bitflyer", "/v1/markets")))
    spot = set(adapter.markets)
    books: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
    shown: dict[str, tuple[Decimal, ...]] = {}
    last: dict[str, float] = {}
    seen: Counter[str] = Counter()
    total = 0
    for number, event in enumerate(ws_events("bitflyer")):
        quotes = on_message(adapter, event.payload, number)
        if event.kind != "recv":
            continue
        params = json.loads(event.payload)["params"]
        kind, product = _split(params["channel"])
        message = params["message"]
        expected = []
        if product in spot:
            seen[kind] += 1
            if kind == "ticker":
                last[product] = message["ltp"]
            elif kind == "executions" and message:
                last[product] = message[-1]["price"]
            elif kind == "board_snapshot" or product in books:
                if kind == "board_snapshot":
                    books[product] = ({}, {})
                for side, rows in zip(books[product], (message["bids"], message["asks"]),
                                      strict=True):
                    for row in rows:
                        price, size = Decimal(str(row["price"])), Decimal(str(row["size"]))
                        if size:
                            side[price] = size
                        else:
                            side.pop(price, None)
                bids, asks = books[product]
                if bids and asks:
                    now = (max(bids), bids[max(bids)], min(asks), asks[min(asks)])
                    assert now[0] <= Decimal(str(message["mid_price"])) <= now[2]
                    if shown.get(product) != now:
                        shown[product] = now
                        expected.append(("bitflyer", adapter.markets[product].symbol,
                                         *map(float, now),
                                         last.get(product), None, number))
        assert [tuple(q) for q in quotes] == expected, (number, event.payload[:160])
        total += len(quotes)
    assert seen == Counter({"board": 160, "ticker": 68, "board_snapshot": 20, "executions": 7})
    assert total == 61
    # FX, futures and the other regions' books (BTC_EUR, BTC_USD) are not spot on this listing;
    # the deltas that came before their market's first snapshot are counted too, as are the
    # connection line and the 40 subscribe requests the recorder sent (no id, no result).
    assert adapter.errors == Counter({"unknown_market": 390, "no_snapshot": 9, "bad_json": 1,
                                      "unknown_event": 40})
    assert reconnect_reason(adapter) is None


def _split(channel: str) -> tuple[str, str]:
    """`lightning_board_snapshot_ETH_JPY` → (`board_snapshot`, `ETH_JPY`), the test's own way."""
    for kind in ("board_snapshot", "board", "ticker", "executions"):
        prefix = f"lightning_{kind}_"
        if channel.startswith(prefix):
            return kind, channel[len(prefix):]
    raise AssertionError(channel)
