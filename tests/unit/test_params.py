"""Query-parameter parsing: both time forms to the exact ns, ranges and every refusal."""

from __future__ import annotations

import pytest

from web.params import (
    BadRequest,
    parse_asset,
    parse_choice,
    parse_exchange,
    parse_int,
    parse_number,
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
