"""How many times each data task message started, for the dead-letter decision."""

from __future__ import annotations

import redis

from core.keys import Keys


class DeliveryCounts:
    """`deliveries:{task id}` counters, each expiring `ttl_s` after its last change."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def add(self, task_id: str, amount: int, ttl_s: int) -> int:
        """Add `amount` to the message's count; returns its new value."""
        key = self.keys.deliveries(task_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.incrby(key, amount)
        pipe.expire(key, ttl_s)
        value, _ = pipe.execute()
        return int(value)

    def forget(self, task_id: str) -> None:
        """Drop the message's count."""
        self.client.delete(self.keys.deliveries(task_id))
