"""Integration fixtures: the real Redis, InfluxDB and a real Celery worker on RabbitMQ."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from core.config import Settings
from core.influx import InfluxDB
from core.state import RedisState
from tests.support.feed import SYMBOLS
from tests.support.procs import Proc, celery_worker
from tests.support.queues import delete_queues
from tests.support.simulator import SimProcess, serve


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


@pytest.fixture
def bitstamp_kraken_sim() -> Iterator[SimProcess]:
    """A simulator of Bitstamp and Kraken at 100 changes/s each, for one test."""
    yield from serve("--exchanges", "bitstamp,kraken", "--symbols", ",".join(SYMBOLS),
                     "--rate", "100")
