"""Scheduled tasks on the `reports` queue: minute rollups, hourly/daily reports, housekeeping.

`celery -A tasks call tasks.reports.hourly_report` makes a report on demand (optional ISO
`start`/`end` kwargs; default: the previous complete hour, or UTC day for `daily_report`).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from celery import Task

from core import reports as rep
from core.backoff import capped_delay
from core.influx import InfluxUnavailable
from core.rollup import ensure_policies, roll_up
from core.state import RedisState
from tasks import app
from tasks.resources import influx, settings, state

log = logging.getLogger(__name__)

# Housekeeping thresholds: a quote this old is no longer "current"; a feed hash this old
# belongs to a venue that is no longer run.
STALE_QUOTE_S = 3600
STALE_FEED_S = 86400
WEBHOOK_TIMEOUT_S = 10.0
# Celery retries of a report task while InfluxDB is unavailable: 1 s doubling to 30 s.
RETRY_BASE_S = 1.0
RETRY_CAP_S = 30.0

def _retry_later(task: Task, exc: Exception) -> Exception:
    delay = capped_delay(task.request.retries, RETRY_BASE_S, RETRY_CAP_S)
    log.warning("InfluxDB unavailable (%s); retrying %s in %.0f s", exc, task.name, delay)
    return task.retry(exc=exc, countdown=delay, max_retries=8)


@app.task(bind=True, name="tasks.reports.rollup_minutes", acks_late=True)
def rollup_minutes(self: Task) -> dict[str, int]:
    """Roll complete minutes of raw quotes into `quotes_1m` since the last run (every minute)."""
    try:
        result = roll_up(influx(), state())
    except InfluxUnavailable as exc:
        # The next beat tick covers the same minutes (the watermark did not move): no retry.
        log.warning("rollup skipped, InfluxDB unavailable: %s", exc)
        return {"minutes": 0, "written": 0}
    if result.minutes:
        log.info("rolled %d minutes up to %s: %d points", result.minutes,
                 rep.iso(datetime.fromtimestamp(result.end_ns / 1e9, UTC)), result.written)
    return {"minutes": result.minutes, "written": result.written}


def webhook_url() -> str:
    """REPORT_WEBHOOK_URL, or empty when reports are not posted anywhere."""
    return settings().report_webhook_url


def post_webhook(url: str, report: dict[str, Any]) -> bool:
    """POST the report as JSON; failures are logged (host only: URLs may hold tokens)."""
    host = urlsplit(url).hostname or "?"
    try:
        response = requests.post(url, json=report, timeout=WEBHOOK_TIMEOUT_S)
    except requests.RequestException as exc:
        log.warning("report %s not posted to webhook host %s: %s", report["id"], host,
                    type(exc).__name__)
        return False
    if response.status_code >= 300:
        log.warning("report %s: webhook host %s answered %d", report["id"], host,
                    response.status_code)
        return False
    log.info("report %s posted to webhook host %s", report["id"], host)
    return True


def make_report(period: str, start: str | None = None, end: str | None = None) -> dict[str, Any]:
    """Build, store and (optionally) post the report of a period; returns the report."""
    if start is None and end is None:
        begin, finish = rep.previous_period(period, datetime.now(UTC))
    else:
        begin = rep.parse_iso_utc(start) if start else None
        finish = rep.parse_iso_utc(end) if end else None
        if begin is None:
            begin = finish - rep.PERIODS[period]  # type: ignore[operator]
        if finish is None:
            finish = begin + rep.PERIODS[period]
    db = influx()
    # Quote counts come from the rollups: bring them up to date first (idempotent).
    roll_up(db, state())
    report = rep.build_report(db, period, begin, finish, settings().exchanges)
    rep.store_report(db, state(), report)
    log.info("report %s: %d opportunities over %d pairs", report["id"],
             report["summary"]["opportunities"], report["summary"]["pairs"])
    url = webhook_url()
    if url:
        post_webhook(url, report)
    return report


@app.task(bind=True, name="tasks.reports.hourly_report", acks_late=True)
def hourly_report(self: Task, start: str | None = None, end: str | None = None) -> str:
    """The report of the previous complete hour (or [start, end)); returns its id."""
    try:
        return make_report("hourly", start, end)["id"]
    except InfluxUnavailable as exc:
        raise _retry_later(self, exc) from exc


@app.task(bind=True, name="tasks.reports.daily_report", acks_late=True)
def daily_report(self: Task, start: str | None = None, end: str | None = None) -> str:
    """The report of the previous UTC day (or [start, end)); returns its id."""
    try:
        return make_report("daily", start, end)["id"]
    except InfluxUnavailable as exc:
        raise _retry_later(self, exc) from exc


def remove_stale_quotes(st: RedisState, now_ns: int, max_age_s: float = STALE_QUOTE_S) -> int:
    """Drop quotes received more than `max_age_s` ago; symbols left with none are forgotten."""
    return st.quotes.remove_stale(now_ns - int(max_age_s * 1e9))


def remove_stale_feeds(st: RedisState, now_ns: int, max_age_s: float = STALE_FEED_S) -> int:
    """Delete feed status hashes not updated for `max_age_s`."""
    return st.feeds.remove_stale(now_ns - int(max_age_s * 1e9))


@app.task(bind=True, name="tasks.reports.housekeeping", acks_late=True)
def housekeeping(self: Task) -> dict[str, int]:
    """Apply retention policies and remove stale Redis quotes and feed hashes (every 10 min)."""
    try:
        ensure_policies(influx(), settings().influxdb_retention)
    except InfluxUnavailable as exc:
        log.warning("retention policies not applied, InfluxDB unavailable: %s", exc)
    now = time.time_ns()
    st = state()
    quotes = remove_stale_quotes(st, now)
    feeds = remove_stale_feeds(st, now)
    if quotes or feeds:
        log.info("housekeeping removed %d stale quotes and %d stale feed hashes", quotes, feeds)
    return {"quotes": quotes, "feeds": feeds}
