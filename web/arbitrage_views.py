"""JSON under `/api` for triangular arbitrage and the per-venue-pair history of opportunities."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from core import history
from core.measurements import OPPORTUNITIES, QUOTES
from web import api
from web.api import _require_known, _symbol_param, _time_range
from web.extensions import services
from web.params import TRIANGLE_LIMIT, TRIANGLE_MIN_NET_PCT, exchange_arg, int_arg, number_arg

bp = Blueprint("arbitrage_views", __name__, url_prefix="/api")

# Same answers as the main API blueprint: its handlers only see its own routes.
api.json_error_handlers(bp)


@bp.get("/triangles")
def triangle_list() -> Any:
    """The profitable cycles within one venue found by the last scan, best net % first."""
    exchange = exchange_arg()
    min_net = number_arg("min_net_pct", TRIANGLE_MIN_NET_PCT)
    limit = int_arg("limit", TRIANGLE_LIMIT)
    snap = services.state.triangles.load()
    rows = [
        t for t in snap["triangles"]
        if isinstance(t, dict)
        and (exchange is None or t.get("exchange") == exchange)
        and isinstance(t.get("net_pct"), int | float) and t["net_pct"] >= min_net
    ]
    return jsonify({"triangles": rows[:limit], "computed_ns": snap["computed_ns"]})


@bp.get("/opportunities/stats")
def opportunity_stats() -> Any:
    """Closed opportunities of [start, end) per venue pair: count, durations, total profit."""
    symbol = _symbol_param()
    start_ns, end_ns = _time_range()
    if symbol is not None:
        _require_known(symbol, (OPPORTUNITIES, QUOTES))
    pairs = history.opportunity_stats(services.influx, symbol, start_ns, end_ns)
    return jsonify({
        "start_ns": start_ns, "end_ns": end_ns, "symbol": symbol,
        "duration_edges_s": list(history.DURATION_EDGES_S), "pairs": pairs,
    })
