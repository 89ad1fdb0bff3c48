"""The JSON API under `/api`: quotes, opportunities and exchanges."""

from __future__ import annotations

import json
import time
from typing import Any

import redis
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from core.fees import taker_fee
from core.symbols import split_symbol
from web.extensions import services

bp = Blueprint("api", __name__, url_prefix="/api")


class BadRequest(Exception):
    """A query parameter has a value the API cannot use."""


def _symbol_param() -> str | None:
    raw = request.args.get("symbol")
    if raw is None or raw == "":
        return None
    try:
        split_symbol(raw.upper())
    except ValueError as exc:
        raise BadRequest(f"symbol must look like BTC-USD, got {raw!r}") from exc
    return raw.upper()


def _number_param(name: str, default: float, lo: float, hi: float) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a number, got {raw!r}") from exc
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo:g} and {hi:g}")
    return value


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest) -> Any:
    return jsonify({"error": str(exc)}), 400


@bp.errorhandler(redis.RedisError)
def _redis_down(exc: redis.RedisError) -> Any:
    current_app.logger.warning("Redis unavailable: %s", exc)
    return jsonify({"error": "state store (Redis) unavailable"}), 503


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    return jsonify({"error": exc.description}), exc.code


def register_json_errors(app: Any) -> None:
    """Unrouted paths under /api answer JSON too (blueprint handlers only see routed requests)."""

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _api_not_found(exc: HTTPException) -> Any:
        if request.path.startswith("/api/") or request.path == "/api":
            return jsonify({"error": exc.description}), exc.code
        return exc


@bp.get("/quotes")
def quotes() -> Any:
    """Latest quote per exchange and symbol, with its age in seconds."""
    symbol = _symbol_param()
    state = services.state
    if symbol is not None and symbol not in state.symbols():
        return jsonify({"error": f"unknown symbol {symbol}"}), 404
    now = time.time_ns()
    rows = []
    for q in state.all_quotes([symbol] if symbol else None):
        row = q.to_dict()
        row["age_s"] = round((now - q.ts_received_ns) / 1e9, 3)
        rows.append(row)
    return jsonify({"quotes": rows})


@bp.get("/opportunities")
def opportunities() -> Any:
    """Open opportunities, best net % first."""
    symbol = _symbol_param()
    limit = int(_number_param("limit", 100, 1, 1000))
    min_net = _number_param("min_net_pct", -100.0, -100.0, 1000.0)
    rows = services.state.opportunities(limit=1000)
    rows = [
        r for r in rows
        if (symbol is None or r["symbol"] == symbol) and r["net_pct"] >= min_net
    ]
    return jsonify({"opportunities": rows[:limit]})


@bp.get("/exchanges")
def exchanges() -> Any:
    """Each configured venue with its taker fee and feed status."""
    now = time.time_ns()
    rows = []
    for name in current_app.config["EXCHANGES"]:
        status = services.state.feed_status(name)
        last_ns = int(status.get("last_message_ns", 0) or 0)
        updated_ns = int(status.get("updated_ns", 0) or 0)
        state = status.get("state", "unknown")
        # A worker that stopped reporting is not "connected", whatever it last said.
        if updated_ns and now - updated_ns > 10e9:
            state = "stale"
        rows.append({
            "name": name,
            "taker_fee": taker_fee(name, current_app.config["TAKER_FEES"]),
            "state": state,
            "messages": int(status.get("messages", 0) or 0),
            "quotes": int(status.get("quotes", 0) or 0),
            "reconnects": int(status.get("reconnects", 0) or 0),
            "parse_errors": int(status.get("parse_errors", 0) or 0),
            "errors": json.loads(status.get("errors", "{}") or "{}"),
            "markets": int(status.get("markets", 0) or 0),
            "last_message_age_s": round((now - last_ns) / 1e9, 3) if last_ns else None,
        })
    return jsonify({"exchanges": rows})
