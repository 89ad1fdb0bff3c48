"""Server-rendered pages: overview, opportunities, one symbol, feeds; live parts in static JS."""

from __future__ import annotations

import time
from typing import Any

import redis
from flask import Blueprint, current_app, render_template

from core.types import Quote
from web.extensions import services
from web.fees import schedule

bp = Blueprint("pages", __name__)


def _safe_state(default: Any, fn: Any, *args: Any) -> tuple[Any, bool]:
    """Call a state reader; on a Redis outage return `default` so the page still renders."""
    try:
        return fn(*args), True
    except redis.RedisError as exc:
        current_app.logger.warning("Redis unavailable for a page: %s", exc)
        return default, False


def _known_symbols() -> tuple[list[str], bool]:
    """Symbols with stored quotes, plus the configured ones, sorted."""
    stored, ok = _safe_state([], services.state.symbols)
    configured = list(current_app.config["SETTINGS"].symbols)
    return sorted(set(stored) | set(configured)), ok


def _exchanges(quotes: list[Quote]) -> list[str]:
    """Configured venues first, then any other venue a stored quote names."""
    names = list(current_app.config["SETTINGS"].exchanges)
    for q in quotes:
        if q.exchange not in names:
            names.append(q.exchange)
    return names


def _quote_rows(quotes: list[Quote]) -> dict[tuple[str, str], dict[str, Any]]:
    """Quotes keyed by (symbol, exchange) with their age and staleness for the first render."""
    now = time.time_ns()
    max_age = current_app.config["SETTINGS"].max_quote_age_s
    rows = {}
    for q in quotes:
        age = (now - q.ts_received_ns) / 1e9
        rows[(q.symbol, q.exchange)] = {"bid": q.bid, "ask": q.ask, "age_s": age,
                                        "stale": age > max_age}
    return rows


def _page_config() -> dict[str, Any]:
    """Settings the page scripts need, passed as data attributes (no inline scripts)."""
    return {"max_age": current_app.config["SETTINGS"].max_quote_age_s}


@bp.get("/")
def overview() -> str:
    """Symbols × exchanges matrix; static/js/overview.js keeps it live."""
    symbols, ok = _known_symbols()
    quotes, ok2 = _safe_state([], services.state.all_quotes, symbols)
    opps, ok3 = _safe_state([], services.state.opportunities, 1000)
    best: dict[str, dict[str, Any]] = {}
    for opp in opps:  # best first, so the first one per symbol wins
        best.setdefault(opp["symbol"], opp)
    return render_template(
        "overview.html", symbols=symbols, exchanges=_exchanges(quotes),
        quotes=_quote_rows(quotes), best=best, degraded=not (ok and ok2 and ok3),
        page=_page_config(),
    )


@bp.get("/opportunities")
def opportunities() -> str:
    """Open opportunities with filters and a per-row profit calculator."""
    symbols, ok = _known_symbols()
    opps, ok2 = _safe_state([], services.state.opportunities, 1000)
    quote_ccys = sorted({s.rsplit("-", 1)[-1] for s in symbols if "-" in s})
    exchanges = list(current_app.config["SETTINGS"].exchanges)
    fees = {name: schedule().taker(name) for name in exchanges}
    return render_template(
        "opportunities.html", opportunities=opps, exchanges=exchanges, quote_ccys=quote_ccys,
        fees=fees, degraded=not (ok and ok2), page=_page_config(),
    )


@bp.get("/symbol/<symbol>")
def symbol(symbol: str) -> Any:
    """One symbol: bid/ask chart per venue from history, best spread, live updates."""
    symbols, ok = _known_symbols()
    if symbol not in symbols:
        return render_template("404.html", what=f"symbol {symbol}", page=_page_config()), 404
    quotes, ok2 = _safe_state([], services.state.all_quotes, [symbol])
    return render_template(
        "symbol.html", symbol=symbol, exchanges=sorted({q.exchange for q in quotes}),
        quotes=_quote_rows(quotes), degraded=not (ok and ok2), page=_page_config(),
    )


@bp.get("/feeds")
def feeds() -> str:
    """Per-venue feed health; static/js/feeds.js fills the numbers from the API and /ws."""
    rows = []
    ok = True
    for name in current_app.config["SETTINGS"].exchanges:
        status, fine = _safe_state(None, services.state.feeds.get, name)
        ok = ok and fine
        rows.append({"name": name, "state": status.state if status else "unknown"})
    return render_template("feeds.html", feeds=rows, degraded=not ok, page=_page_config())
