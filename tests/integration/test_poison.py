"""Poison messages end: a malformed row is dropped and the rest of its batch kept; a message that
fails on every delivery, or kills the worker running it, ends in `{QUEUE_PREFIX}dead` after
MAX_DELIVERIES runs, counted on /metrics, and its queue drains. Real workers, RabbitMQ, Redis and
InfluxDB throughout."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from kombu import Connection
from kombu.serialization import loads

from core.config import Settings
from core.influx import InfluxDB, quote_literal
from core.state import RedisState
from core.types import Quote
from tasks.arbitrage import ingest_quotes
from tasks.storage import store_quotes
from tests.support.metrics import scrape, value
from tests.support.procs import Proc, celery_worker, wait_for
from tests.support.queues import ready
from tests.support.silent_server import SilentServer

pytestmark = pytest.mark.integration

MAX_DELIVERIES = 3
STORE = "tasks.storage.store_quotes"
INGEST = "tasks.arbitrage.ingest_quotes"


def unique_symbol() -> str:
    return f"P{uuid.uuid4().hex[:6].upper()}-USD"


def quote_rows(symbol: str, n: int, exchange: str = "kraken") -> list[tuple[Any, ...]]:
    t0 = time.time_ns()
    return [tuple(Quote(exchange, symbol, 100.0 + i, 1.0, 101.0 + i, 1.0, None, t0 + i, t0))
            for i in range(n)]



def take_all(broker_url: str, queue: str) -> list[Any]:
    """Consume and return every message waiting in `queue`."""
    taken = []
    with Connection(broker_url) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            taken.append(message)
    return taken


class Own:
    """A worker of one test's own: queue and key prefixes, database, MAX_DELIVERIES."""

    def __init__(self, settings: Settings, **env: str) -> None:
        unique = uuid.uuid4().hex[:6]
        self.broker_url = settings.broker_url
        self.queue_prefix = f"{settings.queue_prefix}poison{unique}."
        self.key_prefix = f"{settings.key_prefix}poison{unique}:"
        self.database = f"{settings.influxdb_db}_poison{unique}"
        self.influx = InfluxDB(settings.influxdb_url, self.database)
        self.state = RedisState.from_url(settings.redis_url, self.key_prefix)
        self.env = {"QUEUE_PREFIX": self.queue_prefix, "KEY_PREFIX": self.key_prefix,
                    "INFLUXDB_DB": self.database, "MAX_DELIVERIES": str(MAX_DELIVERIES), **env}
        self.proc: Proc | None = None

    def queue(self, role: str) -> str:
        return f"{self.queue_prefix}{role}"

    def start(self, role: str) -> Proc:
        self.proc = celery_worker([self.queue(role)], f"poison-{self.queue_prefix}", self.env,
                                  concurrency=1)
        return self.proc

    def send(self, task: Any, role: str, *args: Any) -> str:
        return task.apply_async(args=list(args), queue=self.queue(role),
                                routing_key=self.queue(role)).id

    def metrics(self) -> dict:
        return scrape(key_prefix=self.key_prefix, queue_prefix=self.queue_prefix)[1]

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stop()
        with Connection(self.broker_url) as conn:
            channel = conn.channel()
            for role in ("storage", "arbitrage", "dead"):
                channel.queue_delete(self.queue(role))
                channel.exchange_delete(self.queue(role))  # declared by apply_async's routing
            channel.exchange_delete(self.queue("cryptotracker"))
        self.state.clear()
        try:
            self.influx.drop_database()
        except Exception:  # noqa: BLE001  (never created)
            pass


@pytest.fixture
def own(settings: Settings) -> Iterator[list[Own]]:
    made: list[Own] = []
    yield made
    for o in made:
        o.close()


def count_quotes(influx: InfluxDB, symbol: str) -> int:
    rows = influx.query_points_if_any(
        f"SELECT count(bid) AS n FROM quotes WHERE symbol = {quote_literal(symbol)}")
    return int(rows[0]["n"]) if rows else 0


