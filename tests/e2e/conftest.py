"""End-to-end fixtures: every process of the stack, started as a user would start it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver

from core.config import Settings
from core.influx import InfluxDB
from core.state import RedisState
from tests.support.browser import chromium
from tests.support.procs import Proc, celery_worker
from tests.support.queues import delete_queues


@pytest.fixture(scope="module", autouse=True)
def clean_slate(settings: Settings) -> Iterator[None]:
    """Each e2e module starts with no history and no state from an earlier module's stack."""
    client = InfluxDB(settings.influxdb_url, settings.influxdb_db)
    client.drop_database()
    RedisState.from_url(settings.redis_url, settings.key_prefix).clear()
    yield
    client.drop_database()


@pytest.fixture(scope="module")
def influx(settings: Settings, clean_slate: None) -> Iterator[InfluxDB]:
    client = InfluxDB(settings.influxdb_url, settings.influxdb_db)
    client.ensure_database()
    yield client


@pytest.fixture(scope="module")
def state(settings: Settings) -> Iterator[RedisState]:
    state = RedisState.from_url(settings.redis_url, settings.key_prefix)
    state.clear()
    yield state
    state.clear()


@pytest.fixture(scope="module")
def procs(settings: Settings) -> Iterator[list[Proc]]:
    """Collects started processes and stops them all at the end, newest first."""
    started: list[Proc] = []
    yield started
    for proc in reversed(started):
        proc.stop()
    delete_queues(settings.broker_url, settings.queue_prefix)


@pytest.fixture(scope="module")
def celery_workers(procs: list[Proc]) -> list[Proc]:
    """A storage worker and an arbitrage worker, with the pools `make run` gives them."""
    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE

    workers = [celery_worker([STORAGE_QUEUE], "e2e-storage"),
               celery_worker([ARBITRAGE_QUEUE], "e2e-arbitrage", pool="threads", concurrency=8)]
    procs.extend(workers)
    return workers


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless Chromium per module."""
    with chromium() as driver:
        yield driver
