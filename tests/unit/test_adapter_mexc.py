"""MEXC spot adapter: protobuf pushes built here field by field (documented shapes, made-up
values), the JSON answers, bad input of both kinds, the exchangeInfo listing and the 30
subscriptions a connection takes.

There is no recorded MEXC traffic in the current (protobuf) protocol: every frame is written
here from mexcdevelop/websocket-proto and the spot v3 documentation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message
from workers.exchanges.events import VenueError
from workers.exchanges.mexc import MexcAdapter

pytestmark = pytest.mark.unit

BTC_USDT = Market(symbol="BTC-USDT", native="BTCUSDT", base="BTC", quote="USDT")
ETH_BTC = Market(symbol="ETH-BTC", native="ETHBTC", base="ETH", quote="BTC")
RECEIVED_NS = 1_767_225_601_000_000_007
SEND_MS = 1_767_225_600_433
AGGRE = "spot@public.aggre.bookTicker.v3.api.pb@10ms@"
TOP = ("93387.28", "3.73485", "93387.29", "7.669875")


def _uvarint(number: int) -> bytes:
    """An unsigned varint; negative numbers as their 64-bit two's complement."""
    number &= (1 << 64) - 1
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def pb(*pairs: tuple[int, Any]) -> bytes:
    """A protobuf message: an int is a varint field, str or bytes a length-delimited one."""
    out = b""
    for number, value in pairs:
        if isinstance(value, int):
            out += _uvarint(number << 3) + _uvarint(value)
        else:
            raw = value.encode() if isinstance(value, str) else value
            out += _uvarint(number << 3 | 2) + _uvarint(len(raw)) + raw
    return out


def ticker(top: tuple[str, ...] = TOP) -> bytes:
    """A (Aggre)BookTicker body; "" fields are left out, as proto3 does."""
    return pb(*((n, text) for n, text in enumerate(top, start=1) if text))


def push(body: bytes | None = None, field: int = 315, symbol: str | None = "BTCUSDT",
         channel: str | None = None, send: int | None = SEND_MS, *extra: tuple[int, Any]) -> bytes:
    """A PushDataV3ApiWrapper: channel, symbol, symbolId, sendTime and the body."""
    pairs: list[tuple[int, Any]] = [(1, channel or AGGRE + (symbol or "BTCUSDT"))]
    if symbol is not None:
        pairs += [(3, symbol), (4, "2fb942154ef44a4ab2ef98c8afb6a4a7")]
    if send is not None:
        pairs.append((6, send))
    pairs += [(field, ticker() if body is None else body), *extra]
    return pb(*pairs)


def quote(top: tuple[float, ...] = (93387.28, 3.73485, 93387.29, 7.669875),
          ts: int | None = SEND_MS * 1_000_000, symbol: str = "BTC-USDT") -> Quote:
    return Quote("mexc", symbol, *top, None, ts, RECEIVED_NS)


def binary(adapter: MexcAdapter, data: bytes) -> list[Any]:
    """The events of one binary frame."""
    return adapter.on_binary(data, RECEIVED_NS)


@pytest.fixture()
def adapter() -> MexcAdapter:
    return MexcAdapter([BTC_USDT, ETH_BTC])


def test_subscribe_names_the_10ms_book_ticker_of_every_market(adapter: MexcAdapter) -> None:
    (frame,) = adapter.subscribe_messages()
    assert json.loads(frame) == {"method": "SUBSCRIPTION", "id": 1, "params": [
        AGGRE + "BTCUSDT", AGGRE + "ETHBTC"]}


def test_subscribe_frames_hold_at_most_30_channels() -> None:
    markets = [Market(f"C{i}-USDT", f"C{i}USDT", f"C{i}", "USDT") for i in range(65)]
    frames = [json.loads(f) for f in MexcAdapter(markets).subscribe_messages()]
    assert [len(f["params"]) for f in frames] == [30, 30, 5]
    assert [f["id"] for f in frames] == [1, 2, 3]
    assert [p for f in frames for p in f["params"]] == [AGGRE + m.native for m in markets]


def test_ping_and_pong(adapter: MexcAdapter) -> None:
    assert json.loads(adapter.ping_message() or "") == {"method": "PING"}
    assert adapter.on_message('{"id":0,"code":0,"msg":"PONG"}', 1) == []
    assert not adapter.errors


# --- answers -------------------------------------------------------------------------------


def test_acks_are_quiet(adapter: MexcAdapter) -> None:
    for msg in (AGGRE + "BTCUSDT", f"{AGGRE}BTCUSDT,{AGGRE}ETHBTC"):
        assert adapter.on_message(json.dumps({"id": 3, "code": 0, "msg": msg}), 1) == []
    assert not adapter.errors


