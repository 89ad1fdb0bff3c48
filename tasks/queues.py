"""Celery queue roles, and the worker flags each role runs with (Procfile, compose, benchmarks).

Queue names on the broker are QUEUE_PREFIX + role (celeryconfig.py builds them).
"""

from __future__ import annotations

# One worker per role; `celery -A tasks worker -Q {prefix}{role}`.
QUEUE_ROLES: tuple[str, ...] = ("storage", "arbitrage", "reports", "alerts")
# Messages of data tasks that failed MAX_DELIVERIES times; no worker consumes it.
DEAD_ROLE = "dead"

# The arbitrage worker waits on Redis most of each small batch, so threads overlap those waits
# where a small prefork pool queues (BENCHMARKS.md has the measurement).
WORKER_OPTIONS: dict[str, tuple[str, ...]] = {
    "storage": ("--concurrency", "2"),
    "arbitrage": ("--pool", "threads", "--concurrency", "8"),
    "reports": ("--concurrency", "1"),
    "alerts": ("--concurrency", "2"),
}
