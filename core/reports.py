"""Hourly and daily reports: opportunities per symbol and venue pair, feed health per venue.

A report covers [start, end) and is a plain dict (JSON-ready):

- `pairs`: per symbol and ordered venue pair (buy on `buy_exchange`, sell on `sell_exchange`), from
  the `opportunities` points stamped (at their opening) inside the period: `opportunities` (count),
  `total_duration_s`, `median_duration_s`, `peak_net_pct` (the highest peak), `mean_net_pct` (the
  unweighted mean of each opportunity's own mean net %), `total_profit` (sum of each opportunity's
  best net profit, quote currency). Sorted best first (total profit, then count).
- `venues`: per exchange, see `venue_uptime` for `uptime_pct`; `connects` and `reconnects` are the
  `connect` and `disconnect` feed events in the period (every disconnect is followed by a
  reconnect attempt); `quotes` is the number of raw quotes stored (from `quotes_1m` counts);
  `active_minutes_pct` is the share of the period's minutes with at least one stored quote;
  `mean_quote_interval_s` is the mean spacing between a venue's stored quotes of one symbol during
  the minutes it quoted that symbol; `messages` is the websocket frames the feed worker received
  and `mean_quote_age_s` the mean age of its newest frame (sampled about once a second), both from
  the per-minute `feed_stats` points the feed workers write (None when there are none).
- `best_pairs`: the first `BEST_PAIRS` of `pairs`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from core.influx import InfluxDB, quote_ident, quote_literal
from core.lineproto import REPORT_FIELDS, report_line, report_text
from core.measurements import FEED_EVENTS, FEED_STATS, LONG_RP, OPPORTUNITIES, QUOTES_1M, REPORTS
from core.report_stats import pair_stats, venue_uptime
from core.rollup import MINUTE_NS
from core.state import RedisState
from core.stores.reports import to_json

PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
BEST_PAIRS = 5
RECENT_REPORTS = 48
_ID = re.compile(r"^(hourly)-(\d{4}-\d{2}-\d{2}T\d{2})$|^(daily)-(\d{4}-\d{2}-\d{2})$")
_ID_FORMATS = {"hourly": "%Y-%m-%dT%H", "daily": "%Y-%m-%d"}

# periods and ids
def to_ns(moment: datetime) -> int:
    """A timezone-aware datetime as unix ns (exact: no float on the way)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime (naive means UTC); ValueError otherwise."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def previous_period(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The last complete hour or UTC day before `now`."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}, got {period!r}")
    now = now.astimezone(UTC)
    end = now.replace(minute=0, second=0, microsecond=0)
    if period == "daily":
        end = end.replace(hour=0)
    return end - PERIODS[period], end


def report_id(period: str, start: datetime) -> str:
    """`hourly-2026-11-24T03` or `daily-2026-11-24`: the period and its start (UTC)."""
    return f"{period}-{start.astimezone(UTC).strftime(_ID_FORMATS[period])}"


def parse_report_id(rid: str) -> tuple[str, datetime]:
    """The period and start of a report id; ValueError when it is not one."""
    match = _ID.match(rid)
    if not match:
        raise ValueError(f"not a report id: {rid!r} (hourly-YYYY-MM-DDTHH or daily-YYYY-MM-DD)")
    period = match.group(1) or match.group(3)
    text = match.group(2) or match.group(4)
    return period, datetime.strptime(text, _ID_FORMATS[period]).replace(tzinfo=UTC)


# InfluxDB reads


def _between(start_ns: int, end_ns: int) -> str:
    return f"time >= {int(start_ns)} AND time < {int(end_ns)}"


def read_opportunities(influx: InfluxDB, start_ns: int, end_ns: int) -> list[dict[str, Any]]:
    """Closed opportunities stamped in [start, end)."""
    return influx.query_points_if_any(
        'SELECT "peak_net_pct", "mean_net_pct", "duration_s", "max_profit" '
        f"FROM {quote_ident(OPPORTUNITIES)} "
        f'WHERE {_between(start_ns, end_ns)} GROUP BY "symbol", "buy_exchange", "sell_exchange"'
    )


