"""InfluxDB down for most of a minute at 2,000 quotes/s: the backlog waits in RabbitMQ, not in
the storage worker; the worker's memory stays flat; RabbitMQ's consumer timeout never fires on
a held message; once InfluxDB is back every quote lands, exactly once.

A private RabbitMQ (its consumer_timeout cut to 15 s, checked by the broker every minute, so one
check falls inside the outage) and a private InfluxDB that the test stops; BROKER_CONSUMER_TIMEOUT_S
of 10 s makes a held message go back to its queue every 2 s, and MAX_DELIVERIES of 2 would
dead-letter a message given back twice if giving back counted as a failed run. `python -m bench
outage` runs the same at full length with the whole pipeline.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from core.influx import InfluxDB
from core.types import Quote
from tasks import app
from tasks.storage import store_quotes
from tests.support.own_services import InfluxServer, RabbitServer
from tests.support.procs import Proc, celery_worker, wait_for
from tests.support.queues import ready

pytestmark = pytest.mark.integration

OUTAGE_S = 58.0
BATCHES_PER_S = 20
QUOTES_PER_BATCH = 100  # 2,000 quotes/s
BROKER_TIMEOUT_MS = 15_000
CONCURRENCY, PREFETCH = 2, 4  # WORKER_OPTIONS["storage"], celeryconfig.worker_prefetch_multiplier
RSS_LIMIT_MB = 20.0


@pytest.fixture
def rabbit(tmp_path: Path) -> Iterator[RabbitServer]:
    (tmp_path / "rabbit").mkdir()
    server = RabbitServer(tmp_path / "rabbit")
    with open(server.root / "rabbitmq.conf", "a") as conf:
        conf.write(f"consumer_timeout = {BROKER_TIMEOUT_MS}\n")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influx_server(tmp_path: Path) -> Iterator[InfluxServer]:
    (tmp_path / "influx").mkdir()
    server = InfluxServer(tmp_path / "influx")
    server.start()
    yield server
    server.stop()


def rss_mb(proc: Proc) -> float:
    """The worker's resident memory: its main process and pool children, summed."""
    main = psutil.Process(proc.popen.pid)
    return sum(p.memory_info().rss for p in [main, *main.children(recursive=True)]) / 2**20



class Publisher:
    """Store-quotes batches at a steady rate into the private broker, each a distinct point."""

    def __init__(self, broker_url: str, queue: str) -> None:
        self.conn = app.connection_for_write(broker_url)  # with publisher confirms, as the feed
        self.queue = queue
        self.sent_quotes = 0
        self.sent_batches = 0
        self.symbol = f"L{uuid.uuid4().hex[:6].upper()}-USD"

    def batch(self) -> None:
        t0 = time.time_ns()
        rows = [tuple(Quote("kraken", self.symbol, 100.0, 1.0, 100.5, 1.0, None,
                            t0 + i, t0 + i)) for i in range(QUOTES_PER_BATCH)]
        store_quotes.apply_async(args=[rows], connection=self.conn, queue=self.queue,
                                 routing_key=self.queue)
        self.sent_quotes += len(rows)
        self.sent_batches += 1

    def run_for(self, seconds: float, each_second: list) -> None:
        """Publish for `seconds`, calling each of `each_second` once a second."""
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds:
            for _ in range(BATCHES_PER_S):
                self.batch()
            for call in each_second:
                call()
            time.sleep(max(0.0, int(elapsed) + 1 - (time.monotonic() - start)))


def test_a_long_outage_keeps_the_backlog_in_rabbitmq_and_loses_nothing(
        rabbit: RabbitServer, influx_server: InfluxServer) -> None:
    prefix = f"long{uuid.uuid4().hex[:6]}."
    queue = f"{prefix}storage"
    database = f"long_{uuid.uuid4().hex[:6]}"
    worker = celery_worker([queue], f"long-{prefix}", {
        "BROKER_URL": rabbit.url, "INFLUXDB_URL": influx_server.url, "INFLUXDB_DB": database,
        "QUEUE_PREFIX": prefix, "KEY_PREFIX": f"cttest:{prefix}", "MAX_DELIVERIES": "2",
        "BROKER_CONSUMER_TIMEOUT_S": "10"}, concurrency=CONCURRENCY)
    influx = InfluxDB(influx_server.url, database)
    publisher = Publisher(rabbit.url, queue)
    try:
        def stored() -> int:
            rows = influx.query_points_if_any("SELECT count(bid) AS n FROM quotes")
            return int(rows[0]["n"]) if rows else 0

        publisher.run_for(2, [])
        wait_for(lambda: stored() == publisher.sent_quotes, 30, "the warm-up batches stored")
        baseline = rss_mb(worker)

        influx_server.stop()
        rss: list[float] = []
        held: list[int] = []  # batches the worker has (sent, not stored, not waiting in the queue)
        sent_before = publisher.sent_batches
        publisher.run_for(OUTAGE_S, [
            lambda: rss.append(rss_mb(worker)),
            lambda: held.append(publisher.sent_batches - sent_before - ready(rabbit.url, queue)),
        ])
        influx_server.start()
        wait_for(lambda: stored() == publisher.sent_quotes, 90,
                 f"all {publisher.sent_quotes} quotes stored after InfluxDB came back")
        time.sleep(2.0)
        assert stored() == publisher.sent_quotes, "exactly once: no point twice"

        backlog = publisher.sent_batches - sent_before
        print(f"\nlong outage: {OUTAGE_S:.0f} s, {backlog} batches; held by the worker at most "
              f"{max(held)}; RSS {baseline:.1f} MB before, max {max(rss):.1f}, last {rss[-1]:.1f}")
        assert max(held) <= CONCURRENCY * PREFETCH, f"the worker held {max(held)} batches"
        assert max(rss) - baseline < RSS_LIMIT_MB, f"RSS grew {max(rss) - baseline:.1f} MB"
        assert "gives its message" in worker.output, "a held message went back to its queue"
        assert "PRECONDITION_FAILED" not in worker.output, "the broker's consumer timeout fired"
        assert ready(rabbit.url, f"{prefix}dead") == 0, "giving a message back is not a failure"
        assert worker.popen.poll() is None
    finally:
        publisher.conn.release()
        worker.stop()
