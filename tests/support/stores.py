"""Store operations only tests need, built on the stores' own API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.state import RedisState
from core.stores.reports import to_json


def close_opportunity(
    state: RedisState, symbol: str, member: str, version: int | None = None, closed_ns: int = 0
) -> dict[str, Any] | None:
    """Remove one open opportunity; its record to the one caller that closed it."""
    return state.opps.close_many([(symbol, member, version, closed_ns)])[0]


def store_triangles_text(state: RedisState, text: str) -> None:
    """Store `text` as the triangle list, as it is (no expiry)."""
    state.redis.set(state.keys.triangles, text)


def triangles_ttl(state: RedisState) -> int:
    """Seconds before the stored triangle list expires (negative: none, or no expiry)."""
    return int(state.redis.ttl(state.keys.triangles))


def store_report_alone(state: RedisState, rid: str, report: Mapping[str, Any]) -> None:
    """Store one report by id, without listing it or making it the latest."""
    state.redis.set(state.keys.report(rid), to_json(report))


def recent_report_ids(state: RedisState) -> list[str]:
    """Ids of the recent reports, newest stored first."""
    return list(state.redis.lrange(state.keys.report_ids, 0, -1))