def read_feed_events(
    influx: InfluxDB, start_ns: int, end_ns: int
) -> tuple[dict[str, list[tuple[int, str]]], dict[str, bool]]:
    """Connects/disconnects per venue in the period, and whether each was up at its start."""
    events: dict[str, list[tuple[int, str]]] = {}
    for p in influx.query_points_if_any(
        f'SELECT "count" FROM {quote_ident(FEED_EVENTS)} WHERE '
        f"{_between(start_ns, end_ns)} AND (\"event\" = 'connect' OR \"event\" = 'disconnect') "
        'GROUP BY "exchange", "event"'
    ):
        events.setdefault(p["exchange"], []).append((int(p["time"]), p["event"]))
    last: dict[str, tuple[int, str]] = {}
    for p in influx.query_points_if_any(
        f'SELECT last("count") FROM {quote_ident(FEED_EVENTS)} WHERE time < {int(start_ns)} '
        "AND (\"event\" = 'connect' OR \"event\" = 'disconnect') GROUP BY \"exchange\", \"event\""
    ):
        seen = (int(p["time"]), p["event"])
        last[p["exchange"]] = max(last.get(p["exchange"], seen), seen)
    return events, {ex: ev == "connect" for ex, (_, ev) in last.items()}


def read_quote_counts(influx: InfluxDB, start_ns: int, end_ns: int) -> dict[str, dict[str, int]]:
    """Per venue from `quotes_1m`: quotes, symbol-minutes and distinct minutes with quotes."""
    rollup = f"{quote_ident(LONG_RP)}.{quote_ident(QUOTES_1M)}"
    out: dict[str, dict[str, int]] = {}
    for p in influx.query_points_if_any(
        f'SELECT sum("count") AS "quotes", count("count") AS "series_minutes" FROM {rollup} '
        f'WHERE {_between(start_ns, end_ns)} GROUP BY "exchange"'
    ):
        out[p["exchange"]] = {"quotes": int(p["quotes"] or 0),
                              "series_minutes": int(p["series_minutes"] or 0), "minutes": 0}
    for p in influx.query_points_if_any(
        f'SELECT count("n") AS "minutes" FROM (SELECT sum("count") AS "n" FROM {rollup} '
        f'WHERE {_between(start_ns, end_ns)} GROUP BY time(1m), "exchange" fill(none)) '
        'GROUP BY "exchange"'
    ):
        out.setdefault(p["exchange"], {"quotes": 0, "series_minutes": 0})["minutes"] = int(
            p["minutes"] or 0
        )
    return out


def read_feed_stats(influx: InfluxDB, start_ns: int, end_ns: int) -> dict[str, dict[str, Any]]:
    """Per venue from `feed_stats`: messages received and the sample-weighted mean quote age."""
    out: dict[str, dict[str, Any]] = {}
    for p in influx.query_points_if_any(
        'SELECT sum("messages") AS "messages", sum("samples") AS "samples" '
        f"FROM {quote_ident(FEED_STATS)} "
        f'WHERE {_between(start_ns, end_ns)} GROUP BY "exchange"'
    ):
        out[p["exchange"]] = {"messages": int(p["messages"] or 0), "mean_quote_age_s": None,
                              "_samples": int(p["samples"] or 0)}
    # Weight each minute's mean by its sample count, so a short minute does not count as a full one.
    weighted: dict[str, float] = {}
    for p in influx.query_points_if_any(
        f'SELECT "mean_quote_age_s", "samples" FROM {quote_ident(FEED_STATS)} '
        f'WHERE {_between(start_ns, end_ns)} GROUP BY "exchange"'
    ):
        if p.get("mean_quote_age_s") is not None and p.get("samples"):
            weighted[p["exchange"]] = (weighted.get(p["exchange"], 0.0)
                                       + float(p["mean_quote_age_s"]) * int(p["samples"]))
    for name, stats in out.items():
        samples = stats.pop("_samples")
        if samples and name in weighted:
            stats["mean_quote_age_s"] = weighted[name] / samples
    return out


