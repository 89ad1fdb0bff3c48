"""Same-run baselines for the pipeline: per-quote Celery tasks, batched no-op tasks, direct writes.

The baseline workers run `celery -A tasks worker -I bench.baselines`, so this module's no-op task
and its completion counter exist only in benchmark workers, never in production ones.
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import Any

import redis
from celery.signals import task_postrun

from tasks import app

NOOP_BATCH = 500  # rows per no-op task, the size of a full storage batch


@cache
def _redis(pid: int) -> redis.Redis:
    from core.config import get_settings

    return redis.Redis.from_url(get_settings().redis_url)


def done_key(task_name: str) -> str:
    """The Redis counter of finished `task_name` tasks under this run's prefix."""
    from core.config import get_settings

    return f"{get_settings().key_prefix}bench:done:{task_name}"


@task_postrun.connect
def _count_done(sender: Any = None, **_: Any) -> None:
    """Count every finished task, so the benchmark knows when a baseline's last one ran."""
    _redis(os.getpid()).incr(done_key(sender.name))


@app.task(name="bench.baselines.noop_batch", acks_late=True)
def noop_batch(rows: list[Any]) -> int:
    """Do nothing with a batch: what is left is the transport (serialize, broker, dispatch)."""
    return len(rows)


def _rows(count: int) -> list[tuple[Any, ...]]:
    """`count` quote rows in the wire shape the feed workers send, on a few series."""
    from core.types import Quote

    t0 = time.time_ns()
    series = [(ex, sym) for ex in ("bitstamp", "kraken") for sym in ("BTC-USD", "ETH-USD")]
    return [tuple(Quote(*series[i % 4], 100.0 + i % 7, 1.0, 101.0, 1.0, None, t0 + i, t0 + i))
            for i in range(count)]


def _wait_done(client: redis.Redis, want: dict[str, int], budget_s: float) -> tuple[int, float]:
    """Wait until every task name in `want` finished that many tasks, or `budget_s` passed.

    Returns how many of the slowest name finished and when (perf_counter): a slow baseline is
    measured over its budget instead of holding the run up.
    """
    deadline = time.perf_counter() + budget_s
    while True:
        got = min(int(client.get(done_key(name)) or 0) for name in want)
        now = time.perf_counter()
        if got >= min(want.values()) or now >= deadline:
            return got, now
        time.sleep(0.02)


def per_quote_tasks(count: int, budget_s: float = 10.0) -> float:
    """Quotes/s with one `store_quotes` and one `ingest_quotes` task per quote: no batching."""
    from tasks.arbitrage import ingest_quotes
    from tasks.storage import store_quotes

    client = _redis(os.getpid())
    rows = _rows(count)
    start = time.perf_counter()
    for row in rows:
        store_quotes.delay([row])
        ingest_quotes.delay([row])
    done, end = _wait_done(client, {store_quotes.name: count, ingest_quotes.name: count},
                           max(0.0, budget_s - (time.perf_counter() - start)))
    return done / (end - start)


def noop_batches(count: int, storage_queue: str, arbitrage_queue: str,
                 budget_s: float = 10.0) -> float:
    """Quotes/s when each 500-row batch goes to both queues as a task that does nothing."""
    client = _redis(os.getpid())
    rows = _rows(NOOP_BATCH)
    batches = max(1, count // NOOP_BATCH)
    start = time.perf_counter()
    for _ in range(batches):
        noop_batch.apply_async(args=[rows], queue=storage_queue, routing_key=storage_queue)
        noop_batch.apply_async(args=[rows], queue=arbitrage_queue, routing_key=arbitrage_queue)
    done, end = _wait_done(client, {noop_batch.name: 2 * batches},
                           max(0.0, budget_s - (time.perf_counter() - start)))
    return done // 2 * NOOP_BATCH / (end - start)


def direct_writes(count: int) -> float:
    """Quotes/s for line-protocol writes of 5,000 lines from one process, no Celery."""
    from core.config import get_settings
    from core.influx import InfluxDB
    from core.lineproto import quote_line
    from core.types import Quote

    s = get_settings()
    influx = InfluxDB(s.influxdb_url, s.influxdb_db + "_baseline")
    influx.ensure_database()
    quotes = [Quote(*row) for row in _rows(count)]
    try:
        start = time.perf_counter()
        for i in range(0, count, 5000):
            influx.write_lines([quote_line(q) for q in quotes[i : i + 5000]])
        return count / (time.perf_counter() - start)
    finally:
        influx.drop_database()
