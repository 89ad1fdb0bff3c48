"""Poloniex adapter: book_lv2 snapshots and numbered updates, the lastId rule, trades, control
frames, bad input, the listing, and the recorded 2022 session against a book kept in this test."""

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
from workers.exchanges.poloniex import PoloniexAdapter

pytestmark = pytest.mark.unit

BTC = Market("BTC-USDT", "BTC_USDT", "BTC", "USDT")
ETH = Market("ETH-USDT", "ETH_USDT", "ETH", "USDT")
TS = 1_767_225_601_234  # ms


def book(action: str, bids: list[list[str]], asks: list[list[str]], last_id: int, book_id: int,
         symbol: str = "BTC_USDT", ts: Any = TS) -> str:
    return json.dumps({"channel": "book_lv2", "data": [{
        "symbol": symbol, "createTime": TS - 5, "asks": asks, "bids": bids, "lastId": last_id,
        "id": book_id, "ts": ts}], "action": action})


def snapshot(book_id: int = 100, symbol: str = "BTC_USDT", **extra: Any) -> str:
    return book("snapshot", [["64010.1", "0.5"], ["64009", "2"]],
                [["64012.4", "0.25"], ["64015", "1"]], book_id - 1, book_id, symbol, **extra)


def update(bids: list[list[str]], asks: list[list[str]], last_id: int = 100,
           symbol: str = "BTC_USDT", ts: Any = TS + 1) -> str:
    return book("update", bids, asks, last_id, last_id + 1, symbol, ts)


def trade(price: Any = "64011.5", symbol: str = "BTC_USDT") -> str:
    return json.dumps({"channel": "trades", "data": [{
        "symbol": symbol, "amount": "64.0115", "quantity": "0.001", "takerSide": "buy",
        "createTime": TS, "price": price, "id": "60184114", "ts": TS + 3}]})


def top(quote: Quote) -> tuple[float, float, float, float]:
    return quote.bid, quote.bid_size, quote.ask, quote.ask_size


adapter = adapter_fixture(PoloniexAdapter, [BTC, ETH])
synced = synced_fixture(snapshot)  # the first book in, its quote taken


def test_subscribe_names_both_channels_in_chunks_of_100() -> None:
    markets = [Market(f"C{i}-USDT", f"C{i}_USDT", f"C{i}", "USDT") for i in range(230)]
    frames = [json.loads(f) for f in PoloniexAdapter(markets).subscribe_messages()]
    assert [len(f["symbols"]) for f in frames] == [100, 100, 30]
    assert all(f["event"] == "subscribe" and f["channel"] == ["book_lv2", "trades"]
               for f in frames)
    assert [s for f in frames for s in f["symbols"]] == [m.native for m in markets]


# --- the listing ---------------------------------------------------------------------------


def test_recorded_listing() -> None:
    payload = rest_body("poloniex", "/markets")
    markets = {m.native: m for m in PoloniexAdapter.parse_markets(payload)}
    assert len(payload) == 524 and len(markets) == 513  # the 11 PAUSEd markets are left out
    assert markets["BTC_USDT"] == BTC
    assert markets["ETH_BTC"] == Market("ETH-BTC", "ETH_BTC", "ETH", "BTC")
    paused = {e["symbol"] for e in payload if e["state"] != "NORMAL"}
    assert paused and not paused & set(markets)


def test_listing_entries_that_do_not_fit_are_skipped() -> None:
    good = {"symbol": "BTC_USDT", "baseCurrencyName": "BTC", "quoteCurrencyName": "USDT",
            "state": "NORMAL"}
    payload = [good, {**good, "symbol": "BTCUSDT"}, {**good, "symbol": 7},
               {**good, "state": "POST_ONLY"}, {**good, "baseCurrencyName": "b-t"}, "x", {}]
    assert PoloniexAdapter.parse_markets(payload) == [BTC]
    with pytest.raises(ValueError):
        PoloniexAdapter.parse_markets({"code": 500})


# --- books ---------------------------------------------------------------------------------


def test_snapshot_quotes_its_top_at_the_push_time(adapter: PoloniexAdapter) -> None:
    (quote,) = on_message(adapter, snapshot(), 7)
    assert quote == Quote("poloniex", "BTC-USDT", 64010.1, 0.5, 64012.4, 0.25, None,
                          TS * 1_000_000, 7)


def test_updates_that_join_move_the_top(synced: PoloniexAdapter) -> None:
    (quote,) = on_message(synced, update([["64011", "1.5"]], []), 2)
    assert top(quote) == (64011.0, 1.5, 64012.4, 0.25)
    assert quote.ts_exchange_ns == (TS + 1) * 1_000_000
    (quote,) = on_message(synced, update([], [["64012.4", "0"]], last_id=101), 3)
    assert top(quote) == (64011.0, 1.5, 64015.0, 1.0)
    # A change behind the top moves nothing that is quoted.
    assert on_message(synced, update([["64000", "3"]], [], last_id=102), 4) == []
    assert not synced.errors and reconnect_reason(synced) is None


