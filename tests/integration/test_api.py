"""The JSON API's happy paths and filters, through the Flask test client, against the real Redis
and InfluxDB holding seeded data; every expected value is worked out by hand in the comments."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.config import Settings
from core.influx import InfluxDB
from core.lineproto import opportunity_line, quote_lines
from core.state import RedisState
from core.types import Opportunity, Quote
from tests.support.apps import app_with

pytestmark = pytest.mark.integration

S = 1_000_000_000
HOSTILE = "<img src=x onerror=alert(1)>"


@dataclass(frozen=True)
class Seed:
    """Where the module's data lives and the times it was stamped with."""

    state: RedisState
    influx: InfluxDB
    now_ns: int  # when the current state was written
    t0_ns: int  # an hour boundary two days back: the fixed history lives after it


def q(
    exchange: str, symbol: str, bid: float, ask: float, ts_ns: int, received_ns: int = 0
) -> Quote:
    """A quote with sizes 1/2 and last = bid, stamped by the venue at `ts_ns`."""
    return Quote(exchange, symbol, bid, 1.0, ask, 2.0, bid, ts_ns, received_ns or ts_ns)


@pytest.fixture(scope="module")
def seed(settings: Settings) -> Iterator[Seed]:
    """Redis state under a prefix of this module's own and an InfluxDB database of its own."""
    state = RedisState.from_url(settings.redis_url, f"{settings.key_prefix}api:")
    state.clear()
    influx = InfluxDB(settings.influxdb_url, f"{settings.influxdb_db}_api")
    influx.ensure_database()
    now = time.time_ns()
    t0 = (now // (3600 * S)) * 3600 * S - 2 * 86400 * S

    # Current state: BTC-USD kraken fresh (mid 106), binance a minute old (mid 100, stale);
    # ETH-USD kraken (mid 11); ETH-USDT okx.
    state.update_quotes([
        q("kraken", "BTC-USD", 105.0, 107.0, now - 2 * S, now),
        q("binance", "BTC-USD", 99.0, 101.0, now - 61 * S, now - 60 * S),
        q("kraken", "ETH-USD", 10.0, 12.0, now, now),
        q("okx", "ETH-USDT", 9.0, 9.5, now, now),
    ])
    # Open opportunities; best first is SOL 1.2, BTC kraken->binance 0.8, ETH-USDT 0.5, BTC -0.2.
    for opp in (
        Opportunity("BTC-USD", "kraken", "binance", 100.0, 101.5, 0.5, 1.5, 0.8, 0.4),
        Opportunity("ETH-USDT", "binance", "okx", 9.0, 9.1, 2.0, 1.1, 0.5, 0.09),
        Opportunity("BTC-USD", "okx", "kraken", 100.0, 100.3, 1.0, 0.3, -0.2, -0.2),
        Opportunity("SOL-USD", "bybit", "okx", 20.0, 20.5, 3.0, 2.5, 1.2, 0.72),
    ):
        state.upsert_opportunity(opp, now)
    state.set_feed_status("kraken", {"state": "connected", "symbols": "BTC-USD,ETH-USD,SOL-USD",
                                     "updated_ns": now})
    state.set_feed_status("binance", {"state": "connected", "symbols": "BTC-USD",
                                      "updated_ns": now})

    history = [
        # Fixed history of BTC-USD after t0, used by /api/history.
        q("kraken", "BTC-USD", 100.0, 102.0, t0),
        q("kraken", "BTC-USD", 104.0, 106.0, t0 + 30 * S),
        q("kraken", "BTC-USD", 110.0, 112.0, t0 + 90 * S),
        q("binance", "BTC-USD", 200.0, 202.0, t0 + 10 * S),
        q("binance", "BTC-USD", 300.0, 302.0, t0 + 70 * S),
        q("kraken", "ETH-USD", 10.0, 11.0, t0 + 5 * S),
        # Recent: one BTC-USD point in the default last hour.
        q("kraken", "BTC-USD", 120.0, 122.0, now - 600 * S),
        # Around the change lookbacks (counted when at most 15 min before them):
        q("kraken", "BTC-USD", 99.0, 101.0, now - 3600 * S - 60 * S),  # 1 h ago: mid 100
        q("binance", "BTC-USD", 79.0, 81.0, now - 3600 * S - 1200 * S),  # 20 min too old
        q("kraken", "BTC-USD", 52.0, 54.0, now - 86400 * S - 300 * S),  # 24 h ago: mid 53
        q("binance", "BTC-USD", 49.0, 51.0, now - 86400 * S - 60 * S),  # 24 h ago: mid 50
        q("kraken", "ETH-USD", 21.0, 23.0, now - 7 * 86400 * S - S),  # 7 d ago: mid 22
    ]
    # CAP-USD exists in InfluxDB only: 5,003 raw points 1 ms apart, more than one answer holds.
    history += [q("kraken", "CAP-USD", 1.0 + i, 2.0 + i, t0 + i * 1_000_000) for i in range(5003)]
    influx.write_lines([quote_lines(history)])
    influx.write_lines([
        opportunity_line({
            "symbol": "BTC-USD", "buy_exchange": "kraken", "sell_exchange": "binance",
            "opened_ns": t0 + 100 * S, "closed_ns": t0 + 112 * S + S // 2,
            "peak_net_pct": 0.9, "mean_net_pct": 0.5, "max_size": 1.5, "max_profit": 3.0,
        }),
        opportunity_line({
            "symbol": "ETH-USD", "buy_exchange": "binance", "sell_exchange": "kraken",
            "opened_ns": t0 + 200 * S, "closed_ns": t0 + 201 * S,
            "peak_net_pct": 0.4, "mean_net_pct": 0.3, "max_size": 2.0, "max_profit": 1.0,
        }),
    ])
    yield Seed(state, influx, now, t0)
    state.clear()
    influx.drop_database()
    influx.close()


def make_app(settings: Settings, seed: Seed, **overrides: Any) -> Flask:
    """An app reading this module's data (a fresh one per test: rates are kept per app)."""
    fields: dict[str, Any] = {
        "redis_url": settings.redis_url,
        "key_prefix": seed.state.prefix,
        "influxdb_url": settings.influxdb_url,
        "influxdb_db": seed.influx.database,
        "exchanges": ["kraken", "binance", "okx"],
        "taker_fees": {"binance": 0.00075},
        "max_quote_age_s": 5.0,
    }
    return app_with(**{**fields, **overrides})


@pytest.fixture
def client(settings: Settings, seed: Seed) -> FlaskClient:
    return make_app(settings, seed).test_client()


def get_json(client: FlaskClient, url: str, status: int = 200) -> Any:
    """GET `url`, check the status and that the answer is JSON, return the body."""
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def secs(ns: int) -> str:
    """ns as the unix-seconds query form."""
    return f"{ns / S:.9f}"


def iso(ns: int) -> str:
    """ns (whole seconds) as the ISO 8601 query form."""
    return datetime.fromtimestamp(ns // S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# /api/quotes


def test_quotes_every_symbol_with_age_and_stale(client: FlaskClient, seed: Seed) -> None:
    rows = get_json(client, "/api/quotes")["quotes"]
    # Symbols sorted, exchanges sorted within one.
    assert [(r["symbol"], r["exchange"]) for r in rows] == [
        ("BTC-USD", "binance"), ("BTC-USD", "kraken"), ("ETH-USD", "kraken"), ("ETH-USDT", "okx"),
    ]
    binance, kraken = rows[0], rows[1]
    assert kraken == {
        "exchange": "kraken", "symbol": "BTC-USD", "bid": 105.0, "bid_size": 1.0, "ask": 107.0,
        "ask_size": 2.0, "last": 105.0, "ts_exchange_ns": seed.now_ns - 2 * S,
        "ts_received_ns": seed.now_ns, "age_s": kraken["age_s"], "stale": False,
    }
    # Age counts from receipt: the test has taken well under the 5 s limit to get here.
    assert 0 <= kraken["age_s"] < 5
    assert binance["stale"] is True
    assert 60 <= binance["age_s"] < 65


def test_quotes_of_one_symbol(client: FlaskClient) -> None:
    rows = get_json(client, "/api/quotes?symbol=eth-usd")["quotes"]
    assert [(r["symbol"], r["exchange"], r["bid"], r["ask"]) for r in rows] == [
        ("ETH-USD", "kraken", 10.0, 12.0)
    ]


def test_quotes_of_a_symbol_that_is_not_base_quote(
    settings: Settings, seed: Seed, private_state: RedisState
) -> None:
    """A venue's odd market name is still found by its exact spelling (and kept as text)."""
    now = time.time_ns()
    private_state.update_quotes([q("kraken", HOSTILE, 1.0, 2.0, now)])
    app = make_app(settings, seed, key_prefix=private_state.prefix)
    response = app.test_client().get("/api/quotes", query_string={"symbol": HOSTILE})
    assert response.status_code == 200
    assert [r["symbol"] for r in response.get_json()["quotes"]] == [HOSTILE]


def test_history_of_hostile_symbols_is_quoted_not_injected(
    settings: Settings, seed: Seed, private_state: RedisState
) -> None:
    """Quote characters in a symbol stay inside the InfluxQL literal, both ways round."""
    now = time.time_ns()
    sneaky = "X' OR symbol='BTC-USD"
    private_state.update_quotes([
        q("kraken", HOSTILE, 1.0, 2.0, now), q("kraken", sneaky, 3.0, 4.0, now),
    ])
    seed.influx.write_lines([quote_lines([q("kraken", sneaky, 3.0, 4.0, now - 60 * S)])])
    client = make_app(settings, seed, key_prefix=private_state.prefix).test_client()
    response = client.get("/api/history", query_string={"symbol": sneaky})
    assert response.status_code == 200
    # Only the sneaky symbol's own point: the injected condition would have added BTC-USD's.
    assert response.get_json()["series"] == [
        {"exchange": "kraken", "points": [[now - 60 * S, 3.0, 4.0]]}
    ]
    response = client.get("/api/history", query_string={"symbol": HOSTILE})
    assert response.status_code == 200
    assert response.get_json()["series"] == []


# /api/opportunities


def test_opportunities_best_first_with_full_records(client: FlaskClient, seed: Seed) -> None:
    rows = get_json(client, "/api/opportunities")["opportunities"]
    assert [(r["symbol"], r["buy_exchange"], r["sell_exchange"]) for r in rows] == [
        ("SOL-USD", "bybit", "okx"), ("BTC-USD", "kraken", "binance"),
        ("ETH-USDT", "binance", "okx"), ("BTC-USD", "okx", "kraken"),
    ]
    assert rows[1] == {
        "symbol": "BTC-USD", "buy_exchange": "kraken", "sell_exchange": "binance",
        "buy_price": 100.0, "sell_price": 101.5, "size": 0.5, "gross_pct": 1.5, "net_pct": 0.8,
        "net_profit": 0.4, "peak_net_pct": 0.8, "max_size": 0.5, "max_profit": 0.4,
        "opened_ns": seed.now_ns, "updated_ns": seed.now_ns, "mean_net_pct": 0.8, "samples": 1,
        "fee_buy": 0.0, "fee_sell": 0.0, "walked": False, "notional": 0.0,
        "notional_net_pct": None, "notional_profit": None, "withdrawal_fee": None,
        "transfer_net_profit": None, "version": 0, "event_ns": seed.now_ns,
    }


@pytest.mark.parametrize(("query", "expected"), [
    ("symbol=BTC-USD", [("BTC-USD", "kraken", "binance"), ("BTC-USD", "okx", "kraken")]),
    # exchange matches the buying or the selling side.
    ("exchange=kraken", [("BTC-USD", "kraken", "binance"), ("BTC-USD", "okx", "kraken")]),
    ("exchange=OKX", [("SOL-USD", "bybit", "okx"), ("ETH-USDT", "binance", "okx"),
                      ("BTC-USD", "okx", "kraken")]),
    ("exchange=gemini", []),
    ("quote=usdt", [("ETH-USDT", "binance", "okx")]),
    ("quote=USD", [("SOL-USD", "bybit", "okx"), ("BTC-USD", "kraken", "binance"),
                   ("BTC-USD", "okx", "kraken")]),
    ("min_net_pct=0.5", [("SOL-USD", "bybit", "okx"), ("BTC-USD", "kraken", "binance"),
                         ("ETH-USDT", "binance", "okx")]),
    ("min_net_pct=-0.2", [("SOL-USD", "bybit", "okx"), ("BTC-USD", "kraken", "binance"),
                          ("ETH-USDT", "binance", "okx"), ("BTC-USD", "okx", "kraken")]),
    ("limit=2", [("SOL-USD", "bybit", "okx"), ("BTC-USD", "kraken", "binance")]),
    ("exchange=okx&quote=USD&min_net_pct=0&limit=5", [("SOL-USD", "bybit", "okx")]),
])
def test_opportunity_filters(client: FlaskClient, query: str, expected: list[tuple]) -> None:
    rows = get_json(client, "/api/opportunities?" + query)["opportunities"]
    assert [(r["symbol"], r["buy_exchange"], r["sell_exchange"]) for r in rows] == expected


# /api/opportunities/history


def test_closed_opportunities_of_a_symbol(client: FlaskClient, seed: Seed) -> None:
    url = f"/api/opportunities/history?symbol=BTC-USD&start={secs(seed.t0_ns)}" \
          f"&end={secs(seed.t0_ns + 3600 * S)}"
    assert get_json(client, url) == {"opportunities": [{
        "time_ns": seed.t0_ns + 100 * S, "symbol": "BTC-USD", "buy_exchange": "kraken",
        "sell_exchange": "binance", "peak_net_pct": 0.9, "mean_net_pct": 0.5,
        "duration_s": 12.5, "max_size": 1.5, "max_profit": 3.0,
    }]}


def test_closed_opportunities_newest_first_within_range(client: FlaskClient, seed: Seed) -> None:
    t0 = seed.t0_ns
    every = get_json(client, f"/api/opportunities/history?start={iso(t0)}&end={iso(t0 + 3600 * S)}")
    assert [r["symbol"] for r in every["opportunities"]] == ["ETH-USD", "BTC-USD"]
    # start is inclusive, end exclusive: [t0+100 s, t0+200 s) holds only the BTC one.
    window = get_json(client, f"/api/opportunities/history?start={secs(t0 + 100 * S)}"
                              f"&end={secs(t0 + 200 * S)}")
    assert [r["symbol"] for r in window["opportunities"]] == ["BTC-USD"]
    limited = get_json(client, f"/api/opportunities/history?start={secs(t0)}"
                               f"&end={secs(t0 + 3600 * S)}&limit=1")
    assert [r["symbol"] for r in limited["opportunities"]] == ["ETH-USD"]


def test_closed_opportunities_default_to_the_last_hour(client: FlaskClient) -> None:
    # Both seeded ones closed two days ago.
    assert get_json(client, "/api/opportunities/history") == {"opportunities": []}


# /api/history


def test_raw_history_per_exchange_oldest_first(client: FlaskClient, seed: Seed) -> None:
    t0 = seed.t0_ns
    body = get_json(client, f"/api/history?symbol=BTC-USD&start={secs(t0)}"
                            f"&end={secs(t0 + 120 * S)}")
    assert body == {
        "symbol": "BTC-USD", "resolution": "raw", "start_ns": t0, "end_ns": t0 + 120 * S,
        "series": [
            {"exchange": "binance", "points": [[t0 + 10 * S, 200.0, 202.0],
                                               [t0 + 70 * S, 300.0, 302.0]]},
            {"exchange": "kraken", "points": [[t0, 100.0, 102.0], [t0 + 30 * S, 104.0, 106.0],
                                              [t0 + 90 * S, 110.0, 112.0]]},
        ],
    }


def test_raw_history_of_one_exchange_in_iso_range(client: FlaskClient, seed: Seed) -> None:
    t0 = seed.t0_ns
    # [t0+30 s, t0+90 s): the end is exclusive, so the t0+90 s point stays out.
    body = get_json(client, f"/api/history?symbol=BTC-USD&exchange=kraken&start={iso(t0 + 30 * S)}"
                            f"&end={iso(t0 + 90 * S)}&resolution=raw")
    assert body["series"] == [{"exchange": "kraken", "points": [[t0 + 30 * S, 104.0, 106.0]]}]


def test_history_rollups_are_bucket_means(client: FlaskClient, seed: Seed) -> None:
    t0 = seed.t0_ns
    rng = f"start={secs(t0)}&end={secs(t0 + 120 * S)}"
    minute = get_json(client, f"/api/history?symbol=BTC-USD&resolution=1m&{rng}")
    # kraken t0 bucket: bids 100, 104 -> 102, asks 102, 106 -> 104; t0+60 s bucket: one point.
    assert minute["resolution"] == "1m"
    assert minute["series"] == [
        {"exchange": "binance", "points": [[t0, 200.0, 202.0], [t0 + 60 * S, 300.0, 302.0]]},
        {"exchange": "kraken", "points": [[t0, 102.0, 104.0], [t0 + 60 * S, 110.0, 112.0]]},
    ]
    hour = get_json(client, f"/api/history?symbol=BTC-USD&resolution=1h&{rng}")
    binance, kraken = hour["series"]
    assert binance == {"exchange": "binance", "points": [[t0, 250.0, 252.0]]}
    # kraken: (100 + 104 + 110) / 3 and (102 + 106 + 112) / 3.
    assert kraken["points"][0][0] == t0
    assert kraken["points"][0][1:] == pytest.approx([314 / 3, 320 / 3])


def test_raw_history_keeps_the_newest_5000_points(client: FlaskClient, seed: Seed) -> None:
    t0 = seed.t0_ns
    body = get_json(client, f"/api/history?symbol=CAP-USD&start={secs(t0)}"
                            f"&end={secs(t0 + 60 * S)}")
    points = body["series"][0]["points"]
    # 5,003 points i = 0..5002 written; the three oldest fall off.
    assert len(points) == 5000
    assert points[0] == [t0 + 3_000_000, 4.0, 5.0]
    assert points[-1] == [t0 + 5002_000_000, 5003.0, 5004.0]


def test_history_defaults_to_the_last_hour(client: FlaskClient, seed: Seed) -> None:
    body = get_json(client, "/api/history?symbol=BTC-USD")
    assert body["series"] == [
        {"exchange": "kraken", "points": [[seed.now_ns - 600 * S, 120.0, 122.0]]}
    ]
    assert body["end_ns"] - body["start_ns"] == 3600 * S
    assert body["end_ns"] >= seed.now_ns


def test_history_of_a_symbol_known_only_to_redis_is_empty(client: FlaskClient) -> None:
    body = get_json(client, "/api/history?symbol=ETH-USDT")
    assert body == {**body, "symbol": "ETH-USDT", "series": []}


def test_history_on_a_database_never_written_is_empty(settings: Settings, seed: Seed) -> None:
    """A fresh install answers 'no history yet', not 'InfluxDB is down'."""
    app = make_app(settings, seed, influxdb_db=f"{settings.influxdb_db}_never")
    client = app.test_client()
    assert get_json(client, "/api/history?symbol=BTC-USD")["series"] == []
    assert get_json(client, "/api/opportunities/history") == {"opportunities": []}


# /api/symbols


def test_symbols_with_venues_and_changes(client: FlaskClient) -> None:
    rows = get_json(client, "/api/symbols")["symbols"]
    by_symbol = {r["symbol"]: r for r in rows}
    assert [r["symbol"] for r in rows] == ["BTC-USD", "ETH-USD", "ETH-USDT", "SOL-USD"]
    # BTC now: kraken 106, binance 100. 1 h ago only kraken counts (binance's point is 20 min
    # too old): 106 / 100 - 1. 24 h ago both: (106 + 100) / 2 vs (53 + 50) / 2 -> +100 %.
    btc = by_symbol["BTC-USD"]
    assert btc["exchanges"] == ["binance", "kraken"]
    assert btc["change_1h_pct"] == pytest.approx(6.0)
    assert btc["change_24h_pct"] == pytest.approx(100.0)
    assert btc["change_7d_pct"] is None
    # ETH now 11 on kraken, 22 a week ago.
    assert by_symbol["ETH-USD"] == {
        "symbol": "ETH-USD", "exchanges": ["kraken"], "change_1h_pct": None,
        "change_24h_pct": None, "change_7d_pct": pytest.approx(-50.0),
    }
    # ETH-USDT: quoted on okx (which writes no status here); SOL-USD: listed by kraken only.
    assert by_symbol["ETH-USDT"]["exchanges"] == ["okx"]
    assert by_symbol["SOL-USD"] == {
        "symbol": "SOL-USD", "exchanges": ["kraken"], "change_1h_pct": None,
        "change_24h_pct": None, "change_7d_pct": None,
    }


# /api/exchanges


def test_exchanges_with_status_rate_and_fees(
    settings: Settings, seed: Seed, private_state: RedisState
) -> None:
    now = time.time_ns()
    private_state.set_feed_status("bitstamp", {
        "exchange": "bitstamp", "state": "connected", "connections": 2, "messages": 1000,
        "quotes": 900, "reconnects": 1, "parse_errors": 3, "errors": '{"bad_json": 3}',
        "markets": 3, "last_message_ns": now - S // 2, "updated_ns": now - 3 * S,
        "buffer_batches": 7, "buffer_quotes": 3500, "buffer_capacity": 1000,
        "buffer_dropped": 1, "buffer_dropped_quotes": 500,
        "lag_ms": 2512.25, "behind": "1", "resyncs": 2, "clock_skew": 4,
    })
    private_state.set_feed_status("gemini", {
        "state": "connected", "messages": 5, "updated_ns": now - 30 * S,
    })
    app = make_app(settings, seed, key_prefix=private_state.prefix,
                   exchanges=["bitstamp", "gemini", "bybit"], taker_fees={"bybit": 0.00055})
    client = app.test_client()
    first = get_json(client, "/api/exchanges")["exchanges"]
    bitstamp, gemini, bybit = first
    assert bitstamp == {
        "name": "bitstamp", "taker_fee": 0.004, "state": "connected", "connections": 2,
        "messages": 1000, "message_rate": None, "quotes": 900, "reconnects": 1,
        "parse_errors": 3, "errors": {"bad_json": 3}, "markets": 3,
        "last_message_age_s": bitstamp["last_message_age_s"],
        "lag_ms": 2512.25, "behind": True, "resyncs": 2, "clock_skew": 4,
        "buffer": {"batches": 7, "quotes": 3500, "capacity": 1000, "dropped": 1,
                   "dropped_quotes": 500},
    }
    assert 0.5 <= bitstamp["last_message_age_s"] < 5
    # gemini last wrote its status 30 s ago: its worker is gone, whatever it said.
    assert gemini["state"] == "stale"
    assert bybit == {
        "name": "bybit", "taker_fee": 0.00055, "state": "unknown", "connections": 0,
        "messages": 0, "message_rate": None, "quotes": 0, "reconnects": 0, "parse_errors": 0,
        "errors": {}, "markets": 0, "last_message_age_s": None,
        "lag_ms": None, "behind": False, "resyncs": 0, "clock_skew": 0,
        "buffer": {"batches": 0, "quotes": 0, "capacity": 0, "dropped": 0, "dropped_quotes": 0},
    }

    # The next status 2 s later counts 500 more messages: 250 per second, until the next one.
    private_state.set_feed_status("bitstamp", {
        "state": "connected", "messages": 1500, "updated_ns": now - S,
    })
    assert get_json(client, "/api/exchanges")["exchanges"][0]["message_rate"] == 250.0
    assert get_json(client, "/api/exchanges")["exchanges"][0]["message_rate"] == 250.0
    # A restarted worker counts from zero: no rate rather than a negative one.
    private_state.set_feed_status("bitstamp", {
        "state": "connected", "messages": 10, "updated_ns": now,
    })
    assert get_json(client, "/api/exchanges")["exchanges"][0]["message_rate"] is None


# Every answer above matches what the OpenAPI document promises.


@pytest.mark.parametrize(("path", "query"), [
    ("/api/quotes", ""), ("/api/opportunities", ""), ("/api/opportunities/history",
                                                      "?start={t0}&end={t1}"),
    ("/api/history", "?symbol=BTC-USD&start={t0}&end={t1}"),
    ("/api/history", "?symbol=BTC-USD&start={t0}&end={t1}&resolution=1h"),
    ("/api/symbols", ""), ("/api/exchanges", ""), ("/api/openapi.json", ""),
])
def test_answers_match_the_openapi_schemas(
    client: FlaskClient, seed: Seed, path: str, query: str
) -> None:
    from openapi_schema_validator import OAS30Validator, validate

    url = path + query.format(t0=secs(seed.t0_ns), t1=secs(seed.t0_ns + 3600 * S))
    body = get_json(client, url)
    # Twice for /api/exchanges, so message_rate has been a number too, not only null.
    body = get_json(client, url) if path == "/api/exchanges" else body
    doc = get_json(client, "/api/openapi.json")
    schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    # The components travel along so the schema's `#/components/...` references resolve.
    validate(body, {"allOf": [schema["schema"]], "components": doc["components"]},
             cls=OAS30Validator)
    assert body  # an empty answer would match anything
