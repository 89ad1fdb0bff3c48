"""Fees per venue: taker tiers by 30-day volume and withdrawal fees, from `fees.yaml`."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.fee_file import (
    DEFAULT_FEES_FILE,
    PROJECT_ROOT,
    Tier,
    VenueFees,
    check_fraction,
    check_number,
    parse_fee_document,
    read_fee_file,
    resolve_fees_path,
)

if TYPE_CHECKING:
    from core.config import Settings

__all__ = ["DEFAULT_FEES_FILE", "PROJECT_ROOT", "UNKNOWN_VENUE_FEE", "FeeSchedule",
           "Tier", "VenueFees", "base_taker_fees", "parse_fee_document",
           "resolve_fees_path", "taker_fee", "transfer_net_profit"]

# A venue we know nothing about is charged a conservative fee rather than none.
UNKNOWN_VENUE_FEE = 0.0060


@cache
def base_taker_fees() -> dict[str, float]:
    """Each venue's base-tier taker fee from the shipped fees.yaml, the one place fees live."""
    _, venues = read_fee_file(PROJECT_ROOT / DEFAULT_FEES_FILE)
    return {name: entry.tiers[0].taker for name, entry in venues.items() if entry.tiers}


def __getattr__(name: str) -> Any:
    """`DEFAULT_TAKER_FEES`, read from fees.yaml on first use rather than at import."""
    if name == "DEFAULT_TAKER_FEES":
        return dict(base_taker_fees())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def taker_fee(exchange: str, overrides: Mapping[str, float] | None = None) -> float:
    """The taker fee for `exchange`: configured override, else the base-tier default."""
    if overrides and exchange in overrides:
        return overrides[exchange]
    return base_taker_fees().get(exchange, UNKNOWN_VENUE_FEE)


def transfer_net_profit(
    net_profit: float, withdrawal_fee_base: float | None, sell_price: float
) -> float | None:
    """Net profit less a withdrawal fee (base units) valued at the sell price; None if unknown."""
    if withdrawal_fee_base is None:
        return None
    return net_profit - withdrawal_fee_base * sell_price


def _check_overrides(overrides: Mapping[str, float]) -> dict[str, float]:
    return {name: check_fraction(fee, f"TAKER_FEES.{name}") for name, fee in overrides.items()}


def _check_volumes(volumes: Mapping[str, float]) -> dict[str, float]:
    return {name: check_number(v, f"FEE_VOLUME_30D.{name}") for name, v in volumes.items()}


class FeeSchedule:
    """Taker and withdrawal fees per venue under one configuration (immutable once built)."""

    __slots__ = ("_venues", "_overrides", "_volumes", "_resolved", "source")

    def __init__(
        self,
        venues: Mapping[str, VenueFees] | None = None,
        overrides: Mapping[str, float] | None = None,
        volumes: Mapping[str, float] | None = None,
        source: Path | None = None,
    ) -> None:
        self._venues: dict[str, VenueFees] = dict(venues or {})
        self._overrides = _check_overrides(overrides or {})
        self._volumes = _check_volumes(volumes or {})
        # taker() runs per venue pair on the engine's hot path: resolve each venue once.
        self._resolved: dict[str, tuple[float, str]] = {}
        self.source = source

    @classmethod
    def load(
        cls,
        path: str | Path = DEFAULT_FEES_FILE,
        overrides: Mapping[str, float] | None = None,
        volumes: Mapping[str, float] | None = None,
    ) -> FeeSchedule:
        """Read and validate a fees file (see `resolve_fees_path` for where it is looked for)."""
        found, venues = read_fee_file(path)
        return cls(venues, overrides, volumes, found)

    @classmethod
    def from_settings(cls, settings: Settings) -> FeeSchedule:
        """The schedule `FEES_FILE`, `TAKER_FEES` and `FEE_VOLUME_30D` describe."""
        return cls.load(settings.fees_file, settings.taker_fees, settings.fee_volume_30d)

    def venues(self) -> list[str]:
        """Venues the fees file describes, in file order."""
        return list(self._venues)

    def tiers(self, exchange: str) -> tuple[Tier, ...]:
        """The venue's taker tiers from the file, lowest volume first (empty when none)."""
        entry = self._venues.get(exchange)
        return entry.tiers if entry else ()

    def volume(self, exchange: str) -> float:
        """The configured 30-day volume (USD) for a venue; 0 when not configured."""
        return self._volumes.get(exchange, 0.0)

    def taker_with_source(self, exchange: str) -> tuple[float, str]:
        """The taker fee and which rule gave it: override, tier, default or unknown."""
        hit = self._resolved.get(exchange)
        if hit is None:
            hit = self._resolve(exchange)
            self._resolved[exchange] = hit
        return hit

    def taker(self, exchange: str) -> float:
        """The taker fee: TAKER_FEES > tier for FEE_VOLUME_30D > shipped base tier > unknown."""
        return self.taker_with_source(exchange)[0]

    def _resolve(self, exchange: str) -> tuple[float, str]:
        if exchange in self._overrides:
            return self._overrides[exchange], "override"
        volume = self.volume(exchange)
        chosen: Tier | None = None
        for tier in self.tiers(exchange):
            if tier.min_volume > volume:
                break  # sorted ascending: no later tier can apply
            chosen = tier
        if chosen is not None:
            return chosen.taker, "tier"
        base = base_taker_fees()
        if exchange in base:
            return base[exchange], "default"
        return UNKNOWN_VENUE_FEE, "unknown"

    def withdrawal(self, exchange: str, asset: str) -> float | None:
        """The fee (in units of `asset`) to withdraw it from the venue; None when unknown."""
        entry = self._venues.get(exchange)
        return entry.withdrawal.get(asset.upper()) if entry else None

    def withdrawals(self, exchange: str) -> dict[str, float]:
        """Every known withdrawal fee of a venue, by asset."""
        entry = self._venues.get(exchange)
        return dict(entry.withdrawal) if entry else {}

    def describe(self, exchange: str) -> dict[str, Any]:
        """One venue's fees as JSON-ready data (the `/api/fees` entry)."""
        taker, source = self.taker_with_source(exchange)
        return {
            "taker": taker,
            "taker_source": source,
            "volume_30d": self.volume(exchange),
            "tiers": [{"min_volume": t.min_volume, "taker": t.taker} for t in self.tiers(exchange)],
            "withdrawal": self.withdrawals(exchange),
        }
