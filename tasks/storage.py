"""Storage tasks: quote batches and closed opportunities into InfluxDB.

Each task validates its rows on receipt (tasks/rows.py: bad ones counted and dropped), writes
the rest, holds its message while InfluxDB is down (tasks/hold.py) and is dead-lettered after
MAX_DELIVERIES failed runs (tasks/delivery.py). Redoing a batch is harmless: a point is its
series and time, so InfluxDB keeps one of each however often it is written.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from core.lineproto import make_line, quote_line
from tasks import app, rows
from tasks.delivery import DataTask
from tasks.hold import write_held

# Celery retries with backoff, for the report tasks (tasks/reports.py): 1 s doubling to 30 s.
RETRY_BASE_S = 1.0
RETRY_CAP_S = 30.0


def retry_delay(retries: int) -> float:
    """Seconds before retry number `retries` (0-based)."""
    return min(RETRY_CAP_S, RETRY_BASE_S * 2**retries)


@app.task(bind=True, base=DataTask, name="tasks.storage.store_quotes", acks_late=True,
          serializer="msgpack")
def store_quotes(self: Task, batch: list[Any]) -> int:
    """Write a batch of quotes (rows of Quote fields) to the `quotes` measurement."""
    return write_held(self, [quote_line(q) for q in rows.quotes(batch, self.name)])


def opportunity_line(record: dict[str, Any]) -> str:
    """A closed opportunity as one `opportunities` point, stamped at its opening time."""
    duration_s = max(0.0, (record["closed_ns"] - record["opened_ns"]) / 1e9)
    return make_line(
        "opportunities",
        {
            "symbol": str(record["symbol"]),
            "buy_exchange": str(record["buy_exchange"]),
            "sell_exchange": str(record["sell_exchange"]),
        },
        {
            "peak_net_pct": float(record["peak_net_pct"]),
            "mean_net_pct": float(record["mean_net_pct"]),
            "duration_s": duration_s,
            "max_size": float(record["max_size"]),
            "max_profit": float(record["max_profit"]),
        },
        int(record["opened_ns"]),
    )


@app.task(bind=True, base=DataTask, name="tasks.storage.store_opportunities", acks_late=True)
def store_opportunities(self: Task, records: list[dict[str, Any]]) -> int:
    """Write closed opportunities to the `opportunities` measurement."""
    return write_held(self, rows.built(records, opportunity_line, self.name))


def feed_event_line(event: dict[str, Any]) -> str:
    """A feed event (connect, disconnect, gap...) as one `feed_events` point."""
    return make_line(
        "feed_events",
        {"exchange": str(event["exchange"]), "event": str(event["event"])},
        {"reason": str(event.get("reason", "")), "count": int(event.get("count", 1))},
        int(event["ts_ns"]),
    )


@app.task(bind=True, base=DataTask, name="tasks.storage.store_feed_events", acks_late=True)
def store_feed_events(self: Task, events: list[dict[str, Any]]) -> int:
    """Write feed events to the `feed_events` measurement."""
    return write_held(self, rows.built(events, feed_event_line, self.name))


def feed_stats_line(record: dict[str, Any]) -> str:
    """A minute of a venue's feed (messages, quotes, mean quote age) as a `feed_stats` point."""
    return make_line(
        "feed_stats",
        {"exchange": str(record["exchange"])},
        {"messages": int(record["messages"]), "quotes": int(record["quotes"]),
         "mean_quote_age_s": (None if record.get("mean_quote_age_s") is None
                              else float(record["mean_quote_age_s"])),
         "samples": int(record.get("samples", 0))},
        int(record["ts_ns"]),
    )


@app.task(bind=True, base=DataTask, name="tasks.storage.store_feed_stats", acks_late=True)
def store_feed_stats(self: Task, records: list[dict[str, Any]]) -> int:
    """Write per-minute feed stats to the `feed_stats` measurement (reports read them)."""
    return write_held(self, rows.built(records, feed_stats_line, self.name))
