"""History reads from InfluxDB: InfluxQL builders (pure) and the small functions that run them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.influx import InfluxDB, InfluxError, quote_ident, quote_literal
from core.measurements import OPPORTUNITIES, QUOTES

RESOLUTIONS = ("raw", "1m", "1h")
# Per exchange, so a chart of a busy venue stays a few hundred KB of JSON at most.
MAX_POINTS_PER_SERIES = 5000
MAX_OPPORTUNITIES = 1000
# Lookbacks of the change columns, and how far before each a price may be to still count.
CHANGE_LOOKBACKS_S = {"change_1h_pct": 3600, "change_24h_pct": 86400, "change_7d_pct": 7 * 86400}
MAX_CHANGE_GAP_S = 900

_OPPORTUNITY_FIELDS = ("peak_net_pct", "mean_net_pct", "duration_s", "max_size", "max_profit")
# Upper edges (exclusive) of the opportunity duration histogram; the last bucket is [60 s, ∞).
DURATION_EDGES_S = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
_PAIR = '"buy_exchange", "sell_exchange"'


def _tag_is(key: str, value: str) -> str:
    return f"{quote_ident(key)} = {quote_literal(value)}"


def _time_between(start_ns: int, end_ns: int) -> str:
    # Integer time literals are ns in InfluxQL; int() keeps anything else out of the statement.
    return f"time >= {int(start_ns)} AND time < {int(end_ns)}"


def quote_history_query(
    symbol: str,
    start_ns: int,
    end_ns: int,
    resolution: str = "raw",
    exchange: str | None = None,
    limit: int = MAX_POINTS_PER_SERIES,
) -> str:
    """Bid/ask of `symbol` per exchange in [start, end): raw points or mean per 1m/1h bucket."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution!r}")
    where = [_tag_is("symbol", symbol), _time_between(start_ns, end_ns)]
    if exchange is not None:
        where.insert(1, _tag_is("exchange", exchange))
    condition = " AND ".join(where)
    # Newest first with a per-series LIMIT keeps the newest points when a range is too dense.
    if resolution == "raw":
        return (
            f'SELECT "bid", "ask" FROM {quote_ident(QUOTES)} WHERE {condition} '
            f'GROUP BY "exchange" ORDER BY time DESC LIMIT {int(limit)}'
        )
    return (
        f'SELECT mean("bid") AS "bid", mean("ask") AS "ask" FROM {quote_ident(QUOTES)} '
        f'WHERE {condition} GROUP BY time({resolution}), "exchange" fill(none) '
        f"ORDER BY time DESC LIMIT {int(limit)}"
    )


def opportunity_history_query(
    symbol: str | None, start_ns: int, end_ns: int, limit: int = MAX_OPPORTUNITIES
) -> str:
    """Closed opportunities (optionally of one symbol) stamped in [start, end), newest first."""
    where = [_time_between(start_ns, end_ns)]
    if symbol is not None:
        where.insert(0, _tag_is("symbol", symbol))
    columns = ", ".join(
        quote_ident(c) for c in (*_OPPORTUNITY_FIELDS, "symbol", "buy_exchange", "sell_exchange")
    )
    return (
        f"SELECT {columns} FROM {quote_ident(OPPORTUNITIES)} WHERE {' AND '.join(where)} "
        f"ORDER BY time DESC LIMIT {int(limit)}"
    )


def opportunity_stats_query(symbol: str | None, start_ns: int, end_ns: int) -> str:
    """The statements of `opportunity_stats_statements` as one batch."""
    return "; ".join(opportunity_stats_statements(symbol, start_ns, end_ns))


