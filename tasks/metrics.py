"""Task run counts, failures and durations, kept in Redis for `GET /metrics` to export.

Imported by the worker (it is in the app's `include` list), it connects Celery's
`task_prerun`/`task_postrun`/`task_failure` signals. Each worker process adds to one Redis hash
under the key prefix, so every worker on every machine sums into the same numbers. Recording is
best effort: a Redis problem is logged and never reaches the task.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.signals import task_failure, task_postrun, task_prerun

from tasks.resources import state

log = logging.getLogger(__name__)

# Hash `{KEY_PREFIX}task_metrics`; fields `count|{task}`, `failures|{task}`, `seconds|{task}` and
# `le={bound}|{task}` (cumulative bucket counts). web/metrics.py reads the same layout.
TASK_METRICS_KEY = "task_metrics"
# Quote batches take milliseconds; reports and rollups take seconds.
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Start times by task id; prerun and postrun of a task run in the same worker process.
_started: dict[str, float] = {}


def bucket_field(bound: float, task_name: str) -> str:
    """The hash field of one cumulative bucket (`le=0.05|tasks.x`)."""
    return f"le={bound!r}|{task_name}"


def record_run(task_name: str, seconds: float) -> None:
    """Add one finished run of `task_name` that took `seconds`."""
    s = state()
    key = f"{s.prefix}{TASK_METRICS_KEY}"
    pipe = s.redis.pipeline(transaction=False)
    pipe.hincrby(key, f"count|{task_name}", 1)
    pipe.hincrbyfloat(key, f"seconds|{task_name}", seconds)
    for bound in BUCKETS_S:
        if seconds <= bound:
            pipe.hincrby(key, bucket_field(bound, task_name), 1)
    pipe.execute()


def record_failure(task_name: str) -> None:
    """Add one failed run of `task_name`."""
    s = state()
    s.redis.hincrby(f"{s.prefix}{TASK_METRICS_KEY}", f"failures|{task_name}", 1)


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


@task_failure.connect
def _on_failure(sender: Any = None, **_: Any) -> None:
    name = getattr(sender, "name", None)
    if not name:
        return
    try:
        record_failure(str(name))
    except Exception as exc:  # noqa: BLE001  (metrics must never fail a task)
        log.warning("task failure not recorded for %s: %s", name, exc)
