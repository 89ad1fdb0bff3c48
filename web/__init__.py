"""The Flask app factory: `gunicorn 'web:create_app()'`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

from flask import Flask

from core.config import Settings, get_settings
from web.extensions import services

_FIELDS = {f.name.upper(): f.name for f in fields(Settings)}


def _with_overrides(settings: Settings, config: Mapping[str, Any]) -> Settings:
    """`settings` with the fields `config` names in upper case (`KEY_PREFIX`) replaced."""
    changes: dict[str, Any] = {}
    for key, value in config.items():
        name = _FIELDS.get(key)
        if name is not None:
            # Tests write lists where the field holds a tuple; fields keep their own type.
            default = getattr(settings, name)
            changes[name] = tuple(value) if isinstance(default, tuple) else value
    return replace(settings, **changes) if changes else settings


def create_app(config: Mapping[str, Any] | Settings | None = None,
               settings: Settings | None = None) -> Flask:
    """Build the app on `settings` (default: the environment's); views read them only from
    `app.config["SETTINGS"]`. `config` may be a Settings, or Flask keys plus upper-case
    Settings field names (`KEY_PREFIX`), which override those fields."""
    if isinstance(config, Settings):
        config, settings = None, config
    config = dict(config or {})
    base = config.pop("SETTINGS", None) or settings or get_settings()
    app = Flask(__name__)
    app.config.from_mapping(JSON_SORT_KEYS=False)
    app.config.from_mapping({k: v for k, v in config.items() if k not in _FIELDS})
    app.config["SETTINGS"] = _with_overrides(base, config)
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
