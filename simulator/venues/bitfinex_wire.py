"""Bitfinex's wire spellings: pair codes, JavaScript numbers, levels, tickers, checksum, framing."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from simulator.changes import Top, Trade
from simulator.venues.base import split_pair
from simulator.venues.daystats import DayStats

SEQ_ALL = 65_536
OB_CHECKSUM = 131_072
PRECISIONS = ("P0", "P1", "P2", "P3", "P4")  # aggregated books; raw R0 is not simulated
FREQUENCIES = ("F0", "F1")
BOOK_LENGTHS = ("1", "25", "100", "250")
TICKER_DEPTH_FACTOR = 20.0  # ticker sizes are sums over 25 levels: far above the top's size
# Bitfinex's own asset codes.
CODES = {"USDT": "UST", "USDC": "UDC", "BCH": "BCHN"}


def pair_of(symbol: str) -> str:
    """`BTC-USD` → `BTCUSD`, `BTC-USDT` → `BTCUST`, `AAVE-USD` → `AAVE:USD`."""
    base, quote = split_pair(symbol)
    base, quote = CODES.get(base, base), CODES.get(quote, quote)
    return base + quote if len(base) == 3 and len(quote) == 3 else f"{base}:{quote}"


def js_number(value: float) -> str:
    """A number as JavaScript writes it: shortest digits, `60400` not `60400.0`, no 5e-05."""
    if value == 0:
        return "0"
    shortest = Decimal(repr(value))  # repr's digits are the shortest that read back, as in JS
    power = shortest.adjusted()  # the power of ten of the leading digit
    if -7 < power < 21:  # JavaScript's range for plain notation
        plain = format(shortest, "f")
        return plain.rstrip("0").rstrip(".") if "." in plain else plain
    digits = "".join(map(str, shortest.as_tuple().digits)).rstrip("0")
    head = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    return f"{'-' if value < 0 else ''}{head}e{'+' if power > 0 else '-'}{abs(power)}"


def checksum(top: Top | None) -> int:
    """Signed CRC32 of `bid:amount:ask:-amount` (one level per side; empty book → 0)."""
    if top is None:
        return 0
    text = ":".join((js_number(top.bid), js_number(top.bid_size),
                     js_number(top.ask), js_number(-top.ask_size)))
    crc = zlib.crc32(text.encode("ascii"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc


@dataclass(slots=True)
class Sub:
    """One subscription of one connection."""

    chan_id: int
    channel: str
    native: str  # `tBTCUSD`
    symbol: str | None  # None for a listed pair that is not simulated (acked, stays quiet)


@dataclass(slots=True)
class Conn:
    """Per-connection protocol state."""

    flags: int = 0
    seq: int = 0
    subs: dict[int, Sub] = field(default_factory=dict)
    by_key: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, native) → id

    def frame(self, chan_id: int, body: str) -> str:
        """`[chanId,body]`, plus the next sequence number when SEQ_ALL is on."""
        if self.flags & SEQ_ALL:
            self.seq += 1
            return f"[{chan_id},{body},{self.seq}]"
        return f"[{chan_id},{body}]"


def level_deltas(prev: Top | None, top: Top, bid: str, ask: str) -> list[str]:
    """Level updates turning `prev` into `top` (`bid`, `ask`: its levels), the top changing once."""
    if prev is None:
        return [bid, ask]
    bid_moved = (prev.bid, prev.bid_size) != (top.bid, top.bid_size)
    ask_moved = (prev.ask, prev.ask_size) != (top.ask, top.ask_size)
    frames: list[str] = []
    if bid_moved and ask_moved:
        # Empty the bid side first: nothing in between shows a half-changed top.
        frames.append(f"[{js_number(prev.bid)},0,1]")
        if prev.ask != top.ask:
            frames.append(f"[{js_number(prev.ask)},0,-1]")
        frames += [ask, bid]
    elif bid_moved:
        if prev.bid != top.bid:
            frames.append(f"[{js_number(prev.bid)},0,1]")
        frames.append(bid)
    else:
        if prev.ask != top.ask:
            frames.append(f"[{js_number(prev.ask)},0,-1]")
        frames.append(ask)
    return frames


def book_levels(top: Top, counts: tuple[int, int]) -> tuple[str, str]:
    """The bid and ask levels `[price,count,amount]` of `top` (asks have negative amounts)."""
    return (f"[{js_number(top.bid)},{counts[0]},{js_number(top.bid_size)}]",
            f"[{js_number(top.ask)},{counts[1]},{js_number(-top.ask_size)}]")


def ticker_text(top: Top, stats: DayStats, decimals: int) -> str:
    """A ticker body: bid, bid size, ask, ask size, daily change and %, last, volume, high, low."""
    last = stats.last if stats.last is not None else top.ask
    change = round(last - stats.open, decimals)
    values = (top.bid, round(top.bid_size * TICKER_DEPTH_FACTOR, 8), top.ask,
              round(top.ask_size * TICKER_DEPTH_FACTOR, 8), change,
              round(last / stats.open - 1.0, 4), round(last, decimals),
              round(stats.volume, 8), round(stats.high, decimals), round(stats.low, decimals))
    return f"[{','.join(js_number(v) for v in values)}]"


def book_options(msg: dict[str, Any]) -> dict[str, str] | str:
    """A `book` subscription's prec, freq and len (defaults filled in), or the error's text."""
    prec = msg.get("prec", "P0")
    freq = msg.get("freq", "F0")
    length = str(msg.get("len", "25"))
    if prec not in PRECISIONS:
        return "prec: invalid"
    if freq not in FREQUENCIES or length not in BOOK_LENGTHS:
        return "subscribe: failed"
    return {"prec": prec, "freq": freq, "len": length}


def trade_text(trade_id: int, trade: Trade, decimals: int) -> str:
    """A trade `[id,ms,amount,price]`; sells have negative amounts."""
    amount = trade.amount if trade.side == 0 else -trade.amount
    return (f"[{trade_id},{trade.ts_us // 1000},{js_number(amount)},"
            f"{js_number(round(trade.price, decimals))}]")
