"""Normalized market-data types shared by every process."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

_REAL = (float, int)  # the number types a wire row may carry
_MAX_NS = 2**63 - 1  # InfluxDB's (int64) time range, in ns


class Quote(NamedTuple):
    """Top of book on one exchange for one symbol; a tuple so batches serialize compactly."""

    exchange: str
    symbol: str
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    last: float | None
    ts_exchange_ns: int | None
    ts_received_ns: int

    @property
    def ts_ns(self) -> int:
        """The quote's time: the exchange's own stamp when it sends one, else receipt time."""
        return self.ts_exchange_ns if self.ts_exchange_ns is not None else self.ts_received_ns

    @classmethod
    def from_row(cls, row: list[Any] | tuple[Any, ...]) -> Quote:
        """Rebuild a Quote from its wire form (a JSON list of the fields in order); TypeError
        or ValueError when the row is not one (numbers are `quote_fault`'s to judge)."""
        if len(row) != len(cls._fields):
            raise ValueError(f"quote row has {len(row)} fields, expected {len(cls._fields)}")
        exchange, symbol, bid, bid_size, ask, ask_size, last, ts_exchange_ns, ts_received_ns = row
        # Exact types: a bool is an int and a str converts to float, and neither is a price.
        if not (type(exchange) is str and type(symbol) is str and exchange and symbol
                and type(bid) in _REAL and type(bid_size) in _REAL and type(ask) in _REAL
                and type(ask_size) in _REAL and (last is None or type(last) in _REAL)
                and (ts_exchange_ns is None or type(ts_exchange_ns) is int)
                and type(ts_received_ns) is int):
            raise TypeError(f"quote row has a field of the wrong type: {row!r:.200}")
        # Times InfluxDB can store (one it refuses fails the whole write, not just this row).
        if not (0 < ts_received_ns < _MAX_NS
                and (ts_exchange_ns is None or 0 < ts_exchange_ns < _MAX_NS)):
            raise ValueError(f"quote row has a time out of range: {row!r:.200}")
        try:
            return cls(exchange, symbol, float(bid), float(bid_size), float(ask),
                       float(ask_size), None if last is None else float(last), ts_exchange_ns,
                       ts_received_ns)
        except OverflowError as exc:  # an int too large for a float (JSON allows any)
            raise ValueError(f"quote row has a number out of range: {row!r:.200}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The quote as a JSON-ready mapping."""
        return self._asdict()


_INF = math.inf


def quote_fault(quote: Quote) -> str | None:
    """Why `quote` must not be used (`bad_number`), or None when its numbers are sound.

    Prices and sizes must be finite and above zero, and so must each price × size: a venue's
    1e200 × 1e200 is two valid floats whose notional is Infinity, which JSON, InfluxDB and the
    arbitrage sums cannot take. `last` may be absent, else finite and above zero.
    """
    _, _, bid, bid_size, ask, ask_size, last, _, _ = quote
    # One chained test per side: NaN fails every comparison, so it rejects NaN, ±inf, zero and
    # negatives, and the product overflowing to inf.
    if (0.0 < bid < _INF and 0.0 < bid_size < _INF and 0.0 < ask < _INF and 0.0 < ask_size < _INF
            and bid * bid_size < _INF and ask * ask_size < _INF
            and (last is None or 0.0 < last < _INF)):
        return None
    return "bad_number"


Level = tuple[float, float]  # (price, size)


class Depth(NamedTuple):
    """The best levels of one venue's book for one symbol (best first), from a local book."""

    exchange: str
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts_ns: int  # when the frame that produced this book state was received

    @classmethod
    def from_row(cls, row: list[Any] | tuple[Any, ...]) -> Depth:
        """Rebuild Depth from its wire form: [exchange, symbol, bids, asks, ts_ns]."""
        if len(row) != 5:
            raise ValueError(f"depth row has {len(row)} fields, expected 5")
        exchange, symbol, bids, asks, ts_ns = row
        return cls(
            str(exchange), str(symbol),
            tuple((float(p), float(s)) for p, s in bids),
            tuple((float(p), float(s)) for p, s in asks),
            int(ts_ns),
        )


def depth_fault(depth: Depth) -> str | None:
    """`quote_fault`'s rule for every level: price, size and price × size finite and above 0."""
    for levels in (depth.bids, depth.asks):
        for price, size in levels:
            if not (0.0 < price < _INF and 0.0 < size < _INF and price * size < _INF):
                return "bad_number"
    return None


class Market(NamedTuple):
    """One tradable pair on one exchange: normalized symbol plus the venue's own spelling."""

    symbol: str
    native: str
    base: str
    quote: str


@dataclass(slots=True)
class Opportunity:
    """Buy on one venue at its ask, sell on another at its bid, net of taker fees."""

    symbol: str
    buy_exchange: str
    sell_exchange: str
    buy_price: float
    sell_price: float
    size: float
    gross_pct: float
    net_pct: float
    net_profit: float
    opened_ns: int = 0
    peak_net_pct: float = 0.0
    fee_buy: float = 0.0
    fee_sell: float = 0.0
    walked: bool = False  # size and profit come from walking both books, not top of book only
    notional: float = 0.0  # the configured trade notional (quote currency)
    notional_net_pct: float | None = None  # net % of spending `notional` (None: books too thin)
    notional_profit: float | None = None
    withdrawal_fee: float | None = None  # base units to move the bought coins to the sell venue
    transfer_net_profit: float | None = None  # net_profit less that withdrawal, in quote currency
    version: int = 0  # the symbol snapshot this was computed from (newer snapshots win)
    event_ns: int = 0  # receive time of the newer of the two quotes it was computed from

    @property
    def key(self) -> str:
        """Identity of the opportunity: symbol and the ordered venue pair."""
        return f"{self.symbol}|{self.buy_exchange}|{self.sell_exchange}"

    def to_dict(self) -> dict[str, Any]:
        """The opportunity as a JSON-ready mapping (flat fields: no deep-copying asdict)."""
        return {name: getattr(self, name) for name in _OPPORTUNITY_FIELDS}


_OPPORTUNITY_FIELDS = tuple(f.name for f in fields(Opportunity))
