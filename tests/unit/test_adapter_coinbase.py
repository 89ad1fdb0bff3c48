"""Coinbase adapter: made-up frames in every documented shape, bad input, markets, and a replay
of the recorded 2021 session checked against an independent book kept inside this test."""

from __future__ import annotations

import calendar
import json
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.adapter_fixtures import adapter_fixture, synced_fixture
from tests.support.frames import by_name, without
from tests.support.recorded import RECORDED_DIR, rest_body, ws_events
from workers.exchanges.coinbase import CoinbaseAdapter

pytestmark = pytest.mark.unit

BTC_USD = Market("BTC-USD", "BTC-USD", "BTC", "USD")
ETH_USD = Market("ETH-USD", "ETH-USD", "ETH", "USD")
T1 = "2026-01-01T00:00:01.234567Z"
T1_NS = 1_767_225_601_234_567_000
T2 = "2026-01-01T00:00:02.000001Z"
T2_NS = 1_767_225_602_000_001_000


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def snapshot(product: str = "BTC-USD", bids: Any = None, asks: Any = None) -> str:
    return frame(type="snapshot", product_id=product,
                 bids=[["64010.15", "0.25"], ["64009.00", "1.1"]] if bids is None else bids,
                 asks=[["64012.40", "0.05"], ["64015.00", "0.8"]] if asks is None else asks)


def update(*changes: list[str], product: str = "BTC-USD", time: str = T1) -> str:
    return frame(type="l2update", product_id=product, changes=list(changes), time=time)


def ticker(product: str = "BTC-USD", price: str = "64011.37", sequence: int = 81234567890,
           **extra: Any) -> str:
    body = {"type": "ticker", "sequence": sequence, "product_id": product, "price": price,
            "open_24h": "63420.00", "volume_24h": "9123.44556677", "low_24h": "63100.01",
            "high_24h": "64550.00", "volume_30d": "251234.12345678", "best_bid": "64011.36",
            "best_bid_size": "0.41230000", "best_ask": "64011.37",
            "best_ask_size": "0.00918000", "side": "buy", "time": T1, "trade_id": 712345678,
            "last_size": "0.00150000", **extra}
    return json.dumps(body)


def heartbeat(product: str = "BTC-USD", sequence: int = 81234567891) -> str:
    return frame(type="heartbeat", sequence=sequence, last_trade_id=712345678,
                 product_id=product, time="2026-01-01T00:00:03.000123Z")


adapter = adapter_fixture(CoinbaseAdapter, [BTC_USD, ETH_USD])
synced = synced_fixture(snapshot)  # the first book in, its quote taken


def test_subscribe_message_content(adapter: CoinbaseAdapter) -> None:
    (text,) = adapter.subscribe_messages()
    assert json.loads(text) == {"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"],
                                "channels": ["level2_batch", "ticker", "heartbeat"]}
    assert CoinbaseAdapter([]).subscribe_messages() == []


def test_subscribe_messages_chunk_at_100_products() -> None:
    markets = [Market(f"C{i}-USD", f"C{i}-USD", f"C{i}", "USD") for i in range(250)]
    frames = [json.loads(f) for f in CoinbaseAdapter(markets).subscribe_messages()]
    assert [len(f["product_ids"]) for f in frames] == [100, 100, 50]
    assert [p for f in frames for p in f["product_ids"]] == [m.native for m in markets]
    assert all(len(json.dumps(f)) < 2_000 for f in frames)


# --- parse_markets -------------------------------------------------------------------------


def product(pid: Any, base: Any = None, quote: Any = None, **extra: Any) -> dict[str, Any]:
    b, q = (pid.split("-") + ["", ""])[:2] if isinstance(pid, str) else ("X", "Y")
    return {"id": pid, "base_currency": base or b, "quote_currency": quote or q,
            "quote_increment": "0.01", "base_increment": "0.00000001", "display_name": pid,
            "margin_enabled": False, "post_only": False, "limit_only": False,
            "cancel_only": False, "status": "online", "status_message": "",
            "trading_disabled": False, **extra}


