"""Query-parameter parsing: both time forms to the exact ns, ranges, the spellings Python takes
that the API does not, repeated keys, and every refusal naming its parameter."""

from __future__ import annotations

import pytest
from flask import Flask

from web.params import (
    OPEN_LIMIT,
    BadRequest,
    int_arg,
    parse_asset,
    parse_choice,
    parse_exchange,
    parse_int,
    parse_number,
    parse_report_id,
    parse_symbol,
    parse_time,
    time_range,
)

pytestmark = pytest.mark.unit

S = 1_000_000_000
# 2026-11-24T03:00:00Z: 20,454 days to 2026-01-01 (56 years, 14 leap days), 327 more to Nov 24,
# then 3 h: (20,781 × 86,400 + 10,800) s.
NOV24 = 1_795_489_200


@pytest.mark.parametrize(("raw", "ns"), [
    ("2026-11-24T03:00:00Z", NOV24 * S),
    ("2026-11-24T03:00:00+00:00", NOV24 * S),
    ("2026-11-24T04:00:00+01:00", NOV24 * S),
    ("2026-11-24T03:00:00", NOV24 * S),  # no zone: UTC
    ("2026-11-24", (NOV24 - 3 * 3600) * S),
    ("2026-11-24T03:00:00.123456Z", NOV24 * S + 123_456_000),
    (str(NOV24), NOV24 * S),
    (f"{NOV24}.5", NOV24 * S + 500_000_000),
    # Every ns digit survives, which a float of seconds would not keep.
    (f"{NOV24}.123456789", NOV24 * S + 123_456_789),
    (f" {NOV24} ", NOV24 * S),
    ("1.7e9", 1_700_000_000 * S),
])
def test_parse_time_forms(raw: str, ns: int) -> None:
    assert parse_time(raw) == ns


@pytest.mark.parametrize("raw", [
    "", " ", "yesterday", "2026-13-01", "2026-11-24T25:00:00Z", "nan", "inf", "-inf",
    "0", "-1", "1763953200000",  # milliseconds by mistake: the year 57,000
    "1999-12-31T23:59:59Z", "2100-01-01T00:00:01Z", "0x10",
])
def test_parse_time_refuses(raw: str) -> None:
    with pytest.raises(BadRequest, match="start"):
        parse_time(raw, "start")


def test_time_range_defaults_to_the_hour_before_now() -> None:
    now = NOV24 * S + 17
    assert time_range(None, None, now) == (now - 3600 * S, now)
    assert time_range("", "", now) == (now - 3600 * S, now)


def test_time_range_default_start_is_an_hour_before_the_given_end() -> None:
    assert time_range(None, "2026-11-24T03:00:00Z", 0) == ((NOV24 - 3600) * S, NOV24 * S)


def test_time_range_with_both_ends() -> None:
    assert time_range(str(NOV24 - 60), "2026-11-24T03:00:00Z", 0) == ((NOV24 - 60) * S, NOV24 * S)


