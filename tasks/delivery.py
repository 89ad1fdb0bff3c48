"""Data tasks count the deliveries of their message: one that keeps failing ends in the dead queue.

RabbitMQ's classic queues flag a redelivered message but do not count its deliveries, and a
worker killed mid-task (SIGKILL, the OOM killer, a lost machine) records nothing on its way out.
So a task records the start of every redelivered message in Redis before running it
(`{KEY_PREFIX}deliveries:{task id}`, INCR), and a first delivery counts as a run without any
Redis round trip: that is the hot path. A message whose runs so far reach MAX_DELIVERIES is not
run again but copied to `{QUEUE_PREFIX}dead` (a Celery message like the original, with
`dead_reason`, `dead_deliveries` and `dead_from` headers; moving it back to its queue replays
it) and acknowledged. A run that raises is requeued at once, or dead-lettered if it was the
last one allowed; a payload that is not a batch at all goes to the dead queue on its first run.
A message given back on purpose (tasks/hold.py: InfluxDB down) takes its count back (DECR), so
an outage of any length never dead-letters anything.

The count errs high by at most one (a message prefetched and requeued without ever starting
looks like a failed first run), so a poison message runs MAX_DELIVERIES - 1 or MAX_DELIVERIES
times. With Redis unreachable the count is skipped and the message simply runs.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import Task
from celery.exceptions import Ignore, Reject, Retry

from tasks.metrics import record_count
from tasks.resources import settings, state
from tasks.rows import BadBatch

log = logging.getLogger(__name__)

TTL_S = 86400  # a count outlives any redelivery loop; a message is not expected back after a day


def _redelivered(task: Task) -> bool:
    return bool((task.request.delivery_info or {}).get("redelivered"))


def _add(task: Task, amount: int) -> int | None:
    """Add `amount` to the message's count; its new value, or None when Redis failed."""
    try:
        return state().deliveries.add(task.request.id, amount, TTL_S)
    except redis.RedisError as exc:
        log.warning("delivery of %s[%s] not counted: %s", task.name, task.request.id,
                    type(exc).__name__)
        return None


def runs_before(task: Task) -> int:
    """Runs of this message before this one that did not finish (0 on a first delivery)."""
    if not _redelivered(task):
        return 0
    # The count holds the redelivered starts so far, minus the deliveries given back; the +1 of
    # the first delivery, which recorded nothing, cancels this start's own increment.
    counted = _add(task, 1)
    return max(0, counted) if counted is not None else 0


def given_back(task: Task) -> None:
    """This delivery is requeued on purpose: it must not count as a failed run."""
    _add(task, -1)


def forget(task: Task) -> None:
    """The message is done with (finished or dead-lettered): drop its count."""
    try:
        state().deliveries.forget(task.request.id)
    except redis.RedisError:
        pass  # it expires


def dead_letter(task: Task, args: tuple[Any, ...], kwargs: dict[str, Any], reason: str,
                runs: int) -> None:
    """Copy the message to the dead queue (confirmed by the broker) and count it; when the copy
    cannot be sent, requeue the message instead: it is never acknowledged before it is safe."""
    from celeryconfig import dead_queue

    try:
        task.apply_async(
            args, kwargs, task_id=task.request.id, queue=dead_queue,
            headers={"dead_reason": reason[:500], "dead_deliveries": runs,
                     "dead_from": (task.request.delivery_info or {}).get("routing_key")},
        )
    except Exception as exc:
        log.error("%s[%s] not moved to %s (%s); requeued", task.name, task.request.id,
                  dead_queue.name, exc)
        raise Reject(exc, requeue=True) from exc
    record_count("dead_lettered", task.name)
    forget(task)
    log.error("%s[%s] moved to %s after %d run(s): %s", task.name, task.request.id,
              dead_queue.name, runs, reason)


class DataTask(Task):
    """A task on a batch of data whose message is dead-lettered after MAX_DELIVERIES runs."""

    # Errors that drop the batch as before (acknowledged, counted as a failure) rather than
    # redeliver it: the arbitrage tasks' Redis errors, where the next batch supersedes this one.
    drop_on: tuple[type[Exception], ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task under the delivery count (see the module's docstring)."""
        limit = settings().max_deliveries
        before = runs_before(self)
        if before >= limit:
            dead_letter(self, args, kwargs, f"{before} run(s) did not finish", before)
            return None
        try:
            result = super().__call__(*args, **kwargs)
        except (Reject, Ignore, Retry):
            raise
        except BadBatch as exc:
            record_count("failures", self.name)
            dead_letter(self, args, kwargs, str(exc), before + 1)
            return None
        except self.drop_on:
            if _redelivered(self):
                forget(self)
            raise
        except Exception as exc:
            record_count("failures", self.name)
            if before + 1 >= limit:
                dead_letter(self, args, kwargs, f"{type(exc).__name__}: {exc}", before + 1)
                return None
            log.warning("%s[%s] failed on run %d of %d (%s: %s); requeued", self.name,
                        self.request.id, before + 1, limit, type(exc).__name__, exc)
            raise Reject(exc, requeue=True) from exc
        if _redelivered(self):
            forget(self)
        return result
