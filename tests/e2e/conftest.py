"""End-to-end fixtures: every process of the stack, started as a user would start it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from core.config import Settings, get_settings
from core.influx import InfluxDB
from core.state import RedisState
from tests.integration.conftest import delete_queues
from tests.procs import VENV_BIN, Proc, celery_worker, free_port, wait_for


@pytest.fixture(scope="module")
def settings() -> Settings:
    return get_settings()


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


def start_simulator(procs: list[Proc], *args: str) -> str:
    """`python -m simulator` on a free port; returns its base URL."""
    port = free_port()
    procs.append(Proc("simulator", [str(VENV_BIN / "python"), "-m", "simulator", "--port",
                                    str(port), *args]))
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(url + "/stats", timeout=1).ok, 30, "the simulator")
    return url


def start_feed(procs: list[Proc], exchange: str, sim_url: str, symbols: str) -> Proc:
    """`python -m workers <exchange>[,<exchange>...]` pointed at the simulator."""
    ws_url = sim_url.replace("http://", "ws://") + "/{exchange}"
    proc = Proc(f"feed-{exchange.replace(',', '-')}", [
        str(VENV_BIN / "python"), "-m", "workers", exchange, "--symbols", symbols,
        "--ws-url", ws_url, "--rest-url", sim_url + "/{exchange}"], {"LOG_LEVEL": "INFO"})
    procs.append(proc)
    return proc


def start_feed_groups(procs: list[Proc], exchanges: list[str], sim_url: str,
                      symbols: str) -> list[Proc]:
    """The feeds grouped into processes as the deployment groups them (FEED_PROCESSES)."""
    from workers.grouping import configured_groups

    return [start_feed(procs, ",".join(group), sim_url, symbols)
            for group in configured_groups(exchanges)]


def start_web(procs: list[Proc]) -> str:
    """gunicorn with the deployed settings serving `web:create_app()` on a free loopback port."""
    port = free_port()
    proc = Proc("web", [str(VENV_BIN / "gunicorn"), "-c", "web/gunicorn_conf.py",
                        "web:create_app()", "--bind", f"127.0.0.1:{port}"])
    procs.append(proc)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(url + "/healthz", timeout=2).ok, 30, "the web app")
    return url
