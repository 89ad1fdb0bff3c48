"""MEXC spot's wire pieces for the twin: a small protobuf writer, channel names, the listing.

The push is MEXC's `PushDataV3ApiWrapper` (mexcdevelop/websocket-proto), written field by
field: 1 channel, 3 symbol, 4 symbolId, 5 createTime, 6 sendTime, and the body in field 315
(`publicAggreBookTicker`) or 311 (`publicBookTickerBatch`, whose field 1 repeats the ticker). A
ticker is four strings: 1 bidPrice, 2 bidQuantity, 3 askPrice, 4 askQuantity.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

from simulator.venues.base import split_pair

AGGRE = "spot@public.aggre.bookTicker.v3.api.pb@"  # + (10ms|100ms)@SYMBOL
BATCH = "spot@public.bookTicker.batch.v3.api.pb@"  # + SYMBOL
AGGRE_FIELD, BATCH_FIELD = 315, 311
# Channels MEXC serves today (protobuf only); the ones before `@SYMBOL` that carry data here
# are the book tickers, the others are acked and stay silent.
CHANNEL_RE = re.compile(
    r"^spot@public\.(?:aggre\.bookTicker\.v3\.api\.pb@(?:10|100)ms@([A-Z0-9]+)"
    r"|bookTicker\.batch\.v3\.api\.pb@([A-Z0-9]+)"
    r"|aggre\.(?:deals|depth)\.v3\.api\.pb@(?:10|100)ms@([A-Z0-9]+)"
    r"|limit\.depth\.v3\.api\.pb@([A-Z0-9]+)@(?:5|10|20)"
    r"|kline\.v3\.api\.pb@([A-Z0-9]+)@(?:Min1|Min5|Min15|Min30|Min60|Hour4|Hour8|Day1|Week1"
    r"|Month1))$"
)
EXTRA_PAIRS = ("MX-USDT", "SOL-USDT", "BTC-USDC")  # listed but not configured


def varint(value: int) -> bytes:
    """`value` (≥ 0) as a protobuf varint."""
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def length_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings, embedded messages)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    """A varint field (int64 times)."""
    return varint(number << 3) + varint(value)


def ticker(bid: str, bid_size: str, ask: str, ask_size: str) -> bytes:
    """A `PublicAggreBookTickerV3Api` (same layout as `PublicBookTickerV3Api`)."""
    return b"".join(length_field(n, text.encode()) for n, text in
                    enumerate((bid, bid_size, ask, ask_size), start=1))


def push(channel: str, symbol: str, body_field: int, body: bytes, send_ms: int) -> bytes:
    """One `PushDataV3ApiWrapper`, fields in number order as protobuf encoders write them."""
    return (length_field(1, channel.encode()) + length_field(3, symbol.encode())
            + length_field(4, symbol_id(symbol).encode()) + varint_field(6, send_ms)
            + length_field(body_field, body))


def symbol_id(symbol: str) -> str:
    """A stable 32-hex-digit symbol id, as MEXC gives each pair one."""
    return hashlib.md5(symbol.encode(), usedforsecurity=False).hexdigest()


def channel_symbol(channel: str) -> str | None:
    """The symbol a valid channel names, or None when MEXC would refuse the channel."""
    match = CHANNEL_RE.match(channel)
    if match is None:
        return None
    return next(group for group in match.groups() if group is not None)


def request_of(text: str) -> dict[str, Any] | None:
    """A client's request as a JSON object; None when the text is not one."""
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to decode
        return None
    return msg if isinstance(msg, dict) else None


def listed(symbol: str) -> bool:
    """MEXC spot quotes in USDT, USDC and crypto; it lists no USD, KRW or JPY pairs."""
    # EUR pairs are unconfirmed (docs/venues/mexc.md): left out.
    return split_pair(symbol)[1] not in ("USD", "EUR", "KRW", "JPY")


def exchange_info(symbols: list[str], price_decimals: Callable[[str], int]) -> dict[str, object]:
    """The `GET /api/v3/exchangeInfo` body for `symbols`."""
    return {
        "timezone": "CST",
        "serverTime": time.time_ns() // 1_000_000,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [_symbol_info(s, price_decimals(s)) for s in symbols],
    }


def _symbol_info(symbol: str, decimals: int) -> dict[str, object]:
    base, quote = split_pair(symbol)
    return {
        "symbol": base + quote, "status": "1", "baseAsset": base, "baseAssetPrecision": 6,
        "quoteAsset": quote, "quotePrecision": decimals, "quoteAssetPrecision": decimals,
        "baseCommissionPrecision": 6, "quoteCommissionPrecision": decimals,
        "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"], "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False, "quoteAmountPrecision": "1.000000000000000000",
        "baseSizePrecision": "0", "permissions": ["SPOT"], "filters": [],
        "maxQuoteAmount": "2000000.000000000000000000", "makerCommission": "0",
        "takerCommission": "0.0005", "quoteAmountPrecisionMarket": "1.000000000000000000",
        "maxQuoteAmountMarket": "100000.000000000000000000", "fullName": base,
        "tradeSideType": 1,
    }
