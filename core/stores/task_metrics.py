"""Task counters summed by every worker in one hash, read by `GET /metrics`.

Fields: `count|{task}`, `failures|{task}`, `seconds|{task}`, `le={bound}|{task}` (cumulative
bucket counts), `bad_rows|{task}` and `dead_lettered|{task}`; `seconds|` fields are floats.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from core.keys import Keys


class TaskMetricsStore:
    """The `task_metrics` hash."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def add(self, increments: Mapping[str, float]) -> None:
        """Add every field's increment in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for name, amount in increments.items():
            if name.startswith("seconds|"):
                pipe.hincrbyfloat(self.keys.task_metrics, name, amount)
            else:
                pipe.hincrby(self.keys.task_metrics, name, int(amount))
        pipe.execute()

    def read(self) -> dict[str, str]:
        """Every field as stored."""
        return self.client.hgetall(self.keys.task_metrics)
