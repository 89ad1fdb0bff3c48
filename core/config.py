"""Settings from environment variables (and an optional `.env`), each with a local default."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from core.symbols import parse_symbol_list

DEFAULT_EXCHANGES = "binance,bitfinex,bitstamp,bybit,coinbase,gemini,kraken,okx"
# USD and USDT pairs both: binance.com, OKX and Bybit list no USD pairs (never merged with USDT).
DEFAULT_SYMBOLS = "BTC-USD,ETH-USD,BTC-USDT,ETH-USDT"

# Pool options per Celery worker role (Procfile, compose and the benchmarks use these). The
# arbitrage worker waits on Redis most of each small batch, so threads overlap those waits: at
# 400 batches/s prefork with 2 processes queued for seconds where 8 threads kept up (BENCHMARKS.md).
WORKER_OPTIONS: dict[str, tuple[str, ...]] = {
    "storage": ("--concurrency", "2"),
    "arbitrage": ("--pool", "threads", "--concurrency", "8"),
    "reports": ("--concurrency", "1"),
    "alerts": ("--concurrency", "2"),
}


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


def load_dotenv_file(path: str | Path = ".env") -> None:
    """Read `.env` into the environment without overriding variables already set."""
    try:
        from dotenv import load_dotenv
    except ImportError:  # python-dotenv is optional for core
        return
    load_dotenv(path, override=False)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _nonnegative(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    return value


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not value > 0:
        raise ConfigError(f"{name} must be above 0, got {value!r}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


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


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    try:
        return tuple(normalize_origin(o) for o in env.get(name, "").split(",") if o.strip())
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from exc


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
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


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting a CryptoTracker process reads."""

    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    redis_url: str = "redis://127.0.0.1:6379/0"
    influxdb_url: str = "http://127.0.0.1:8086"
    influxdb_db: str = "cryptotracker"
    influxdb_user: str = ""
    influxdb_password: str = ""
    influxdb_retention: str = "30d"
    exchanges: tuple[str, ...] = tuple(DEFAULT_EXCHANGES.split(","))
    symbols: tuple[str, ...] = tuple(DEFAULT_SYMBOLS.split(","))
    taker_fees: dict[str, float] = field(default_factory=dict)
    max_quote_age_s: float = 5.0
    min_net_pct: float = 0.0
    web_host: str = "127.0.0.1"
    web_port: int = 5000
    ws_max_clients: int = 5000  # open /ws per web process; more are closed with 1013
    ws_max_per_address: int = 50  # open /ws per client address; more are closed with 1013
    ws_allowed_origins: tuple[str, ...] = ()  # origins besides the page's own host
    ws_trusted_proxies: tuple[str, ...] = ()  # peers whose X-Forwarded-For names the client
    flower_basic_auth: str = ""
    alert_webhook_url: str = ""
    alert_min_net_pct: float = 0.5
    alert_cooldown_s: float = 300.0
    alert_format: str = "json"
    fees_file: str = "fees.yaml"
    fee_volume_30d: dict[str, float] = field(default_factory=dict)
    book_depth: int = 10
    feed_buffer_batches: int = 1000
    feed_behind_s: float = 2.0  # lag behind a venue's clock (or since a resync) that is "behind"
    max_clock_skew_s: float = 30.0  # exchange times further than this from receipt are not used
    # Frames above this are skipped (or resync a delta book); Coinbase's level2 snapshot of a
    # deep book runs to several MB, the largest frame any venue sends us.
    feed_max_frame_bytes: int = 16 * 2**20
    trade_notional: float = 1000.0
    min_size: float = 0.0
    min_notional: float = 0.0
    key_prefix: str = "ct:"
    queue_prefix: str = ""
    redis_timeout_s: float = 5.0  # connect and reply timeout of every Redis client we build
    max_deliveries: int = 5  # runs of a data task's message before it goes to {prefix}dead
    # RabbitMQ's consumer_timeout (its default, 30 min): a storage task holds its message while
    # InfluxDB is down for at most this / (worker_prefetch_multiplier + 1), so no message the
    # worker holds or has prefetched is ever unacknowledged for this long.
    broker_consumer_timeout_s: float = 1800.0

    def __repr__(self) -> str:
        """Every field, with passwords (and the password part of URLs) masked."""
        from core.logs import MASK, mask_secrets

        parts = []
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name.endswith(("password", "basic_auth", "webhook_url")) and value:
                value = MASK
            elif isinstance(value, str):
                value = mask_secrets(value)
            parts.append(f"{name}={value!r}")
        return f"Settings({', '.join(parts)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: the process environment)."""
        env = os.environ if env is None else env
        d = cls()
        exchanges = tuple(
            e.strip().lower()
            for e in env.get("EXCHANGES", DEFAULT_EXCHANGES).split(",")
            if e.strip()
        )
        try:
            symbols = tuple(parse_symbol_list(env.get("SYMBOLS", DEFAULT_SYMBOLS)))
        except ValueError as exc:
            raise ConfigError(f"SYMBOLS: {exc}") from exc
        return cls(
            broker_url=env.get("BROKER_URL") or d.broker_url,
            redis_url=env.get("REDIS_URL") or d.redis_url,
            influxdb_url=(env.get("INFLUXDB_URL") or d.influxdb_url).rstrip("/"),
            influxdb_db=env.get("INFLUXDB_DB") or d.influxdb_db,
            influxdb_user=env.get("INFLUXDB_USER", ""),
            influxdb_password=env.get("INFLUXDB_PASSWORD", ""),
            influxdb_retention=env.get("INFLUXDB_RETENTION") or d.influxdb_retention,
            exchanges=exchanges,
            symbols=symbols,
            taker_fees=parse_fees(env.get("TAKER_FEES", "")),
            max_quote_age_s=_float(env, "MAX_QUOTE_AGE_S", d.max_quote_age_s),
            min_net_pct=_float(env, "MIN_NET_PCT", d.min_net_pct),
            web_host=env.get("WEB_HOST") or d.web_host,
            web_port=_int(env, "WEB_PORT", d.web_port),
            ws_max_clients=_positive_int(env, "WS_MAX_CLIENTS", d.ws_max_clients),
            ws_max_per_address=_positive_int(env, "WS_MAX_PER_ADDRESS", d.ws_max_per_address),
            ws_allowed_origins=_origins(env, "WS_ALLOWED_ORIGINS"),
            ws_trusted_proxies=_networks(env, "WS_TRUSTED_PROXIES"),
            flower_basic_auth=env.get("FLOWER_BASIC_AUTH", ""),
            alert_webhook_url=env.get("ALERT_WEBHOOK_URL", ""),
            alert_min_net_pct=_float(env, "ALERT_MIN_NET_PCT", d.alert_min_net_pct),
            alert_cooldown_s=_nonnegative(env, "ALERT_COOLDOWN_S", d.alert_cooldown_s),
            alert_format=_choice(env, "ALERT_FORMAT", d.alert_format, ("json", "slack")),
            fees_file=env.get("FEES_FILE") or d.fees_file,
            fee_volume_30d=parse_volumes(env.get("FEE_VOLUME_30D", "")),
            book_depth=_int(env, "BOOK_DEPTH", d.book_depth),
            feed_buffer_batches=_positive_int(env, "FEED_BUFFER_BATCHES", d.feed_buffer_batches),
            feed_behind_s=_nonnegative(env, "FEED_BEHIND_S", d.feed_behind_s),
            max_clock_skew_s=_nonnegative(env, "MAX_CLOCK_SKEW_S", d.max_clock_skew_s),
            feed_max_frame_bytes=_positive_int(env, "FEED_MAX_FRAME_BYTES",
                                               d.feed_max_frame_bytes),
            trade_notional=_nonnegative(env, "TRADE_NOTIONAL", d.trade_notional),
            min_size=_nonnegative(env, "MIN_SIZE", d.min_size),
            min_notional=_nonnegative(env, "MIN_NOTIONAL", d.min_notional),
            key_prefix=env.get("KEY_PREFIX", d.key_prefix),
            queue_prefix=env.get("QUEUE_PREFIX", d.queue_prefix),
            redis_timeout_s=_positive(env, "REDIS_TIMEOUT_S", d.redis_timeout_s),
            max_deliveries=_positive_int(env, "MAX_DELIVERIES", d.max_deliveries),
            broker_consumer_timeout_s=_positive(env, "BROKER_CONSUMER_TIMEOUT_S",
                                                d.broker_consumer_timeout_s),
        )


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, read once (after `.env`) on first use."""
    global _settings
    if _settings is None:
        load_dotenv_file()
        _settings = Settings.from_env()
    return _settings


def reset_settings() -> None:
    """Forget cached settings so the next `get_settings()` re-reads the environment."""
    global _settings
    _settings = None
