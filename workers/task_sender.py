"""Quote batches as Celery task messages, published on one kept kombu producer.

The messages are Celery's own (task protocol 2, msgpack, persistent, routed as celeryconfig
routes the task), so any Celery worker runs them. What is skipped is Celery's per-call
machinery in `apply_async` — routing lookups, a producer taken from and returned to the pool,
signals, a repr of the arguments — which costs more CPU than the publish itself (BENCHMARKS.md).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

from kombu import Connection, Producer, Queue

# One quick reconnect attempt, then the Publisher's buffer holds the batch: a broker outage must
# not stall batching behind seconds of retries inside one send.
RETRY = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.2, "interval_max": 0.5}

_NO_LINKS = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
# Message header with the wall time (ns) the feed published the batch: a custom protocol-2
# header lands in the task's request, so latency is measurable hop by hop at no cost to the rows.
PUBLISHED_HEADER = "published_ns"


def task_headers(task_name: str, task_id: str, argsrepr: str, kwargsrepr: str,
                 origin: str) -> dict[str, Any]:
    """Celery protocol-2 headers for a task with no ETA, expiry, group or parent."""
    return {
        "lang": "py", "task": task_name, "id": task_id, "shadow": None, "eta": None,
        "expires": None, "group": None, "group_index": None, "retries": 0,
        "timelimit": [None, None], "root_id": task_id, "parent_id": None,
        "argsrepr": argsrepr, "kwargsrepr": kwargsrepr, "origin": origin,
        "ignore_result": True, "replaced_task_nesting": 0, "stamped_headers": None,
        "stamps": {},
    }


class TaskSender:
    """Publishes `task(rows, books=...)` messages for each path on one connection."""

    def __init__(self, connection: Connection, targets: dict[str, tuple[str, Queue]]) -> None:
        self.connection = connection
        self.targets = targets  # path → (task name, its queue)
        self.origin = f"gen{os.getpid()}@{socket.gethostname()}"
        self._producer: Producer | None = None
        self._publish: Callable[..., Any] | None = None

    def _ready(self) -> Callable[..., Any]:
        if self._publish is None:
            # Connect with the same short policy first: the producer's own connect would retry
            # for seconds while the broker is down, stalling the batching behind it.
            self.connection.ensure_connection(**RETRY)
            self._producer = Producer(self.connection)
            for _, queue in self.targets.values():  # a queue no worker declared yet gets it;
                self._producer.maybe_declare(queue)  # once here, not re-bound on every publish
            self._publish = self.connection.ensure(self._producer, self._producer.publish,
                                                   **RETRY)
        return self._publish

    def __call__(self, path: str, rows: list[tuple[Any, ...]],
                 depth_rows: list[list[Any]]) -> None:
        """Publish one batch; raises when the broker does not confirm it."""
        task_name, queue = self.targets[path]
        task_id = str(uuid.uuid4())
        kwargs = {"books": depth_rows} if depth_rows else {}
        kwargsrepr = f"{{'books': <{len(depth_rows)} books>}}" if depth_rows else "{}"
        headers = task_headers(task_name, task_id, f"[<{len(rows)} quotes>]", kwargsrepr,
                               self.origin)
        headers[PUBLISHED_HEADER] = time.time_ns()
        try:
            self._ready()(
                ([rows], kwargs, _NO_LINKS), exchange=queue.exchange,
                routing_key=queue.routing_key, headers=headers, serializer="msgpack",
                delivery_mode=2, correlation_id=task_id, reply_to="",
            )
        except Exception:
            # A failed `ensure` leaves the producer without a channel, and every later publish
            # would fail on it even once the broker is back: start over on the next batch.
            self._producer = self._publish = None
            raise


def celery_task_sender() -> TaskSender:
    """A sender for the feed worker: arbitrage → `ingest_quotes`, storage → `store_quotes`."""
    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE, task_queues
    from tasks import app

    queues = {q.name: q for q in task_queues}
    return TaskSender(app.connection_for_write(), {
        "arbitrage": ("tasks.arbitrage.ingest_quotes", queues[ARBITRAGE_QUEUE]),
        "storage": ("tasks.storage.store_quotes", queues[STORAGE_QUEUE]),
    })
