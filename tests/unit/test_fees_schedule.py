"""The fee schedule: tier selection, precedence, validation, the shipped fees.yaml and the
transfer-aware net figure; every expected number is worked out by hand."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import ConfigError, Settings, reset_settings
from core.fees import (
    DEFAULT_TAKER_FEES,
    PROJECT_ROOT,
    UNKNOWN_VENUE_FEE,
    FeeSchedule,
    Tier,
    taker_fee,
    transfer_net_profit,
)
from workers.exchanges import known_exchanges

pytestmark = pytest.mark.unit

# Three tiers for a made-up venue, plus kraken with a base tier unlike its adapter default
# (0.004), so "tier" and "default" give different answers.
DOC = """
venues:
  acme:
    tiers:
      - {min_volume: 0, taker: 0.0040}
      - {min_volume: 10000, taker: 0.0035}
      - {min_volume: 50000, taker: 0.0024}
    withdrawal: {BTC: 0.0005, ETH: 0.01}
  kraken:
    tiers:
      - {min_volume: 0, taker: 0.0030}
  gemini:
    withdrawal: {BTC: 0.0003}
"""


def write(tmp_path: Path, text: str, name: str = "fees.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def doc_path(tmp_path: Path) -> Path:
    return write(tmp_path, DOC)


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        (0.0, 0.0040),  # no volume: the first tier
        (9_999.99, 0.0040),  # just below the 10k boundary
        (10_000.0, 0.0035),  # at it: min_volume <= volume picks the tier
        (10_000.01, 0.0035),  # just above
        (49_999.0, 0.0035),  # below the 50k boundary
        (50_000.0, 0.0024),  # at it
        (50_000.5, 0.0024),  # above it
        (1e15, 0.0024),  # any huge volume stays on the last listed tier
    ],
)
def test_tier_is_the_highest_min_volume_not_above_the_volume(
    doc_path: Path, volume: float, expected: float
) -> None:
    schedule = FeeSchedule.load(doc_path, volumes={"acme": volume})
    assert schedule.taker("acme") == expected
    assert schedule.taker_with_source("acme") == (expected, "tier")
    assert schedule.volume("acme") == volume


def test_override_beats_tier_which_beats_default_which_beats_unknown(doc_path: Path) -> None:
    schedule = FeeSchedule.load(
        doc_path,
        overrides={"acme": 0.0001, "nowhere": 0.002},
        volumes={"acme": 1e9, "kraken": 0.0},
    )
    # Override wins even where a huge volume would pick the cheapest tier.
    assert schedule.taker_with_source("acme") == (0.0001, "override")
    # An override also covers a venue nothing else knows.
    assert schedule.taker_with_source("nowhere") == (0.002, "override")
    # The file's tier (0.003) wins over kraken's adapter default (0.004).
    assert schedule.taker_with_source("kraken") == (0.0030, "tier")
    # gemini is in the file without tiers; binance not at all: both take the adapter default.
    assert schedule.taker_with_source("gemini") == (DEFAULT_TAKER_FEES["gemini"], "default")
    assert schedule.taker_with_source("binance") == (0.0010, "default")
    assert schedule.taker_with_source("elsewhere") == (UNKNOWN_VENUE_FEE, "unknown")
    assert schedule.volume("binance") == 0.0


def test_an_empty_schedule_is_the_old_taker_fee() -> None:
    schedule = FeeSchedule(overrides={"kraken": 0.001})
    for name in [*DEFAULT_TAKER_FEES, "nowhere"]:
        assert schedule.taker(name) == taker_fee(name, {"kraken": 0.001})
    assert schedule.taker("kraken") == 0.001 and schedule.taker("okx") == 0.001


def test_withdrawal_fees_by_venue_and_asset(doc_path: Path) -> None:
    schedule = FeeSchedule.load(doc_path)
    assert schedule.withdrawal("acme", "BTC") == 0.0005
    assert schedule.withdrawal("acme", "eth") == 0.01  # asset codes are matched upper-case
    assert schedule.withdrawal("acme", "USDT") is None  # not listed: unknown, not zero
    assert schedule.withdrawal("kraken", "BTC") is None  # venue without withdrawal fees
    assert schedule.withdrawal("nowhere", "BTC") is None
    assert schedule.withdrawals("acme") == {"BTC": 0.0005, "ETH": 0.01}
    assert schedule.tiers("acme") == (Tier(0, 0.004), Tier(10000, 0.0035), Tier(50000, 0.0024))
    assert schedule.tiers("gemini") == () and schedule.tiers("nowhere") == ()
    assert schedule.venues() == ["acme", "kraken", "gemini"]


def test_describe_is_the_api_entry(doc_path: Path) -> None:
    schedule = FeeSchedule.load(doc_path, volumes={"acme": 12_000.0})
    assert schedule.describe("acme") == {
        "taker": 0.0035,
        "taker_source": "tier",
        "volume_30d": 12_000.0,
        "tiers": [{"min_volume": 0.0, "taker": 0.004}, {"min_volume": 10000.0, "taker": 0.0035},
                  {"min_volume": 50000.0, "taker": 0.0024}],
        "withdrawal": {"BTC": 0.0005, "ETH": 0.01},
    }


def test_settings_from_env_drive_the_schedule(doc_path: Path) -> None:
    settings = Settings.from_env({
        "FEES_FILE": str(doc_path),
        "FEE_VOLUME_30D": "acme:10000, KRAKEN=5e6",
        "TAKER_FEES": "okx:0.0008",
    })
    assert settings.fee_volume_30d == {"acme": 10000.0, "kraken": 5e6}
    schedule = FeeSchedule.from_settings(settings)
    assert schedule.source == doc_path
    assert schedule.taker("acme") == 0.0035  # 10k volume: exactly on the second tier
    assert schedule.taker("kraken") == 0.0030  # the file's only kraken tier, whatever the volume
    assert schedule.taker("okx") == 0.0008  # override


@pytest.mark.parametrize("env", [{"FEE_VOLUME_30D": "kraken"}, {"FEE_VOLUME_30D": "kraken:-1"},
                                 {"FEE_VOLUME_30D": "kraken:lots"}, {"TAKER_FEES": "kraken:1"}])
def test_bad_fee_environment_is_a_config_error(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_shipped_file_loads_and_its_base_tiers_are_the_default_fees() -> None:
    schedule = FeeSchedule.load()  # the default fees.yaml, found from any cwd
    assert schedule.source == PROJECT_ROOT / "fees.yaml"
    assert sorted(schedule.venues()) == sorted(known_exchanges())
    for name in known_exchanges():
        tiers = schedule.tiers(name)
        assert tiers, name
        assert tiers[0] == Tier(0, DEFAULT_TAKER_FEES[name]), name
        # With no volume configured a venue pays its base tier.
        assert schedule.taker(name) == DEFAULT_TAKER_FEES[name], name
    # kraken's second tier (from the AssetPairs sample): 0.35 % from $10k.
    assert FeeSchedule.load(volumes={"kraken": 10_000}).taker("kraken") == 0.0035
    assert schedule.withdrawal("kraken", "BTC") == 0.0005


def test_default_file_is_found_from_another_cwd_and_a_local_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert FeeSchedule.load("fees.yaml").source == PROJECT_ROOT / "fees.yaml"
    local = write(tmp_path, DOC)
    assert FeeSchedule.load("fees.yaml").source == tmp_path / "fees.yaml" == local


def test_missing_fees_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "fees.yaml"
    with pytest.raises(ConfigError, match="FEES_FILE") as info:
        FeeSchedule.from_settings(Settings.from_env({"FEES_FILE": str(missing)}))
    assert str(missing) in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("venues: [unclosed", "not valid YAML"),
        ("venues:\n  a: {tiers: [{min_volume: 0, taker: 0.1}]}\n  a: {}\n", "duplicate key"),
        ("", "is empty"),
        ("- a\n- b\n", "must be a mapping"),
        ("venue: {}\n", "unknown key(s) venue"),
        ("venues: []\n", "must be a mapping"),
        ("venues: {kraken: [0.004]}\n", "must be a mapping"),
        ("venues: {kraken: {tier: []}}\n", "unknown key(s) tier"),
        ("venues: {kraken: {tiers: [{min_volume: 0, taker: 0.1, maker: 0.1}]}}\n",
         "unknown key(s) maker"),
        ("venues: {Kraken: {}}\n", "lower-case"),
        ("venues: {kraken: {tiers: [{min_volume: 0, taker: -0.001}]}}\n", "must not be negative"),
        ("venues: {kraken: {tiers: [{min_volume: 0, taker: 1}]}}\n", "fraction below 1"),
        ("venues: {kraken: {tiers: [{min_volume: 0, taker: 1.5}]}}\n", "fraction below 1"),
        ("venues: {kraken: {tiers: [{min_volume: 0, taker: .nan}]}}\n", "finite"),
        ("venues: {kraken: {tiers: [{min_volume: 0, taker: yes}]}}\n", "must be a number"),
        ("venues: {kraken: {tiers: [{min_volume: 0, taker: '0.1'}]}}\n", "must be a number"),
        ("venues: {kraken: {tiers: [{min_volume: -5, taker: 0.1}]}}\n", "must not be negative"),
        ("venues: {kraken: {tiers: [{min_volume: 0}]}}\n", "lacks taker"),
        ("venues: {kraken: {tiers: []}}\n", "non-empty list"),
        ("venues: {kraken: {tiers: [{min_volume: 10, taker: 0.1}]}}\n", "must be 0"),
        ("venues: {kraken: {tiers: [{min_volume: 0, taker: 0.2}, {min_volume: 100, taker: 0.1},"
         " {min_volume: 50, taker: 0.05}]}}\n", "must be sorted"),
        ("venues: {kraken: {tiers: [{min_volume: 0, taker: 0.2}, {min_volume: 0, taker: 0.1}]}}\n",
         "duplicate"),
        ("venues: {kraken: {withdrawal: {BTC: -0.1}}}\n", "must not be negative"),
        ("venues: {kraken: {withdrawal: {btc: 0.1}}}\n", "upper-case"),
        ("venues: {kraken: {withdrawal: [0.1]}}\n", "must be a mapping"),
    ],
)
def test_bad_files_are_config_errors_saying_what_and_where(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        FeeSchedule.load(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)  # every message names the file


def test_empty_values_read_as_empty(tmp_path: Path) -> None:
    schedule = FeeSchedule.load(write(tmp_path, "venues:\n  kraken:\n  okx: {withdrawal:}\n"))
    assert schedule.venues() == ["kraken", "okx"]
    assert schedule.withdrawals("okx") == {} and schedule.tiers("kraken") == ()
    assert schedule.taker("kraken") == DEFAULT_TAKER_FEES["kraken"]
    assert FeeSchedule.load(write(tmp_path, "venues:\n", "other.yaml")).venues() == []


def test_withdrawal_fees_may_exceed_one_unit(tmp_path: Path) -> None:
    # A fee in asset units (10 USDT) is not a fraction: only taker fees are capped below 1.
    path = write(tmp_path, "venues: {kraken: {withdrawal: {USDT: 10}}}\n")
    assert FeeSchedule.load(path).withdrawal("kraken", "USDT") == 10.0


def test_the_error_names_the_venue_and_tier(tmp_path: Path) -> None:
    path = write(tmp_path, "venues: {okx: {tiers: [{min_volume: 0, taker: 0.1},"
                           " {min_volume: 5, taker: 2}]}}\n")
    with pytest.raises(ConfigError, match=r"venues\.okx\.tiers\[1\]\.taker"):
        FeeSchedule.load(path)


@pytest.mark.parametrize(("overrides", "volumes"), [({"kraken": 1.0}, {}), ({"kraken": -0.1}, {}),
                                                    ({}, {"kraken": -1.0}), ({}, {"k": math.inf})])
def test_bad_overrides_and_volumes_passed_in_code_are_rejected(
    overrides: dict[str, float], volumes: dict[str, float]
) -> None:
    with pytest.raises(ConfigError):
        FeeSchedule(overrides=overrides, volumes=volumes)


@pytest.mark.parametrize(
    ("net_profit", "fee", "sell_price", "expected"),
    [
        # 12.50 net, 0.0005 BTC to withdraw, valued at a 60,000 bid: 12.5 − 30 = −17.5.
        (12.5, 0.0005, 60_000.0, -17.5),
        # 40 net, 0.01 ETH at 3,000: 40 − 30 = 10.
        (40.0, 0.01, 3_000.0, 10.0),
        # A free withdrawal changes nothing.
        (7.25, 0.0, 60_000.0, 7.25),
        # A loss gets worse: −2 − 0.0002 × 50,000 = −12.
        (-2.0, 0.0002, 50_000.0, -12.0),
    ],
)
def test_transfer_net_profit_by_hand(
    net_profit: float, fee: float, sell_price: float, expected: float
) -> None:
    assert transfer_net_profit(net_profit, fee, sell_price) == pytest.approx(expected, abs=1e-9)


def test_transfer_net_profit_is_none_when_the_fee_is_unknown() -> None:
    assert transfer_net_profit(12.5, None, 60_000.0) is None


@pytest.fixture
def fresh_resources(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings and the cached schedule re-read from the environment, restored afterwards."""
    from tasks import resources

    reset_settings()
    resources.fees.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    reset_settings()
    resources.fees.cache_clear()


