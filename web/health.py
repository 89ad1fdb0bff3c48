"""`GET /healthz`: is each backing service reachable? 503 when one is not."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from kombu import Connection

from web.extensions import services

bp = Blueprint("health", __name__)


def _check_redis() -> dict[str, Any]:
    try:
        services.state.ping()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001  (any failure means "down", reported as text)
        return {"ok": False, "error": str(exc)}


def _check_rabbitmq() -> dict[str, Any]:
    try:
        with Connection(current_app.config["SETTINGS"].broker_url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)}


def _check_influxdb() -> dict[str, Any]:
    return {"ok": True} if services.influx.ping() else {"ok": False,
                                                   "error": "no answer, or credentials refused"}


@bp.get("/healthz")
def healthz() -> Any:
    """Status of Redis, RabbitMQ and InfluxDB; 200 when all are up, else 503."""
    checks = {"redis": _check_redis(), "rabbitmq": _check_rabbitmq(), "influxdb": _check_influxdb()}
    ok = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if ok else "degraded", "services": checks}), 200 if ok else 503
