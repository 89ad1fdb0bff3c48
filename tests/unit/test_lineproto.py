"""Line protocol: escaping, and agreement with influxdb-client's Point."""

from __future__ import annotations

import pytest
from influxdb_client import Point, WritePrecision

from core.lineproto import (
    MAX_PLAIN_FIELD,
    feed_event_line,
    feed_stats_line,
    make_line,
    opportunity_line,
    quote_line,
    quote_lines,
    report_line,
    report_text,
)
from core.types import Quote

pytestmark = pytest.mark.unit


def test_quote_line_uses_exchange_time_and_all_fields() -> None:
    quote = Quote("kraken", "BTC-USD", 64010.1, 0.5, 64010.2, 1.25, 64010.15, 17, 99)
    assert quote_line(quote) == (
        "quotes,exchange=kraken,symbol=BTC-USD "
        "bid=64010.1,ask=64010.2,bid_size=0.5,ask_size=1.25,last=64010.15 17"
    )


def test_quote_line_without_last_or_exchange_time() -> None:
    quote = Quote("binance", "BTC-USDT", 1.0, 2.0, 3.0, 4.0, None, None, 42)
    line = quote_line(quote)
    assert "last=" not in line and line.endswith(" 42")


def test_integers_are_written_as_floats() -> None:
    # InfluxDB rejects a field whose type changes: 64000 must go out as a float like 64000.5.
    quote = Quote("bitstamp", "BTC-USD", 64000, 1, 64001, 2, 64000, 5, 6)
    assert "bid=64000.0," in quote_line(quote) and "last=64000.0" in quote_line(quote)


@pytest.mark.parametrize(
    ("tags", "fields"),
    [
        ({"exchange": "a b", "symbol": "x,y=z"}, {"bid": 1.5, "note": 'say "hi"\\'}),
        ({"exchange": "kraken"}, {"count": 3, "ok": True, "reason": "closed by server"}),
    ],
)
def test_make_line_matches_influxdb_client_point(tags: dict[str, str], fields: dict) -> None:
    point = Point("feed events")
    for key, value in sorted(tags.items()):
        point.tag(key, value)
    for key, value in fields.items():
        point.field(key, value)
    point.time(1767225600123456789, WritePrecision.NS)
    assert make_line("feed events", tags, fields, 1767225600123456789) == point.to_line_protocol()


def test_make_line_needs_a_field() -> None:
    with pytest.raises(ValueError):
        make_line("m", {"a": "b"}, {"x": None}, 1)


def test_quote_lines_joins_with_newlines() -> None:
    quotes = [Quote("a", "BTC-USD", 1.0, 1.0, 2.0, 1.0, None, None, i) for i in range(3)]
    assert quote_lines(quotes).count("\n") == 2


def test_opportunity_line_is_stamped_at_its_opening_with_its_duration() -> None:
    line = opportunity_line({
        "symbol": "BTC-USD", "buy_exchange": "kraken", "sell_exchange": "coin base",
        "peak_net_pct": 0.5, "mean_net_pct": 0.25, "max_size": 2, "max_profit": 10,
        "opened_ns": 1_000_000_000, "closed_ns": 3_500_000_000,
    })
    assert line == (
        r"opportunities,buy_exchange=kraken,sell_exchange=coin\ base,symbol=BTC-USD "
        "peak_net_pct=0.5,mean_net_pct=0.25,duration_s=2.5,max_size=2.0,max_profit=10.0 "
        "1000000000"
    )


def test_feed_event_and_stats_lines() -> None:
    assert feed_event_line({"exchange": "okx", "event": "connect", "ts_ns": 5}) == (
        'feed_events,event=connect,exchange=okx reason="",count=1i 5'
    )
    assert feed_stats_line({"exchange": "okx", "messages": 7, "quotes": 3, "ts_ns": 6}) == (
        "feed_stats,exchange=okx messages=7i,quotes=3i,samples=0i 6"
    )


def test_report_line_keeps_a_small_report_plain() -> None:
    text = '{"id":"hourly-2026-01-01T00","n":1}'
    line = report_line("hourly-2026-01-01T00", "hourly", text, 1767225600000000000)
    assert line == (
        'reports,period=hourly id="hourly-2026-01-01T00",'
        'report="{\\"id\\":\\"hourly-2026-01-01T00\\",\\"n\\":1}" 1767225600000000000'
    )
    assert report_text({"report": text, "report_z": None}) == text


def test_report_line_compresses_a_large_report() -> None:
    text = '{"x":"' + "é" * MAX_PLAIN_FIELD + '"}'
    line = report_line("daily-2026-01-01", "daily", text, 1)
    assert ",report=" not in line
    stored = line.split("report_z=", 1)[1].rsplit(" ", 1)[0].strip('"')
    assert report_text({"report": None, "report_z": stored}) == text.encode()
    assert report_text({"report": None, "report_z": None}) is None