def test_parse_markets_filters_and_skips() -> None:
    payload = [
        product("BTC-USD"),
        product("ETH-USDT", limit_only=True),  # limit-only still takes marketable orders
        product("BTC-USDC", fx_stablecoin=False, auction_mode=False),
        product("SOL-USD", status="delisted"),
        product("ADA-USD", trading_disabled=True),
        product("DOT-USD", cancel_only=True),
        product("LINK-USD", post_only=True),
        product("NEW-USD", auction_mode=True),
        product("BTC-USD"),  # duplicate
        product("WEIRD-USD", base="OTHER"),  # id and currencies disagree
        product(None),
        product(7),
        {"id": "NOSTATUS-USD", "base_currency": "NOSTATUS", "quote_currency": "USD"},
        "BTC-EUR",
        product("BAD/ID", base="BAD", quote="ID"),
    ]
    assert CoinbaseAdapter.parse_markets(payload) == [
        Market("BTC-USD", "BTC-USD", "BTC", "USD"),
        Market("ETH-USDT", "ETH-USDT", "ETH", "USDT"),
        Market("BTC-USDC", "BTC-USDC", "BTC", "USDC"),
    ]


@pytest.mark.parametrize("payload", [None, {}, "x", {"message": "NotFound"}, 5])
def test_parse_markets_rejects_a_malformed_payload(payload: Any) -> None:
    with pytest.raises(ValueError):
        CoinbaseAdapter.parse_markets(payload)


def test_parse_markets_on_the_recorded_listing() -> None:
    listing = rest_body("coinbase", "/products")
    markets = CoinbaseAdapter.parse_markets(listing)
    by_native = {m.native: m for m in markets}
    # Every 2021 product was online and tradeable (eight limit-only ones included).
    assert len(markets) == len(listing) == 162
    assert by_native["BTC-USD"] == Market("BTC-USD", "BTC-USD", "BTC", "USD")
    assert by_native["ETH-DAI"] == Market("ETH-DAI", "ETH-DAI", "ETH", "DAI")
    assert by_native["DAI-USDC"] == Market("DAI-USDC", "DAI-USDC", "DAI", "USDC")
    assert by_native["SKL-GBP"].symbol == "SKL-GBP"
    assert {"BTC-USD", "BTC-USDC"} <= set(by_native) and "BTC-USDT" not in by_native
    assert all(m.native == m.symbol for m in markets)
    # The same listing with one product disabled and one cancel-only.
    for entry in listing:
        if entry["id"] == "BTC-USD":
            entry["trading_disabled"] = True
        if entry["id"] == "ETH-USD":
            entry["cancel_only"] = True
    natives = {m.native for m in CoinbaseAdapter.parse_markets(listing)}
    assert len(natives) == 160 and not {"BTC-USD", "ETH-USD"} & natives


# --- book ----------------------------------------------------------------------------------


def test_snapshot_gives_exact_quote_without_venue_time(adapter: CoinbaseAdapter) -> None:
    assert on_message(adapter, snapshot(), 77) == [
        Quote("coinbase", "BTC-USD", 64010.15, 0.25, 64012.40, 0.05, None, None, 77)
    ]
    assert not adapter.errors


def test_snapshot_with_a_time_uses_it(adapter: CoinbaseAdapter) -> None:
    body = json.loads(snapshot())
    body["time"] = T2
    (quote,) = on_message(adapter, json.dumps(body), 5)
    assert quote.ts_exchange_ns == T2_NS


def test_empty_or_one_sided_snapshot_quotes_nothing(adapter: CoinbaseAdapter) -> None:
    assert on_message(adapter, snapshot(bids=[], asks=[]), 1) == []
    assert on_message(adapter, update(["buy", "100.5", "2"]), 2) == []  # still one-sided
    (quote,) = on_message(adapter, update(["sell", "101", "3"], time=T2), 3)
    assert quote == Quote("coinbase", "BTC-USD", 100.5, 2.0, 101.0, 3.0, None, T2_NS, 3)
    assert not adapter.errors and reconnect_reason(adapter) is None


def test_updates_move_the_top_with_exact_time(synced: CoinbaseAdapter) -> None:
    # A better bid.
    (quote,) = on_message(synced, update(["buy", "64011.00", "0.5"]), 10)
    assert quote == Quote("coinbase", "BTC-USD", 64011.0, 0.5, 64012.4, 0.05, None, T1_NS, 10)
    # The best ask deleted (any zero spelling): the next level is the top.
    (quote,) = on_message(synced, update(["sell", "64012.40", "0.00000000"], time=T2), 11)
    assert (quote.ask, quote.ask_size, quote.ts_exchange_ns) == (64015.0, 0.8, T2_NS)
    # Several changes in one frame, one quote for the final top.
    quotes = on_message(synced, update(["buy", "64011.00", "0"], ["buy", "64010.15", "0.0"],
                                      ["sell", "64013", "1"]), 12)
    assert [(q.bid, q.bid_size, q.ask, q.ask_size) for q in quotes] == [
        (64009.0, 1.1, 64013.0, 1.0)]
    assert not synced.errors