def test_a_malformed_row_is_dropped_and_the_rest_of_its_batch_kept(
        worker: Proc, influx: InfluxDB, state: RedisState) -> None:
    symbol = unique_symbol()
    good = quote_rows(symbol, 3)
    bitstamp = quote_rows(symbol, 1, "bitstamp")[0]
    malformed = (123, *good[0][1:-2], good[0][-2] + 99, good[0][-1])  # a non-string exchange
    _, before, _ = scrape()
    store_quotes.delay([good[0], malformed, good[1], good[2]])
    ingest_quotes.delay([good[2], malformed, bitstamp])

    wait_for(lambda: count_quotes(influx, symbol) == 3, 30, "the batch's 3 good points")
    wait_for(lambda: {q.exchange for q in state.all_quotes() if q.symbol == symbol}
             == {"kraken", "bitstamp"}, 30, "the arbitrage batch's 2 good quotes in Redis")

    def counted(task: str) -> bool:
        was = value(before, "cryptotracker_task_bad_rows_total", task=task) or 0
        return value(scrape()[1], "cryptotracker_task_bad_rows_total", task=task) == was + 1

    wait_for(lambda: counted(STORE) and counted(INGEST), 10, "one bad row counted per task")
    time.sleep(1.0)
    assert count_quotes(influx, symbol) == 3


def test_a_batch_failing_on_every_delivery_ends_in_the_dead_queue(
        settings: Settings, own: list[Own]) -> None:
    o = Own(settings)
    own.append(o)
    symbol = unique_symbol()
    # InfluxDB refuses the batch every time: `bid` is already a string field in this shard.
    o.influx.ensure_database()
    o.influx.write_lines([f'quotes,exchange=kraken,symbol={symbol} bid="text" {time.time_ns()}'])
    worker = o.start("storage")
    rows = quote_rows(symbol, 5)
    task_id = o.send(store_quotes, "storage", rows)

    wait_for(lambda: ready(o.broker_url, o.queue("dead")) == 1, 60, "the batch in the dead queue")
    for run in range(1, MAX_DELIVERIES):
        assert f"failed on run {run} of {MAX_DELIVERIES}" in worker.output
    # Task metrics reach Redis within their flush interval.
    wait_for(lambda: value(o.metrics(), "cryptotracker_task_dead_lettered_total", task=STORE)
             == 1, 10, "the dead letter counted on /metrics")
    samples = o.metrics()
    assert value(samples, "cryptotracker_task_failures_total", task=STORE) == MAX_DELIVERIES
    assert value(samples, "cryptotracker_queue_messages", queue="dead") == 1
    worker.stop()
    assert ready(o.broker_url, o.queue("storage")) == 0, "the storage queue drains"
    [dead] = take_all(o.broker_url, o.queue("dead"))
    assert dead.headers["id"] == task_id and dead.headers["task"] == STORE
    assert dead.headers["dead_deliveries"] == MAX_DELIVERIES
    assert dead.headers["dead_from"] == o.queue("storage")
    assert "field type conflict" in dead.headers["dead_reason"]
    args, _, _ = loads(dead.body, dead.content_type, dead.content_encoding,
                       accept=[dead.content_type])
    assert [tuple(r) for r in args[0]] == rows, "the dead message is the batch, replayable"


def test_a_message_that_kills_its_worker_ends_in_the_dead_queue(
        settings: Settings, own: list[Own]) -> None:
    """Every run of the batch dies by SIGKILL (as from the OOM killer) while it talks to
    InfluxDB: a peer that never answers, whose every accepted connection kills the worker
    process that opened it. Celery requeues the batch each time (reject on worker lost)."""
    worker: list[Proc] = []

    def kill_the_runner() -> None:
        for child in psutil.Process(worker[0].popen.pid).children(recursive=True):
            child.kill()

    influx = SilentServer(on_accept=kill_the_runner)
    try:
        o = Own(settings, INFLUXDB_URL=f"http://127.0.0.1:{influx.port}")
        own.append(o)
        worker.append(o.start("storage"))
        task_id = o.send(store_quotes, "storage", quote_rows(unique_symbol(), 5))

        wait_for(lambda: ready(o.broker_url, o.queue("dead")) == 1, 60,
                 "the batch in the dead queue")
        assert influx.accepted == MAX_DELIVERIES, "each run was killed, then it was not run"
        wait_for(lambda: value(o.metrics(), "cryptotracker_task_dead_lettered_total",
                               task=STORE) == 1, 10, "the dead letter counted on /metrics")
        worker[0].stop()
        assert ready(o.broker_url, o.queue("storage")) == 0, "the storage queue drains"
        [dead] = take_all(o.broker_url, o.queue("dead"))
        assert dead.headers["id"] == task_id
        assert dead.headers["dead_deliveries"] == MAX_DELIVERIES
        assert "did not finish" in dead.headers["dead_reason"]
    finally:
        influx.close()
