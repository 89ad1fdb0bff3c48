"""The JSON API's error paths: 400 per bad parameter kind, 404 unknown symbol or path, and 503
with Redis or InfluxDB down (a closed port) — always a JSON `{"error": ...}`, never a trace."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.config import Settings
from core.state import RedisState
from core.types import Quote
from tests.support.apps import app_with
from tests.support.procs import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def state(settings: Settings) -> Iterator[RedisState]:
    """Redis state of this module's own: BTC-USD quoted on kraken."""
    state = RedisState.from_url(settings.redis_url, f"{settings.key_prefix}apierr:")
    now = time.time_ns()
    state.update_quotes([Quote("kraken", "BTC-USD", 1.0, 1.0, 2.0, 1.0, None, None, now)])
    yield state
    state.clear()


def client_for(settings: Settings, state: RedisState, **overrides: Any) -> FlaskClient:
    fields: dict[str, Any] = {
        "redis_url": settings.redis_url, "key_prefix": state.prefix,
        "influxdb_url": settings.influxdb_url, "influxdb_db": f"{settings.influxdb_db}_apierr",
        "exchanges": ["kraken"],
    }
    return app_with(**{**fields, **overrides}).test_client()


@pytest.fixture
def client(settings: Settings, state: RedisState) -> FlaskClient:
    return client_for(settings, state)


def assert_json_error(response: Any, status: int, *words: str) -> None:
    """The status, a JSON body of exactly one `error` text mentioning `words`, no traceback."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["error"]
    assert isinstance(body["error"], str)
    for word in words:
        assert word in body["error"]
    assert "Traceback" not in response.get_data(as_text=True)


HOUR_RANGE = "start=1763953200&end=1763956800"


@pytest.mark.parametrize(("url", "word"), [
    # symbol: not BASE-QUOTE, too long, missing where required
    ("/api/quotes?symbol=BTCUSD", "symbol"),
    ("/api/quotes?symbol=BTC-USD-X", "symbol"),
    ("/api/opportunities?symbol=%3Cimg%3E", "symbol"),
    ("/api/history?symbol=" + "A" * 40 + "-" + "B" * 40, "symbol"),
    ("/api/history", "symbol is required"),
    ("/api/history?symbol=", "symbol is required"),
    # exchange, quote
    ("/api/opportunities?exchange=kra%20ken", "exchange"),
    ("/api/history?symbol=BTC-USD&exchange=kraken;drop", "exchange"),
    ("/api/opportunities?quote=US-D", "quote"),
    # numbers
    ("/api/opportunities?min_net_pct=abc", "min_net_pct"),
    ("/api/opportunities?min_net_pct=nan", "min_net_pct"),
    ("/api/opportunities?min_net_pct=2000", "min_net_pct"),
    ("/api/opportunities?limit=0", "limit"),
    ("/api/opportunities?limit=1001", "limit"),
    ("/api/opportunities?limit=1.5", "limit"),
    ("/api/opportunities/history?limit=x", "limit"),
    # times: unparseable, out of span, reversed, too long a range
    ("/api/history?symbol=BTC-USD&start=yesterday", "start"),
    ("/api/history?symbol=BTC-USD&end=2026-13-01T00:00:00Z", "end"),
    ("/api/history?symbol=BTC-USD&start=0", "start"),
    ("/api/history?symbol=BTC-USD&end=1763953200000", "end"),
    ("/api/history?symbol=BTC-USD&start=inf", "start"),
    ("/api/history?symbol=BTC-USD&start=1763956800&end=1763953200", "before"),
    ("/api/history?symbol=BTC-USD&start=1763953200&end=1763953200", "before"),
    ("/api/opportunities/history?start=2020-01-01T00:00:00Z&end=2026-01-01T00:00:00Z", "days"),
    # resolution
    ("/api/history?symbol=BTC-USD&resolution=5m&" + HOUR_RANGE, "resolution"),
    ("/api/history?symbol=BTC-USD&resolution=RAW&" + HOUR_RANGE, "resolution"),
])
def test_bad_parameters_are_400(client: FlaskClient, url: str, word: str) -> None:
    assert_json_error(client.get(url), 400, word)


@pytest.mark.parametrize("url", [
    "/api/quotes?symbol=NOPE-USD",
    "/api/opportunities?symbol=NOPE-USD",
    "/api/opportunities/history?symbol=NOPE-USD",
    "/api/history?symbol=NOPE-USD",
    "/api/history?symbol=nope-usd&resolution=1m",
])
def test_unknown_symbol_is_404(client: FlaskClient, url: str) -> None:
    assert_json_error(client.get(url), 404, "unknown symbol NOPE-USD")


@pytest.mark.parametrize(("method", "url", "status"), [
    ("GET", "/api/nope", 404),
    ("GET", "/api", 404),
    ("GET", "/api/quotes/BTC-USD", 404),
    ("POST", "/api/quotes", 405),
    ("DELETE", "/api/opportunities", 405),
    ("PUT", "/api/exchanges", 405),
])
def test_unknown_api_paths_and_methods_answer_json(
    client: FlaskClient, method: str, url: str, status: int
) -> None:
    assert_json_error(client.open(url, method=method), status)


ALL_ENDPOINTS = [
    "/api/quotes", "/api/quotes?symbol=BTC-USD", "/api/opportunities",
    "/api/opportunities?symbol=BTC-USD", "/api/opportunities/history?symbol=BTC-USD",
    "/api/history?symbol=BTC-USD", "/api/symbols", "/api/exchanges",
]


@pytest.mark.parametrize("url", ALL_ENDPOINTS)
def test_redis_down_is_503(settings: Settings, state: RedisState, url: str) -> None:
    client = client_for(settings, state, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    assert_json_error(client.get(url), 503, "Redis")


def test_history_without_symbol_needs_no_redis(settings: Settings, state: RedisState) -> None:
    client = client_for(settings, state, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = client.get("/api/opportunities/history")
    assert response.status_code == 200
    assert response.get_json() == {"opportunities": []}


@pytest.mark.parametrize("url", [
    "/api/history?symbol=BTC-USD", "/api/history?symbol=BTC-USD&resolution=1h",
    "/api/opportunities/history", "/api/opportunities/history?symbol=BTC-USD",
    "/api/symbols",
    # Unknown to Redis, so InfluxDB must be asked whether it knows it: it cannot answer.
    "/api/history?symbol=ETH-USD",
])
def test_influxdb_down_is_503(settings: Settings, state: RedisState, url: str) -> None:
    client = client_for(settings, state, influxdb_url=f"http://127.0.0.1:{free_port()}")
    assert_json_error(client.get(url), 503, "InfluxDB")


@pytest.mark.parametrize("url", ["/api/quotes", "/api/opportunities", "/api/exchanges"])
def test_influxdb_down_leaves_current_state_up(
    settings: Settings, state: RedisState, url: str
) -> None:
    client = client_for(settings, state, influxdb_url=f"http://127.0.0.1:{free_port()}")
    assert client.get(url).status_code == 200


def test_bad_parameter_wins_over_a_service_being_down(settings: Settings,
                                                      state: RedisState) -> None:
    """Parameters are checked before any service is asked: a bad request stays a 400."""
    client = client_for(settings, state, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                        influxdb_url=f"http://127.0.0.1:{free_port()}")
    assert_json_error(client.get("/api/history?symbol=BTC-USD&resolution=2h"), 400, "resolution")
