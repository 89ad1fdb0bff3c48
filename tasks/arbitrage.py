"""Arbitrage tasks: quotes into Redis state, opportunities recomputed, live events published."""

from __future__ import annotations

import logging
import time
from typing import Any

from core import engine
from core.types import Quote
from tasks import app
from tasks.resources import fee_of, settings, state
from tasks.storage import store_opportunities

log = logging.getLogger(__name__)


def _finish(result: engine.PassResult) -> None:
    """Publish a pass's events and hand closed opportunities to the storage queue."""
    if result.events:
        state().publish_many(result.events)
    if result.closed:
        store_opportunities.delay(result.closed)


@app.task(name="tasks.arbitrage.ingest_quotes", acks_late=True)
def ingest_quotes(rows: list[Any]) -> int:
    """Apply a batch's newest quotes to Redis and recompute the symbols they touched."""
    quotes: list[Quote] = []
    for row in rows:
        try:
            quotes.append(Quote.from_row(row))
        except (TypeError, ValueError):
            log.warning("ingest_quotes skipped a malformed row: %r", row)
    s = settings()
    result = engine.ingest(
        state(), quotes, fee_of, time.time_ns(), s.max_quote_age_s, s.min_net_pct
    )
    _finish(result)
    return result.stored_quotes


@app.task(name="tasks.arbitrage.expire_stale", acks_late=True)
def expire_stale() -> int:
    """Close opportunities whose quotes went stale while no new quotes came for their symbol."""
    s = settings()
    result = engine.expire_stale(state(), fee_of, time.time_ns(), s.max_quote_age_s, s.min_net_pct)
    _finish(result)
    return len(result.closed)
