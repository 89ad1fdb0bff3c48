"""Alert deliveries under `/api`: what was sent to ALERT_WEBHOOK_URL, attempt by attempt."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app, jsonify, request

from core.alerts import MAX_DELIVERIES, AlertStore
from core.config import Settings
from web.extensions import services
from web.params import BadRequest, parse_int

bp = Blueprint("alerts", __name__, url_prefix="/api")


@bp.get("/alerts")
def alerts() -> Any:
    """`{"deliveries": [...], "settings": {...}}`: delivery attempts, newest first."""
    limit = parse_int(request.args.get("limit"), "limit", 100, 1, MAX_DELIVERIES)
    state = services.state
    settings: Settings = current_app.config["SETTINGS"]
    return jsonify({
        "deliveries": AlertStore(state.redis, state.prefix).deliveries(limit),
        # Never the URL itself: it is a secret (Slack's token is in its path).
        "settings": {
            "enabled": bool(settings.alert_webhook_url.strip()),
            "min_net_pct": settings.alert_min_net_pct,
            "cooldown_s": settings.alert_cooldown_s,
            "format": settings.alert_format,
        },
    })


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest) -> Any:
    return jsonify({"error": str(exc)}), 400


@bp.errorhandler(redis.RedisError)
def _redis_down(exc: redis.RedisError) -> Any:
    current_app.logger.warning("Redis unavailable: %s", exc)
    return jsonify({"error": "state store (Redis) unavailable"}), 503