@pytest.mark.parametrize(("start", "end", "message"), [
    (str(NOV24), str(NOV24), "before"),
    (str(NOV24 + 1), str(NOV24), "before"),
    (str(NOV24 - 401 * 86400), str(NOV24), "400 days"),
    ("soon", str(NOV24), "start"),
    (str(NOV24), "later", "end"),
])
def test_time_range_refuses(start: str, end: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        time_range(start, end, NOV24 * S)


def test_time_range_allows_exactly_the_maximum_span() -> None:
    assert time_range(str(NOV24 - 400 * 86400), str(NOV24), 0)[0] == (NOV24 - 400 * 86400) * S


def test_numbers() -> None:
    assert parse_number(None, "x", 1.5, 0, 10) == 1.5
    assert parse_number("", "x", 1.5, 0, 10) == 1.5
    assert parse_number("2.25", "x", 1.5, 0, 10) == 2.25
    assert parse_number("10", "x", 1.5, 0, 10) == 10.0
    for bad in ("ten", "nan", "inf", "10.01", "-0.5"):
        with pytest.raises(BadRequest, match="x"):
            parse_number(bad, "x", 1.5, 0, 10)


def test_ints() -> None:
    assert parse_int(None, "limit", 100, 1, 1000) == 100
    assert parse_int(" 7 ", "limit", 100, 1, 1000) == 7
    for bad in ("0", "1001", "1.5", "1e3", "x"):
        with pytest.raises(BadRequest, match="limit"):
            parse_int(bad, "limit", 100, 1, 1000)


def test_names() -> None:
    assert parse_exchange(None) is None
    assert parse_exchange("Kraken") == "kraken"
    assert parse_exchange("crypto_com-2") == "crypto_com-2"
    assert parse_asset("usdt", "quote") == "USDT"
    assert parse_asset("", "quote") is None
    assert parse_choice(None, "resolution", ("raw", "1m"), "raw") == "raw"
    assert parse_choice("1m", "resolution", ("raw", "1m"), "raw") == "1m"
    for bad in ("kra ken", "k'raken", "a" * 33, "kraken;drop"):
        with pytest.raises(BadRequest, match="exchange"):
            parse_exchange(bad)
    for bad in ("US-D", "U$D", "A" * 17):
        with pytest.raises(BadRequest, match="quote"):
            parse_asset(bad, "quote")
    with pytest.raises(BadRequest, match="one of raw, 1m"):
        parse_choice("1M", "resolution", ("raw", "1m"), "raw")


# Python's int(), float() or Decimal() take all of these; the API takes none.
PYTHON_ONLY = ["1_000", "١٢", "１２", "१२", "0x10", "0o17", "0b1", "nan", "NaN", "inf", "-inf",
               "infinity", "Infinity", "sNaN", "1e999", "-1e999", "1E+999999999",
               "1e999999999999999999999999", "²", "½", "1e", ".", "+", "--1"]


@pytest.mark.parametrize("raw", PYTHON_ONLY)
def test_numbers_refuse_what_only_python_reads(raw: str) -> None:
    with pytest.raises(BadRequest, match="min_net_pct"):
        parse_number(raw, "min_net_pct", 0.0, -100.0, 1000.0)
    with pytest.raises(BadRequest, match="limit"):
        parse_int(raw, "limit", 100, 1, 1000)


@pytest.mark.parametrize("raw", PYTHON_ONLY + ["1e-999999999", "9" * 5000])
def test_times_refuse_what_only_python_reads(raw: str) -> None:
    with pytest.raises(BadRequest, match="end"):
        parse_time(raw, "end")


@pytest.mark.parametrize(("raw", "value"), [
    ("-0.5", -0.5), (".5", 0.5), ("5.", 5.0), ("+1e2", 100.0), ("1E-3", 0.001),
    ("1e-400", 0.0),  # in range: the nearest float, as float() reads it
    ("-100", -100.0), ("1000.000", 1000.0), (" \t7\n", 7.0), ("0." + "0" * 90 + "1", 1e-91),
])
def test_decimal_spellings(raw: str, value: float) -> None:
    assert parse_number(raw, "x", 1.0, -100.0, 1000.0) == value


def test_ints_take_a_sign_and_leading_zeros_only() -> None:
    assert parse_int("+7", "limit", 1, 1, 1000) == 7
    assert parse_int("007", "limit", 1, 1, 1000) == 7
    assert parse_int("\t12 ", "limit", 1, 1, 1000) == 12
    with pytest.raises(BadRequest, match="limit must be between 1 and 1000"):
        parse_int("9" * 100, "limit", 1, 1, 1000)
    with pytest.raises(BadRequest, match="limit may be at most 100 characters"):
        parse_int("9" * 101, "limit", 1, 1, 1000)


def test_times_near_the_bounds_and_iso_in_other_digits() -> None:
    assert parse_time("946684800") == 946_684_800 * S
    with pytest.raises(BadRequest, match="between 2000-01-01 and 2100-01-01"):
        parse_time("4102444800.000000001")
    with pytest.raises(BadRequest, match="ISO 8601"):
        parse_time("٢٠٢٦-١١-٢٤")


def test_names_must_be_ascii_before_case_folding() -> None:
    with pytest.raises(BadRequest, match="exchange"):
        parse_exchange("\u212araken")  # KELVIN SIGN lower-cases to k
    with pytest.raises(BadRequest, match="quote"):
        parse_asset("uß", "quote")  # upper-cases to USS
    assert parse_symbol("btc-usd", lambda: []) == "BTC-USD"
    assert parse_symbol("ßTC-USD", lambda: ["ßTC-USD"]) == "ßTC-USD"  # known: taken as it is
    with pytest.raises(BadRequest, match="symbol"):
        parse_symbol("ßTC-USD", lambda: [])


def test_a_key_given_twice_is_refused() -> None:
    app = Flask(__name__)
    with app.test_request_context("/?limit=5&limit=9"), pytest.raises(BadRequest,
                                                                       match="limit is given 2"):
        int_arg("limit", OPEN_LIMIT)
    with app.test_request_context("/?limit=&limit="), pytest.raises(BadRequest, match="limit"):
        int_arg("limit", OPEN_LIMIT)
    with app.test_request_context("/?limit=+5"):
        assert int_arg("limit", OPEN_LIMIT) == 5  # a `+` in a query string is a space
    with app.test_request_context("/?limit=%2B5&other=1&other=2"):
        assert int_arg("limit", OPEN_LIMIT) == 5  # keys nobody reads may repeat


def test_report_ids() -> None:
    assert parse_report_id("daily-2026-11-24") == "daily-2026-11-24"
    assert parse_report_id("hourly-1999-01-01T00") == "hourly-1999-01-01T00"  # may be stored
    for bad in ("weekly-2026-11-24", "daily-2026-02-30", "daily-٢٠٢٦-11-24", "hourly-9999-12-31T23",
                "daily-1677-09-21", "x" * 101, ""):
        with pytest.raises(BadRequest, match="rid|report id"):
            parse_report_id(bad)
