"""The fees file: finding it, reading it, and validating every entry (`fees.yaml`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from core.config import ConfigError

DEFAULT_FEES_FILE = "fees.yaml"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

_VENUE = re.compile(r"^[a-z0-9_-]{1,32}$")
_ASSET = re.compile(r"^[A-Z0-9]{1,16}$")
_TOP_KEYS = frozenset({"venues"})
_VENUE_KEYS = frozenset({"tiers", "withdrawal"})
_TIER_KEYS = frozenset({"min_volume", "taker"})


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


def check_number(value: Any, where: str) -> float:
    """A finite number >= 0; a ConfigError naming `where` otherwise."""
    # bool is an int subclass: `taker: yes` is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{where} must be finite, got {value!r}")
    if number < 0:
        raise ConfigError(f"{where} must not be negative, got {value!r}")
    return number


def check_fraction(value: Any, where: str) -> float:
    """A fee as a fraction: a number in [0, 1)."""
    fee = check_number(value, where)
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
        tier = Tier(check_number(item["min_volume"], f"{at}.min_volume"),
                    check_fraction(item["taker"], f"{at}.taker"))
        if tiers and tier.min_volume == tiers[-1].min_volume:
            raise ConfigError(f"{at}.min_volume {tier.min_volume:g} duplicates the tier before")
        if tiers and tier.min_volume < tiers[-1].min_volume:
            raise ConfigError(
                f"{at}.min_volume {tier.min_volume:g} is below the previous tier's "
                f"{tiers[-1].min_volume:g}: tiers must be sorted by min_volume"
            )
        tiers.append(tier)
    # Without a tier at 0 a small volume would silently fall through to the base-tier default.
    if tiers[0].min_volume != 0:
        raise ConfigError(f"{where}[0].min_volume must be 0, got {tiers[0].min_volume:g}")
    return tuple(tiers)


def _withdrawal(value: Any, where: str) -> dict[str, float]:
    fees: dict[str, float] = {}
    for asset, fee in _mapping(value, where).items():
        if not isinstance(asset, str) or not _ASSET.match(asset):
            raise ConfigError(f"{where}: asset {asset!r} must be an upper-case code such as BTC")
        # Withdrawal fees are amounts of the asset (10 USDT is fine), so no upper bound.
        fees[asset] = check_number(fee, f"{where}.{asset}")
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


def read_fee_file(path: str | Path = DEFAULT_FEES_FILE) -> tuple[Path, dict[str, VenueFees]]:
    """Find, read and validate a fees file: where it was found and what it says per venue."""
    found = resolve_fees_path(path)
    try:
        with found.open(encoding="utf-8") as stream:  # a stream: YAML errors name the file
            data = yaml.load(stream, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{found}: not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{found}: cannot be read: {exc}") from exc
    return found, parse_fee_document(data, str(found))
