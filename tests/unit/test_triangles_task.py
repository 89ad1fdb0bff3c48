"""The triangle scan is a registered task, scheduled every second and routed with arbitrage."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_scan_is_registered_scheduled_and_short_lived() -> None:
    from tasks import app

    app.loader.import_default_modules()
    assert "tasks.triangles.scan" in app.tasks
    entry = app.conf.beat_schedule["scan-triangles"]
    assert entry["task"] == "tasks.triangles.scan"
    assert entry["schedule"] == 1.0
    # A run that waited longer than a couple of periods is stale: it expires instead.
    assert 0 < entry["options"]["expires"] <= 2.0


def test_scan_routes_to_the_reports_queue() -> None:
    """Not behind a backlog of quote batches, where its short expiry would discard it."""
    from celeryconfig import REPORTS_QUEUE
    from tasks import app

    route = app.amqp.router.route({}, "tasks.triangles.scan")
    assert route["queue"].name == REPORTS_QUEUE
