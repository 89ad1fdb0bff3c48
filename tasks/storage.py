"""Storage tasks: quote batches and closed opportunities into InfluxDB."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from core.influx import InfluxUnavailable
from core.lineproto import make_line, quote_line
from core.types import Quote
from tasks import app
from tasks.resources import influx

log = logging.getLogger(__name__)

# Backoff while InfluxDB is down: 1 s, 2 s, 4 s ... capped, and never giving up, so an outage
# delays the data but does not lose it.
RETRY_BASE_S = 1.0
RETRY_CAP_S = 30.0


def retry_delay(retries: int) -> float:
    """Seconds before retry number `retries` (0-based)."""
    return min(RETRY_CAP_S, RETRY_BASE_S * 2**retries)


def rows_to_lines(rows: list[Any]) -> tuple[list[str], int]:
    """Line-protocol lines for well-formed quote rows, and how many rows were malformed."""
    lines: list[str] = []
    bad = 0
    for row in rows:
        try:
            lines.append(quote_line(Quote.from_row(row)))
        except (TypeError, ValueError):
            bad += 1
    return lines, bad


@app.task(bind=True, name="tasks.storage.store_quotes", max_retries=None, acks_late=True,
          serializer="msgpack")
def store_quotes(self: Task, rows: list[Any]) -> int:
    """Write a batch of quotes (rows of Quote fields) to the `quotes` measurement."""
    lines, bad = rows_to_lines(rows)
    if bad:
        log.warning("store_quotes skipped %d malformed rows of %d", bad, len(rows))
    return write_or_retry(self, lines)


def write_or_retry(task: Task, lines: list[str]) -> int:
    """Write lines to InfluxDB; while it is unavailable, retry the task later (never give up)."""
    try:
        return influx().write_lines(lines)
    except InfluxUnavailable as exc:
        delay = retry_delay(task.request.retries)
        log.warning("InfluxDB unavailable (%s); retrying %s (%d points) in %.0f s",
                    exc, task.name, len(lines), delay)
        raise task.retry(exc=exc, countdown=delay) from exc


def opportunity_line(record: dict[str, Any]) -> str:
    """A closed opportunity as one `opportunities` point, stamped at its opening time."""
    duration_s = max(0.0, (record["closed_ns"] - record["opened_ns"]) / 1e9)
    return make_line(
        "opportunities",
        {
            "symbol": record["symbol"],
            "buy_exchange": record["buy_exchange"],
            "sell_exchange": record["sell_exchange"],
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


@app.task(bind=True, name="tasks.storage.store_opportunities", max_retries=None, acks_late=True)
def store_opportunities(self: Task, records: list[dict[str, Any]]) -> int:
    """Write closed opportunities to the `opportunities` measurement."""
    return write_or_retry(self, [opportunity_line(r) for r in records])


def feed_event_line(event: dict[str, Any]) -> str:
    """A feed event (connect, disconnect, gap...) as one `feed_events` point."""
    return make_line(
        "feed_events",
        {"exchange": str(event["exchange"]), "event": str(event["event"])},
        {"reason": str(event.get("reason", "")), "count": int(event.get("count", 1))},
        int(event["ts_ns"]),
    )


@app.task(bind=True, name="tasks.storage.store_feed_events", max_retries=None, acks_late=True)
def store_feed_events(self: Task, events: list[dict[str, Any]]) -> int:
    """Write feed events to the `feed_events` measurement."""
    return write_or_retry(self, [feed_event_line(e) for e in events])


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


@app.task(bind=True, name="tasks.storage.store_feed_stats", max_retries=None, acks_late=True)
def store_feed_stats(self: Task, records: list[dict[str, Any]]) -> int:
    """Write per-minute feed stats to the `feed_stats` measurement (reports read them)."""
    return write_or_retry(self, [feed_stats_line(r) for r in records])