def opportunity_stats_statements(symbol: str | None, start_ns: int, end_ns: int) -> list[str]:
    """Statements (run together) for per-venue-pair stats of closed opportunities in [start, end).

    Each statement's values carry their own alias, so their series stay apart once flattened:
    `count`/`p50`/`p90`/`max`/`mean_peak` per pair; `profit` per pair and symbol (profits are in
    the symbol's quote currency, which must not be summed across currencies); `below_<i>` per
    pair: how many lasted less than DURATION_EDGES_S[i].
    """
    where = [_time_between(start_ns, end_ns)]
    if symbol is not None:
        where.insert(0, _tag_is("symbol", symbol))
    condition = " AND ".join(where)
    source = f"FROM {quote_ident(OPPORTUNITIES)} WHERE {condition}"
    statements = [
        # percentile() is nearest-rank: always a duration that really occurred.
        'SELECT count("duration_s") AS "count", percentile("duration_s", 50) AS "p50", '
        'percentile("duration_s", 90) AS "p90", max("duration_s") AS "max", '
        f'mean("peak_net_pct") AS "mean_peak" {source} GROUP BY {_PAIR}',
        f'SELECT sum("max_profit") AS "profit" {source} GROUP BY {_PAIR}, "symbol"',
    ]
    for i, edge in enumerate(DURATION_EDGES_S):
        statements.append(
            f'SELECT count("duration_s") AS "below_{i}" {source} AND "duration_s" < {edge!r} '
            f"GROUP BY {_PAIR}"
        )
    return statements


def _quote_of(symbol: str) -> str:
    # A venue's odd market name still gets a currency: whatever follows its last dash.
    return symbol.rsplit("-", 1)[-1] if "-" in symbol else symbol


def _query_batch(influx: InfluxDB, statements: list[str]) -> list[dict[str, Any]]:
    """Points of several statements run in one request; no database yet reads as no points."""
    try:
        return influx.query_points_if_any("; ".join(statements))
    except InfluxError as exc:
        # InfluxDB 1.x answers a batch on a missing database with a bare "not executed"; one
        # statement alone gets the real reason, which query_points_if_any understands.
        if "not executed" not in str(exc):
            raise
        if influx.query_points_if_any(statements[0]):
            raise
        return []


def opportunity_stats(
    influx: InfluxDB, symbol: str | None, start_ns: int, end_ns: int
) -> list[dict[str, Any]]:
    """Per (buy, sell) venue pair: count, duration p50/p90/max and histogram, mean peak net %
    and total potential profit (sum of max_profit) per quote currency; most frequent first."""
    pairs: dict[tuple[str, str], dict[str, Any]] = {}

    def pair(point: Mapping[str, Any]) -> dict[str, Any]:
        key = (point["buy_exchange"], point["sell_exchange"])
        if key not in pairs:
            pairs[key] = {
                "buy_exchange": key[0], "sell_exchange": key[1], "count": 0,
                "duration_p50_s": None, "duration_p90_s": None, "duration_max_s": None,
                "mean_peak_net_pct": None, "total_profit": {},
                "_below": [0] * len(DURATION_EDGES_S),
            }
        return pairs[key]

    for point in _query_batch(influx, opportunity_stats_statements(symbol, start_ns, end_ns)):
        row = pair(point)
        if "count" in point:
            row["count"] = int(point["count"] or 0)
            row["duration_p50_s"] = _float(point.get("p50"))
            row["duration_p90_s"] = _float(point.get("p90"))
            row["duration_max_s"] = _float(point.get("max"))
            row["mean_peak_net_pct"] = _float(point.get("mean_peak"))
        elif "profit" in point:
            ccy = _quote_of(point.get("symbol") or "")
            row["total_profit"][ccy] = row["total_profit"].get(ccy, 0.0) + float(
                point["profit"] or 0.0)
        else:
            for i in range(len(DURATION_EDGES_S)):
                if f"below_{i}" in point:
                    row["_below"][i] = int(point[f"below_{i}"] or 0)
    out = []
    for row in pairs.values():
        below = row.pop("_below")
        counts = [below[0]] + [below[i] - below[i - 1] for i in range(1, len(below))]
        counts.append(row["count"] - below[-1])
        edges: list[float | None] = [*DURATION_EDGES_S, None]
        row["duration_histogram"] = [
            {"lt_s": edge, "count": n} for edge, n in zip(edges, counts, strict=True)
        ]
        out.append(row)
    out.sort(key=lambda r: (-r["count"], r["buy_exchange"], r["sell_exchange"]))
    return out


def last_quotes_query(at_ns: int, max_gap_ns: int) -> str:
    """The last bid/ask per symbol and exchange in (at - max_gap, at]."""
    return (
        f'SELECT last("bid") AS "bid", last("ask") AS "ask" FROM {quote_ident(QUOTES)} '
        f"WHERE time > {int(at_ns) - int(max_gap_ns)} AND time <= {int(at_ns)} "
        'GROUP BY "symbol", "exchange"'
    )


