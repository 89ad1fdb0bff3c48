"""Triangular arbitrage end to end on the real services: quotes in Redis → the scan task (in this
process and through a real Celery worker) → the stored list, the live event and /api/triangles."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from core.state import RedisState
from core.types import Quote
from tasks.resources import fee_of
from tasks.triangles import SNAPSHOT_TTL_S, scan
from tests.support.apps import app_with
from tests.support.procs import celery_worker, wait_for
from tests.support.stores import store_triangles_text, triangles_ttl

pytestmark = pytest.mark.integration

S = 1_000_000_000


def quote(exchange: str, symbol: str, bid: float, ask: float, bid_size: float = 10.0,
          ask_size: float = 10.0, age_s: float = 0.0) -> Quote:
    received = time.time_ns() - int(age_s * S)
    return Quote(exchange, symbol, bid, bid_size, ask, ask_size, None, None, received)


def seed_quotes(state: RedisState) -> None:
    """kraken: BTC 100 USD, ETH 0.05 BTC, ETH sells for 5.5 USD (10 % gross cycle) and SOL
    0.2 BTC sells for 20.4 USD (2 % gross). okx: the same BTC/ETH cycle but one leg is stale.
    gemini: a fair market."""
    state.update_quotes([
        quote("kraken", "BTC-USD", 99.9, 100.0, ask_size=2.0),
        quote("kraken", "ETH-BTC", 0.0499, 0.05),
        quote("kraken", "ETH-USD", 5.5, 5.51, bid_size=3.0),
        quote("kraken", "SOL-BTC", 0.1999, 0.2),
        quote("kraken", "SOL-USD", 20.4, 20.41),
        quote("okx", "BTC-USD", 99.9, 100.0),
        quote("okx", "ETH-BTC", 0.0499, 0.05, age_s=60.0),
        quote("okx", "ETH-USD", 5.5, 5.51),
        quote("gemini", "BTC-USD", 100.0, 100.01),
        quote("gemini", "ETH-BTC", 0.05, 0.05001),
        quote("gemini", "ETH-USD", 5.0, 5.001),
    ])


@pytest.fixture
def seeded(state: RedisState) -> Iterator[RedisState]:
    seed_quotes(state)
    yield state


def stored(state: RedisState) -> dict[str, Any]:
    return state.triangles.load()


def test_scan_stores_the_list_and_publishes_it(seeded: RedisState) -> None:
    pubsub = seeded.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(seeded.live.pattern)
    try:
        wait_for(lambda: pubsub.get_message(timeout=0.1) is None, 5, "the subscription")
        before = time.time_ns()
        # Only kraken's cycles: okx's is broken by a stale leg, gemini's market is fair. Gross
        # products: via ETH 1.1; via SOL 20.4 / (100 × 0.2) = 1.02; and four legs, buying SOL
        # for USD, selling it for BTC, buying ETH, selling it: 0.1999 × 20 × 5.5 / 20.41.
        gross = {
            ("USD", "BTC", "ETH", "USD"): 1.1,
            ("USD", "BTC", "SOL", "USD"): 1.02,
            ("USD", "SOL", "BTC", "ETH", "USD"): 0.1999 * 20 * 5.5 / 20.41,
        }
        # Each pays a fee per leg; any of them the configured kraken fee eats is not listed.
        legs = {path: len(path) - 1 for path in gross}
        net = {path: 100 * (g * (1 - fee_of("kraken")) ** legs[path] - 1)
               for path, g in gross.items()}
        paying = {path for path, pct in net.items() if pct > 0}
        assert ("USD", "BTC", "ETH", "USD") in paying  # 10 % gross beats any real fee
        assert scan() == len(paying)
        snap = stored(seeded)
        assert before <= snap["computed_ns"] <= time.time_ns()
        rows = snap["triangles"]
        assert {r["exchange"] for r in rows} == {"kraken"}
        assert {tuple(r["path"]) for r in rows} == paying
        for row in rows:
            path = tuple(row["path"])
            assert row["net_pct"] == pytest.approx(net[path])
            assert row["gross_pct"] == pytest.approx(100 * (gross[path] - 1))
            assert row["fee"] == fee_of("kraken")
        assert [r["net_pct"] for r in rows] == sorted((r["net_pct"] for r in rows), reverse=True)
        assert 0 < triangles_ttl(seeded) <= SNAPSHOT_TTL_S

        message = None
        deadline = time.monotonic() + 5
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.2)
        assert message is not None, "no live event published"
        event = json.loads(message["data"])
        assert event == {"type": "triangle", "data": snap}
    finally:
        pubsub.close()


def test_a_later_scan_replaces_the_list(seeded: RedisState) -> None:
    scan()
    first = stored(seeded)
    assert first["triangles"]
    # ETH-USD falls back in line: the ETH cycle closes; the list is replaced, not merged.
    seeded.update_quotes([quote("kraken", "ETH-USD", 5.0, 5.001)])
    scan()
    second = stored(seeded)
    assert second["computed_ns"] > first["computed_ns"]
    assert ["USD", "BTC", "ETH", "USD"] not in [r["path"] for r in second["triangles"]]


def test_the_beat_task_runs_on_a_real_worker(settings: Settings, seeded: RedisState) -> None:
    from celeryconfig import REPORTS_QUEUE

    # Routed to the reports queue (never behind a backlog of quote batches): a worker on it.
    proc = celery_worker([REPORTS_QUEUE], f"tri-{settings.queue_prefix}", concurrency=1)
    try:
        scan.delay()
        wait_for(lambda: stored(seeded)["computed_ns"] is not None, 30,
                 "the worker to store the triangle list")
    finally:
        proc.stop()
    assert stored(seeded)["triangles"][0]["path"] == ["USD", "BTC", "ETH", "USD"]


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    return app_with(key_prefix=settings.key_prefix).test_client()


def test_api_lists_the_last_scan(client: FlaskClient, seeded: RedisState) -> None:
    scan()
    snap = stored(seeded)
    body = client.get("/api/triangles").get_json()
    assert body == {"triangles": snap["triangles"], "computed_ns": snap["computed_ns"]}
    assert body["triangles"][0]["legs"][0] == {
        "symbol": "BTC-USD", "side": "buy", "price": 100.0, "size": 2.0,
        "from_ccy": "USD", "to_ccy": "BTC"}


def test_api_filters(client: FlaskClient, seeded: RedisState) -> None:
    # Two fixed rows, so the filters have something to tell apart whatever the fees are.
    rows = [
        {"exchange": "kraken", "path": ["USD", "BTC", "ETH", "USD"], "net_pct": 2.5},
        {"exchange": "okx", "path": ["USDT", "BTC", "ETH", "USDT"], "net_pct": 0.4},
    ]
    store_triangles_text(seeded, json.dumps({"triangles": rows, "computed_ns": 7}))
    assert client.get("/api/triangles?exchange=OKX").get_json()["triangles"] == [rows[1]]
    assert client.get("/api/triangles?min_net_pct=1").get_json()["triangles"] == [rows[0]]
    assert client.get("/api/triangles?limit=1").get_json() == {
        "triangles": [rows[0]], "computed_ns": 7}
    assert client.get("/api/triangles?exchange=bybit").get_json()["triangles"] == []


def test_api_without_a_scan_is_an_empty_list(client: FlaskClient, state: RedisState) -> None:
    response = client.get("/api/triangles")
    assert response.status_code == 200
    assert response.get_json() == {"triangles": [], "computed_ns": None}


@pytest.mark.parametrize(("query", "fragment"), [
    ("exchange=%3Cb%3E", "exchange must be a venue name"),
    ("min_net_pct=lots", "min_net_pct must be a number"),
    ("min_net_pct=-1", "min_net_pct must be between 0 and 1000"),
    ("limit=0", "limit must be between 1 and 1000"),
    ("limit=ten", "limit must be a whole number"),
])
def test_api_bad_parameters_answer_400_json(
    client: FlaskClient, state: RedisState, query: str, fragment: str
) -> None:
    response = client.get(f"/api/triangles?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert fragment in response.get_json()["error"]


def test_api_answers_503_when_redis_is_down(settings: Settings) -> None:
    app = app_with(redis_url="redis://127.0.0.1:1/0", key_prefix=settings.key_prefix)
    response = app.test_client().get("/api/triangles")
    assert response.status_code == 503
    assert "Redis" in response.get_json()["error"]
