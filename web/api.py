"""The JSON API under `/api`: quotes, opportunities, history, symbols, exchanges, OpenAPI."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from core import history
from core.influx import InfluxError
from core.measurements import OPPORTUNITIES, QUOTES
from core.stores.feeds import FeedStatus
from core.symbols import split_symbol
from core.types import Quote
from web import fees, openapi
from web.extensions import services
from web.params import (
    CLOSED_LIMIT,
    OPEN_LIMIT,
    OPEN_MIN_NET_PCT,
    BadRequest,
    asset_arg,
    choice_arg,
    exchange_arg,
    int_arg,
    number_arg,
    required_symbol_arg,
    symbol_arg,
    time_range_args,
)

bp = Blueprint("api", __name__, url_prefix="/api")

__all__ = ["BadRequest", "bp", "register_json_errors"]

# A feed that has not written its status for this long is reported `stale`, whatever it said.
FEED_STALE_AFTER_NS = 10_000_000_000


class NotFound(Exception):
    """The request names something (a symbol) that the tracker has never seen."""


class MessageRates:
    """Messages per second per venue from successive reads of its status hash (one per app)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # exchange -> (messages, updated_ns, rate computed when that sample arrived)
        self._samples: dict[str, tuple[int, int, float | None]] = {}

    def update(self, exchange: str, messages: int, updated_ns: int) -> float | None:
        """Record a sample and return the rate over the last interval; None until two samples."""
        with self._lock:
            prev = self._samples.get(exchange)
            if updated_ns <= 0:
                self._samples.pop(exchange, None)
                return None
            if prev is not None and updated_ns == prev[1] and messages == prev[0]:
                return prev[2]  # same status write read again: same rate
            rate: float | None = None
            # A restarted worker counts from zero again: start over rather than go negative.
            if prev is not None and updated_ns > prev[1] and messages >= prev[0]:
                rate = round((messages - prev[0]) / ((updated_ns - prev[1]) / 1e9), 3)
            self._samples[exchange] = (messages, updated_ns, rate)
            return rate


def _rates() -> MessageRates:
    # setdefault is atomic under the GIL, so two first requests still share one tracker.
    return current_app.extensions.setdefault("cryptotracker_rates", MessageRates())


def _required_symbol() -> str:
    return required_symbol_arg(services.state.symbols)


def _symbol_param() -> str | None:
    """The query's optional `symbol`; a name that is not BASE-QUOTE must be a stored one."""
    return symbol_arg(services.state.symbols)


def _time_range() -> tuple[int, int]:
    return time_range_args(time.time_ns())


def _require_known(symbol: str, measurements: tuple[str, ...] = ()) -> None:
    """404 unless `symbol` has a current quote or (for history) any series in `measurements`."""
    if symbol in services.state.symbols():
        return
    if measurements and history.symbol_in_history(services.influx, symbol, measurements):
        return
    raise NotFound(f"unknown symbol {symbol}")


def _quote_currency(symbol: str) -> str | None:
    try:
        return split_symbol(symbol)[1]
    except ValueError:
        return None


def _bad_request(exc: BadRequest) -> Any:
    return jsonify({"error": str(exc)}), 400


def _not_found(exc: NotFound) -> Any:
    return jsonify({"error": str(exc)}), 404


def _redis_down(exc: redis.RedisError) -> Any:
    current_app.logger.warning("Redis unavailable: %s", exc)
    return jsonify({"error": "state store (Redis) unavailable"}), 503


def _influx_down(exc: InfluxError) -> Any:
    current_app.logger.warning("InfluxDB unavailable: %s", exc)
    return jsonify({"error": "history store (InfluxDB) unavailable"}), 503


def _http_error(exc: HTTPException) -> Any:
    return jsonify({"error": exc.description}), exc.code


def json_error_handlers(target: Blueprint) -> None:
    """Give an /api blueprint the same JSON errors: 400, 404, 503 per store, other HTTP codes."""
    target.register_error_handler(BadRequest, _bad_request)
    target.register_error_handler(NotFound, _not_found)
    target.register_error_handler(redis.RedisError, _redis_down)
    target.register_error_handler(InfluxError, _influx_down)
    target.register_error_handler(HTTPException, _http_error)


json_error_handlers(bp)


def register_json_errors(app: Flask) -> None:
    """Unrouted paths and methods under /api and on /healthz answer JSON too (blueprint handlers
    only see routed requests)."""

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _api_not_found(exc: HTTPException) -> Any:
        if request.path.startswith("/api/") or request.path in ("/api", "/healthz"):
            return jsonify({"error": exc.description}), exc.code
        return exc


@bp.get("/quotes")
def quotes() -> Any:
    """Latest quote per exchange and symbol, with its age in seconds and a stale flag."""
    symbol = _symbol_param()
    state = services.state
    if symbol is not None:
        _require_known(symbol)
    now = time.time_ns()
    max_age_s = current_app.config["SETTINGS"].max_quote_age_s
    rows = []
    for q in state.all_quotes([symbol] if symbol else None):
        row = q.to_dict()
        age_s = (now - q.ts_received_ns) / 1e9
        row["age_s"] = round(age_s, 3)
        row["stale"] = age_s > max_age_s
        rows.append(row)
    return jsonify({"quotes": rows})


