"""End-to-end fixtures: every process of the stack, started as a user would start it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from core.config import Settings, get_settings
from core.influx import InfluxDB
from core.state import RedisState
from tests.integration.conftest import delete_queues
from tests.procs import VENV_BIN, Proc, free_port, wait_for


@pytest.fixture(scope="module")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="module")
def influx(settings: Settings) -> Iterator[InfluxDB]:
    client = InfluxDB(settings.influxdb_url, settings.influxdb_db)
    client.ensure_database()
    yield client
    client.drop_database()


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


def start_web(procs: list[Proc]) -> str:
    """gunicorn serving `web:create_app()` on a free loopback port; returns its base URL."""
    port = free_port()
    proc = Proc("web", [str(VENV_BIN / "gunicorn"), "web:create_app()", "--bind",
                        f"127.0.0.1:{port}", "--worker-class", "gthread", "--threads", "8"])
    procs.append(proc)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(url + "/healthz", timeout=2).ok, 30, "the web app")
    return url
