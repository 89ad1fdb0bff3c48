"""Where feed events and per-minute feed stats go: the storage queue, through Celery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Events for the `feed_events` measurement: (exchange, event, reason, ts_ns) dicts.
SendEvents = Callable[[list[dict[str, Any]]], None]


def celery_stats_sender() -> SendEvents:
    """Send per-minute feed stats to the storage queue."""
    from tasks.storage import store_feed_stats

    def send(records: list[dict[str, Any]]) -> None:
        store_feed_stats.apply_async(args=[records], retry=True)

    return send


def celery_event_sender() -> SendEvents:
    """Send feed events to the storage queue."""
    from tasks.storage import store_feed_events

    def send(events: list[dict[str, Any]]) -> None:
        store_feed_events.apply_async(args=[events], retry=True)

    return send
