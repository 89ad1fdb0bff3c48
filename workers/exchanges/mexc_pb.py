"""The few protobuf messages MEXC spot pushes that the adapter reads, decoded by hand.

MEXC's market streams are protobuf `PushDataV3ApiWrapper` messages (mexcdevelop/websocket-proto):
field 1 `channel`, 3 `symbol`, 4 `symbolId`, 5 `createTime`, 6 `sendTime` and one body among
fields 301-315. The book tickers (305 `publicBookTicker`, 315 `publicAggreBookTicker`) carry
four strings, 1 `bidPrice`, 2 `bidQuantity`, 3 `askPrice`, 4 `askQuantity`; 311
`publicBookTickerBatch` repeats that message as field 1 `items`.

Only the wire format is needed (varints and length-delimited fields), so no protobuf runtime or
generated code is involved; unknown fields are skipped, as any protobuf reader does. Every
malformed input raises ValueError (a truncated field, a bad wire type, invalid UTF-8).

`as_json` renders a push as the JSON MEXC's documentation shows for it (the proto3 JSON field
names), which is the text the adapter's `on_message` reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
MAX_VARINT_BYTES = 10  # a 64-bit value takes at most 10 bytes of 7 bits
INT64_SPAN = 1 << 64

BOOK_TICKER = 305
BOOK_TICKER_BATCH = 311
AGGRE_BOOK_TICKER = 315
BODY_FIELDS = range(301, 316)  # the wrapper's `body` oneof
TICKER_KEYS = ("bidPrice", "bidQuantity", "askPrice", "askQuantity")
BODY_NAMES = {BOOK_TICKER: "publicBookTicker", BOOK_TICKER_BATCH: "publicBookTickerBatch",
              AGGRE_BOOK_TICKER: "publicAggreBookTicker"}
# (bidPrice, bidQuantity, askPrice, askQuantity) as sent, "" where a field was absent.
Top = tuple[str, str, str, str]


class Push(NamedTuple):
    """The wrapper fields the adapter reads; body is the oneof's bytes (None: no body)."""

    channel: str
    symbol: str | None
    send_time: int | None
    create_time: int | None
    body_field: int | None
    body: bytes | None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at `pos` and the position after it."""
    value = 0
    for shift in range(0, 7 * MAX_VARINT_BYTES, 7):
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
    raise ValueError("varint longer than 10 bytes")


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each field: an int (varint, fixed) or bytes (length-delimited)."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        value: int | bytes
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == LENGTH:
            size, pos = _varint(data, pos)
            if size > end - pos:
                raise ValueError("length-delimited field runs past the end")
            value, pos = data[pos:pos + size], pos + size
        elif wire in (FIXED64, FIXED32):
            width = 8 if wire == FIXED64 else 4
            if width > end - pos:
                raise ValueError("fixed-width field runs past the end")
            value, pos = int.from_bytes(data[pos:pos + width], "little"), pos + width
        else:
            # 3 and 4 (groups) are deprecated and never used by proto3; 6 and 7 do not exist.
            raise ValueError(f"unsupported wire type {wire}")
        yield number, value


def _text(value: int | bytes) -> str:
    """A string field's value; a varint where a string belongs is a wrong message."""
    if type(value) is not bytes:
        raise ValueError("expected a length-delimited string")
    return value.decode("utf-8")  # strict: invalid UTF-8 raises UnicodeDecodeError


def _int64(value: int | bytes) -> int:
    """An int64 varint as the signed value it encodes (negatives take ten bytes)."""
    if type(value) is not int:
        raise ValueError("expected a varint")
    return value - INT64_SPAN if value >= INT64_SPAN >> 1 else value


def read_push(data: bytes) -> Push:
    """The wrapper of one binary frame; the last value of a repeated scalar wins, as in proto3."""
    channel, symbol, send_time, create_time = "", None, None, None
    body_field: int | None = None
    body: bytes | None = None
    for number, value in fields(data):
        if number == 1:
            channel = _text(value)
        elif number == 3:
            symbol = _text(value)
        elif number == 5:
            create_time = _int64(value)
        elif number == 6:
            send_time = _int64(value)
        elif number in BODY_FIELDS:
            if type(value) is not bytes:
                raise ValueError("message body is not length-delimited")
            body_field, body = number, value  # a oneof: the last one set wins
    return Push(channel, symbol, send_time, create_time, body_field, body)


def read_top(body: bytes) -> Top:
    """A book ticker message's four strings (proto3 leaves empty ones out: "" then)."""
    top = ["", "", "", ""]
    for number, value in fields(body):
        if 1 <= number <= 4:
            top[number - 1] = _text(value)
    return top[0], top[1], top[2], top[3]


def read_batch(body: bytes) -> list[Top]:
    """The book tickers of a batch message, in the order sent."""
    items = []
    for number, value in fields(body):
        if number == 1:
            if type(value) is not bytes:
                raise ValueError("batch item is not a message")
            items.append(read_top(value))
    return items


def _ticker_json(top: Top) -> dict[str, str]:
    """A ticker's four strings under their proto3 JSON names; absent ones stay out."""
    return {key: text for key, text in zip(TICKER_KEYS, top, strict=True) if text}


def as_json(data: bytes) -> str:
    """One binary push as JSON text; a body the adapter does not read is named `body<field>`.

    {"channel":"spot@public.aggre.bookTicker.v3.api.pb@10ms@BTCUSDT","symbol":"BTCUSDT",
     "sendTime":1736412092433,"publicAggreBookTicker":{"bidPrice":"93387.28",
     "bidQuantity":"3.73485","askPrice":"93387.29","askQuantity":"7.669875"}}
    """
    push = read_push(data)
    doc: dict[str, Any] = {"channel": push.channel}
    if push.symbol is not None:
        doc["symbol"] = push.symbol
    if push.create_time is not None:
        doc["createTime"] = push.create_time
    if push.send_time is not None:
        doc["sendTime"] = push.send_time
    if push.body_field is not None and push.body is not None:
        if push.body_field == BOOK_TICKER_BATCH:
            body: dict[str, Any] = {"items": [_ticker_json(t) for t in read_batch(push.body)]}
        elif push.body_field in BODY_NAMES:
            body = _ticker_json(read_top(push.body))
        else:
            body = {}
        doc[BODY_NAMES.get(push.body_field, f"body{push.body_field}")] = body
    return json.dumps(doc, separators=(",", ":"))
