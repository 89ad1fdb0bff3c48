"""Symbol normalization, settings from the environment, and the fee table."""

from __future__ import annotations

import pytest

from core.config import ConfigError, Settings, parse_fees
from core.fees import DEFAULT_TAKER_FEES, UNKNOWN_VENUE_FEE, taker_fee
from core.symbols import make_symbol, normalize_asset, parse_symbol_list, split_symbol
from workers.exchanges import known_exchanges

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("base", "quote", "expected"),
    [
        ("XBT", "USD", "BTC-USD"),
        ("xdg", "usdt", "DOGE-USDT"),
        ("eth", "eur", "ETH-EUR"),
        ("BTC", "USDC", "BTC-USDC"),
    ],
)
def test_make_symbol_resolves_aliases(base: str, quote: str, expected: str) -> None:
    assert make_symbol(base, quote) == expected


def test_usd_usdt_usdc_stay_distinct() -> None:
    assert len({make_symbol("BTC", q) for q in ("USD", "USDT", "USDC")}) == 3


def test_normalize_asset_extra_aliases() -> None:
    assert normalize_asset("UST", {"UST": "USDT"}) == "USDT"
    assert normalize_asset("UST") == "UST"


@pytest.mark.parametrize("bad", ["BTCUSD", "BTC-", "-USD", "BTC-USD-X", "btc-usd", "BT C-USD"])
def test_split_symbol_rejects_other_shapes(bad: str) -> None:
    with pytest.raises(ValueError):
        split_symbol(bad)


def test_parse_symbol_list_normalizes_and_dedupes() -> None:
    assert parse_symbol_list(" btc-usd, XBT-USD,eth-usdt,,") == ["BTC-USD", "ETH-USDT"]
    with pytest.raises(ValueError):
        parse_symbol_list("BTC/USD")


def test_settings_defaults_match_the_design() -> None:
    s = Settings.from_env({})
    assert s.broker_url == "amqp://guest:guest@127.0.0.1:5672//"
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.influxdb_url == "http://127.0.0.1:8086"
    assert s.influxdb_db == "cryptotracker"
    assert s.web_host == "127.0.0.1" and s.web_port == 5000
    assert s.max_quote_age_s == 5.0 and s.min_net_pct == 0.0
    assert s.exchanges == tuple(known_exchanges())  # every venue
    assert s.symbols == ("BTC-USD", "ETH-USD", "BTC-USDT", "ETH-USDT", "BTC-EUR", "ETH-EUR",
                         "BTC-KRW", "ETH-KRW", "BTC-JPY", "ETH-JPY", "ETH-BTC")


def test_settings_read_every_variable() -> None:
    s = Settings.from_env({
        "BROKER_URL": "amqp://u:p@h:1//", "REDIS_URL": "redis://h:2/3",
        "INFLUXDB_URL": "http://h:4/", "INFLUXDB_DB": "db", "INFLUXDB_USER": "u",
        "INFLUXDB_PASSWORD": "p", "EXCHANGES": "Kraken, bitstamp", "SYMBOLS": "eth-usd",
        "TAKER_FEES": "kraken=0.0026", "MAX_QUOTE_AGE_S": "2.5", "MIN_NET_PCT": "0.1",
        "WEB_HOST": "0.0.0.0", "WEB_PORT": "8000", "KEY_PREFIX": "x:",
    })
    assert s.broker_url == "amqp://u:p@h:1//" and s.redis_url == "redis://h:2/3"
    assert s.influxdb_url == "http://h:4" and s.influxdb_db == "db"
    assert (s.influxdb_user, s.influxdb_password) == ("u", "p")
    assert s.exchanges == ("kraken", "bitstamp") and s.symbols == ("ETH-USD",)
    assert s.taker_fees == {"kraken": 0.0026}
    assert s.max_quote_age_s == 2.5 and s.min_net_pct == 0.1
    assert s.web_host == "0.0.0.0" and s.web_port == 8000 and s.key_prefix == "x:"


@pytest.mark.parametrize(
    "env",
    [{"WEB_PORT": "http"}, {"MAX_QUOTE_AGE_S": "soon"}, {"TAKER_FEES": "kraken"},
     {"TAKER_FEES": "kraken=2"}, {"SYMBOLS": "BTCUSD"}],
)
def test_settings_bad_values_raise_config_error(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_parse_fees_many() -> None:
    assert parse_fees("kraken=0.0026, Bitstamp=0.005") == {"kraken": 0.0026, "bitstamp": 0.005}
    assert parse_fees("kraken:0.0026,okx:0.0008") == {"kraken": 0.0026, "okx": 0.0008}


def test_taker_fee_override_default_and_unknown() -> None:
    assert taker_fee("kraken") == 0.004
    assert taker_fee("kraken", {"kraken": 0.001}) == 0.001
    assert taker_fee("nowhere") == UNKNOWN_VENUE_FEE


def test_every_adapter_has_a_base_fee_in_fees_yaml() -> None:
    for name in known_exchanges():
        assert name in DEFAULT_TAKER_FEES, name
