"""While InfluxDB is down, a storage task holds its message and retries the write in place.

Why in place: a Celery retry with a countdown publishes the batch again as an ETA message, which
the worker fetches at once and keeps, unacknowledged, in memory until it is due; an outage would
move the whole backlog into the storage worker, growing with its length. A held message instead
keeps the worker's prefetch slot: a worker holds at most concurrency × prefetch messages and the
rest of the backlog waits in RabbitMQ (on disk), however long InfluxDB is away.

Bounded: RabbitMQ closes the channel of a consumer that leaves a delivery unacknowledged longer
than its consumer_timeout (30 min by default), and a prefetched message waits behind the held
ones. So a message is held at most BROKER_CONSUMER_TIMEOUT_S / (prefetch + 1): the last one
prefetched then waits at most `prefetch` holds. At the limit the message is given back to the
head of its queue (not a failed run: tasks/delivery.py) and the next one is tried. A SIGTERM
while holding gives it back at once, so a worker stops promptly. Broker heartbeats are the pool
parent's, which a held task does not block (prefork or threads; not the solo pool).
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Task
from celery.exceptions import Reject

from core.backoff import capped_delay
from core.influx import InfluxForbidden, InfluxUnavailable
from tasks import app
from tasks.delivery import given_back
from tasks.resources import influx, settings

log = logging.getLogger(__name__)

# Retries of a held write: 0.5 s doubling to 5 s, so a batch lands within 5 s of InfluxDB's
# return; one try per held task every 5 s costs a down InfluxDB nothing.
RETRY_BASE_S = 0.5
RETRY_CAP_S = 5.0
_SLICE_S = 0.25  # how soon a held task notices a SIGTERM
# Down, or refusing our user its WRITE privilege (fixed by an admin, not by another delivery):
# either way the batch waits for InfluxDB rather than counting as a failed run.
_WAIT_FOR = (InfluxUnavailable, InfluxForbidden)


def hold_s() -> float:
    """How long one delivery may be held before it is given back."""
    return settings().broker_consumer_timeout_s / (app.conf.worker_prefetch_multiplier + 1)


def retry_delay(attempt: int) -> float:
    """Seconds before held retry number `attempt` (0-based)."""
    return capped_delay(attempt, RETRY_BASE_S, RETRY_CAP_S)


@contextmanager
def _sigterm_sets(stop: threading.Event) -> Iterator[None]:
    """SIGTERM sets `stop` instead of killing the process, for the block (main thread only:
    a prefork child's; a threads-pool task cannot take signals and is just held)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: Any = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _sleep(seconds: float, stop: threading.Event) -> bool:
    """Sleep unless `stop` is set meanwhile; True when the full time passed."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if stop.is_set():
            return False
        time.sleep(min(left, _SLICE_S))
    return not stop.is_set()


def _give_back(task: Task, lines: list[str], why: str) -> Reject:
    given_back(task)
    # The run that gave the previous message back ended in an exception (this Reject), whose
    # traceback is left in a reference cycle holding the whole batch. Such garbage is mostly
    # floats and strings, which the collector does not count, so a full collection would come
    # too rarely and the worker grow by a batch a hold. Collect now: at most one is ever left.
    gc.collect()
    log.warning("%s gives its message (%d points) back to the queue: %s", task.name,
                len(lines), why)
    return Reject(why, requeue=True)


def write_held(task: Task, lines: list[str]) -> int:
    """Write lines to InfluxDB; while it is unavailable, hold the message and retry in place."""
    try:
        return influx().write_lines(lines)
    except _WAIT_FOR as exc:
        limit_s = hold_s()
        log.warning("InfluxDB unavailable (%s); %s holds its %d points, retrying for up to "
                    "%.0f s", exc, task.name, len(lines), limit_s)
    deadline = time.monotonic() + limit_s
    stop = threading.Event()
    attempt = 0
    with _sigterm_sets(stop):
        while True:
            delay = retry_delay(attempt)
            attempt += 1
            if time.monotonic() + delay > deadline:
                raise _give_back(task, lines, f"InfluxDB still unavailable after {limit_s:.0f} s")
            if not _sleep(delay, stop):
                raise _give_back(task, lines, "the worker is stopping")
            try:
                written = influx().write_lines(lines)
            except _WAIT_FOR:
                continue
            log.info("InfluxDB is back: %s wrote its %d held points", task.name, written)
            return written
