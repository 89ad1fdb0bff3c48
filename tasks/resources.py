"""Per-process clients for tasks, created lazily so each forked worker gets its own pools."""

from __future__ import annotations

import os
from functools import cache

from core.config import Settings, get_settings
from core.fees import FeeSchedule
from core.influx import InfluxDB
from core.state import RedisState


def settings() -> Settings:
    """The settings this worker runs with."""
    return get_settings()


@cache
def _influx(pid: int) -> InfluxDB:
    s = settings()
    return InfluxDB(
        s.influxdb_url, s.influxdb_db, s.influxdb_user, s.influxdb_password, s.influxdb_retention
    )


@cache
def _state(pid: int) -> RedisState:
    s = settings()
    return RedisState.from_url(s.redis_url, s.key_prefix)


def influx() -> InfluxDB:
    """This process's InfluxDB client (keyed by pid: pools must not cross a fork)."""
    return _influx(os.getpid())


def state() -> RedisState:
    """This process's Redis state client."""
    return _state(os.getpid())


# Not keyed by pid like the clients above: a schedule is pure data, safe across a fork.
# `fees.cache_clear()` makes the next call re-read it (after settings change, in tests).
@cache
def fees() -> FeeSchedule:
    """This process's fee schedule (FEES_FILE, TAKER_FEES, FEE_VOLUME_30D), read once."""
    return FeeSchedule.from_settings(settings())


def fee_of(exchange: str) -> float:
    """The taker fee for an exchange under this worker's configuration."""
    return fees().taker(exchange)
