"""Settings from environment variables (and an optional `.env`), each with a local default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.config_values import (
    ConfigError,
    normalize_origin,
    parse_fees,
    parse_volumes,
    read_choice,
    read_count,
    read_float,
    read_int,
    read_lenient_delay,
    read_networks,
    read_nonnegative,
    read_origins,
    read_positive,
    read_positive_int,
)
from core.symbols import parse_symbol_list

# The declared venue list; tests/unit/test_venue_registry.py checks it against the adapter
# registry, fees.yaml and the committed Procfile.
DEFAULT_EXCHANGES = ("binance,binanceus,bitfinex,bitflyer,bitget,bithumb,bitstamp,bitvavo,bybit,"
                     "coinbase,cryptocom,gateio,gemini,htx,kraken,kucoin,mexc,okx,poloniex,upbit")
# Every venue trades at least two of these and each is on at least two venues
# (tests/unit/test_default_symbols.py): USD and USDT (never merged), EUR (Bitvavo, Kraken,
# Bitstamp, Coinbase), KRW (Upbit, Bithumb), JPY (bitFlyer, Kraken) and ETH-BTC.
DEFAULT_SYMBOLS = ("BTC-USD,ETH-USD,BTC-USDT,ETH-USDT,BTC-EUR,ETH-EUR,BTC-KRW,ETH-KRW,BTC-JPY,"
                   "ETH-JPY,ETH-BTC")

__all__ = ["DEFAULT_EXCHANGES", "DEFAULT_SYMBOLS", "ConfigError", "Settings", "get_settings",
           "load_dotenv_file", "normalize_origin", "parse_fees", "parse_volumes", "reset_settings"]


def load_dotenv_file(path: str | Path = ".env") -> None:
    """Read `.env` into the environment without overriding variables already set."""
    try:
        from dotenv import load_dotenv
    except ImportError:  # python-dotenv is optional for core
        return
    load_dotenv(path, override=False)


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
    alert_retry_base_s: float = 1.0  # first webhook retry delay; tests shorten it
    report_webhook_url: str = ""  # empty: reports are not posted anywhere
    log_level: str = "INFO"
    fees_file: str = "fees.yaml"
    fee_volume_30d: dict[str, float] = field(default_factory=dict)
    book_depth: int = 10
    feed_buffer_batches: int = 1000
    feed_groups: str = ""  # venues sharing a feed process, `a,b;c,d` (workers/grouping.py)
    # Without groups, the venues split into this many feed processes (0: one per venue); two
    # suit a small box: grouped venues share a read loop and one arbitrage batch.
    feed_processes: int = 2
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
            max_quote_age_s=read_float(env, "MAX_QUOTE_AGE_S", d.max_quote_age_s),
            min_net_pct=read_float(env, "MIN_NET_PCT", d.min_net_pct),
            web_host=env.get("WEB_HOST") or d.web_host,
            web_port=read_int(env, "WEB_PORT", d.web_port),
            ws_max_clients=read_positive_int(env, "WS_MAX_CLIENTS", d.ws_max_clients),
            ws_max_per_address=read_positive_int(env, "WS_MAX_PER_ADDRESS", d.ws_max_per_address),
            ws_allowed_origins=read_origins(env, "WS_ALLOWED_ORIGINS"),
            ws_trusted_proxies=read_networks(env, "WS_TRUSTED_PROXIES"),
            flower_basic_auth=env.get("FLOWER_BASIC_AUTH", ""),
            alert_webhook_url=env.get("ALERT_WEBHOOK_URL", ""),
            alert_min_net_pct=read_float(env, "ALERT_MIN_NET_PCT", d.alert_min_net_pct),
            alert_cooldown_s=read_nonnegative(env, "ALERT_COOLDOWN_S", d.alert_cooldown_s),
            alert_format=read_choice(env, "ALERT_FORMAT", d.alert_format, ("json", "slack")),
            alert_retry_base_s=read_lenient_delay(env, "ALERT_RETRY_BASE_S",
                                                  d.alert_retry_base_s),
            report_webhook_url=env.get("REPORT_WEBHOOK_URL", "").strip(),
            log_level=env.get("LOG_LEVEL") or d.log_level,
            fees_file=env.get("FEES_FILE") or d.fees_file,
            fee_volume_30d=parse_volumes(env.get("FEE_VOLUME_30D", "")),
            book_depth=read_int(env, "BOOK_DEPTH", d.book_depth),
            feed_buffer_batches=read_positive_int(env, "FEED_BUFFER_BATCHES",
                                                  d.feed_buffer_batches),
            feed_groups=env.get("FEED_GROUPS", "").strip(),
            feed_processes=read_count(env, "FEED_PROCESSES", d.feed_processes),
            feed_behind_s=read_nonnegative(env, "FEED_BEHIND_S", d.feed_behind_s),
            max_clock_skew_s=read_nonnegative(env, "MAX_CLOCK_SKEW_S", d.max_clock_skew_s),
            feed_max_frame_bytes=read_positive_int(env, "FEED_MAX_FRAME_BYTES",
                                               d.feed_max_frame_bytes),
            trade_notional=read_nonnegative(env, "TRADE_NOTIONAL", d.trade_notional),
            min_size=read_nonnegative(env, "MIN_SIZE", d.min_size),
            min_notional=read_nonnegative(env, "MIN_NOTIONAL", d.min_notional),
            key_prefix=env.get("KEY_PREFIX", d.key_prefix),
            queue_prefix=env.get("QUEUE_PREFIX", d.queue_prefix),
            redis_timeout_s=read_positive(env, "REDIS_TIMEOUT_S", d.redis_timeout_s),
            max_deliveries=read_positive_int(env, "MAX_DELIVERIES", d.max_deliveries),
            broker_consumer_timeout_s=read_positive(env, "BROKER_CONSUMER_TIMEOUT_S",
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