@bp.get("/opportunities")
def opportunities() -> Any:
    """Open opportunities, best net % first, filtered by symbol, venue and quote currency."""
    symbol = _symbol_param()
    exchange = exchange_arg()
    quote = asset_arg("quote")
    limit = int_arg("limit", OPEN_LIMIT)
    min_net = number_arg("min_net_pct", OPEN_MIN_NET_PCT)
    if symbol is not None:
        _require_known(symbol)
    rows = [
        r for r in services.state.opportunities(limit=1000)
        if (symbol is None or r["symbol"] == symbol)
        and (exchange is None or exchange in (r["buy_exchange"], r["sell_exchange"]))
        and (quote is None or _quote_currency(r["symbol"]) == quote)
        and r["net_pct"] >= min_net
    ]
    return jsonify({"opportunities": rows[:limit]})


@bp.get("/opportunities/history")
def opportunities_history() -> Any:
    """Closed opportunities from InfluxDB in [start, end), newest first."""
    symbol = _symbol_param()
    start_ns, end_ns = _time_range()
    limit = int_arg("limit", CLOSED_LIMIT)
    if symbol is not None:
        _require_known(symbol, (OPPORTUNITIES, QUOTES))
    rows = history.opportunity_history(services.influx, symbol, start_ns, end_ns, limit)
    return jsonify({"opportunities": rows})


@bp.get("/history")
def price_history() -> Any:
    """Bid/ask per exchange from InfluxDB: raw points or 1m/1h means, newest 5,000 per venue."""
    symbol = _required_symbol()
    exchange = exchange_arg()
    resolution = choice_arg("resolution", history.RESOLUTIONS, "raw")
    start_ns, end_ns = _time_range()
    _require_known(symbol, (QUOTES,))
    series = history.quote_history(services.influx, symbol, start_ns, end_ns, resolution, exchange)
    return jsonify({
        "symbol": symbol, "resolution": resolution, "start_ns": start_ns, "end_ns": end_ns,
        "series": series,
    })


def _venues_by_symbol(quotes: list[Quote]) -> dict[str, set[str]]:
    """Which venues list each symbol: their status hash's markets, plus any that quoted it."""
    venues: dict[str, set[str]] = {}
    for name in current_app.config["SETTINGS"].exchanges:
        status = services.state.feeds.get(name)
        for symbol in status.symbols if status is not None else ():
            venues.setdefault(symbol, set()).add(name)
    for q in quotes:
        venues.setdefault(q.symbol, set()).add(q.exchange)
    return venues


@bp.get("/symbols")
def symbols() -> Any:
    """Followed symbols with their venues and 1 h / 24 h / 7 d change of the mid price."""
    now_ns = time.time_ns()
    quotes = services.state.all_quotes()
    venues = _venues_by_symbol(quotes)
    now_mids = {(q.symbol, q.exchange): (q.bid + q.ask) / 2 for q in quotes}
    changes = history.symbol_changes(services.influx, now_mids, venues, now_ns)
    rows = [
        {"symbol": symbol, "exchanges": sorted(venues[symbol]), **changes[symbol]}
        for symbol in sorted(venues)
    ]
    return jsonify({"symbols": rows})


@bp.get("/exchanges")
def exchanges() -> Any:
    """Each configured venue with its taker fee, feed status and message rate."""
    now = time.time_ns()
    rates = _rates()
    rows = []
    for name in current_app.config["SETTINGS"].exchanges:
        status = services.state.feeds.get(name) or FeedStatus(exchange=name)
        last_ns, updated_ns, messages = status.last_message_ns, status.updated_ns, status.messages
        state = status.state
        # A worker that stopped reporting is not "connected", whatever it last said.
        if updated_ns and now - updated_ns > FEED_STALE_AFTER_NS:
            state = "stale"
        rows.append({
            "name": name,
            "taker_fee": fees.schedule().taker(name),
            "state": state,
            "connections": status.connections,
            "messages": messages,
            "message_rate": rates.update(name, messages, updated_ns),
            "quotes": status.quotes,
            "reconnects": status.reconnects,
            "parse_errors": status.parse_errors,
            "errors": status.errors,
            "markets": status.markets,
            "last_message_age_s": round((now - last_ns) / 1e9, 3) if last_ns else None,
            # Keeping up: how late the newest frames arrived against the venue's own clock,
            # whether that is past FEED_BEHIND_S, and the resyncs forced by frames the venue
            # dropped (sequence gaps, checksum mismatches, slow-consumer disconnects).
            "lag_ms": None if status.lag_ms is None else round(status.lag_ms, 3),
            "behind": status.behind,
            "resyncs": status.resyncs,
            # Quotes whose venue time was past MAX_CLOCK_SKEW_S from receipt (stamped on receipt).
            "clock_skew": status.clock_skew,
            # The feed worker's local buffer (batches held while RabbitMQ is unreachable).
            "buffer": {key: getattr(status, f"buffer_{key}")
                       for key in ("batches", "quotes", "capacity", "dropped", "dropped_quotes")},
        })
    return jsonify({"exchanges": rows})


@bp.get("/openapi.json")
def openapi_document() -> Any:
    """The OpenAPI 3 document describing this API and /healthz."""
    return jsonify(openapi.document())
