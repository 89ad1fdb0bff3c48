"""The beat schedule loads, and every task it names exists in the Celery app."""

from __future__ import annotations

import pytest
from celery.beat import ScheduleEntry

pytestmark = pytest.mark.unit


def test_every_scheduled_task_exists_and_loads() -> None:
    from tasks import app

    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert {"rollup-minutes", "hourly-report", "daily-report", "housekeeping"} <= set(schedule)
    for name, spec in schedule.items():
        assert spec["task"] in app.tasks, f"{name}: no task {spec['task']}"
        entry = ScheduleEntry(name=name, task=spec["task"], schedule=spec["schedule"], app=app)
        _, next_s = entry.is_due()
        assert next_s >= 0


def test_report_tasks_route_to_the_reports_queue() -> None:
    from celeryconfig import REPORTS_QUEUE
    from tasks import app

    for task in ("rollup_minutes", "hourly_report", "daily_report", "housekeeping"):
        route = app.amqp.router.route({}, f"tasks.reports.{task}")
        assert route["queue"].name == REPORTS_QUEUE


def test_report_times_are_minute_1_and_0005_utc() -> None:
    from tasks import app

    hourly = app.conf.beat_schedule["hourly-report"]["schedule"]
    daily = app.conf.beat_schedule["daily-report"]["schedule"]
    assert hourly.minute == {1} and len(hourly.hour) == 24
    assert daily.minute == {5} and daily.hour == {0}
    assert app.conf.beat_schedule["rollup-minutes"]["schedule"] == 60.0
    assert app.conf.beat_schedule["housekeeping"]["schedule"] == 600.0
    assert app.conf.timezone == "UTC"
