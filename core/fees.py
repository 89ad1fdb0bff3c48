"""Taker fees per venue: base-tier defaults, overridable by `TAKER_FEES`."""

from __future__ import annotations

from collections.abc import Mapping

# Base-tier taker fees as fractions (sources and doubts: ../shared/exchanges.md, per venue).
# The adapters carry the same numbers; a unit test keeps the two in step.
DEFAULT_TAKER_FEES: dict[str, float] = {
    "bitstamp": 0.0040,
    "kraken": 0.0040,
    "coinbase": 0.0060,
    "binance": 0.0010,
    "bitfinex": 0.0020,
    "gemini": 0.0040,
    "okx": 0.0010,
    "bybit": 0.0010,
}

# A venue we know nothing about is charged a conservative fee rather than none.
UNKNOWN_VENUE_FEE = 0.0060


def taker_fee(exchange: str, overrides: Mapping[str, float] | None = None) -> float:
    """The taker fee for `exchange`: configured override, else the base-tier default."""
    if overrides and exchange in overrides:
        return overrides[exchange]
    return DEFAULT_TAKER_FEES.get(exchange, UNKNOWN_VENUE_FEE)
