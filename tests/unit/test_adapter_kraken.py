"""Kraken v2 adapter: made-up frames in every documented shape, bad input, markets, requests."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.frames import by_name, edited
from workers.exchanges.fields import parse_rfc3339_ns
from workers.exchanges.kraken import KrakenAdapter

pytestmark = pytest.mark.unit

BTC_USD = Market(symbol="BTC-USD", native="BTC/USD", base="BTC", quote="USD")
DOGE_USD = Market(symbol="DOGE-USD", native="DOGE/USD", base="DOGE", quote="USD")
RECEIVED_NS = 1_767_225_601_300_000_000


def entry(**changes: Any) -> dict[str, Any]:
    """One ticker data entry in the documented shape (made-up values); `...` removes a field."""
    item: dict[str, Any] = {
        "symbol": "BTC/USD", "bid": 64010.1, "bid_qty": 0.53211, "ask": 64010.2, "ask_qty": 1.204,
        "last": 64010.2, "volume": 1523.4412561, "vwap": 63880.4, "low": 63101.0,
        "high": 64550.0, "change": 712.3, "change_pct": 1.12,
        "timestamp": "2026-01-01T00:00:01.234567Z",
    }
    return edited(item, changes)


def ticker(*entries: dict[str, Any], kind: str = "update") -> str:
    """A v2 ticker frame carrying `entries` (one default entry when none given)."""
    return json.dumps({"channel": "ticker", "type": kind, "data": list(entries) or [entry()]})


@pytest.fixture()
def adapter() -> KrakenAdapter:
    return KrakenAdapter([BTC_USD, DOGE_USD])


def test_ping_ids_increment_and_follow_subscribe_ids(adapter: KrakenAdapter) -> None:
    first = json.loads(adapter.ping_message() or "")
    second = json.loads(adapter.ping_message() or "")
    assert first == {"method": "ping", "req_id": first["req_id"]}
    assert second["req_id"] == first["req_id"] + 1
    (sub,) = adapter.subscribe_messages()
    assert json.loads(sub)["req_id"] == second["req_id"] + 1


def test_subscribe_message_content(adapter: KrakenAdapter) -> None:
    (frame,) = adapter.subscribe_messages()
    request = json.loads(frame)
    assert request == {
        "method": "subscribe",
        "params": {"channel": "ticker", "symbol": ["BTC/USD", "DOGE/USD"],
                   "event_trigger": "bbo", "snapshot": True},
        "req_id": request["req_id"],
    }
    assert isinstance(request["req_id"], int)


def test_subscribe_messages_chunk_at_50_symbols() -> None:
    markets = [Market(f"C{i}-USD", f"C{i}/USD", f"C{i}", "USD") for i in range(120)]
    frames = [json.loads(f) for f in KrakenAdapter(markets).subscribe_messages()]
    assert [len(f["params"]["symbol"]) for f in frames] == [50, 50, 20]
    assert [s for f in frames for s in f["params"]["symbol"]] == [m.native for m in markets]
    assert len({f["req_id"] for f in frames}) == 3
    assert KrakenAdapter([]).subscribe_messages() == []


# --- parse_markets -------------------------------------------------------------------------


def asset_pair(wsname: Any, **extra: Any) -> dict[str, Any]:
    return {"altname": "X", "wsname": wsname, "base": "XXBT", "quote": "ZUSD",
            "fees": [[0, 0.4], [10000, 0.35]], **extra}


def test_parse_markets_maps_v1_names_to_v2() -> None:
    payload = {"error": [], "result": {
        "XXBTZUSD": asset_pair("XBT/USD"),
        "XXBTZUSD.d": {"altname": "XBTUSD.d", "base": "XXBT", "quote": "ZUSD"},
        "XDGUSD": asset_pair("XDG/USD"),
        "XETHXXBT": asset_pair("ETH/XBT"),
        "ETHUSDC": asset_pair("ETH/USDC", status="online"),
        "SOLUSD": asset_pair("SOL/USD", status="cancel_only"),
        "ETH2.SETH": asset_pair("ETH2.S/ETH"),
        "BAD1": asset_pair("XBTUSD"),
        "BAD2": asset_pair(None),
        "BAD3": asset_pair(["XBT", "USD"]),
        "BAD4": "not an object",
        "BAD5": asset_pair("A/B/C"),
        "DUP": asset_pair("XBT/USD"),
    }}
    assert KrakenAdapter.parse_markets(payload) == [
        Market("BTC-USD", "BTC/USD", "BTC", "USD"),
        Market("DOGE-USD", "DOGE/USD", "DOGE", "USD"),
        Market("ETH-BTC", "ETH/BTC", "ETH", "BTC"),
        Market("ETH-USDC", "ETH/USDC", "ETH", "USDC"),
    ]


def test_parse_markets_error_list_raises_with_its_text() -> None:
    with pytest.raises(ValueError, match="EGeneral:Temporary lockout"):
        KrakenAdapter.parse_markets({"error": ["EGeneral:Temporary lockout"], "result": {}})


@pytest.mark.parametrize("payload", [None, [], "x", {"error": []}, {"error": [], "result": []}])
def test_parse_markets_rejects_a_malformed_payload(payload: Any) -> None:
    with pytest.raises(ValueError):
        KrakenAdapter.parse_markets(payload)


# --- timestamps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2026-01-01T00:00:01.234567Z", 1_767_225_601_234_567_000),
        ("2026-01-01T00:00:01.234567891Z", 1_767_225_601_234_567_891),
        ("2026-01-01T00:00:01.2345678919Z", 1_767_225_601_234_567_891),  # sub-ns dropped
        # A float anywhere on the way turns this fraction into ...830 ns.
        ("2026-01-01T00:00:01.001971831Z", 1_767_225_601_001_971_831),
        ("2026-01-01T00:00:01Z", 1_767_225_601_000_000_000),
        ("2026-01-01T00:00:01.5z", 1_767_225_601_500_000_000),
        ("2026-01-01T01:30:01.000000001+01:30", 1_767_225_601_000_000_001),
        ("2025-12-31T23:00:01-01:00", 1_767_225_601_000_000_000),
        ("1970-01-01T00:00:00Z", 0),
        ("2024-02-29T12:00:00Z", 1_709_208_000_000_000_000),
    ],
)
def test_rfc3339_exact_ns(text: str, ns: int) -> None:
    assert parse_rfc3339_ns(text) == ns


@pytest.mark.parametrize(
    "text",
    ["", "abc", "2026-01-01", "2026-01-01T00:00:01", "2026-13-01T00:00:01Z",
     "2025-02-29T00:00:01Z", "2026-01-01T24:00:01Z", "2026-01-01T00:61:01Z",
     "2026-01-01T00:00:01.Z", "2026-01-01T00:00:01.123Z trailing", "２０２６-01-01T00:00:01Z"],
)
def test_rfc3339_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339_ns(text)


# --- ticker --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["snapshot", "update"])
def test_ticker_gives_exact_quote(adapter: KrakenAdapter, kind: str) -> None:
    frame = ticker(entry(timestamp="2026-01-01T00:00:01.234567891Z"), kind=kind)
    assert on_message(adapter, frame, RECEIVED_NS) == [
        Quote("kraken", "BTC-USD", 64010.1, 0.53211, 64010.2, 1.204, 64010.2,
              1_767_225_601_234_567_891, RECEIVED_NS)
    ]
    assert not adapter.errors


def test_ticker_without_timestamp_or_last(adapter: KrakenAdapter) -> None:
    (quote,) = on_message(adapter, ticker(entry(timestamp=..., last=...)), RECEIVED_NS)
    assert quote.ts_exchange_ns is None and quote.last is None
    (quote,) = on_message(adapter, ticker(entry(bid=64000, last=None)), RECEIVED_NS)
    assert quote.last is None and quote.bid == 64000.0 and type(quote.bid) is float


def test_ticker_with_several_entries(adapter: KrakenAdapter) -> None:
    doge = entry(symbol="DOGE/USD", bid=0.1, bid_qty=1000, ask=0.11, ask_qty=2000, last=0.105)
    quotes = on_message(adapter, ticker(entry(), doge, entry(symbol="FOO/USD")), 7)
    assert [(q.symbol, q.bid, q.ask, q.last) for q in quotes] == [
        ("BTC-USD", 64010.1, 64010.2, 64010.2),
        ("DOGE-USD", 0.1, 0.11, 0.105),
    ]
    # The unknown symbol in the same frame was counted without losing its neighbours.
    assert adapter.errors == Counter({"unknown_market": 1})


def test_one_bad_entry_does_not_drop_the_good_ones(adapter: KrakenAdapter) -> None:
    quotes = on_message(adapter, ticker(entry(bid="abc"), entry(symbol="DOGE/USD", bid=0.1,
                                                               ask=0.11)), 1)
    assert [q.symbol for q in quotes] == ["DOGE-USD"]
    assert adapter.errors == Counter({"bad_field": 1})


def test_only_a_changed_top_of_book_is_emitted(adapter: KrakenAdapter) -> None:
    assert len(on_message(adapter, ticker(kind="snapshot"), 1)) == 1
    assert on_message(adapter, ticker(), 2) == []
    # last, 24 h stats and time changed, top did not: nothing.
    same_top = entry(last=64000.0, volume=1.0, timestamp="2026-01-01T00:00:09Z")
    assert on_message(adapter, ticker(same_top), 3) == []
    (quote,) = on_message(adapter, ticker(entry(ask_qty=2.5, last=64011.0)), 4)
    assert (quote.ask_size, quote.last, quote.ts_received_ns) == (2.5, 64011.0, 4)
    (quote,) = on_message(adapter, ticker(entry(bid=64009.9, ask_qty=2.5)), 5)
    assert quote.bid == 64009.9
    # Per symbol: DOGE's first entry is new even though BTC's top is known.
    (quote,) = on_message(adapter, ticker(entry(symbol="DOGE/USD", bid=0.1, ask=0.2)), 6)
    assert quote.symbol == "DOGE-USD"
    assert not adapter.errors


def test_crossed_ticker_is_counted(adapter: KrakenAdapter) -> None:
    assert on_message(adapter, ticker(entry(bid=64011.0)), 1) == []
    assert on_message(adapter, ticker(entry(bid=64010.2)), 2) == []  # locked
    assert adapter.errors == Counter({"crossed_book": 2})
    assert len(on_message(adapter, ticker(), 3)) == 1


def test_on_connect_resets_tops_and_flag(adapter: KrakenAdapter) -> None:
    assert len(on_message(adapter, ticker(), 1)) == 1
    on_message(adapter,
        '{"channel":"status","type":"update","data":[{"system":"maintenance"}]}', 2
    )
    on_connect(adapter)
    assert reconnect_reason(adapter) is None
    assert len(on_message(adapter, ticker(kind="snapshot"), 3)) == 1


# --- control frames ------------------------------------------------------------------------


QUIET_FRAMES = {
    "status online": {"channel": "status", "type": "update", "data": [
        {"api_version": "v2", "connection_id": 12345678901234567890, "system": "online",
         "version": "2.0.10"}]},
    "heartbeat": {"channel": "heartbeat"},
    "pong": {"method": "pong", "req_id": 101, "time_in": "2026-01-01T00:00:00.101234Z",
             "time_out": "2026-01-01T00:00:00.101290Z"},
    "pong success": {"method": "pong", "req_id": 101, "success": True},
    "subscribe ack": {"method": "subscribe", "result": {
        "channel": "ticker", "event_trigger": "bbo", "snapshot": True, "symbol": "BTC/USD"},
        "success": True, "time_in": "2026-01-01T00:00:00.101234Z",
        "time_out": "2026-01-01T00:00:00.101290Z", "req_id": 7},
    "subscribe ack warnings": {"method": "subscribe", "result": {
        "channel": "ticker", "symbol": "BTC/USD", "warnings": ["deprecated field"]},
        "success": True, "req_id": 7},
    "unsubscribe ack": {"method": "unsubscribe", "result": {"channel": "ticker",
                                                            "symbol": "BTC/USD"},
                        "success": True, "req_id": 8},
}


@pytest.mark.parametrize("frame", list(QUIET_FRAMES.values()), ids=list(QUIET_FRAMES))
def test_quiet_frames(adapter: KrakenAdapter, frame: dict[str, Any]) -> None:
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert not adapter.errors
    assert reconnect_reason(adapter) is None


def test_status_online_is_remembered(adapter: KrakenAdapter) -> None:
    on_message(adapter, json.dumps(QUIET_FRAMES["status online"]), 1)
    assert adapter.system_status == "online"


@pytest.mark.parametrize("system", ["maintenance", "cancel_only", "post_only"])
def test_status_not_online_asks_for_reconnect(adapter: KrakenAdapter, system: str) -> None:
    frame = {"channel": "status", "type": "update", "data": [
        {"api_version": "v2", "connection_id": 1, "system": system, "version": "2.0.10"}]}
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert reconnect_reason(adapter) == f"status_{system}"
    assert adapter.system_status == system
    assert not adapter.errors


@pytest.mark.parametrize("method", ["subscribe", "unsubscribe"])
def test_failed_request_is_counted_with_its_text(adapter: KrakenAdapter, method: str) -> None:
    frame = {"error": "Currency pair not supported XBT/USD", "method": method,
             "success": False, "symbol": "XBT/USD", "time_in": "2026-01-01T00:00:00.201000Z",
             "time_out": "2026-01-01T00:00:00.201040Z", "req_id": 7}
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert adapter.errors == Counter({f"{method}_error": 1})
    assert last_error(adapter) == "Currency pair not supported XBT/USD"


def test_bare_venue_error_is_counted(adapter: KrakenAdapter) -> None:
    frame = {"error": "EAPI:Rate limit exceeded", "success": False, "req_id": 3}
    assert on_message(adapter, json.dumps(frame), 1) == []
    frame = {"error": "Method not found", "method": "frobnicate", "success": False}
    assert on_message(adapter, json.dumps(frame), 2) == []
    assert adapter.errors == Counter({"venue_error": 2})
    assert last_error(adapter) == "Method not found"


# --- bad input -----------------------------------------------------------------------------


BAD_FRAMES: list[tuple[str, str, str]] = [
    # v1 frames are replay-only (kraken_v1book): only `book-N` channels and v1 events read.
    ("v1 ticker array", '[341, {"a": ["1", 1, "1"]}, "ticker", "XBT/USD"]', "unknown_channel"),
    ("v1 unknown event", '{"event": "frobnicate"}', "unknown_event"),
    ("unknown method", '{"method": "frobnicate", "req_id": 1}', "unknown_event"),
    ("empty object", "{}", "unknown_event"),
    ("book channel", '{"channel": "book", "type": "update", "data": []}', "unknown_channel"),
    ("channel number", '{"channel": 5}', "unknown_channel"),
    ("channel list", '{"channel": ["ticker"]}', "unknown_channel"),
    ("ticker no type", json.dumps({"channel": "ticker", "data": [entry()]}), "bad_field"),
    ("ticker odd type", ticker(kind="delta"), "bad_field"),
    ("ticker no data", '{"channel": "ticker", "type": "update"}', "bad_field"),
    ("ticker data object", json.dumps({"channel": "ticker", "type": "update", "data": entry()}),
     "bad_field"),
    ("ticker data null", '{"channel": "ticker", "type": "update", "data": null}', "bad_field"),
    ("entry not object", '{"channel": "ticker", "type": "update", "data": ["BTC/USD"]}',
     "bad_field"),
    ("entry list", '{"channel": "ticker", "type": "update", "data": [[1, 2]]}', "bad_field"),
    ("unknown market", ticker(entry(symbol="XBT/USD")), "unknown_market"),
    ("symbol list", ticker(entry(symbol=["BTC/USD"])), "bad_field"),
    ("no symbol", ticker(entry(symbol=...)), "bad_field"),
    ("no bid", ticker(entry(bid=...)), "bad_field"),
    ("bid string", ticker(entry(bid="64010.1")), "bad_field"),
    ("bid abc", ticker(entry(bid="abc")), "bad_field"),
    ("bid null", ticker(entry(bid=None)), "bad_field"),
    ("bid bool", ticker(entry(bid=True)), "bad_field"),
    ("bid list", ticker(entry(bid=[64010.1])), "bad_field"),
    ("bid NaN", ticker(entry(bid=float("nan"))), "bad_field"),
    ("ask Infinity", ticker(entry(ask=float("inf"))), "bad_field"),
    ("bid negative", ticker(entry(bid=-1.0)), "bad_field"),
    ("ask zero", ticker(entry(ask=0)), "bad_field"),
    ("qty negative", ticker(entry(ask_qty=-0.1)), "bad_field"),
    ("qty missing", ticker(entry(bid_qty=...)), "bad_field"),
    ("last string", ticker(entry(last="64010.2")), "bad_field"),
    ("last negative", ticker(entry(last=-5)), "bad_field"),
    ("timestamp number", ticker(entry(timestamp=1767225601)), "bad_field"),
    ("timestamp garbage", ticker(entry(timestamp="yesterday")), "bad_field"),
    ("timestamp no zone", ticker(entry(timestamp="2026-01-01T00:00:01.2")), "bad_field"),
    ("status no data", '{"channel": "status", "type": "update"}', "bad_field"),
    ("status empty data", '{"channel": "status", "type": "update", "data": []}', "bad_field"),
    ("status no system", '{"channel": "status", "data": [{"version": "2"}]}', "bad_field"),
    ("status system null", '{"channel": "status", "data": [{"system": null}]}', "bad_field"),
    ("status data string", '{"channel": "status", "data": "online"}', "bad_field"),
]


@by_name(BAD_FRAMES)
def test_bad_frames_are_counted_by_reason(adapter: KrakenAdapter, text: str, reason: str) -> None:
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert reconnect_reason(adapter) is None
    # The adapter is still usable and no half-parsed top was remembered.
    assert len(on_message(adapter, ticker(), 2)) == 1