def test_a_lost_update_resyncs_and_drops_the_book(synced: PoloniexAdapter) -> None:
    assert on_message(synced, update([["64011", "1"]], [], last_id=101), 2) == []
    assert reconnect_reason(synced) == "sequence_gap"
    assert synced.errors == Counter({"sequence_gap": 1})
    # The book is gone until a snapshot comes: a later update cannot rebuild it.
    assert on_message(synced, update([["64011", "1"]], [], last_id=102), 3) == []
    assert synced.errors == Counter({"sequence_gap": 2})
    on_connect(synced)
    assert len(on_message(synced, snapshot(500), 4)) == 1
    assert len(on_message(synced, update([["64011", "1"]], [], last_id=500), 5)) == 1
    assert reconnect_reason(synced) is None


def test_ids_are_per_symbol(synced: PoloniexAdapter) -> None:
    assert len(on_message(synced, snapshot(7, "ETH_USDT"), 2)) == 1
    assert len(on_message(synced, update([["64011", "1"]], []), 3)) == 1
    assert len(on_message(synced, update([["64011.5", "1"]], [], 7, "ETH_USDT"), 4)) == 1
    assert reconnect_reason(synced) is None


def test_a_snapshot_mid_stream_resets_the_book(synced: PoloniexAdapter) -> None:
    on_message(synced, update([["64011", "1"]], []), 2)
    fresh = book("snapshot", [["63990", "1"]], [["63995", "2"]], 899, 900)
    (quote,) = on_message(synced, fresh, 3)
    assert top(quote) == (63990.0, 1.0, 63995.0, 2.0)  # nothing of the old book is left
    assert len(on_message(synced, update([["63991", "1"]], [], last_id=900), 4)) == 1
    assert reconnect_reason(synced) is None


@pytest.mark.parametrize(("setup", "bid", "reason"), [
    ([], "64011", "sequence_gap"),  # no snapshot yet on this connection
    ([snapshot()], "64013", "crossed_book"),  # the bid now above the ask: a missed update
    ([snapshot(), "connect"], "64011", "sequence_gap"),  # books end with their connection
], ids=["no snapshot", "crossed", "new connection"])
def test_updates_that_cannot_stand_resync(adapter: PoloniexAdapter, setup: list[str], bid: str,
                                          reason: str) -> None:
    for text in setup:
        if text == "connect":
            on_connect(adapter)
        else:
            on_message(adapter, text, 1)
    assert on_message(adapter, update([[bid, "1"]], []), 2) == []
    assert reconnect_reason(adapter) == reason


def test_a_frame_of_several_entries_is_checked_whole(synced: PoloniexAdapter) -> None:
    doc = json.loads(update([["64011", "1"]], []))
    doc["data"].append({**doc["data"][0], "lastId": 555, "id": 556})
    assert on_message(synced, json.dumps(doc), 2) == []
    assert reconnect_reason(synced) == "sequence_gap"


def test_trades_set_last(synced: PoloniexAdapter) -> None:
    assert on_message(synced, trade(), 2) == []
    (quote,) = on_message(synced, update([["64011", "1"]], []), 3)
    assert quote.last == 64011.5
    on_connect(synced)  # still the last trade after a reconnect
    assert on_message(synced, snapshot(), 4)[0].last == 64011.5


# --- control frames ------------------------------------------------------------------------


def test_acks_and_pongs_are_quiet(adapter: PoloniexAdapter) -> None:
    for frame in ({"event": "subscribe", "channel": "book_lv2", "symbols": ["BTC_USDT"]},
                  {"event": "unsubscribe", "channel": "trades", "symbols": ["BTC_USDT"]},
                  {"event": "pong"}):
        assert on_message(adapter, json.dumps(frame), 1) == []
    assert not adapter.errors


def test_an_error_is_shown_without_reconnecting(adapter: PoloniexAdapter) -> None:
    text = json.dumps({"event": "error", "message": 'Invalid channel value ["book_lv3"]'})
    assert on_message(adapter, text, 1) == []
    assert last_error(adapter) == 'Invalid channel value ["book_lv3"]'
    assert adapter.errors == Counter({"venue_error": 1})
    assert reconnect_reason(adapter) is None


# --- bad input -----------------------------------------------------------------------------


