"""Arbitrage tasks: quotes and books into Redis, opportunities recomputed, events published."""

from __future__ import annotations

import gc
import logging
import time
from functools import cache
from typing import Any

import redis
from celery.signals import worker_ready

from core import engine
from core.arbitrage import Rules
from tasks import alerts, app, rows
from tasks.delivery import DataTask
from tasks.resources import fee_of, fees, settings, state
from tasks.storage import store_opportunities
from workers.task_sender import PUBLISHED_HEADER

log = logging.getLogger(__name__)


@worker_ready.connect
def freeze_startup_heap(**_: Any) -> None:
    """Move everything allocated at start-up out of the collector's reach.

    A worker's heap is mostly Celery, kombu and our modules, alive for good; each full (gen 2)
    collection walked all of it, and at hundreds of batches a second those pauses (every pool
    thread stops) were the longest stalls in the arbitrage hop and a real share of its CPU.
    """
    gc.freeze()


@cache
def rules() -> Rules:
    """This worker's opportunity rules, from its settings and fee schedule."""
    s = settings()
    return Rules(
        fee_of=fee_of,
        max_age_s=s.max_quote_age_s,
        min_net_pct=s.min_net_pct,
        notional=s.trade_notional,
        min_size=s.min_size,
        min_notional=s.min_notional,
        withdrawal_of=fees().withdrawal,
    )


def _finish(result: engine.PassResult, trace: dict[str, int] | None = None) -> None:
    """Publish a pass's events (with the batch's `trace` stamps, if any), consider alerts,
    hand closed opportunities to storage."""
    if result.events:
        state().publish_many(result.events, trace)
    if result.live:
        alerts.consider(result.live)
    if result.closed:
        store_opportunities.delay(result.closed)


def trace_of(request: Any, started_ns: int) -> dict[str, int]:
    """The latency stamps a batch's live events carry: when the feed published it (its
    message header, absent from a message sent another way) and when this task started."""
    published = request.get(PUBLISHED_HEADER) if request is not None else None
    if isinstance(published, int):
        return {"batch_ns": published, "task_ns": started_ns}
    return {"task_ns": started_ns}


# A Redis error drops the batch (acknowledged, a failure) rather than redelivering it: the state
# is newest-wins, so the venues' next quotes replace whatever it held.
@app.task(name="tasks.arbitrage.ingest_quotes", base=DataTask, drop_on=(redis.RedisError,),
          acks_late=True, serializer="msgpack")
def ingest_quotes(batch: list[Any], books: list[Any] | None = None) -> int:
    """Apply a batch's newest quotes and books to Redis and recompute the symbols they touched."""
    started_ns = time.time_ns()
    name = ingest_quotes.name
    result = engine.ingest(state(), rows.quotes(batch, name), rules(), started_ns,
                           rows.depths(books or [], name))
    _finish(result, trace_of(ingest_quotes.request, started_ns))
    return result.stored_quotes


@app.task(name="tasks.arbitrage.expire_stale", acks_late=True)
def expire_stale() -> int:
    """Close opportunities whose quotes went stale while no new quotes came for their symbol."""
    result = engine.expire_stale(state(), rules(), time.time_ns())
    _finish(result)
    return len(result.closed)


@app.task(name="tasks.arbitrage.recompute_all", acks_late=True)
def recompute_all() -> int:
    """Recompute every symbol's opportunities from Redis (after a restart or a config change)."""
    result = engine.recompute_all(state(), rules(), time.time_ns())
    _finish(result)
    return len(result.live)
