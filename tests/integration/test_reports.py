"""Reports: seeded opportunities, feed events and quotes → hand-checked figures; storage,
downloads, the page, the webhook, housekeeping and an on-demand report through a real worker."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from kombu import Connection

from core import report_csv
from core import reports as rep
from core.config import Settings, get_settings
from core.influx import InfluxDB
from core.lineproto import feed_stats_line, make_line
from core.state import RedisState
from core.types import Quote
from tests.support.apps import app_with
from tests.support.procs import VENV_BIN, celery_worker, free_port, wait_for
from tests.support.stores import recent_report_ids

pytestmark = pytest.mark.integration

S = 1_000_000_000
M = 60 * S


def opp(symbol: str, buy: str, sell: str, ts: int, dur: float, peak: float, mean: float,
        profit: float) -> str:
    tags = {"symbol": symbol, "buy_exchange": buy, "sell_exchange": sell}
    return make_line("opportunities", tags,
                     {"peak_net_pct": peak, "mean_net_pct": mean, "duration_s": dur,
                      "max_size": 1.0, "max_profit": profit}, ts)


def event(exchange: str, kind: str, ts: int) -> str:
    return make_line("feed_events", {"exchange": exchange, "event": kind},
                     {"reason": "test", "count": 1}, ts)


def stats(exchange: str, ts: int, messages: int, age_s: float, samples: int) -> str:
    return feed_stats_line({"exchange": exchange, "ts_ns": ts, "messages": messages,
                            "quotes": messages, "mean_quote_age_s": age_s, "samples": samples})


def quote(exchange: str, symbol: str, ts: int) -> str:
    return make_line("quotes", {"exchange": exchange, "symbol": symbol},
                     {"bid": 10.0, "ask": 11.0, "bid_size": 1.0, "ask_size": 1.0}, ts)


@pytest.fixture(scope="module")
def period(influx: InfluxDB) -> tuple[datetime, datetime]:
    """An hour 5 h ago seeded with opportunities, feed events and raw quotes."""
    start = (datetime.now(UTC) - timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    h = rep.to_ns(start)
    influx.write_lines([
        # RPT-USD rpa→rpb: 3 opportunities, durations 10/30/20, means 0.25/0.5/0.75
        opp("RPT-USD", "rpa", "rpb", h + 10 * M, 10.0, 0.5, 0.25, 4.0),
        opp("RPT-USD", "rpa", "rpb", h + 20 * M, 30.0, 1.0, 0.5, 6.0),
        opp("RPT-USD", "rpa", "rpb", h + 30 * M, 20.0, 0.25, 0.75, 2.0),
        # RPT-USD rpb→rpa: one, but the most profitable → best pair
        opp("RPT-USD", "rpb", "rpa", h + 40 * M, 5.0, 0.1, 0.05, 20.0),
        # outside [start, end): never counted
        opp("RPT-USD", "rpa", "rpb", h - S, 99.0, 9.0, 9.0, 99.0),
        opp("RPT-USD", "rpa", "rpb", h + 60 * M, 99.0, 9.0, 9.0, 99.0),
        # rpa: up since before the period, down 3 min → 95 %
        event("rpa", "connect", h - 10 * M),
        event("rpa", "disconnect", h + 15 * M),
        event("rpa", "connect", h + 18 * M),
        # rpb: first connect half way → 50 %; rpc: down since before → 0 %
        event("rpb", "connect", h + 30 * M),
        event("rpc", "disconnect", h - 5 * M),
        # rpa quotes: minute 0 three of RPT-USD, minute 1 two of RPT-USD and one of RPT2-USD
        quote("rpa", "RPT-USD", h + 1 * S), quote("rpa", "RPT-USD", h + 2 * S),
        quote("rpa", "RPT-USD", h + 3 * S), quote("rpa", "RPT-USD", h + M + 1 * S),
        quote("rpa", "RPT-USD", h + M + 2 * S), quote("rpa", "RPT2-USD", h + M + 5 * S),
        # rpa feed stats: 100 + 300 messages; ages 0.5 s over 60 samples and 1.5 s over 20
        # → sample-weighted mean (30 + 30) / 80 = 0.75 s. One minute outside is ignored.
        stats("rpa", h + 5 * M, 100, 0.5, 60), stats("rpa", h + 6 * M, 300, 1.5, 20),
        stats("rpa", h + 61 * M, 999, 9.0, 60),
    ])
    return start, start + timedelta(hours=1)


class Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", free_port()), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Hook.received.clear()
    yield f"http://127.0.0.1:{server.server_port}/hook?token=secret"
    server.shutdown()


@pytest.fixture
def report(period: tuple[datetime, datetime], state: RedisState, webhook: str,
           monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The hourly report of the seeded period, made by the task code, posted to the webhook."""
    from tasks.reports import make_report

    monkeypatch.setattr("tasks.reports.settings",
                        lambda: replace(get_settings(), report_webhook_url=webhook))
    start, end = period
    return make_report("hourly", rep.iso(start), rep.iso(end))