def test_only_a_changed_top_is_emitted(synced: CoinbaseAdapter) -> None:
    assert on_message(synced, update(["buy", "64009.00", "5"]), 2) == []  # deeper level
    assert on_message(synced, update(["sell", "64020", "1"]), 3) == []  # new deeper level
    assert on_message(synced, update(["buy", "64010.15", "0.25"]), 4) == []  # same size again
    assert on_message(synced, snapshot(), 5) == []  # a resent identical book
    (quote,) = on_message(synced, update(["buy", "64010.15", "0.3"]), 6)
    assert quote.bid_size == 0.3
    # Per product: ETH's first book is new although BTC's top is known.
    (quote,) = on_message(synced, snapshot("ETH-USD", [["3200", "1"]], [["3201", "2"]]), 7)
    assert quote.symbol == "ETH-USD"
    assert not synced.errors


def test_ticker_and_matches_set_last_and_emit_nothing(synced: CoinbaseAdapter) -> None:
    assert on_message(synced, ticker(price="64011.37"), 2) == []
    (quote,) = on_message(synced, update(["sell", "64012.00", "1"]), 3)
    assert quote.last == 64011.37
    match = {"type": "match", "trade_id": 712345679, "maker_order_id": "a", "taker_order_id": "b",
             "side": "sell", "size": "0.01", "price": "64012.00", "product_id": "BTC-USD",
             "sequence": 81234567895, "time": T2}
    assert on_message(synced, json.dumps(match), 4) == []
    (quote,) = on_message(synced, update(["sell", "64012.00", "2"]), 5)
    assert quote.last == 64012.0
    # last_match (sent on subscribing to `matches`) is read the same way.
    assert on_message(synced, json.dumps({**match, "type": "last_match", "price": "64000.5",
                                         "sequence": 81234567896}), 6) == []
    (quote,) = on_message(synced, update(["sell", "64012.00", "3"]), 7)
    assert quote.last == 64000.5
    # The 2021 ticker had no best_bid_size / best_ask_size: still a last price.
    body = json.loads(ticker(price="64001.00", sequence=81234567899))
    del body["best_bid_size"], body["best_ask_size"]
    assert on_message(synced, json.dumps(body), 8) == []
    (quote,) = on_message(synced, update(["sell", "64012.00", "4"]), 9)
    assert quote.last == 64001.0
    assert not synced.errors


def test_last_survives_a_reconnect(synced: CoinbaseAdapter) -> None:
    on_message(synced, ticker(price="64011.37"), 2)
    on_connect(synced)
    (quote,) = on_message(synced, snapshot(), 3)
    assert quote.last == 64011.37


# --- sequences and resyncs -----------------------------------------------------------------


def test_sequence_going_back_on_ticker_asks_for_a_resync(synced: CoinbaseAdapter) -> None:
    assert on_message(synced, ticker(sequence=100, price="1.5"), 1) == []
    assert on_message(synced, ticker(sequence=100, price="1.6"), 2) == []  # same: allowed
    assert on_message(synced, ticker(sequence=5000, price="1.7"), 3) == []  # skips: normal
    assert reconnect_reason(synced) is None and not synced.errors
    assert on_message(synced, ticker(sequence=4999, price="9.9"), 4) == []
    assert reconnect_reason(synced) == "sequence_gap"
    assert synced.errors == Counter({"sequence_gap": 1})
    # The stale trade did not become `last`.
    (quote,) = on_message(synced, update(["buy", "64011", "1"]), 5)
    assert quote.last == 1.7


