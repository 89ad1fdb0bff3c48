"""Fees per venue: taker tiers by 30-day volume and withdrawal fees, from `fees.yaml`."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from core.config import ConfigError

if TYPE_CHECKING:
    from core.config import Settings

# Base-tier taker fees as fractions (sources: each venue's public fee page; docs/protocols.md).
# The adapters and fees.yaml's first tiers carry the same numbers; unit tests keep them in step.
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

DEFAULT_FEES_FILE = "fees.yaml"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

_VENUE = re.compile(r"^[a-z0-9_-]{1,32}$")
_ASSET = re.compile(r"^[A-Z0-9]{1,16}$")
_TOP_KEYS = frozenset({"venues"})
_VENUE_KEYS = frozenset({"tiers", "withdrawal"})
_TIER_KEYS = frozenset({"min_volume", "taker"})


def taker_fee(exchange: str, overrides: Mapping[str, float] | None = None) -> float:
    """The taker fee for `exchange`: configured override, else the base-tier default."""
    if overrides and exchange in overrides:
        return overrides[exchange]
    return DEFAULT_TAKER_FEES.get(exchange, UNKNOWN_VENUE_FEE)


def transfer_net_profit(
    net_profit: float, withdrawal_fee_base: float | None, sell_price: float
) -> float | None:
    """Net profit less a withdrawal fee (base units) valued at the sell price; None if unknown."""
    if withdrawal_fee_base is None:
        return None
    return net_profit - withdrawal_fee_base * sell_price


class Tier(NamedTuple):
    """One taker tier: the fee from `min_volume` (30-day volume, USD) up to the next tier."""

    min_volume: float
    taker: float


class VenueFees(NamedTuple):
    """What the fees file says about one venue."""

    tiers: tuple[Tier, ...] = ()
    withdrawal: Mapping[str, float] = {}


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys (PyYAML would keep the last silently)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _number(value: Any, where: str) -> float:
    # bool is an int subclass: `taker: yes` is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{where} must be finite, got {value!r}")
    if number < 0:
        raise ConfigError(f"{where} must not be negative, got {value!r}")
    return number


def _fraction(value: Any, where: str) -> float:
    fee = _number(value, where)
    if fee >= 1:
        raise ConfigError(f"{where} must be a fraction below 1 (0.004 = 0.4 %), got {value!r}")
    return fee


def _mapping(value: Any, where: str, allowed: frozenset[str] | None = None) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(value).__name__}")
    if allowed is not None:
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            raise ConfigError(
                f"{where} has unknown key(s) {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
    return value


def _tiers(value: Any, where: str) -> tuple[Tier, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list of {{min_volume, taker}}")
    tiers: list[Tier] = []
    for i, raw in enumerate(value):
        at = f"{where}[{i}]"
        item = _mapping(raw, at, _TIER_KEYS)
        missing = sorted(_TIER_KEYS - set(item))
        if missing:
            raise ConfigError(f"{at} lacks {', '.join(missing)}")
        tier = Tier(_number(item["min_volume"], f"{at}.min_volume"),
                    _fraction(item["taker"], f"{at}.taker"))
        if tiers and tier.min_volume == tiers[-1].min_volume:
            raise ConfigError(f"{at}.min_volume {tier.min_volume:g} duplicates the tier before")
        if tiers and tier.min_volume < tiers[-1].min_volume:
            raise ConfigError(
                f"{at}.min_volume {tier.min_volume:g} is below the previous tier's "
                f"{tiers[-1].min_volume:g}: tiers must be sorted by min_volume"
            )
        tiers.append(tier)
    # Without a tier at 0 a small volume would silently fall through to the adapter default.
    if tiers[0].min_volume != 0:
        raise ConfigError(f"{where}[0].min_volume must be 0, got {tiers[0].min_volume:g}")
    return tuple(tiers)


def _withdrawal(value: Any, where: str) -> dict[str, float]:
    fees: dict[str, float] = {}
    for asset, fee in _mapping(value, where).items():
        if not isinstance(asset, str) or not _ASSET.match(asset):
            raise ConfigError(f"{where}: asset {asset!r} must be an upper-case code such as BTC")
        # Withdrawal fees are amounts of the asset (10 USDT is fine), so no upper bound.
        fees[asset] = _number(fee, f"{where}.{asset}")
    return fees


def _or_empty(value: Any) -> Any:
    return {} if value is None else value


def parse_fee_document(data: Any, source: str = "fees") -> dict[str, VenueFees]:
    """Validate a decoded fees document; every problem is a ConfigError naming where it is."""
    if data is None:
        raise ConfigError(f"{source}: is empty (expected a mapping with `venues`)")
    top = _mapping(data, source, _TOP_KEYS)
    # An empty value (`venues:` with nothing under it) is None in YAML: read as empty, not bad.
    venues = _mapping(_or_empty(top.get("venues")), f"{source}: venues")
    parsed: dict[str, VenueFees] = {}
    for name, raw in venues.items():
        where = f"{source}: venues.{name}"
        if not isinstance(name, str) or not _VENUE.match(name):
            raise ConfigError(f"{where}: venue names are lower-case like kraken")
        entry = _mapping(_or_empty(raw), where, _VENUE_KEYS)
        tiers = _tiers(entry["tiers"], f"{where}.tiers") if "tiers" in entry else ()
        withdrawal = _withdrawal(_or_empty(entry.get("withdrawal")), f"{where}.withdrawal")
        parsed[name] = VenueFees(tiers, withdrawal)
    return parsed


# Relative paths fall back to the project root so workers and tests started anywhere find it.
def resolve_fees_path(path: str | Path = DEFAULT_FEES_FILE) -> Path:
    """Find the fees file: absolute as given, relative against the cwd, then the project root."""
    given = Path(path).expanduser()
    candidates = [given] if given.is_absolute() else [Path.cwd() / given, PROJECT_ROOT / given]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ConfigError(f"FEES_FILE {str(path)!r} not found (tried {tried})")


def _check_overrides(overrides: Mapping[str, float]) -> dict[str, float]:
    return {name: _fraction(fee, f"TAKER_FEES.{name}") for name, fee in overrides.items()}


def _check_volumes(volumes: Mapping[str, float]) -> dict[str, float]:
    return {name: _number(v, f"FEE_VOLUME_30D.{name}") for name, v in volumes.items()}


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
        found = resolve_fees_path(path)
        try:
            with found.open(encoding="utf-8") as stream:  # a stream: YAML errors name the file
                data = yaml.load(stream, Loader=_UniqueKeyLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{found}: not valid YAML: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{found}: cannot be read: {exc}") from exc
        return cls(parse_fee_document(data, str(found)), overrides, volumes, found)

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
        """The taker fee: TAKER_FEES > tier for FEE_VOLUME_30D > adapter default > unknown."""
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
        if exchange in DEFAULT_TAKER_FEES:
            return DEFAULT_TAKER_FEES[exchange], "default"
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
