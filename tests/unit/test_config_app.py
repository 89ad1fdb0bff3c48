"""The web app's one configuration path: a Settings object, overridable by tests."""

from __future__ import annotations

import pytest

from core.config import Settings
from web import create_app

pytestmark = pytest.mark.unit


def test_the_app_keeps_the_settings_it_is_given() -> None:
    settings = Settings(key_prefix="unit:", exchanges=("kraken",), max_quote_age_s=2.0)
    app = create_app(settings)
    assert app.config["SETTINGS"] is settings
    assert create_app(settings=settings).config["SETTINGS"] is settings


def test_upper_case_field_names_override_settings_and_stay_out_of_flask_config() -> None:
    base = Settings(key_prefix="unit:")
    app = create_app({"TESTING": True, "KEY_PREFIX": "other:", "EXCHANGES": ["okx", "kraken"],
                      "TAKER_FEES": {"okx": 0.0008}}, settings=base)
    settings = app.config["SETTINGS"]
    assert settings.key_prefix == "other:"
    assert settings.exchanges == ("okx", "kraken")
    assert settings.taker_fees == {"okx": 0.0008}
    assert app.config["TESTING"] is True
    assert not {"KEY_PREFIX", "EXCHANGES", "TAKER_FEES", "REDIS_URL"} & set(app.config)


def test_a_settings_entry_in_the_mapping_is_the_base() -> None:
    base = Settings(key_prefix="unit:", queue_prefix="q:")
    app = create_app({"SETTINGS": base, "QUEUE_PREFIX": "r:"})
    assert app.config["SETTINGS"].key_prefix == "unit:"
    assert app.config["SETTINGS"].queue_prefix == "r:"