def test_sequence_going_back_on_heartbeat_asks_for_a_resync(synced: CoinbaseAdapter) -> None:
    assert on_message(synced, heartbeat(sequence=10), 1) == []
    assert on_message(synced, heartbeat(sequence=12), 2) == []
    assert on_message(synced, heartbeat("ETH-USD", sequence=3), 3) == []  # another product
    # Channels are tracked apart: a ticker for an older trade is no gap in the heartbeats.
    assert on_message(synced, ticker(sequence=11), 4) == []
    assert reconnect_reason(synced) is None and not synced.errors
    assert on_message(synced, heartbeat(sequence=11), 5) == []
    assert reconnect_reason(synced) == "sequence_gap"
    assert synced.errors == Counter({"sequence_gap": 1})


def test_sequences_restart_with_the_connection(synced: CoinbaseAdapter) -> None:
    on_message(synced, heartbeat(sequence=1000), 1)
    on_connect(synced)
    assert on_message(synced, heartbeat(sequence=5), 2) == []
    assert reconnect_reason(synced) is None and not synced.errors


def test_update_without_snapshot_asks_for_a_resync(adapter: CoinbaseAdapter) -> None:
    assert on_message(adapter, update(["buy", "1", "1"]), 1) == []
    assert reconnect_reason(adapter) == "sequence_gap"
    assert adapter.errors == Counter({"sequence_gap": 1})


def test_books_are_forgotten_on_connect(synced: CoinbaseAdapter) -> None:
    on_connect(synced)
    assert on_message(synced, update(["buy", "64011", "1"]), 1) == []
    assert reconnect_reason(synced) == "sequence_gap"


def test_unreadable_update_drops_the_book(synced: CoinbaseAdapter) -> None:
    assert on_message(synced, update(["buy", "abc", "1"]), 1) == []
    assert synced.errors == Counter({"bad_field": 1}) and reconnect_reason(synced) is None
    # The next (good) update has no book to go into: resync rather than quote a wrong top.
    assert on_message(synced, update(["buy", "64011", "1"]), 2) == []
    assert reconnect_reason(synced) == "sequence_gap"
    on_connect(synced)
    assert len(on_message(synced, snapshot(), 3)) == 1


def test_crossed_by_deltas_resyncs_once_per_episode(synced: CoinbaseAdapter) -> None:
    assert on_message(synced, update(["buy", "64013.00", "1"]), 1) == []
    assert reconnect_reason(synced) == "crossed_book"
    assert synced.errors == Counter({"crossed_book": 1})
    on_connect(synced)
    # The venue's own book is crossed (an auction): counted, no quote, no second reconnect.
    crossed = snapshot(bids=[["64013", "1"]], asks=[["64012", "1"]])
    assert on_message(synced, crossed, 2) == []
    assert on_message(synced, update(["buy", "64014", "1"]), 3) == []
    assert reconnect_reason(synced) is None
    assert synced.errors == Counter({"crossed_book": 3})
    # Uncrossed again: quotes flow, and a later crossing may resync once more.
    (quote,) = on_message(synced, update(["buy", "64014", "0"], ["buy", "64013", "0"],
                                        ["buy", "64011", "2"]), 4)
    assert (quote.bid, quote.ask) == (64011.0, 64012.0)
    assert on_message(synced, update(["sell", "64010", "1"]), 5) == []
    assert reconnect_reason(synced) == "crossed_book"


# --- control frames ------------------------------------------------------------------------


def test_subscriptions_ack_is_quiet(adapter: CoinbaseAdapter) -> None:
    ack = {"type": "subscriptions", "channels": [
        {"name": "level2_batch", "product_ids": ["BTC-USD", "ETH-USD"]},
        {"name": "heartbeat", "product_ids": ["BTC-USD", "ETH-USD"]}], "account_ids": None}
    assert on_message(adapter, json.dumps(ack), 1) == []
    assert on_message(adapter, '{"type": "status", "products": [], "currencies": []}', 2) == []
    assert not adapter.errors and reconnect_reason(adapter) is None


def test_failed_subscription_is_counted_without_reconnecting(adapter: CoinbaseAdapter) -> None:
    error = {"type": "error", "message": "Failed to subscribe",
             "reason": "FOO-USD is not a valid product"}
    assert on_message(adapter, json.dumps(error), 1) == []
    assert adapter.errors == Counter({"venue_error": 1})
    assert last_error(adapter) == "Failed to subscribe: FOO-USD is not a valid product"
    assert reconnect_reason(adapter) is None