def test_a_refusal_is_a_venue_error(adapter: MexcAdapter) -> None:
    text = ("Not Subscribed successfully! [spot@public.bookTicker.v3.api@BTCUSDT].  "
            "Reason： Blocked! ")
    assert adapter.on_message(json.dumps({"id": 0, "code": 0, "msg": text}), 1) == [
        VenueError(text)]
    assert adapter.errors["venue_error"] == 1


@pytest.mark.parametrize(("answer", "error"), [
    ({"id": 0, "code": 1, "msg": "busy"}, "1 busy"),
    ({"id": 0, "code": 0, "msg": "Invalid request"}, "Invalid request"),
    ({"id": 0, "code": "0", "msg": "PONG"}, "0 PONG"),
])
def test_other_answers_are_venue_errors(adapter: MexcAdapter, answer: Any, error: str) -> None:
    assert on_message(adapter, json.dumps(answer), 1) == []
    assert last_error(adapter) == error


@pytest.mark.parametrize(("text", "reason"), [
    ('{"id":0,"code":0}', "bad_field"),
    ('{"id":0,"code":0,"msg":["PONG"]}', "bad_field"),
    ('{"method":"PING"}', "unknown_event"),
    ("[1]", "not_object"),
    ("PONG", "bad_json"),
])
def test_unusable_text_is_counted(adapter: MexcAdapter, text: str, reason: str) -> None:
    assert adapter.on_message(text, 1) == []
    assert adapter.errors == {reason: 1}


# --- listing -------------------------------------------------------------------------------


def entry(symbol: str, base: Any, quote: Any, status: Any = "1", **extra: Any) -> dict[str, Any]:
    return {"symbol": symbol, "status": status, "baseAsset": base, "quoteAsset": quote,
            "isSpotTradingAllowed": True, "takerCommission": "0.0005", **extra}


def test_parse_markets_keeps_online_symbols() -> None:
    payload = {"timezone": "CST", "serverTime": 1767225600000, "symbols": [
        entry("BTCUSDT", "BTC", "USDT"),
        entry("ETHBTC", "ETH", "BTC", status="ENABLED"),  # the spelling before 2024-08
        entry("MXUSDT", "MX", "USDT", isSpotTradingAllowed=False),  # API orders off: followed
        entry("SOLUSDT", "SOL", "USDT", status="2"),  # paused
        entry("XRPUSDT", "XRP", "USDT", status="3"),  # offline
        entry("ADAUSDT", "ADA", "USDC"),  # the symbol disagrees with its assets
        entry("DOTUSDT", None, "USDT"),
        {"symbol": "LTCUSDT"},
        "not an object",
        entry("BTCUSDT", "BTC", "USDT"),
    ]}
    assert MexcAdapter.parse_markets(payload) == [
        BTC_USDT, ETH_BTC, Market("MX-USDT", "MXUSDT", "MX", "USDT")]


@pytest.mark.parametrize("payload", [None, [], {"symbols": {}}, {"code": 0}])
def test_a_listing_of_another_shape_raises(payload: Any) -> None:
    with pytest.raises(ValueError):
        MexcAdapter.parse_markets(payload)


# --- pushes --------------------------------------------------------------------------------


def test_an_aggre_book_ticker_gives_the_exact_quote(adapter: MexcAdapter) -> None:
    assert binary(adapter, push()) == [quote()]
    assert not adapter.errors


def test_the_rendered_json_is_the_documented_shape() -> None:
    assert json.loads(MexcAdapter.decode_binary(push())) == {
        "channel": AGGRE + "BTCUSDT", "symbol": "BTCUSDT", "sendTime": SEND_MS,
        "publicAggreBookTicker": {"bidPrice": "93387.28", "bidQuantity": "3.73485",
                                  "askPrice": "93387.29", "askQuantity": "7.669875"}}


def test_only_a_changed_top_is_quoted_until_a_reconnect(adapter: MexcAdapter) -> None:
    assert len(binary(adapter, push())) == 1
    assert binary(adapter, push(send=SEND_MS + 10)) == []
    (moved,) = binary(adapter, push(ticker(("93387.28", "3.7", *TOP[2:]))))
    assert moved.bid_size == 3.7
    on_connect(adapter)
    assert len(binary(adapter, push(ticker(("93387.28", "3.7", *TOP[2:]))))) == 1


