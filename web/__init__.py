"""The Flask app factory: `gunicorn 'web:create_app()'`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from core.config import Settings, get_settings
from web.extensions import services


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the environment, then `config` (tests pass overrides)."""
    app = Flask(__name__)
    settings: Settings = get_settings()
    app.config.from_mapping(
        SETTINGS=settings,
        REDIS_URL=settings.redis_url,
        KEY_PREFIX=settings.key_prefix,
        BROKER_URL=settings.broker_url,
        INFLUXDB_URL=settings.influxdb_url,
        INFLUXDB_DB=settings.influxdb_db,
        INFLUXDB_USER=settings.influxdb_user,
        INFLUXDB_PASSWORD=settings.influxdb_password,
        EXCHANGES=list(settings.exchanges),
        TAKER_FEES=dict(settings.taker_fees),
        MAX_QUOTE_AGE_S=settings.max_quote_age_s,
        JSON_SORT_KEYS=False,
    )
    if config:
        app.config.from_mapping(config)
    services.init_app(app)

    from web import (
        alerts,
        api,
        arbitrage_views,
        fees,
        health,
        live,
        metrics,
        pages,
        reports,
        security,
    )

    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(fees.bp)
    app.register_blueprint(arbitrage_views.bp)
    live.init_app(app)
    security.init_app(app)  # CSP and companions on every response
    api.register_json_errors(app)
    return app
