"""Shared fixtures. Every run gets its own Redis key prefix, InfluxDB database and queue names,
so tests never see each other's data or a developer's running stack."""

from __future__ import annotations

import os
import uuid

import pytest

RUN_ID = uuid.uuid4().hex[:8]

# Set before anything imports celeryconfig or reads settings: these are process-wide.
os.environ["KEY_PREFIX"] = f"cttest:{RUN_ID}:"
os.environ["QUEUE_PREFIX"] = f"cttest.{RUN_ID}."
os.environ["INFLUXDB_DB"] = f"cttest_{RUN_ID}"
os.environ.setdefault("LOG_LEVEL", "WARNING")

from core.config import Settings, get_settings, reset_settings  # noqa: E402

reset_settings()


@pytest.fixture(scope="session")
def run_id() -> str:
    """This test run's unique id (also in KEY_PREFIX, QUEUE_PREFIX and INFLUXDB_DB)."""
    return RUN_ID


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The settings every process of this run reads (its prefixes included)."""
    return get_settings()