def symbol_exists_query(measurement: str, symbol: str) -> str:
    """Whether `measurement` has any series of `symbol` (an index lookup, no data scan)."""
    return (
        f'SHOW TAG VALUES FROM {quote_ident(measurement)} WITH KEY = "symbol" '
        f"WHERE {_tag_is('symbol', symbol)}"
    )




def quote_history(
    influx: InfluxDB,
    symbol: str,
    start_ns: int,
    end_ns: int,
    resolution: str = "raw",
    exchange: str | None = None,
) -> list[dict[str, Any]]:
    """Series `{"exchange", "points": [[time_ns, bid, ask], ...]}` oldest first, by exchange."""
    statement = quote_history_query(symbol, start_ns, end_ns, resolution, exchange)
    by_exchange: dict[str, list[list[Any]]] = {}
    for point in influx.query_points_if_any(statement):
        by_exchange.setdefault(point["exchange"], []).append(
            [int(point["time"]), _float(point["bid"]), _float(point["ask"])]
        )
    return [
        {"exchange": name, "points": sorted(points, key=lambda p: p[0])}
        for name, points in sorted(by_exchange.items())
    ]


def opportunity_history(
    influx: InfluxDB, symbol: str | None, start_ns: int, end_ns: int,
    limit: int = MAX_OPPORTUNITIES,
) -> list[dict[str, Any]]:
    """Closed opportunities in [start, end), newest first."""
    rows = []
    statement = opportunity_history_query(symbol, start_ns, end_ns, limit)
    for point in influx.query_points_if_any(statement):
        row: dict[str, Any] = {
            "time_ns": int(point["time"]),
            "symbol": point["symbol"],
            "buy_exchange": point["buy_exchange"],
            "sell_exchange": point["sell_exchange"],
        }
        row.update({name: _float(point.get(name)) for name in _OPPORTUNITY_FIELDS})
        rows.append(row)
    return rows


def mids_at(influx: InfluxDB, at_ns: int, max_gap_s: float = MAX_CHANGE_GAP_S) -> dict[
    tuple[str, str], float
]:
    """Mid price per (symbol, exchange) as last known at `at_ns`, if seen within `max_gap_s`."""
    mids: dict[tuple[str, str], float] = {}
    for point in influx.query_points_if_any(last_quotes_query(at_ns, int(max_gap_s * 1e9))):
        bid, ask = _float(point.get("bid")), _float(point.get("ask"))
        if bid is not None and ask is not None:
            mids[(point["symbol"], point["exchange"])] = (bid + ask) / 2
    return mids


def change_pct(
    now: Mapping[tuple[str, str], float], then: Mapping[tuple[str, str], float], symbol: str
) -> float | None:
    """% change of `symbol`'s mean mid over the venues priced both now and then; None if none."""
    venues = sorted(ex for (sym, ex) in now if sym == symbol and (sym, ex) in then)
    if not venues:
        return None
    mid_now = sum(now[(symbol, ex)] for ex in venues) / len(venues)
    mid_then = sum(then[(symbol, ex)] for ex in venues) / len(venues)
    if mid_then <= 0:
        return None
    return 100.0 * (mid_now / mid_then - 1.0)


def symbol_changes(
    influx: InfluxDB, now_mids: Mapping[tuple[str, str], float], symbols: Iterable[str],
    now_ns: int,
) -> dict[str, dict[str, float | None]]:
    """Per symbol, the change columns of CHANGE_LOOKBACKS_S against the current mids."""
    symbols = list(symbols)
    out: dict[str, dict[str, float | None]] = {s: {} for s in symbols}
    for column, lookback_s in CHANGE_LOOKBACKS_S.items():
        then = mids_at(influx, now_ns - lookback_s * 1_000_000_000)
        for symbol in symbols:
            out[symbol][column] = change_pct(now_mids, then, symbol)
    return out


def symbol_in_history(
    influx: InfluxDB, symbol: str, measurements: Iterable[str] = (QUOTES,)
) -> bool:
    """True when any of `measurements` holds a series of `symbol`."""
    return any(influx.query_points_if_any(symbol_exists_query(m, symbol)) for m in measurements)


def _float(value: Any) -> float | None:
    # InfluxDB answers whole-number floats as JSON integers; the API promises floats.
    return None if value is None else float(value)
