"""Normalized market-data types shared by every process."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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

    @property
    def key(self) -> str:
        """Identity of the opportunity: symbol and the ordered venue pair."""
        return f"{self.symbol}|{self.buy_exchange}|{self.sell_exchange}"

    def to_dict(self) -> dict[str, Any]:
        """The opportunity as a JSON-ready mapping."""
        return asdict(self)
