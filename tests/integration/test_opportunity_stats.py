"""Per-venue-pair history of closed opportunities, from points written to the real InfluxDB
(through the storage task's own line builder); every expected figure is worked out by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from core.history import opportunity_stats
from core.influx import InfluxDB
from core.lineproto import opportunity_line
from core.state import RedisState
from tests.support.apps import app_with

pytestmark = pytest.mark.integration

S = 1_000_000_000
MS = 1_000_000
EDGES: list[float | None] = [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, None]


@dataclass(frozen=True)
class Seed:
    influx: InfluxDB
    state: RedisState
    t0_ns: int  # every point in range is opened at t0 + a few seconds


def point(symbol: str, buy: str, sell: str, opened_ns: int, duration_ns: int, peak: float,
          profit: float) -> str:
    return opportunity_line({
        "symbol": symbol, "buy_exchange": buy, "sell_exchange": sell,
        "opened_ns": opened_ns, "closed_ns": opened_ns + duration_ns,
        "peak_net_pct": peak, "mean_net_pct": peak / 2, "max_size": 1.0, "max_profit": profit,
    })


@pytest.fixture(scope="module")
def seed(settings: Settings) -> Iterator[Seed]:
    influx = InfluxDB(settings.influxdb_url, f"{settings.influxdb_db}_stats")
    influx.ensure_database()
    state = RedisState.from_url(settings.redis_url, f"{settings.key_prefix}stats:")
    state.clear()
    t0 = time.time_ns() - 1800 * S
    kb, bk = ("kraken", "binance"), ("binance", "kraken")
    influx.write_lines([
        # kraken → binance: five in range over three symbols.
        point("BTC-USD", *kb, t0 + 1 * S, 50 * MS, 1.0, 10.0),
        point("BTC-USD", *kb, t0 + 2 * S, 300 * MS, 2.0, 20.0),
        point("BTC-USD", *kb, t0 + 3 * S, 1500 * MS, 3.0, 30.0),
        point("ETH-USD", *kb, t0 + 4 * S, 7 * S, 0.5, 4.0),
        point("BTC-USDT", *kb, t0 + 5 * S, 45 * S, 1.5, 6.0),
        # binance → kraken: two; 0.1 s sits on a bucket edge and counts in [0.1, 0.5).
        point("BTC-USD", *bk, t0 + 6 * S, 100 * MS, 0.4, 0.5),
        point("BTC-USD", *bk, t0 + 7 * S, 120 * S, 0.2, 1.5),
        # Before the range the tests ask for: never counted.
        point("BTC-USD", *kb, t0 - 10 * S, 9 * S, 9.0, 900.0),
    ])
    yield Seed(influx, state, t0)
    influx.drop_database()
    influx.close()
    state.clear()


def histogram(*counts: int) -> list[dict[str, Any]]:
    return [{"lt_s": edge, "count": n} for edge, n in zip(EDGES, counts, strict=True)]


# kraken → binance, all symbols. Durations sorted: 0.05, 0.3, 1.5, 7, 45. InfluxDB's
# percentile() is nearest-rank, index floor(n × p / 100 + 0.5) − 1: p50 → index 2 (1.5 s),
# p90 → index 4 (45 s). Mean peak (1 + 2 + 3 + 0.5 + 1.5) / 5 = 1.6. Profit: USD 10 + 20 + 30
# + 4 = 64, USDT 6 (different currencies, never added together).
KRAKEN_BINANCE = {
    "buy_exchange": "kraken", "sell_exchange": "binance", "count": 5,
    "duration_p50_s": 1.5, "duration_p90_s": 45.0, "duration_max_s": 45.0,
    "mean_peak_net_pct": 1.6, "total_profit": {"USD": 64.0, "USDT": 6.0},
    "duration_histogram": histogram(1, 1, 0, 1, 0, 1, 0, 1, 0),
}
# binance → kraken: durations 0.1, 120: p50 → index floor(1.5) − 1 = 0 (0.1 s), p90 → index
# floor(2.3) − 1 = 1 (120 s). Mean peak (0.4 + 0.2) / 2 = 0.3; profit 0.5 + 1.5 = 2 USD.
BINANCE_KRAKEN = {
    "buy_exchange": "binance", "sell_exchange": "kraken", "count": 2,
    "duration_p50_s": 0.1, "duration_p90_s": 120.0, "duration_max_s": 120.0,
    "mean_peak_net_pct": 0.3, "total_profit": {"USD": 2.0},
    "duration_histogram": histogram(0, 1, 0, 0, 0, 0, 0, 0, 1),
}


def same(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(actual) == set(expected)
    for key, value in expected.items():
        if isinstance(value, float):
            assert actual[key] == pytest.approx(value), key
        elif isinstance(value, dict):
            assert actual[key] == pytest.approx(value), key
        else:
            assert actual[key] == value, key


def test_stats_per_venue_pair_most_frequent_first(seed: Seed) -> None:
    rows = opportunity_stats(seed.influx, None, seed.t0_ns, seed.t0_ns + 600 * S)
    assert [(r["buy_exchange"], r["sell_exchange"]) for r in rows] == [
        ("kraken", "binance"), ("binance", "kraken")]
    same(rows[0], KRAKEN_BINANCE)
    same(rows[1], BINANCE_KRAKEN)
    # Every closed opportunity lands in exactly one bucket.
    for row in rows:
        assert sum(b["count"] for b in row["duration_histogram"]) == row["count"]


def test_stats_of_one_symbol(seed: Seed) -> None:
    rows = opportunity_stats(seed.influx, "BTC-USD", seed.t0_ns, seed.t0_ns + 600 * S)
    # kraken → binance BTC-USD only: 0.05, 0.3, 1.5 → p50 index floor(2) − 1 = 1 (0.3 s),
    # p90 index floor(3.2) − 1 = 2 (1.5 s); mean peak 2; profit 60 USD.
    same(rows[0], {
        **KRAKEN_BINANCE, "count": 3, "duration_p50_s": 0.3, "duration_p90_s": 1.5,
        "duration_max_s": 1.5, "mean_peak_net_pct": 2.0, "total_profit": {"USD": 60.0},
        "duration_histogram": histogram(1, 1, 0, 1, 0, 0, 0, 0, 0),
    })
    same(rows[1], BINANCE_KRAKEN)


def test_the_range_start_excludes_older_points(seed: Seed) -> None:
    rows = opportunity_stats(seed.influx, None, seed.t0_ns - 60 * S, seed.t0_ns + 600 * S)
    # The point 10 s before t0 joins kraken → binance: 6 points, max 45 s, profit 964 USD.
    assert rows[0]["count"] == 6
    assert rows[0]["total_profit"] == pytest.approx({"USD": 964.0, "USDT": 6.0})
    assert opportunity_stats(seed.influx, None, seed.t0_ns + 8 * S, seed.t0_ns + 600 * S) == []


def test_no_database_reads_as_no_history(settings: Settings) -> None:
    empty = InfluxDB(settings.influxdb_url, f"{settings.influxdb_db}_nostats")
    assert opportunity_stats(empty, None, 0, 10 * S) == []


@pytest.fixture
def client(settings: Settings, seed: Seed) -> FlaskClient:
    return app_with(key_prefix=seed.state.prefix, influxdb_db=seed.influx.database).test_client()


def secs(ns: int) -> str:
    """ns as exact unix seconds (a float would round away the last digits)."""
    return f"{ns // S}.{ns % S:09d}"


def test_api_returns_the_stats_with_its_range(client: FlaskClient, seed: Seed) -> None:
    start, end = seed.t0_ns, seed.t0_ns + 600 * S
    response = client.get(f"/api/opportunities/stats?start={secs(start)}&end={secs(end)}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["start_ns"] == start and body["end_ns"] == end and body["symbol"] is None
    assert body["duration_edges_s"] == [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0]
    same(body["pairs"][0], KRAKEN_BINANCE)
    same(body["pairs"][1], BINANCE_KRAKEN)


def test_api_default_range_is_the_last_hour(client: FlaskClient, seed: Seed) -> None:
    # The points were opened 30 min ago: inside the default hour.
    body = client.get("/api/opportunities/stats").get_json()
    assert [p["count"] for p in body["pairs"]] == [6, 2]
    body = client.get("/api/opportunities/stats?symbol=btc-usdt").get_json()
    assert body["symbol"] == "BTC-USDT"
    assert [(p["buy_exchange"], p["count"]) for p in body["pairs"]] == [("kraken", 1)]


@pytest.mark.parametrize(("query", "status", "fragment"), [
    ("start=yesterday", 400, "start must be unix seconds or ISO 8601"),
    ("start=1700000100&end=1700000000", 400, "start must be before end"),
    ("end=99", 400, "end must be between"),
    ("symbol=BTC%2FUSD", 400, "symbol must look like BTC-USD"),
    ("symbol=NOPE-USD", 404, "unknown symbol NOPE-USD"),
])
def test_api_bad_parameters_answer_json(
    client: FlaskClient, query: str, status: int, fragment: str
) -> None:
    response = client.get(f"/api/opportunities/stats?{query}")
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert fragment in response.get_json()["error"]
