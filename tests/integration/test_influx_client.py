"""The InfluxDB client against the real server: database and retention policy on first use."""

from __future__ import annotations

import time
import uuid

import pytest

from core.config import Settings
from core.influx import InfluxDB

pytestmark = pytest.mark.integration


def test_changed_retention_is_applied_to_an_existing_database(settings: Settings) -> None:
    name = f"ctretention_{uuid.uuid4().hex[:6]}"
    first = InfluxDB(settings.influxdb_url, name, retention="30d")
    try:
        now = time.time_ns()
        assert first.write_lines([f"m,t=a v=1 {now}"]) == 1
        second = InfluxDB(settings.influxdb_url, name, retention="7d")
        # Not "retention policy already exists": the changed duration is altered in.
        assert second.write_lines([f"m,t=a v=2 {now + 1}"]) == 1
        [policies] = second.query(f'SHOW RETENTION POLICIES ON "{name}"')
        rows = {row[0]: row for row in policies["values"]}
        assert rows["raw"][1] == "168h0m0s" and rows["raw"][-1] is True
    finally:
        first.drop_database()


def test_write_into_a_named_policy_and_select_into(settings: Settings) -> None:
    name = f"ctpolicy_{uuid.uuid4().hex[:6]}"
    client = InfluxDB(settings.influxdb_url, name)
    try:
        client.write_lines([f"m,t=a v=1 {time.time_ns()}"])
        client.command(f'CREATE RETENTION POLICY "keep" ON "{name}" DURATION INF REPLICATION 1')
        now = time.time_ns()
        assert client.write_lines([f"m,t=b v=2 {now}"], policy="keep") == 1
        kept = client.query_points('SELECT "v" FROM "keep"."m" GROUP BY "t"')
        assert [p["t"] for p in kept] == ["b"]
        # The default policy's one point, copied by a statement that writes.
        [result] = client.query('SELECT "v" INTO "keep"."copy" FROM "m" GROUP BY "t"', writes=True)
        assert result["values"][0][1] == 1
        assert client.query_points('SELECT "v" FROM "keep"."copy"')[0]["v"] == 1.0
    finally:
        client.drop_database()