@pytest.mark.parametrize(("message", "reason"), [
    ("ErrSlowConsume", "slow_consumer"), ("ErrSlowRead", "slow_consumer"),
    ("Message too big", "venue_error"),
])
def test_disconnect_notice_asks_for_a_reconnect(adapter: CoinbaseAdapter, message: str,
                                                reason: str) -> None:
    # Too slow a reader is a resync (the venue dropped frames for us); other notices are not.
    assert on_message(adapter, json.dumps({"type": "error", "message": message}), 1) == []
    assert adapter.errors == Counter({"venue_error": 1})
    assert last_error(adapter) == message
    assert reconnect_reason(adapter) == reason


# --- bad input -----------------------------------------------------------------------------


BAD_FRAMES: list[tuple[str, str, str]] = [
    ("array", '["snapshot"]', "not_object"),
    ("empty object", "{}", "unknown_event"),
    ("unknown type", '{"type": "received", "product_id": "BTC-USD"}', "unknown_event"),
    ("type number", '{"type": 5}', "unknown_event"),
    ("type list", '{"type": ["ticker"]}', "unknown_event"),
    ("subscribe echo", '{"type": "subscribe", "channels": ["ticker"]}', "unknown_event"),
    ("unknown product snapshot", snapshot("FOO-USD"), "unknown_market"),
    ("unknown product update", update(["buy", "1", "1"], product="FOO-USD"), "unknown_market"),
    ("unknown product ticker", ticker("FOO-USD"), "unknown_market"),
    ("unknown product heartbeat", heartbeat("FOO-USD"), "unknown_market"),
    ("product number", snapshot().replace('"BTC-USD"', "7"), "bad_field"),
    ("no product", without(snapshot(), "product_id"), "bad_field"),
    ("no bids", without(snapshot(), "bids"), "bad_field"),
    ("bids object", snapshot(bids={"64000": "1"}), "bad_field"),
    ("level string", snapshot(bids=["64000,1"]), "bad_field"),
    ("level short", snapshot(bids=[["64000"]]), "bad_field"),
    ("price number", snapshot(bids=[[64000.1, "1"]]), "bad_field"),
    ("price abc", snapshot(bids=[["abc", "1"]]), "bad_field"),
    ("price NaN", snapshot(asks=[["NaN", "1"]]), "bad_field"),
    ("price negative", snapshot(asks=[["-1", "1"]]), "bad_field"),
    ("price zero", snapshot(asks=[["0", "1"]]), "bad_field"),
    ("size zero in snapshot", snapshot(asks=[["64012", "0"]]), "bad_field"),
    ("size infinity", snapshot(asks=[["64012", "Infinity"]]), "bad_field"),
    ("snapshot time garbage", json.dumps({**json.loads(snapshot()), "time": "soon"}),
     "bad_field"),
    ("ticker price number", ticker(price=64011.37), "bad_field"),  # type: ignore[arg-type]
    ("ticker price negative", ticker(price="-1"), "bad_field"),
    ("ticker no price", without(ticker(), "price"), "bad_field"),
    ("ticker sequence string", ticker(sequence="5"), "bad_field"),  # type: ignore[arg-type]
    ("ticker sequence bool", ticker(sequence=True), "bad_field"),  # type: ignore[arg-type]
    ("ticker sequence negative", ticker(sequence=-1), "bad_field"),
    ("heartbeat no sequence", without(heartbeat(), "sequence"), "bad_field"),
    ("heartbeat sequence float", heartbeat(sequence=1.5), "bad_field"),  # type: ignore[arg-type]
]


@by_name(BAD_FRAMES)
def test_bad_frames_are_counted_by_reason(adapter: CoinbaseAdapter, text: str,
                                          reason: str) -> None:
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert reconnect_reason(adapter) is None
    # Still usable, and no half-parsed book was kept.
    assert len(on_message(adapter, snapshot(), 2)) == 1


BAD_UPDATES: list[tuple[str, str]] = [
    ("changes object", frame(type="l2update", product_id="BTC-USD", changes={}, time=T1)),
    ("change short", update(["buy", "1"])),
    ("change long", update(["buy", "1", "1", "x"])),
    ("change string", update("buy 1 1")),  # type: ignore[arg-type]
    ("side unknown", update(["bid", "64011", "1"])),
    ("side list", update([["buy"], "64011", "1"])),  # type: ignore[list-item]
    ("price zero", update(["buy", "0", "1"])),
    ("size negative", update(["buy", "64011", "-1"])),
    ("size number", update(["buy", "64011", 1])),  # type: ignore[list-item]
    ("size NaN", update(["buy", "64011", "nan"])),
    ("no time", without(update(["buy", "64011", "1"]), "time")),
    ("time number", frame(type="l2update", product_id="BTC-USD",
                          changes=[["buy", "64011", "1"]], time=1767225601)),
    ("time without zone", update(["buy", "64011", "1"], time="2026-01-01T00:00:01.5")),
]


