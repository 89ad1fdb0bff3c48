"""Normalized market-data types shared by every process."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, NamedTuple


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
        """Rebuild a Quote from its wire form (a JSON list of the fields in order)."""
        if len(row) != len(cls._fields):
            raise ValueError(f"quote row has {len(row)} fields, expected {len(cls._fields)}")
        return cls(*row)

    def to_dict(self) -> dict[str, Any]:
        """The quote as a JSON-ready mapping."""
        return self._asdict()


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