def test_report_has_hand_checked_figures(report: dict[str, Any],
                                         period: tuple[datetime, datetime]) -> None:
    start, end = period
    assert report["id"] == f"hourly-{start:%Y-%m-%dT%H}"
    assert (report["start"], report["end"]) == (rep.iso(start), rep.iso(end))
    pairs = {(p["symbol"], p["buy_exchange"], p["sell_exchange"]): p for p in report["pairs"]}
    assert pairs[("RPT-USD", "rpa", "rpb")] == {
        "symbol": "RPT-USD", "buy_exchange": "rpa", "sell_exchange": "rpb", "opportunities": 3,
        "total_duration_s": 60.0, "median_duration_s": 20.0, "peak_net_pct": 1.0,
        "mean_net_pct": 0.5, "total_profit": 12.0,
    }
    assert pairs[("RPT-USD", "rpb", "rpa")]["opportunities"] == 1
    assert pairs[("RPT-USD", "rpb", "rpa")]["total_profit"] == 20.0
    assert [(p["buy_exchange"], p["sell_exchange"]) for p in report["best_pairs"][:2]] == [
        ("rpb", "rpa"), ("rpa", "rpb")]
    assert report["summary"]["opportunities"] == 4
    assert report["summary"]["total_profit"] == 32.0
    assert report["summary"]["best_pair"] == "RPT-USD rpb→rpa"

    venues = {v["exchange"]: v for v in report["venues"]}
    assert venues["rpa"]["uptime_pct"] == pytest.approx(95.0)
    assert (venues["rpa"]["connects"], venues["rpa"]["reconnects"]) == (1, 1)
    assert venues["rpb"]["uptime_pct"] == pytest.approx(50.0)
    assert (venues["rpb"]["connects"], venues["rpb"]["reconnects"]) == (1, 0)
    assert venues["rpc"]["uptime_pct"] == 0.0
    assert venues["rpa"]["quotes"] == 6
    assert venues["rpa"]["active_minutes_pct"] == pytest.approx(100 * 2 / 60)
    assert venues["rpa"]["mean_quote_interval_s"] == pytest.approx(30.0)  # 3 symbol-minutes
    assert venues["rpb"]["quotes"] == 0 and venues["rpb"]["mean_quote_interval_s"] is None
    assert venues["rpa"]["messages"] == 400
    assert venues["rpa"]["mean_quote_age_s"] == pytest.approx(0.75)
    assert venues["rpb"]["messages"] is None and venues["rpb"]["mean_quote_age_s"] is None


def test_report_is_stored_and_posted(report: dict[str, Any], influx: InfluxDB,
                                     state: RedisState) -> None:
    assert rep.latest_report(state, "hourly") == report
    assert rep.recent_reports(state)[0]["id"] == report["id"]
    wait_for(lambda: bool(Hook.received), 5, "the webhook POST")
    assert Hook.received[0]["id"] == report["id"]
    # Forget Redis: the report still loads from InfluxDB.
    state.clear()
    assert rep.load_report(influx, state, report["id"]) == report
    assert rep.load_report(influx, state, "hourly-1999-01-01T00") is None


