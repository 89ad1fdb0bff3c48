"""Integration fixtures: the real Redis, InfluxDB and a real Celery worker on RabbitMQ."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection

from core.config import Settings, get_settings
from core.influx import InfluxDB
from core.state import RedisState
from tests.integration.feed_helpers import SYMBOLS
from tests.integration.simulator_helpers import SimProcess
from tests.procs import Proc, celery_worker


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def influx(settings: Settings) -> Iterator[InfluxDB]:
    """This run's InfluxDB database, dropped at the end."""
    client = InfluxDB(settings.influxdb_url, settings.influxdb_db)
    client.ensure_database()
    yield client
    client.drop_database()
    client.close()


@pytest.fixture
def state(settings: Settings) -> Iterator[RedisState]:
    """Redis state under this run's prefix (the one the session's worker uses), emptied around."""
    state = RedisState.from_url(settings.redis_url, settings.key_prefix)
    state.clear()
    yield state
    state.clear()


@pytest.fixture
def private_state(settings: Settings) -> Iterator[RedisState]:
    """Redis state under a prefix of this test's own."""
    state = RedisState.from_url(settings.redis_url, f"{settings.key_prefix}{uuid.uuid4().hex[:6]}:")
    yield state
    state.clear()


@pytest.fixture(scope="session")
def worker(settings: Settings, influx: InfluxDB) -> Iterator[Proc]:
    """One real Celery worker consuming this run's storage and arbitrage queues."""
    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE

    proc = celery_worker([STORAGE_QUEUE, ARBITRAGE_QUEUE], f"it-{settings.queue_prefix}")
    yield proc
    proc.stop()
    delete_queues(settings.broker_url, settings.queue_prefix)


def delete_queues(broker_url: str, prefix: str) -> None:
    """Remove this run's durable queues from RabbitMQ so test runs leave nothing behind."""
    with Connection(broker_url) as conn:
        channel = conn.channel()
        for name in ("storage", "arbitrage", "reports", "dead"):
            try:
                channel.queue_delete(f"{prefix}{name}")
            except Exception:  # noqa: BLE001  (already gone)
                channel = conn.channel()


@pytest.fixture
def bitstamp_kraken_sim() -> Iterator[SimProcess]:
    """A simulator of Bitstamp and Kraken at 100 changes/s each, for one test."""
    proc = SimProcess("--exchanges", "bitstamp,kraken", "--symbols", ",".join(SYMBOLS),
                      "--rate", "100").start()
    yield proc
    proc.stop()
