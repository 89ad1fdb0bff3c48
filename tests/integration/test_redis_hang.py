"""A Redis that accepts connections and never answers: every client we build gives up after
REDIS_TIMEOUT_S, `/healthz` says 503 within it, and a worker's task fails instead of hanging."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection

from core.config import get_settings, reset_settings
from core.state import RedisState
from core.types import Quote
from tasks import resources
from tasks.arbitrage import ingest_quotes
from tests.support.apps import app_with
from tests.support.procs import celery_worker
from tests.support.queues import delete_queues
from tests.support.silent_server import SilentServer
from web import create_app
from web.extensions import services

pytestmark = pytest.mark.integration

TIMEOUT_S = 1.0
# Time a call may take beyond the timeout itself (scheduling, the other checks of /healthz).
SLACK_S = 1.5


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """The URL of a peer that accepts and never answers."""
    server = SilentServer()
    yield f"redis://127.0.0.1:{server.port}/0"
    server.close()


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """REDIS_TIMEOUT_S=1 for this test's settings, the default again afterwards."""
    monkeypatch.setenv("REDIS_TIMEOUT_S", str(TIMEOUT_S))
    reset_settings()
    resources._state.cache_clear()
    yield
    monkeypatch.undo()
    reset_settings()
    resources._state.cache_clear()


def timeouts(state: RedisState) -> tuple[float | None, float | None]:
    kwargs = state.redis.connection_pool.connection_kwargs
    return kwargs.get("socket_timeout"), kwargs.get("socket_connect_timeout")


def test_every_client_we_build_takes_its_timeouts_from_the_setting(short_timeout: None) -> None:
    assert get_settings().redis_timeout_s == TIMEOUT_S
    url = get_settings().redis_url
    app = create_app()
    with app.app_context():
        web_state = services.state
    for state in (RedisState.from_url(url), resources.state(), web_state):
        assert timeouts(state) == (TIMEOUT_S, TIMEOUT_S)


def test_healthz_is_503_within_the_timeout(short_timeout: None, silent_redis: str) -> None:
    client = app_with(testing=False, redis_url=silent_redis).test_client()
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "degraded"
    assert {name for name, s in body["services"].items() if not s["ok"]} == {"redis"}
    assert "timeout" in body["services"]["redis"]["error"].lower()
    assert elapsed < TIMEOUT_S + SLACK_S, f"/healthz took {elapsed:.1f} s"


def test_a_task_on_a_hanging_redis_fails_within_the_timeout(settings, silent_redis: str) -> None:
    prefix = f"{settings.queue_prefix}hang{uuid.uuid4().hex[:6]}."
    queue = f"{prefix}arbitrage"
    worker = celery_worker([queue], f"hang-{prefix}", {
        "QUEUE_PREFIX": prefix, "REDIS_URL": silent_redis, "REDIS_TIMEOUT_S": str(TIMEOUT_S)})
    try:
        now = time.time_ns()
        quote = Quote("kraken", "BTC-USD", 100.0, 1.0, 100.5, 1.0, None, now, now)
        sent = time.monotonic()
        ingest_quotes.apply_async(args=[[tuple(quote)]], queue=queue, routing_key=queue)
        worker.wait_for_line(r"ingest_quotes\[.*\] raised unexpected: .*TimeoutError", 30)
        elapsed = time.monotonic() - sent
        # Beyond the task's own timeout: its failure metric's write times out once more.
        assert elapsed < 2 * TIMEOUT_S + SLACK_S, f"the task took {elapsed:.1f} s to fail"
    finally:
        worker.stop()
        delete_queues(settings.broker_url, prefix)
        with Connection(settings.broker_url) as conn:
            channel = conn.channel()
            for exchange in (queue, f"{prefix}cryptotracker"):
                channel.exchange_delete(exchange)
