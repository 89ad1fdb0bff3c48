"""Alert deliveries under `/api`: what was sent to ALERT_WEBHOOK_URL, attempt by attempt."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from core.config import Settings
from web.api import json_error_handlers
from web.extensions import services
from web.params import ALERT_LIMIT, int_arg

bp = Blueprint("alerts", __name__, url_prefix="/api")
json_error_handlers(bp)  # same JSON errors as the rest of /api


@bp.get("/alerts")
def alerts() -> Any:
    """`{"deliveries": [...], "settings": {...}}`: delivery attempts, newest first."""
    limit = int_arg("limit", ALERT_LIMIT)
    settings: Settings = current_app.config["SETTINGS"]
    return jsonify({
        "deliveries": services.state.alerts.deliveries(limit),
        # Never the URL itself: it is a secret (Slack's token is in its path).
        "settings": {
            "enabled": bool(settings.alert_webhook_url.strip()),
            "min_net_pct": settings.alert_min_net_pct,
            "cooldown_s": settings.alert_cooldown_s,
            "format": settings.alert_format,
        },
    })