def test_downloads_and_page(report: dict[str, Any], state: RedisState) -> None:

    client = app_with().test_client()
    listing = client.get("/api/reports").get_json()
    assert listing["reports"][0]["id"] == report["id"]
    assert listing["reports"][0]["opportunities"] == 4

    resp = client.get(f"/api/reports/{report['id']}.json")
    assert resp.status_code == 200
    assert json.loads(resp.data) == report

    resp = client.get(f"/api/reports/{report['id']}.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.data.decode())))
    assert tuple(rows[0]) == report_csv.COLUMNS
    pair_rows = [r for r in rows if r["section"] == "pair"]
    assert [(r["buy_exchange"], r["opportunities"], r["total_profit"]) for r in pair_rows] == [
        ("rpb", "1", "20.0"), ("rpa", "3", "12.0")]
    venue = next(r for r in rows if r["section"] == "venue" and r["exchange"] == "rpa")
    assert float(venue["uptime_pct"]) == pytest.approx(95.0) and venue["quotes"] == "6"

    missing = client.get("/api/reports/hourly-1999-01-01T00.csv")
    assert missing.status_code == 404 and "error" in missing.get_json()
    bad = client.get("/api/reports/weekly-nonsense.json")
    assert bad.status_code == 400 and "error" in bad.get_json()

    page = client.get("/reports")
    assert page.status_code == 200
    html = page.data.decode()
    assert report["id"] in html and "js/reports.js" in html and "uPlot.iife.min.js" in html
    assert "<script>" not in html  # no inline scripts (CSP)


def test_housekeeping_removes_stale_entries_and_applies_policies(
    influx: InfluxDB, state: RedisState
) -> None:
    from tasks.reports import housekeeping

    now = time.time_ns()
    fresh = Quote("hka", "HK-USD", 1.0, 1.0, 2.0, 1.0, None, None, now)
    stale = Quote("hkb", "HK-USD", 1.0, 1.0, 2.0, 1.0, None, None, now - 2 * 3600 * S)
    gone = Quote("hkb", "HKOLD-USD", 1.0, 1.0, 2.0, 1.0, None, None, now - 2 * 3600 * S)
    state.update_quotes([fresh, stale, gone])
    state.set_feed_status("hka", {"state": "connected", "updated_ns": now})
    state.set_feed_status("hkb", {"state": "stopped", "updated_ns": now - 2 * 86400 * S})

    assert housekeeping.run() == {"quotes": 2, "feeds": 1}
    assert set(state.quotes_for("HK-USD")) == {"hka"}
    assert "HKOLD-USD" not in state.symbols() and "HK-USD" in state.symbols()
    assert state.feed_status("hka") and not state.feed_status("hkb")
    policies = {row["name"]: row for row in influx.query_points("SHOW RETENTION POLICIES")}
    assert policies["raw"]["default"] is True and policies["long"]["duration"] == "0s"


def test_celery_call_makes_a_report_on_demand(settings: Settings, influx: InfluxDB,
                                              state: RedisState) -> None:
    from celeryconfig import REPORTS_QUEUE

    worker = celery_worker([REPORTS_QUEUE], f"rep-{settings.queue_prefix}")
    try:
        before = rep.previous_period("hourly", datetime.now(UTC))
        subprocess.run([str(VENV_BIN / "celery"), "-A", "tasks", "call",
                        "tasks.reports.hourly_report"], check=True, capture_output=True,
                       timeout=60)
        after = rep.previous_period("hourly", datetime.now(UTC))
        wanted = {rep.report_id("hourly", before[0]), rep.report_id("hourly", after[0])}
        wait_for(lambda: bool(wanted & set(recent_report_ids(state))), 60,
                 "the on-demand hourly report")
        latest = rep.latest_report(state, "hourly")
        assert latest is not None and latest["id"] in wanted
    finally:
        worker.stop()
        with Connection(settings.broker_url) as conn:
            conn.channel().queue_delete(REPORTS_QUEUE)