def build_report(
    influx: InfluxDB, period: str, start: datetime, end: datetime,
    exchanges: Iterable[str] = (), now: datetime | None = None,
) -> dict[str, Any]:
    """The report of [start, end) from InfluxDB (rollups must be up to date for quote counts)."""
    start_ns, end_ns = to_ns(start), to_ns(end)
    if end_ns <= start_ns:
        raise ValueError("a report period must end after it starts")
    pairs = pair_stats(read_opportunities(influx, start_ns, end_ns))
    events, up_at_start = read_feed_events(influx, start_ns, end_ns)
    counts = read_quote_counts(influx, start_ns, end_ns)
    feed_stats = read_feed_stats(influx, start_ns, end_ns)
    period_minutes = max(1, (end_ns - start_ns) // MINUTE_NS)
    names = set(exchanges) | set(events) | set(up_at_start) | set(counts) | set(feed_stats)
    names |= {p["buy_exchange"] for p in pairs} | {p["sell_exchange"] for p in pairs}
    venues = []
    for name in sorted(names):
        evs = events.get(name, [])
        c = counts.get(name, {"quotes": 0, "series_minutes": 0, "minutes": 0})
        venues.append({
            "exchange": name,
            "uptime_pct": venue_uptime(evs, up_at_start.get(name), start_ns, end_ns),
            "connects": sum(1 for _, e in evs if e == "connect"),
            "reconnects": sum(1 for _, e in evs if e == "disconnect"),
            "quotes": c["quotes"],
            "active_minutes_pct": 100.0 * c["minutes"] / period_minutes,
            "mean_quote_interval_s": (
                60.0 * c["series_minutes"] / c["quotes"] if c["quotes"] else None
            ),
            "messages": feed_stats.get(name, {}).get("messages"),
            "mean_quote_age_s": feed_stats.get(name, {}).get("mean_quote_age_s"),
        })
    best = pairs[:BEST_PAIRS]
    return {
        "id": report_id(period, start),
        "period": period,
        "start": iso(start),
        "end": iso(end),
        "generated_at": iso(now or datetime.now(UTC)),
        "summary": {
            "opportunities": sum(p["opportunities"] for p in pairs),
            "total_profit": sum(p["total_profit"] for p in pairs),
            "pairs": len(pairs),
            "venues": len(venues),
            "best_pair": pair_label(best[0]) if best else None,
        },
        "pairs": pairs,
        "venues": venues,
        "best_pairs": best,
    }


def pair_label(pair: Mapping[str, Any]) -> str:
    """`BTC-USD kraken→bitstamp` (buy venue first)."""
    return f"{pair['symbol']} {pair['buy_exchange']}→{pair['sell_exchange']}"


def summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """The listing entry of a report: id, period, start, end and its summary figures."""
    return {"id": report["id"], "period": report["period"], "start": report["start"],
            "end": report["end"], "generated_at": report.get("generated_at"),
            **report.get("summary", {})}


# storage
def write_report_influx(influx: InfluxDB, report: Mapping[str, Any]) -> None:
    """Write the report point into the long-kept policy (the caller ensures it exists)."""
    line = report_line(str(report["id"]), str(report["period"]), to_json(report),
                       to_ns(parse_iso_utc(str(report["start"]))))
    influx.write_lines([line], policy=LONG_RP)


def store_report(influx: InfluxDB, state: RedisState, report: Mapping[str, Any]) -> None:
    """Keep the report: a point in InfluxDB, the latest per period and recent ones in Redis."""
    write_report_influx(influx, report)
    state.reports.save(report, RECENT_REPORTS)


def _decode_point(point: Mapping[str, Any]) -> dict[str, Any] | None:
    text = report_text(point)
    return None if text is None else json.loads(text)


def load_report(influx: InfluxDB, state: RedisState, rid: str) -> dict[str, Any] | None:
    """A report by id: from Redis when recent, else from InfluxDB; None when unknown.

    Raises ValueError for a malformed id.
    """
    period, start = parse_report_id(rid)
    recent = state.reports.get(rid)
    if recent is not None:
        return recent
    rows = influx.query_points_if_any(
        f"SELECT {', '.join(quote_ident(f) for f in REPORT_FIELDS)} "
        f"FROM {quote_ident(LONG_RP)}.{quote_ident(REPORTS)} "
        f'WHERE "period" = {quote_literal(period)} AND time = {to_ns(start)}'
    )
    return _decode_point(rows[0]) if rows else None


def recent_reports(state: RedisState, limit: int = RECENT_REPORTS) -> list[dict[str, Any]]:
    """Summaries of the most recent reports (newest stored first)."""
    return [summary(report) for report in state.reports.recent(limit)]


def latest_report(state: RedisState, period: str) -> dict[str, Any] | None:
    """The newest report of a period, from Redis."""
    return state.reports.latest(period)
