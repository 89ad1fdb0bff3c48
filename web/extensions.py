"""Clients the web app uses, created unbound and bound to an app in the factory."""

from __future__ import annotations

from flask import Flask, current_app

from core.influx import InfluxDB
from core.state import RedisState


class Services:
    """Holds one RedisState and one InfluxDB client per app."""

    def init_app(self, app: Flask) -> None:
        """Create the clients from the app's settings."""
        s = app.config["SETTINGS"]
        app.extensions["cryptotracker"] = {
            "state": RedisState.from_url(s.redis_url, s.key_prefix),
            "influx": InfluxDB(s.influxdb_url, s.influxdb_db, s.influxdb_user,
                               s.influxdb_password, timeout_s=5.0),
        }

    @property
    def state(self) -> RedisState:
        """The current app's Redis state."""
        return current_app.extensions["cryptotracker"]["state"]

    @property
    def influx(self) -> InfluxDB:
        """The current app's InfluxDB client."""
        return current_app.extensions["cryptotracker"]["influx"]


services = Services()
