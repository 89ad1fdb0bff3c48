"""History reads from InfluxDB: InfluxQL builders (pure) and the small functions that run them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.influx import InfluxDB, quote_ident, quote_literal

QUOTES = "quotes"
OPPORTUNITIES = "opportunities"
RESOLUTIONS = ("raw", "1m", "1h")
# Per exchange, so a chart of a busy venue stays a few hundred KB of JSON at most.
MAX_POINTS_PER_SERIES = 5000
MAX_OPPORTUNITIES = 1000
# Lookbacks of the change columns, and how far before each a price may be to still count.
CHANGE_LOOKBACKS_S = {"change_1h_pct": 3600, "change_24h_pct": 86400, "change_7d_pct": 7 * 86400}
MAX_CHANGE_GAP_S = 900

_OPPORTUNITY_FIELDS = ("peak_net_pct", "mean_net_pct", "duration_s", "max_size", "max_profit")


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
