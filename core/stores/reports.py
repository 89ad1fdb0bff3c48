"""Recent reports in Redis: each by id, the newest per period, and the list of recent ids."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import redis

from core.keys import Keys


def to_json(report: Mapping[str, Any]) -> str:
    """Compact JSON of a report."""
    return json.dumps(report, separators=(",", ":"), ensure_ascii=False)


class ReportStore:
    """`report:{id}` texts, `report:latest:{period}` and the `report:ids` list (newest first)."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def save(self, report: Mapping[str, Any], keep: int) -> None:
        """Keep the report, the latest of its period unless a newer period's is, and `keep`
        recent ids (the reports of ids that fall off are deleted)."""
        rid, period = str(report["id"]), str(report["period"])
        text = to_json(report)
        # "Latest" is the newest period, so regenerating an old one on demand does not displace it.
        current = self.latest(period)
        pipe = self.client.pipeline(transaction=True)
        if current is None or str(current["start"]) <= str(report["start"]):
            pipe.set(self.keys.report_latest(period), text)
        else:
            pipe.get(self.keys.report_latest(period))  # keeps the result indexes fixed
        pipe.set(self.keys.report(rid), text)
        pipe.lrem(self.keys.report_ids, 0, rid)
        pipe.lpush(self.keys.report_ids, rid)
        pipe.lrange(self.keys.report_ids, keep, -1)
        pipe.ltrim(self.keys.report_ids, 0, keep - 1)
        dropped = pipe.execute()[4]
        if dropped:
            self.client.delete(*(self.keys.report(old) for old in dropped))

    def get(self, rid: str) -> dict[str, Any] | None:
        """A recent report by id, None when Redis no longer holds it."""
        text = self.client.get(self.keys.report(rid))
        return json.loads(text) if text else None

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The most recent reports (newest stored first)."""
        ids = self.client.lrange(self.keys.report_ids, 0, max(1, limit) - 1)
        if not ids:
            return []
        texts = self.client.mget([self.keys.report(rid) for rid in ids])
        return [json.loads(t) for t in texts if t]

    def latest(self, period: str) -> dict[str, Any] | None:
        """The newest report of a period."""
        text = self.client.get(self.keys.report_latest(period))
        return json.loads(text) if text else None
