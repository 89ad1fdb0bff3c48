"""The benchmarks' stack starts each Celery worker as the deployment does."""

from __future__ import annotations

import pytest

from bench.stack import worker_options
from tasks.queues import WORKER_OPTIONS

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("role", sorted(WORKER_OPTIONS))
def test_bench_workers_use_the_deployed_pool_options(role: str) -> None:
    assert worker_options(f"ctbench.x.{role}") == WORKER_OPTIONS[role]
