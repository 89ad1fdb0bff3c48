"""What the price model hands a venue: a top of book, a trade, and one change carrying them."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Top:
    """Best bid and ask with sizes, already rounded to the venue's precision."""

    bid: float
    bid_size: float
    ask: float
    ask_size: float


@dataclass(frozen=True, slots=True)
class Trade:
    """One simulated trade; `side` 0 = buy (taker lifted the ask), 1 = sell."""

    price: float
    amount: float
    side: int
    ts_us: int


@dataclass(frozen=True, slots=True)
class Change:
    """One top-of-book change of one (exchange, symbol), maybe followed by a trade.

    `skew_us` says how far `ts_us` (and the trade's) were moved off the true time on request
    (`POST /control/<exchange>/skew`): venues that keep clocks of their own (a time nudged past
    the previous one, a heartbeat schedule) keep them in true time.
    """

    exchange: str
    symbol: str
    top: Top
    ts_us: int
    trade: Trade | None
    skew_us: int = 0

    def skewed(self, offset_us: int) -> Change:
        """This change with its times (and its trade's) `offset_us` off."""
        trade = self.trade
        if trade is not None:
            trade = replace(trade, ts_us=trade.ts_us + offset_us)
        return replace(self, ts_us=self.ts_us + offset_us, trade=trade, skew_us=offset_us)