def test_the_batch_channel_quotes_its_latest_item(adapter: MexcAdapter) -> None:
    items = pb((1, ticker(("96567.30", "1", "96567.40", "2"))), (1, ticker()))
    frame = push(items, field=311, channel="spot@public.bookTicker.batch.v3.api.pb@BTCUSDT")
    assert binary(adapter, frame) == [quote()]
    assert binary(adapter, push(b"", field=311)) == []
    assert adapter.errors == {"empty_book": 1}


def test_the_older_book_ticker_body_and_the_time_fallbacks(adapter: MexcAdapter) -> None:
    assert binary(adapter, push(field=305, send=None)) == [quote(ts=None)]
    on_connect(adapter)
    (q,) = binary(adapter, push(None, 315, "BTCUSDT", None, None, (5, SEND_MS - 2)))
    assert q.ts_exchange_ns == (SEND_MS - 2) * 1_000_000


def test_the_symbol_falls_back_to_the_channel(adapter: MexcAdapter) -> None:
    assert binary(adapter, push(symbol=None, channel=AGGRE + "ETHBTC")) == [
        quote(symbol="ETH-BTC")]


def test_unknown_fields_of_every_wire_type_are_skipped(adapter: MexcAdapter) -> None:
    fixed = bytes([7 << 3 | 1]) + b"\x01" * 8 + bytes([8 << 3 | 5]) + b"\x02" * 4
    body = ticker() + pb((9, 5), (10, "later field")) + fixed
    assert binary(adapter, push(body) + pb((2, 1), (99, "x")) + fixed) == [quote()]


@pytest.mark.parametrize(("frame", "reason"), [
    (push(symbol="SOLUSDT"), "unknown_market"),
    (push(pb((1, pb((1, "93220.00"), (2, "0.04"), (3, 2)))), field=314), "unknown_channel"),
    (push(field=316), "unknown_channel"),  # no body the adapter knows
    (push(ticker(("", "", *TOP[2:]))), "empty_book"),
    (push(ticker(("93387.30", "1", "93387.29", "1"))), "crossed_book"),
    (push(ticker(("0", "1", *TOP[2:]))), "bad_field"),
    (push(ticker(("abc", "1", *TOP[2:]))), "bad_field"),
    (push(send=-5), "bad_field"),
    (push(send=0), "bad_field"),
], ids=["market", "deals", "no-body", "empty", "crossed", "zero", "text", "negative", "zero-ts"])
def test_unusable_pushes_are_counted(adapter: MexcAdapter, frame: bytes, reason: str) -> None:
    assert binary(adapter, frame) == []
    assert adapter.errors == {reason: 1}


@pytest.mark.parametrize("frame", [
    push()[:-3],  # truncated inside the body
    b"\x0a\x05ab",  # a string running past the end
    b"\x0a\x02\xff\xfe",  # a channel that is not UTF-8
    b"\x0b",  # field 1 with the (group) wire type 3
    b"\x08" + b"\xff" * 11,  # a varint past 10 bytes
    b"\x00\x01",  # field number 0
    push(pb((1, 5))),  # a varint where the bid price string belongs
    pb((315, 7)),  # the body as a varint
], ids=["truncated", "past-end", "utf8", "group", "varint", "field0", "type", "body-varint"])
def test_undecodable_binary_is_bad_binary(adapter: MexcAdapter, frame: bytes) -> None:
    assert binary(adapter, frame) == []
    assert adapter.errors == {"bad_binary": 1}


def test_a_json_answer_sent_as_binary_is_read(adapter: MexcAdapter) -> None:
    assert binary(adapter, b'{"id":0,"code":0,"msg":"PONG"}') == []
    assert binary(adapter, b'{"id":0,"code":0,"msg":"nope"}') == [VenueError("nope")]
    assert binary(adapter, b"{\xff") == []
    assert adapter.errors == {"venue_error": 1, "bad_binary": 1}


def test_a_run_of_pushes_matches_an_independent_top(adapter: MexcAdapter) -> None:
    """Pushes for two markets, each the whole top: the quotes are exactly the changes."""
    tops = [("ETHBTC", ("0.0501", "2", "0.0502", "3")), ("BTCUSDT", TOP),
            ("ETHBTC", ("0.0501", "2", "0.0502", "3")), ("ETHBTC", ("0.0501", "2", "0.0503", "3")),
            ("BTCUSDT", ("93387.27", "1", "93387.29", "7.669875")), ("BTCUSDT", TOP)]
    expected, last = [], {}
    for native, top in tops:
        if last.get(native) != top:
            last[native] = top
            expected.append((native, *map(float, top)))
    got = [(q.symbol.replace("-", ""), q.bid, q.bid_size, q.ask, q.ask_size)
           for native, top in tops for q in binary(adapter, push(ticker(top), symbol=native))]
    assert got == expected and not adapter.errors
