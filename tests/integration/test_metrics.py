"""`GET /metrics`: parses as Prometheus text, moves when quotes flow, survives a service down."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection

from core.config import Settings
from core.state import RedisState
from core.types import Quote
from tasks.arbitrage import ingest_quotes
from tests.support.metrics import scrape, value
from tests.support.procs import VENV_BIN, Proc, free_port, wait_for

pytestmark = pytest.mark.integration

INGEST = "tasks.arbitrage.ingest_quotes"


@pytest.fixture(scope="module")
def metrics_queue(settings: Settings) -> Iterator[str]:
    """A queue of this module's own, so only its worker (which records metrics) runs the tasks."""
    name = f"{settings.queue_prefix}metrics-{uuid.uuid4().hex[:6]}"
    yield name
    with Connection(settings.broker_url) as conn:
        conn.channel().queue_delete(name)


@pytest.fixture(scope="module")
def metrics_worker(settings: Settings, metrics_queue: str) -> Iterator[Proc]:
    """A real worker started as the Procfile's are, plus `--include tasks.metrics`."""
    proc = Proc(
        "celery-metrics",
        [str(VENV_BIN / "celery"), "-A", "tasks", "worker", "-Q", metrics_queue,
         "-n", f"metrics-{settings.queue_prefix}@%h", "--include", "tasks.metrics",
         "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
    )
    proc.wait_for_line(r"ready\.", timeout_s=60)
    yield proc
    proc.stop()


def send(metrics_queue: str, rows: object) -> None:
    """Publish an ingest task straight to the module's queue (bypassing the arbitrage route)."""
    ingest_quotes.apply_async(args=[rows], queue=metrics_queue, exchange=metrics_queue,
                              routing_key=metrics_queue)


def test_metrics_parse_and_every_source_is_read(state: RedisState) -> None:
    status, samples, names = scrape()
    assert status == 200
    assert value(samples, "cryptotracker_scrape_errors", source="redis") == 0
    assert value(samples, "cryptotracker_scrape_errors", source="rabbitmq") == 0
    assert value(samples, "cryptotracker_open_opportunities") == 0
    assert "cryptotracker_scrape_errors" in names


def test_metrics_move_when_quotes_flow(state: RedisState, metrics_worker: Proc,
                                       metrics_queue: str) -> None:
    now = time.time_ns()
    feed = {"exchange": "kraken", "state": "connected", "connections": 2, "messages": 10,
            "quotes": 8, "reconnects": 1, "parse_errors": 3, "last_message_ns": now - 3_000_000_000,
            "lag_ms": 3500.0, "behind": "1", "resyncs": 4}
    state.set_feed_status("kraken", feed)
    state.set_feed_status("bitstamp", {**feed, "exchange": "bitstamp", "state": "reconnecting",
                                       "lag_ms": "", "behind": "0", "resyncs": 0})
    _, before, _ = scrape()
    assert value(before, "cryptotracker_feed_lag_seconds", exchange="kraken") == 3.5
    assert value(before, "cryptotracker_feed_behind", exchange="kraken") == 1
    assert value(before, "cryptotracker_feed_behind", exchange="bitstamp") == 0
    assert value(before, "cryptotracker_feed_resyncs_total", exchange="kraken") == 4
    assert value(before, "cryptotracker_feed_messages_total", exchange="kraken") == 10
    assert value(before, "cryptotracker_feed_reconnects_total", exchange="kraken") == 1
    assert value(before, "cryptotracker_feed_parse_errors_total", exchange="kraken") == 3
    assert value(before, "cryptotracker_feed_connections", exchange="kraken") == 2
    assert value(before, "cryptotracker_feed_connected", exchange="kraken") == 1
    assert value(before, "cryptotracker_feed_connected", exchange="bitstamp") == 0
    age = value(before, "cryptotracker_feed_quote_age_seconds", exchange="kraken")
    assert age is not None and 3.0 <= age < 60
    assert value(before, "cryptotracker_ingest_lag_seconds", exchange="kraken") is None
    runs_before = value(before, "cryptotracker_task_duration_seconds_count", task=INGEST) or 0
    failures_before = value(before, "cryptotracker_task_failures_total", task=INGEST) or 0

    symbol = f"M{uuid.uuid4().hex[:6].upper()}-USD"
    sent_ns = time.time_ns()
    send(metrics_queue, [tuple(Quote("kraken", symbol, 100.0, 1.0, 100.5, 1.0, None, None,
                                     sent_ns))])
    send(metrics_queue, None)  # a batch the task cannot iterate: one failed run
    state.set_feed_status("kraken", {**feed, "messages": 25, "last_message_ns": time.time_ns()})

    def moved() -> bool:
        _, now_samples, _ = scrape()
        runs = value(now_samples, "cryptotracker_task_duration_seconds_count", task=INGEST) or 0
        return runs >= runs_before + 2
    wait_for(moved, 30, "two ingest runs in the task metrics")

    _, after, _ = scrape()
    assert value(after, "cryptotracker_feed_messages_total", exchange="kraken") == 25
    assert value(after, "cryptotracker_feed_quote_age_seconds", exchange="kraken") < age
    lag = value(after, "cryptotracker_ingest_lag_seconds", exchange="kraken")
    assert lag is not None and 0 <= lag < 30
    assert value(after, "cryptotracker_task_failures_total", task=INGEST) == failures_before + 1
    runs = value(after, "cryptotracker_task_duration_seconds_count", task=INGEST)
    inf = value(after, "cryptotracker_task_duration_seconds_bucket", task=INGEST, le="+Inf")
    slowest = value(after, "cryptotracker_task_duration_seconds_bucket", task=INGEST, le="30.0")
    assert runs == inf == slowest  # every run took under 30 s
    assert value(after, "cryptotracker_task_duration_seconds_sum", task=INGEST) > 0


def test_queue_depth_counts_waiting_messages(settings: Settings) -> None:
    queue = f"{settings.queue_prefix}reports"
    with Connection(settings.broker_url) as conn:
        channel = conn.channel()
        channel.queue_declare(queue=queue, durable=True, auto_delete=False)
        channel.queue_purge(queue)
        producer = conn.Producer(channel)
        for _ in range(3):
            producer.publish({"probe": True}, exchange="", routing_key=queue)
        try:
            wait_for(lambda: value(scrape()[1], "cryptotracker_queue_messages",
                                   queue="reports") == 3, 10, "3 messages in the reports queue")
            assert value(scrape()[1], "cryptotracker_queue_consumers", queue="reports") == 0
        finally:
            channel.queue_delete(queue)


@pytest.mark.parametrize(
    ("source", "key", "url", "gone"),
    [("redis", "REDIS_URL", "redis://127.0.0.1:{port}/0", "cryptotracker_open_opportunities"),
     ("rabbitmq", "BROKER_URL", "amqp://guest:guest@127.0.0.1:{port}//",
      "cryptotracker_queue_messages")],
)
def test_a_service_down_is_still_200_with_a_scrape_error(
        source: str, key: str, url: str, gone: str) -> None:
    status, samples, names = scrape(**{key.lower(): url.format(port=free_port())})
    assert status == 200
    assert value(samples, "cryptotracker_scrape_errors", source=source) == 1
    other = {"redis", "rabbitmq"} - {source}
    assert all(value(samples, "cryptotracker_scrape_errors", source=o) == 0 for o in other)
    assert gone not in names
