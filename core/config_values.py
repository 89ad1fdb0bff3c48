"""Parsers for setting values: numbers, choices, venue maps, origins and networks."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


def read_float(env: Mapping[str, str], name: str, default: float) -> float:
    """`name` as a number; `default` when unset or blank."""
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def read_int(env: Mapping[str, str], name: str, default: int) -> int:
    """`name` as an integer; `default` when unset or blank."""
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def read_positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    """`name` as an integer of at least 1."""
    value = read_int(env, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def read_count(env: Mapping[str, str], name: str, default: int) -> int:
    """`name` as an integer of at least 0."""
    value = read_int(env, name, default)
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, got {value}")
    return value


def read_nonnegative(env: Mapping[str, str], name: str, default: float) -> float:
    """`name` as a number of at least 0."""
    value = read_float(env, name, default)
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    return value


def read_positive(env: Mapping[str, str], name: str, default: float) -> float:
    """`name` as a number above 0."""
    value = read_float(env, name, default)
    if not value > 0:
        raise ConfigError(f"{name} must be above 0, got {value!r}")
    return value


def read_choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    """`name` lower-cased, which must be one of `allowed`."""
    value = (env.get(name) or default).strip().lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def read_lenient_delay(env: Mapping[str, str], name: str, default: float) -> float:
    """`name` as seconds >= 0; `default` for anything else (a retry tuning, never fatal)."""
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value >= 0 else default


def _parse_venue_numbers(
    text: str, accept: Callable[[float], bool], variable: str, shape: str
) -> dict[str, float]:
    """Parse `venue:number,...` (`=` works too); an entry `accept` refuses is a ConfigError."""
    numbers: dict[str, float] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition(":" if ":" in item else "=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not name.strip() or not accept(number):
            raise ConfigError(f"{variable} entry {item!r} is not {shape}")
        numbers[name.strip().lower()] = number
    return numbers


def parse_volumes(text: str) -> dict[str, float]:
    """Parse `FEE_VOLUME_30D` (`kraken:50000,binance:2e6`): each venue's 30-day volume."""
    return _parse_venue_numbers(
        text, lambda v: v >= 0, "FEE_VOLUME_30D", "exchange:volume (>= 0)"
    )


def parse_fees(text: str) -> dict[str, float]:
    """Parse `TAKER_FEES` (`kraken:0.0026,bitstamp:0.004`; `=` works too) into fractions."""
    return _parse_venue_numbers(
        text, lambda f: 0 <= f < 1, "TAKER_FEES", "exchange=fraction (0 <= f < 1)"
    )


_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_CHARS = re.compile(r"^[a-z0-9._\-]+$|^[0-9a-f:.]+$")


def normalize_origin(text: str) -> str:
    """`scheme://host[:port]` lowercased, without its scheme's default port (the form browsers
    send in `Origin`); ValueError when `text` is not such an origin."""
    parts = urlsplit(text.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = parts.hostname or ""
    if (parts.scheme not in _DEFAULT_PORTS or not _HOST_CHARS.match(host) or port == -1
            or "@" in parts.netloc or parts.path not in ("", "/") or parts.query
            or parts.fragment):
        raise ValueError(f"{text!r} is not an origin (http[s]://host[:port])")
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def read_origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated origins, each normalized (see `normalize_origin`)."""
    try:
        return tuple(normalize_origin(o) for o in env.get(name, "").split(",") if o.strip())
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from exc


def read_networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks, normalized (`10.0.0.1` → `10.0.0.1/32`)."""
    out = []
    for item in env.get(name, "").split(","):
        if item.strip():
            try:
                out.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError as exc:
                raise ConfigError(f"{name}: {item.strip()!r} is not an address or network"
                                  ) from exc
    return tuple(out)