def test_worker_fee_of_uses_the_process_schedule(
    fresh_resources: pytest.MonkeyPatch, doc_path: Path
) -> None:
    from tasks import resources

    fresh_resources.setenv("FEES_FILE", str(doc_path))
    fresh_resources.setenv("FEE_VOLUME_30D", "acme:60000")
    fresh_resources.setenv("TAKER_FEES", "binance:0.0007")
    assert resources.fees() is resources.fees()  # one schedule per process
    assert resources.fees().source == doc_path
    assert resources.fee_of("acme") == 0.0024
    assert resources.fee_of("binance") == 0.0007
    assert resources.fee_of("bybit") == 0.0010


def test_base_taker_fees_come_from_the_shipped_file() -> None:
    """fees.yaml is the one place the base fees are written; these are its first tiers."""
    assert DEFAULT_TAKER_FEES == {
        "binance": 0.001, "binanceus": 0.001, "bitfinex": 0.002, "bitflyer": 0.0015,
        "bitget": 0.001, "bithumb": 0.0004, "bitstamp": 0.004, "bitvavo": 0.0025,
        "bybit": 0.001, "coinbase": 0.006, "cryptocom": 0.005, "gateio": 0.001,
        "gemini": 0.004, "htx": 0.002, "kraken": 0.004, "kucoin": 0.001, "mexc": 0.0005,
        "okx": 0.001, "poloniex": 0.00155, "upbit": 0.0005,
    }
