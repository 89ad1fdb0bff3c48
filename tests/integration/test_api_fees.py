"""`GET /api/fees` through the Flask test client of the real app: every configured venue, with
the taker fee each precedence rule gives (worked out by hand) and the withdrawal fees."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, Settings
from core.fees import DEFAULT_TAKER_FEES, UNKNOWN_VENUE_FEE
from tests.support.apps import app_with

pytestmark = pytest.mark.integration

DOC = """
venues:
  kraken:
    tiers:
      - {min_volume: 0, taker: 0.0040}
      - {min_volume: 10000, taker: 0.0035}
      - {min_volume: 100000, taker: 0.0020}
    withdrawal: {BTC: 0.0005, USDT: 2.5}
  okx:
    tiers:
      - {min_volume: 0, taker: 0.0010}
"""


def fees_of(settings: Settings, **config: object) -> dict:
    app = app_with(key_prefix=f"{settings.key_prefix}fees:", **config)
    response = app.test_client().get("/api/fees")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()["venues"]


def test_default_app_lists_every_configured_venue_with_the_shipped_fees(
    settings: Settings,
) -> None:
    venues = fees_of(settings)
    assert set(venues) == set(settings.exchanges)
    for name, entry in venues.items():
        # No override or volume in the test environment: each venue is on its first tier,
        # which the shipped file keeps equal to the adapter's base fee.
        assert entry["taker"] == DEFAULT_TAKER_FEES[name], name
        assert entry["taker_source"] == "tier", name
        assert entry["volume_30d"] == 0.0
        assert entry["tiers"][0] == {"min_volume": 0.0, "taker": DEFAULT_TAKER_FEES[name]}
        assert all(fee >= 0 for fee in entry["withdrawal"].values())
    assert venues["kraken"]["tiers"][1] == {"min_volume": 10000.0, "taker": 0.0035}
    assert venues["kraken"]["withdrawal"]["BTC"] == 0.0005


def test_each_precedence_rule_shows_through_the_api(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "fees.yaml"
    path.write_text(DOC, encoding="utf-8")
    venues = fees_of(
        settings,
        fees_file=str(path),
        exchanges=["kraken", "okx", "bybit", "newvenue"],
        taker_fees={"okx": 0.0008},
        fee_volume_30d={"kraken": 150_000.0, "okx": 1e9},
    )
    assert set(venues) == {"kraken", "okx", "bybit", "newvenue"}  # JSON keys come sorted
    # 150k ≥ 100k, the highest min_volume not above it: 0.20 %.
    assert venues["kraken"] == {
        "taker": 0.0020, "taker_source": "tier", "volume_30d": 150_000.0,
        "tiers": [{"min_volume": 0.0, "taker": 0.004}, {"min_volume": 10000.0, "taker": 0.0035},
                  {"min_volume": 100000.0, "taker": 0.002}],
        "withdrawal": {"BTC": 0.0005, "USDT": 2.5},
    }
    # The override beats the tier whatever the volume.
    assert venues["okx"]["taker"] == 0.0008 and venues["okx"]["taker_source"] == "override"
    assert venues["okx"]["volume_30d"] == 1e9 and venues["okx"]["withdrawal"] == {}
    # Not in this file: the adapter's base fee; not known at all: the conservative fee.
    assert venues["bybit"] == {"taker": 0.0010, "taker_source": "default", "volume_30d": 0.0,
                               "tiers": [], "withdrawal": {}}
    assert venues["newvenue"]["taker"] == UNKNOWN_VENUE_FEE
    assert venues["newvenue"]["taker_source"] == "unknown"


def test_a_bad_fees_file_stops_the_app_at_start(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "fees.yaml"
    path.write_text("venues: {kraken: {tiers: [{min_volume: 0, taker: 4}]}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="fraction below 1"):
        app_with(fees_file=str(path))
    with pytest.raises(ConfigError, match="not found"):
        app_with(fees_file=str(tmp_path / "missing.yaml"))
