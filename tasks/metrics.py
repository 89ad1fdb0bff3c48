"""Task run counts, failures and durations, kept in Redis for `GET /metrics` to export.

Imported by the worker (it is in the app's `include` list), it connects Celery's
`task_prerun`/`task_postrun`/`task_failure` signals. Each worker process adds to one Redis hash
under the key prefix, so every worker on every machine sums into the same numbers. Runs are
summed in the process and written at most every FLUSH_INTERVAL_S: a Redis round trip per task
was a sixth of the arbitrage worker's time at hundreds of small batches a second. Recording is
best effort: a Redis problem is logged and never reaches the task.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from celery.signals import (
    task_failure,
    task_postrun,
    task_prerun,
    worker_process_shutdown,
    worker_shutdown,
)

from tasks.resources import state

log = logging.getLogger(__name__)

# The hash's field layout is core/stores/task_metrics.py's; web/metrics.py reads it.
# Quote batches take milliseconds; reports and rollups take seconds.
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

FLUSH_INTERVAL_S = 0.5  # how stale /metrics may be, traded for one write per interval

# Start times by task id; prerun and postrun of a task run in the same worker process.
_started: dict[str, float] = {}
# Runs not yet written: hash field → increment (counts are ints, `seconds|…` floats).
_pending: Counter[str] = Counter()
_pending_lock = threading.Lock()
_flush_timer: threading.Timer | None = None


def bucket_field(bound: float, task_name: str) -> str:
    """The hash field of one cumulative bucket (`le=0.05|tasks.x`)."""
    return f"le={bound!r}|{task_name}"


def record_run(task_name: str, seconds: float) -> None:
    """Add one finished run of `task_name` that took `seconds` (written within the interval)."""
    with _pending_lock:
        _pending[f"count|{task_name}"] += 1
        _pending[f"seconds|{task_name}"] += seconds
        for bound in BUCKETS_S:
            if seconds <= bound:
                _pending[bucket_field(bound, task_name)] += 1
        _schedule_locked()


def record_count(kind: str, task_name: str, n: int = 1) -> None:
    """Add `n` to `task_name`'s counter `kind` (`bad_rows`, `dead_lettered`), written within
    the interval."""
    with _pending_lock:
        _pending[f"{kind}|{task_name}"] += n
        _schedule_locked()


def _schedule_locked() -> None:
    """Start the flush timer unless one is pending (caller holds the lock)."""
    global _flush_timer
    if _flush_timer is None:
        _flush_timer = threading.Timer(FLUSH_INTERVAL_S, _flush_logged)
        _flush_timer.daemon = True
        _flush_timer.start()


def flush() -> None:
    """Write every pending run to Redis in one round trip (kept for the next try on failure)."""
    global _flush_timer
    with _pending_lock:
        batch = dict(_pending)
        _pending.clear()
        _flush_timer = None
    if not batch:
        return
    try:
        state().task_metrics.add(batch)
    except Exception:
        with _pending_lock:  # not lost: added back and retried after the interval
            _pending.update(batch)
            _schedule_locked()
        raise


def _flush_logged() -> None:
    try:
        flush()
    except Exception as exc:  # noqa: BLE001  (metrics must never fail a task)
        log.warning("task metrics not written: %s", exc)


def record_failure(task_name: str) -> None:
    """Add one failed run of `task_name`."""
    state().task_metrics.add({f"failures|{task_name}": 1})


@task_prerun.connect
def _on_prerun(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@task_postrun.connect
def _on_postrun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    started = _started.pop(task_id, None) if task_id else None
    if started is None or task is None:
        return
    seconds = max(0.0, time.monotonic() - started)
    try:
        record_run(str(task.name), seconds)
    except Exception as exc:  # noqa: BLE001  (metrics must never fail a task)
        log.warning("task metrics not recorded for %s: %s", getattr(task, "name", "?"), exc)


@worker_process_shutdown.connect  # prefork children
@worker_shutdown.connect  # solo and threads pools run tasks in the main process
def _on_shutdown(**_: Any) -> None:
    _flush_logged()


@task_failure.connect
def _on_failure(sender: Any = None, **_: Any) -> None:
    name = getattr(sender, "name", None)
    if not name:
        return
    try:
        record_failure(str(name))
    except Exception as exc:  # noqa: BLE001  (metrics must never fail a task)
        log.warning("task failure not recorded for %s: %s", name, exc)
