"""Per-minute rollups of raw quotes into `quotes_1m`, and the retention policies they live in.

The rollup runs inside InfluxDB (`SELECT ... INTO`): for each complete minute and each
(exchange, symbol) it writes open/high/low/close of the mid ((bid + ask) / 2), the mean spread
(ask − bid) and the number of raw quotes, stamped at the minute's start. Writing the same minute
again overwrites the same points, so a rerun never double counts. A watermark in Redis (the end
of the last minute rolled) lets each run continue where the previous one stopped, a bounded span
at a time, so a scheduler that was down catches up over the next runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.influx import InfluxDB, InfluxError, InfluxForbidden, quote_ident
from core.measurements import LONG_RP, QUOTES, QUOTES_1M, RAW_RP
from core.state import RedisState

MINUTE_NS = 60 * 1_000_000_000
HOUR_NS = 60 * MINUTE_NS
# Storage batches land within a second or so; a minute is rolled only once it ended this long ago.
GRACE_NS = MINUTE_NS
# Each run also redoes the minutes just before the watermark, to take in late-arriving quotes.
OVERLAP_MINUTES = 2
# At most this much per run, so a long outage is caught up over several runs, not one huge query.
MAX_SPAN_NS = 24 * HOUR_NS
# One statement per hour of data keeps each INTO query's memory bounded inside InfluxDB.
CHUNK_NS = HOUR_NS

@dataclass(frozen=True, slots=True)
class RollupResult:
    """What one run covered: [start_ns, end_ns) and how many `quotes_1m` points it wrote."""

    start_ns: int
    end_ns: int
    written: int

    @property
    def minutes(self) -> int:
        """Minutes covered by this run (0 when there was nothing complete to roll)."""
        return max(0, (self.end_ns - self.start_ns) // MINUTE_NS)


def floor_minute(ts_ns: int) -> int:
    """The start of the minute holding `ts_ns`."""
    return ts_ns - ts_ns % MINUTE_NS


def rollup_statement(database: str, start_ns: int, end_ns: int) -> str:
    """InfluxQL rolling raw quotes in [start, end) into `long`.`quotes_1m`, a point a minute."""
    where = f"time >= {int(start_ns)} AND time < {int(end_ns)}"
    target = f"{quote_ident(database)}.{quote_ident(LONG_RP)}.{quote_ident(QUOTES_1M)}"
    # The subquery computes mid and spread per raw point; the outer query aggregates per minute.
    # first()/last() pick the mid of the first/last raw point, so open/close are real quotes.
    return (
        'SELECT first("mid") AS "open", max("mid") AS "high", min("mid") AS "low", '
        'last("mid") AS "close", mean("spread") AS "mean_spread", count("mid") AS "count" '
        f"INTO {target} FROM ("
        'SELECT ("bid" + "ask") / 2 AS "mid", "ask" - "bid" AS "spread" '
        f'FROM {quote_ident(QUOTES)} WHERE {where} GROUP BY "exchange", "symbol") '
        f'WHERE {where} GROUP BY time(1m), "exchange", "symbol" fill(none)'
    )


def ensure_policies(influx: InfluxDB, raw_duration: str | None = None) -> None:
    """Create the database, the default `raw` policy and the forever `long` one; apply durations.

    Idempotent. A changed raw duration (INFLUXDB_RETENTION) is applied with ALTER, which plain
    CREATE cannot do once the policy exists. A user without admin rights changes nothing.
    """
    db = quote_ident(influx.database)
    duration = raw_duration or influx.retention
    try:
        influx.command(f"CREATE DATABASE {db}")
    except InfluxForbidden:
        # Not an admin (compose's reports worker): InfluxDB 1.x lets only admins create or alter
        # policies; scripts/influxdb_init.py applies them as the admin at every `up`.
        return
    for name, spec, default in ((RAW_RP, duration, " DEFAULT"), (LONG_RP, "INF", "")):
        try:
            influx.command(
                f"CREATE RETENTION POLICY {quote_ident(name)} ON {db} DURATION {spec} "
                f"REPLICATION 1{default}"
            )
        except InfluxError as exc:
            if "already exists" not in str(exc):
                raise
            influx.command(
                f"ALTER RETENTION POLICY {quote_ident(name)} ON {db} DURATION {spec}{default}"
            )


def get_watermark(state: RedisState) -> int | None:
    """The end of the last minute rolled, or None before the first run."""
    return state.watermark.get()


def plan(watermark_ns: int | None, now_ns: int, max_span_ns: int = MAX_SPAN_NS) -> tuple[int, int]:
    """The [start, end) a run should roll: complete minutes after the watermark, bounded."""
    end = floor_minute(now_ns - GRACE_NS)
    if watermark_ns is None:
        start = end - max_span_ns
    else:
        start = floor_minute(watermark_ns) - OVERLAP_MINUTES * MINUTE_NS
    return start, min(end, start + max_span_ns)


def roll_range(influx: InfluxDB, start_ns: int, end_ns: int) -> int:
    """Roll [start, end) (minute-aligned) hour by hour; returns the points written."""
    written = 0
    for chunk in range(start_ns, end_ns, CHUNK_NS):
        statement = rollup_statement(influx.database, chunk, min(chunk + CHUNK_NS, end_ns))
        for series in influx.query(statement, writes=True):
            for row in series.get("values", []):
                written += int(row[1])
    return written


def roll_up(
    influx: InfluxDB, state: RedisState, now_ns: int | None = None,
    max_span_ns: int = MAX_SPAN_NS,
) -> RollupResult:
    """One scheduled run: roll every complete minute after the watermark, then move it."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    start, end = plan(get_watermark(state), now_ns, max_span_ns)
    if start >= end:
        return RollupResult(start, start, 0)
    ensure_policies(influx)
    written = roll_range(influx, start, end)
    state.watermark.advance(end)
    return RollupResult(start, end, written)


def rollup_points(influx: InfluxDB, start_ns: int, end_ns: int) -> list[dict[str, object]]:
    """The `quotes_1m` points in [start, end), oldest first (tags merged into each point)."""
    return influx.query_points(
        f'SELECT "open", "high", "low", "close", "mean_spread", "count" '
        f"FROM {quote_ident(LONG_RP)}.{quote_ident(QUOTES_1M)} "
        f"WHERE time >= {int(start_ns)} AND time < {int(end_ns)} "
        'GROUP BY "exchange", "symbol"'
    )