@pytest.mark.parametrize("text", [t for _, t in BAD_UPDATES], ids=[n for n, _ in BAD_UPDATES])
def test_bad_updates_are_counted_and_never_half_applied(synced: CoinbaseAdapter,
                                                        text: str) -> None:
    # A good change first in the same frame must not reach the book either.
    body = json.loads(text)
    if isinstance(body.get("changes"), list):
        body["changes"].insert(0, ["buy", "64011.50", "9"])
    assert on_message(synced, json.dumps(body), 1) == []
    assert synced.errors == Counter({"bad_field": 1})
    on_connect(synced)
    (quote,) = on_message(synced, snapshot(), 2)
    assert quote.bid == 64010.15


# --- the recorded 2021 session -------------------------------------------------------------


def _iso_ns(text: str) -> int:
    """The test's own ISO 8601 → ns (µs precision is all Coinbase sends)."""
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return calendar.timegm(moment.timetuple()) * 10**9 + moment.microsecond * 1000


def test_recorded_session_matches_an_independent_book() -> None:
    markets = CoinbaseAdapter.parse_markets(rest_body("coinbase", "/products"))
    adapter = CoinbaseAdapter(markets)
    books: dict[str, tuple[dict[Decimal, str], dict[Decimal, str]]] = {}
    last_top: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
    last_price: dict[str, str] = {}
    events = list(ws_events("coinbase"))
    kinds: Counter[str] = Counter()
    quotes_seen = 0
    for number, event in enumerate(events):
        quotes = on_message(adapter, event.payload, number)
        if event.kind != "recv":
            continue
        msg = json.loads(event.payload)
        kind = msg["type"]
        kinds[kind] += 1
        expected: list[tuple[Any, ...]] = []
        if kind in ("snapshot", "l2update"):
            product = msg["product_id"]
            if kind == "snapshot":
                books[product] = ({Decimal(p): s for p, s in msg["bids"]},
                                  {Decimal(p): s for p, s in msg["asks"]})
            else:
                for side, price, size in msg["changes"]:
                    levels = books[product][0 if side == "buy" else 1]
                    if Decimal(size) == 0:
                        levels.pop(Decimal(price), None)
                    else:
                        levels[Decimal(price)] = size
            bids, asks = books[product]
            if bids and asks:
                bid, ask = max(bids), min(asks)
                assert bid < ask
                top = (bid, Decimal(bids[bid]), ask, Decimal(asks[ask]))
                if last_top.get(product) != top:
                    last_top[product] = top
                    ts = _iso_ns(msg["time"]) if kind == "l2update" else None
                    last = float(last_price[product]) if product in last_price else None
                    expected.append(("coinbase", product, *map(float, top), last, ts, number))
        elif kind in ("ticker", "match", "last_match"):
            last_price[msg["product_id"]] = msg["price"]
        assert [tuple(q) for q in quotes] == expected, (number, event.payload[:200])
        quotes_seen += len(quotes)
    assert kinds == Counter({"l2update": 5862, "ticker": 46, "match": 36, "snapshot": 10,
                             "last_match": 10, "subscriptions": 3})
    assert quotes_seen > 900
    # Unreadable for the adapter: the connection line (an empty payload) and the three
    # subscribe requests the recorder sent; every received frame was read.
    assert adapter.errors == Counter({"bad_json": 1, "unknown_event": 3})
    assert reconnect_reason(adapter) is None


def test_recorded_lines_whole_are_bad_json() -> None:
    adapter = CoinbaseAdapter([])
    raw = [line for line in (RECORDED_DIR / "coinbase.ws.txt").read_text().splitlines() if line]
    for line in raw:
        assert on_message(adapter, line, 1) == []
    # A timestamp prefix or URL makes no line valid JSON as a whole.
    assert adapter.errors == Counter({"bad_json": len(raw)})
    assert len(raw) == len(list(ws_events("coinbase"))) > 5_000
