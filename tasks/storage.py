"""Storage tasks: quote batches, closed opportunities and feed events and stats into InfluxDB
(their points built by core/lineproto.py).

Each task validates its rows on receipt (tasks/rows.py: bad ones counted and dropped), writes
the rest, holds its message while InfluxDB is down (tasks/hold.py) and is dead-lettered after
MAX_DELIVERIES failed runs (tasks/delivery.py). Redoing a batch is harmless: a point is its
series and time, so InfluxDB keeps one of each however often it is written.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from core.lineproto import feed_event_line, feed_stats_line, opportunity_line, quote_line
from tasks import app, rows
from tasks.delivery import DataTask
from tasks.hold import write_held


@app.task(bind=True, base=DataTask, name="tasks.storage.store_quotes", acks_late=True,
          serializer="msgpack")
def store_quotes(self: Task, batch: list[Any]) -> int:
    """Write a batch of quotes (rows of Quote fields) to the `quotes` measurement."""
    return write_held(self, [quote_line(q) for q in rows.quotes(batch, self.name)])


@app.task(bind=True, base=DataTask, name="tasks.storage.store_opportunities", acks_late=True)
def store_opportunities(self: Task, records: list[dict[str, Any]]) -> int:
    """Write closed opportunities to the `opportunities` measurement."""
    return write_held(self, rows.built(records, opportunity_line, self.name))


@app.task(bind=True, base=DataTask, name="tasks.storage.store_feed_events", acks_late=True)
def store_feed_events(self: Task, events: list[dict[str, Any]]) -> int:
    """Write feed events to the `feed_events` measurement."""
    return write_held(self, rows.built(events, feed_event_line, self.name))


@app.task(bind=True, base=DataTask, name="tasks.storage.store_feed_stats", acks_late=True)
def store_feed_stats(self: Task, records: list[dict[str, Any]]) -> int:
    """Write per-minute feed stats to the `feed_stats` measurement (reports read them)."""
    return write_held(self, rows.built(records, feed_stats_line, self.name))
