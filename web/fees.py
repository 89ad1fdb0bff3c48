"""`GET /api/fees`: each configured venue's taker fee, tiers, 30-day volume and withdrawal fees."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify
from flask.blueprints import BlueprintSetupState

from core.config import Settings
from core.fees import FeeSchedule

bp = Blueprint("fees", __name__, url_prefix="/api")

_EXTENSION = "fee_schedule"


def build_schedule(app: Flask) -> FeeSchedule:
    """The app's schedule: FEES_FILE, FEE_VOLUME_30D and TAKER_FEES from its settings."""
    settings: Settings = app.config["SETTINGS"]
    return FeeSchedule.from_settings(settings)


# Built when the blueprint is registered (config overrides are applied by then), so a bad
# fees file stops the app at start-up instead of failing its first request.
@bp.record_once
def _load(state: BlueprintSetupState) -> None:
    state.app.extensions[_EXTENSION] = build_schedule(state.app)


def schedule() -> FeeSchedule:
    """The current app's fee schedule."""
    return current_app.extensions[_EXTENSION]


@bp.get("/fees")
def fees() -> Any:
    """Fees per configured venue, with the rule that chose each taker fee."""
    current = schedule()
    venues = {name: current.describe(name) for name in current_app.config["SETTINGS"].exchanges}
    return jsonify({"venues": venues})