BAD: list[tuple[str, str, str]] = [
    ("array", "[1]", "not_object"),
    ("empty object", "{}", "bad_field"),
    ("unknown event", '{"event": "welcome"}', "unknown_event"),
    ("unknown channel", '{"channel": "ticker", "data": []}', "unknown_channel"),
    ("unknown action", replaced(snapshot(), ("action",), "partial"), "bad_field"),
    ("unknown symbol", snapshot(symbol="FOO_USDT"), "unknown_market"),
    ("symbol number", replaced(snapshot(), ("data", 0, "symbol"), 5), "bad_field"),
    ("data object", replaced(snapshot(), ("data",), {}), "bad_field"),
    ("no id", replaced(snapshot(), ("data", 0, "id"), ...), "bad_field"),
    ("id string", replaced(snapshot(), ("data", 0, "id"), "100"), "bad_field"),
    ("id bool", replaced(snapshot(), ("data", 0, "lastId"), True), "bad_field"),
    ("ts string", snapshot(ts="soon"), "bad_field"),
    ("ts negative", snapshot(ts=-1), "bad_field"),
    ("level number", replaced(snapshot(), ("data", 0, "bids", 0, 0), 64010.1), "bad_field"),
    ("level short", replaced(snapshot(), ("data", 0, "asks", 0), ["64012"]), "bad_field"),
    ("price NaN", replaced(snapshot(), ("data", 0, "asks", 0, 0), "NaN"), "bad_field"),
    ("size zero in snapshot", replaced(snapshot(), ("data", 0, "bids", 0, 1), "0"),
     "bad_field"),
    ("trade unknown symbol", trade(symbol="FOO_USDT"), "unknown_market"),
    ("trade price number", trade(price=64011.5), "bad_field"),
    ("trade price zero", trade(price="0"), "bad_field"),
]


@by_name(BAD)
def test_bad_frames_are_counted_by_reason(adapter: PoloniexAdapter, text: str,
                                          reason: str) -> None:
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert reconnect_reason(adapter) is None
    assert len(on_message(adapter, snapshot(), 2)) == 1  # nothing half-read was kept


@pytest.mark.parametrize("path, value", [
    (("data", 0, "bids", 0, 1), "-1"), (("data", 0, "asks", 0, 0), "abc"),
    (("data", 0, "ts"), None), (("data", 0, "id"), 1.5),
])
def test_a_bad_update_changes_nothing(synced: PoloniexAdapter, path: tuple[Any, ...],
                                      value: Any) -> None:
    good = update([["64011", "1"]], [["64012", "1"]])
    assert on_message(synced, replaced(good, path, value), 2) == []
    assert synced.errors == Counter({"bad_field": 1})
    (quote,) = on_message(synced, good, 3)  # the same id still joins: nothing was applied
    assert top(quote) == (64011.0, 1.0, 64012.0, 1.0)


# --- the recorded 2022 session -------------------------------------------------------------


def test_recorded_session_matches_an_independent_book() -> None:
    adapter = PoloniexAdapter(PoloniexAdapter.parse_markets(rest_body("poloniex", "/markets")))
    books: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]] = {}
    ids: dict[str, int] = {}
    shown: dict[str, tuple[Decimal, ...]] = {}
    last: dict[str, float] = {}
    kinds: Counter[str] = Counter()
    total = 0
    for number, event in enumerate(ws_events("poloniex")):
        quotes = on_message(adapter, event.payload, number)
        if event.kind != "recv":
            continue
        msg = json.loads(event.payload)
        kinds[msg.get("action") or msg.get("event") or msg["channel"]] += 1
        expected = []
        for entry in msg.get("data", []) if msg.get("channel") == "book_lv2" else []:
            symbol = entry["symbol"]
            if msg["action"] == "snapshot":
                books[symbol] = ({}, {})
            else:
                assert entry["lastId"] == ids[symbol]  # the recording has no hole
            ids[symbol] = entry["id"]
            for side, levels in zip(books[symbol], (entry["bids"], entry["asks"]), strict=True):
                for price, size in levels:
                    if Decimal(size):
                        side[Decimal(price)] = Decimal(size)
                    else:
                        side.pop(Decimal(price), None)
            bids, asks = books[symbol]
            now = (max(bids), bids[max(bids)], min(asks), asks[min(asks)])
            if shown.get(symbol) != now:
                shown[symbol] = now
                expected.append((symbol.replace("_", "-"), *map(float, now), last.get(symbol),
                                 entry["ts"] * 1_000_000))
        if msg.get("channel") == "trades" and "data" in msg:
            for row in msg["data"]:
                last[row["symbol"]] = float(row["price"])
        got = [(q.symbol, *top(q), q.last, q.ts_exchange_ns) for q in quotes]
        assert got == expected, (number, event.payload[:160])
        total += len(quotes)
    assert kinds == Counter({"update": 162, "snapshot": 11, "subscribe": 2, "trades": 5})
    assert total == 81
    # Unread: the connection line and the two subscribe requests the recorder sent, both of
    # which carry `event` and are taken for acks; every received frame was read.
    assert adapter.errors == Counter({"bad_json": 1})
    assert reconnect_reason(adapter) is None
