"""Arbitrage tasks: quotes and books into Redis, opportunities recomputed, events published."""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

from core import engine
from core.arbitrage import Rules
from core.types import Depth, Quote
from tasks import alerts, app
from tasks.resources import fee_of, fees, settings, state
from tasks.storage import store_opportunities

log = logging.getLogger(__name__)


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


def _finish(result: engine.PassResult) -> None:
    """Publish a pass's events, consider alerts, hand closed opportunities to storage."""
    if result.events:
        state().publish_many(result.events)
    if result.live:
        alerts.consider(result.live)
    if result.closed:
        store_opportunities.delay(result.closed)


def _rows(rows: list[Any], kind: type[Quote] | type[Depth]) -> list[Any]:
    """Rebuild wire rows, skipping (and logging) malformed ones rather than failing the batch."""
    if not isinstance(rows, list):  # not a batch at all: fail the task visibly
        raise TypeError(f"ingest_quotes expects a list of rows, got {type(rows).__name__}")
    out: list[Any] = []
    for row in rows:
        try:
            out.append(kind.from_row(row))
        except (TypeError, ValueError):
            log.warning("ingest_quotes skipped a malformed %s row: %r", kind.__name__, row)
    return out


@app.task(name="tasks.arbitrage.ingest_quotes", acks_late=True, serializer="msgpack")
def ingest_quotes(rows: list[Any], books: list[Any] | None = None) -> int:
    """Apply a batch's newest quotes and books to Redis and recompute the symbols they touched."""
    result = engine.ingest(
        state(), _rows(rows, Quote), rules(), time.time_ns(), _rows(books or [], Depth)
    )
    _finish(result)
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
