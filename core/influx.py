"""InfluxDB over the 1.x HTTP API: batched line-protocol writes and InfluxQL reads.

The public API is `write_lines` (points built by core/lineproto.py), `query` and its flattened
forms, and `command` for schema statements; the HTTP requests themselves stay in this module.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from core.measurements import RAW_RP

# Writes larger than this are split: InfluxDB answers faster for a few thousand lines per call.
MAX_LINES_PER_WRITE = 5000
_IDENT = re.compile(r"^[A-Za-z0-9_\-]+$")


class InfluxError(Exception):
    """InfluxDB refused a request; retrying the same request will not help."""


class InfluxUnavailable(InfluxError):
    """InfluxDB could not be reached or failed on its side; retry later."""


class InfluxForbidden(InfluxError):
    """InfluxDB refused our credentials (HTTP 401) or their privilege for the request (403)."""


def quote_ident(name: str) -> str:
    """Quote an InfluxQL identifier (database, retention policy, measurement)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_literal(value: str) -> str:
    """Quote an InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class InfluxDB:
    """A client for one database, holding a pooled HTTP session."""

    def __init__(
        self,
        url: str,
        database: str,
        user: str = "",
        password: str = "",
        retention: str = "30d",
        timeout_s: float = 10.0,
    ) -> None:
        if not _IDENT.match(database):
            raise ValueError(f"database name {database!r} must be letters, digits, _ or -")
        self.url = url.rstrip("/")
        self.database = database
        self.retention = retention
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=16))
        self.session.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=16))
        if user:
            self.session.auth = (user, password)
        self._ready = False

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(
                method, self.url + path, timeout=self.timeout_s, **kwargs
            )
        except requests.RequestException as exc:
            raise InfluxUnavailable(f"InfluxDB at {self.url} unreachable: {exc}") from exc
        if response.status_code >= 500:
            raise InfluxUnavailable(f"InfluxDB {response.status_code}: {response.text[:300]}")
        if response.status_code in (401, 403):
            # An operator's fix (a password, a GRANT), not a bad batch: writers wait for it.
            raise InfluxForbidden(f"InfluxDB {response.status_code}: {response.text[:300]}")
        if response.status_code >= 400:
            raise InfluxError(f"InfluxDB {response.status_code}: {response.text[:300]}")
        return response

    def ping(self) -> bool:
        """True when InfluxDB answers its health endpoint and accepts our credentials."""
        try:
            if self._request("GET", "/ping").status_code != 204:
                return False
            # /ping needs no credentials: a wrong password would look healthy until the first
            # read or write. Any user (even READ-only) may list the databases it can see.
            self._request("GET", "/query", params={"q": "SHOW DATABASES"})
            return True
        except InfluxError:
            return False

    def ensure_database(self) -> None:
        """Create the database and its default retention policy `raw` (idempotent; a user
        without admin rights leaves both to the admin)."""
        if self._ready:
            return
        db = quote_ident(self.database)
        try:
            self.command(f"CREATE DATABASE {db}")
        except InfluxForbidden:
            # Not an admin (compose's storage runs as a WRITE user): the database and its
            # policies are the admin's to make (scripts/influxdb_init.py); writes go to its default.
            self._ready = True
            return
        policy = (f"RETENTION POLICY {quote_ident(RAW_RP)} ON {db} DURATION {self.retention} "
                  "REPLICATION 1 DEFAULT")
        try:
            self.command(f"CREATE {policy}")
        except InfluxError as exc:
            # A changed INFLUXDB_RETENTION on an existing database: alter instead of failing.
            if "already exists" not in str(exc):
                raise
            self.command(f"ALTER {policy}")
        self._ready = True

    def command(self, statement: str) -> list[dict[str, Any]]:
        """Run a statement that changes state (POST /query)."""
        response = self._request("POST", "/query", data={"q": statement})
        return self._results(response.json())

    def write_lines(self, lines: list[str], *, policy: str | None = None) -> int:
        """Write line-protocol points (ns precision) in chunks; returns the number written.

        Into the database's default policy (`raw`, created here when missing), or into the
        retention `policy` named, which the caller has ensured (core.rollup.ensure_policies).
        """
        if not lines:
            return 0
        params: dict[str, str] = {"db": self.database}
        if policy is None:
            self.ensure_database()
        else:
            params["rp"] = policy
        params["precision"] = "ns"
        for start in range(0, len(lines), MAX_LINES_PER_WRITE):
            body = "\n".join(lines[start : start + MAX_LINES_PER_WRITE]).encode()
            self._request("POST", "/write", params=params, data=body)
        return len(lines)

    def query(self, statement: str, *, writes: bool = False) -> list[dict[str, Any]]:
        """Run InfluxQL on the database; returns one dict per series (name, tags, columns, values).

        `writes` for a statement that writes points (SELECT ... INTO), which InfluxDB 1.x takes
        only by POST.
        """
        if writes:
            response = self._request(
                "POST", "/query", params={"db": self.database}, data={"q": statement}
            )
        else:
            response = self._request(
                "GET", "/query", params={"db": self.database, "q": statement, "epoch": "ns"}
            )
        return self._results(response.json())

    def query_points(self, statement: str) -> list[dict[str, Any]]:
        """Run an InfluxQL read and flatten its series into one dict per point (tags included)."""
        points: list[dict[str, Any]] = []
        for series in self.query(statement):
            tags = series.get("tags", {})
            columns = series["columns"]
            for row in series.get("values", []):
                point = dict(zip(columns, row, strict=True))
                point.update(tags)
                points.append(point)
        return points

    def query_points_if_any(self, statement: str) -> list[dict[str, Any]]:
        """`query_points`, where a database or retention policy not created yet reads as no
        points: a fresh install has no history, which is not an outage."""
        try:
            return self.query_points(statement)
        except InfluxError as exc:
            if "database not found" in str(exc) or "retention policy not found" in str(exc):
                return []
            raise

    def drop_database(self) -> None:
        """Delete the whole database (tests clean up with this)."""
        self.command(f"DROP DATABASE {quote_ident(self.database)}")
        self._ready = False

    @staticmethod
    def _results(payload: dict[str, Any]) -> list[dict[str, Any]]:
        series: list[dict[str, Any]] = []
        for result in payload.get("results", []):
            if "error" in result:
                raise InfluxError(f"InfluxQL error: {result['error']}")
            series.extend(result.get("series", []))
        return series

    def close(self) -> None:
        """Release the pooled connections."""
        self.session.close()
