"""Bitfinex's P0 book arithmetic: level and trade readers, the CRC32 book checksum.

The checksum is computed over Bitfinex's own JSON text of each number, so matching it needs
JavaScript's Number#toString spelling (`js_number`).
"""

from __future__ import annotations

import math
import zlib
from decimal import Decimal
from typing import Any

from core.orderbook import BookSide, OrderBook
from workers.exchanges.fields import integer as _int
from workers.exchanges.fields import json_number as _number

# The checksum covers at most this many levels per side (fewer when the book is shorter).
CHECKSUM_DEPTH = 25

# js_number's spellings by value: book prices and amounts repeat from one checksum to the next,
# and spelling one through Decimal is slow next to a lookup. Cleared when full, so the feed
# worker stays inside its memory budget (see BENCHMARKS.md).
_JS_TEXT: dict[float, str] = {}
_JS_TEXT_SIZE = 8_192  # ~1 MB: a few books × 25 levels repeat well within this


def js_number(value: float) -> str:
    """`value` spelled as JavaScript's Number#toString spells it (the checksum's text)."""
    text = _JS_TEXT.get(value)
    if text is None:
        text = _spell_js_number(value)
        if len(_JS_TEXT) >= _JS_TEXT_SIZE:
            _JS_TEXT.clear()
        _JS_TEXT[value] = text
    return text


def _spell_js_number(value: float) -> str:
    """The uncached spelling behind `js_number`.

    Bitfinex computes checksums over its own JSON text of each number: shortest round-trip
    digits, no `.0` on integers, fixed notation from 1e-7 up to 1e21, exponent form outside.
    """
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as JavaScript does; only the layout differs
    # (`60400.0` → digits 604, point after 5; `2.516e-05` → digits 2516, point after -4).
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    raw = "".join(map(str, digit_tuple))
    digits = raw.rstrip("0")
    k = len(digits)
    n = len(raw) + int(exponent)  # the decimal point sits after n digits
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{mantissa}e{'+' if n - 1 > 0 else '-'}{abs(n - 1)}"
    return sign + text


def book_checksum(book: OrderBook) -> int:
    """CRC32 (signed) of `bid:amount:ask:-amount:...` over the best 25 levels, interleaved."""
    bids = book.bids.levels(CHECKSUM_DEPTH)
    asks = book.asks.levels(CHECKSUM_DEPTH)
    parts: list[str] = []
    for i in range(max(len(bids), len(asks))):
        if i < len(bids):
            parts += (js_number(bids[i][0]), js_number(bids[i][1]))
        if i < len(asks):
            parts += (js_number(asks[i][0]), js_number(-asks[i][1]))
    crc = zlib.crc32(":".join(parts).encode("ascii"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def amount(value: Any) -> float:
    """A signed, finite, non-zero JSON number (a book amount: > 0 bid, < 0 ask)."""
    if type(value) is not float and type(value) is not int:
        raise TypeError(f"expected a JSON number, got {type(value).__name__}")
    number = float(value)
    if number == 0.0 or not math.isfinite(number):
        raise ValueError(f"not a usable amount: {value!r}")
    return number


def book_level(entry: Any) -> tuple[float, int, float]:
    """[PRICE, COUNT, AMOUNT] → (price, count, amount), validated."""
    if type(entry) is not list or len(entry) != 3:
        raise TypeError("book level is not [PRICE, COUNT, AMOUNT]")
    count = _int(entry[1])
    if count < 0:
        raise ValueError(f"negative order count: {count}")
    return _number(entry[0]), count, amount(entry[2])


def snapshot_sides(body: list[Any]) -> tuple[dict[float, float], dict[float, float]]:
    """A snapshot's levels as bid and ask sizes: what clear() and an apply_level per level leave.

    Every level is validated before any is kept, so a bad one leaves the book untouched.
    """
    levels = [book_level(entry) for entry in body]
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for price, count, size in levels:
        sizes = bids if size > 0 else asks
        if count == 0:
            sizes.pop(price, None)
        else:
            sizes[price] = abs(size)
    return bids, asks


def trade(entry: Any) -> tuple[int, int, float]:
    """[ID, MTS, AMOUNT, PRICE] → (mts, id, price), validated."""
    if type(entry) is not list or len(entry) != 4:
        raise TypeError("trade is not [ID, MTS, AMOUNT, PRICE]")
    amount(entry[2])
    return _int(entry[1]), _int(entry[0]), _number(entry[3])


def apply_level(book: OrderBook, price: float, count: int, size: float) -> None:
    """One P0 level: count 0 deletes (amount 1 bid, -1 ask), else sets |amount| at price."""
    side = book.bids if size > 0 else book.asks
    side.set(price, 0.0 if count == 0 else abs(size))


def truncate(side: BookSide, depth: int) -> None:
    """Drop levels beyond the subscribed length: the venue sends no delete for them."""
    if len(side) > depth:
        for price, _ in side.levels(len(side))[depth:]:
            side.set(price, 0.0)
