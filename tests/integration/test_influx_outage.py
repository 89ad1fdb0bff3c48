"""InfluxDB down, then up: the batch waits in Celery retries and lands exactly once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.influx import InfluxDB, quote_literal
from core.types import Quote
from tasks.storage import store_quotes
from tests.support.influx_server import InfluxServer
from tests.support.procs import celery_worker, wait_for
from tests.support.queues import delete_queues

pytestmark = pytest.mark.integration


@pytest.fixture
def private_influx(tmp_path: Path) -> Iterator[InfluxServer]:
    server = InfluxServer(tmp_path)
    yield server
    server.stop()


def test_batch_lands_once_after_influxdb_comes_back(
    private_influx: InfluxServer, settings
) -> None:
    queue_prefix = f"outage.{uuid.uuid4().hex[:6]}."
    env = {"INFLUXDB_URL": private_influx.url, "QUEUE_PREFIX": queue_prefix,
           "INFLUXDB_DB": "outage"}
    worker = celery_worker([f"{queue_prefix}storage"], f"outage-{queue_prefix}", env)
    try:
        t0 = time.time_ns()
        rows = [tuple(Quote("kraken", "BTC-USD", 100.0 + i, 1.0, 101.0 + i, 1.0, None, t0 + i, t0))
                for i in range(300)]
        store_quotes.apply_async(args=[rows], queue=f"{queue_prefix}storage",
                                 routing_key=f"{queue_prefix}storage")
        worker.wait_for_line(r"InfluxDB unavailable", timeout_s=30)
        time.sleep(2.0)  # a few retries while it is down
        private_influx.start()
        client = InfluxDB(private_influx.url, "outage")

        def count() -> int:
            rows = client.query_points("SELECT count(bid) AS n FROM quotes")
            return int(rows[0]["n"]) if rows else 0

        wait_for(lambda: count() == 300, 60, "the batch to land after InfluxDB came back")
        time.sleep(2.0)
        assert count() == 300
        first = client.query_points(
            f"SELECT bid FROM quotes WHERE symbol = {quote_literal('BTC-USD')} LIMIT 1"
        )
        assert first[0]["time"] == t0 and first[0]["bid"] == 100.0
    finally:
        worker.stop()
        delete_queues(settings.broker_url, queue_prefix)
