"""Issue 14 point 2 end to end: a venue clock an hour ahead for N frames freezes nothing.

Simulator → a real feed process → RabbitMQ → the real Celery worker → Redis and InfluxDB →
the web app (Flask test client): the N skewed quotes are stored at receipt time and counted as
`clock_skew` in the feed status, `/api/exchanges` and `/metrics`, and the quotes after them
keep replacing one another in Redis.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.influx import InfluxDB
from core.state import RedisState
from core.types import Quote
from tests.support.feed import SYMBOLS, control
from tests.support.procs import Proc, wait_for
from tests.support.simulator import SimProcess, serve
from web import create_app

pytestmark = pytest.mark.integration

S = 1_000_000_000
SKEW_S = 3600
N = 12


@pytest.fixture
def sim() -> Iterator[SimProcess]:
    yield from serve("--exchanges", "kraken", "--symbols", ",".join(SYMBOLS),
                     "--rate", "50")


@pytest.fixture
def feed(sim: SimProcess, worker: Proc, state: RedisState) -> Iterator[Proc]:
    """`python -m workers kraken` against the simulator, publishing to the session's worker."""
    proc = Proc("feed-kraken", [sys.executable, "-m", "workers", "kraken",
                                "--ws-url", sim.ws_url("kraken"),
                                "--rest-url", f"{sim.http}/kraken"],
                {"MAX_CLOCK_SKEW_S": "30", "SYMBOLS": ",".join(SYMBOLS)})
    yield proc
    proc.stop()


def kraken_quotes(state: RedisState) -> dict[str, Quote]:
    return {q.symbol: q for q in state.all_quotes() if q.exchange == "kraken"}


def clock_skew(state: RedisState) -> int:
    return int(state.feed_status("kraken").get("clock_skew") or 0)


def test_an_hour_of_skew_is_counted_stored_at_receipt_and_freezes_nothing(
        sim: SimProcess, feed: Proc, state: RedisState, influx: InfluxDB) -> None:
    wait_for(lambda: set(kraken_quotes(state)) == set(SYMBOLS), 30,
             f"kraken quotes of {SYMBOLS} in Redis")
    assert clock_skew(state) == 0

    skewed_from_ns = time.time_ns()
    control(sim, "kraken", "skew", seconds=SKEW_S, count=N)
    wait_for(lambda: clock_skew(state) >= N, 10, f"{N} quotes counted as clock_skew")

    # Quotes keep coming and keep replacing each other in Redis: none is stuck an hour ahead.
    after_ns = time.time_ns()
    wait_for(lambda: all(q.ts_received_ns > after_ns for q in kraken_quotes(state).values()),
             10, "fresh kraken quotes in Redis after the skewed frames")
    first = kraken_quotes(state)
    wait_for(lambda: all(kraken_quotes(state)[s].ts_received_ns > first[s].ts_received_ns
                         for s in SYMBOLS), 10, "every kraken quote replaced again (not frozen)")
    second = kraken_quotes(state)
    now = time.time_ns()
    for symbol in SYMBOLS:
        for quote in (first[symbol], second[symbol]):
            assert abs(quote.ts_ns - quote.ts_received_ns) < 5 * S
            assert quote.ts_ns < now + 5 * S

    # Exactly the N frames stamped off were counted (50 changes/s would have sent more).
    time.sleep(1.5)  # two status writes
    assert clock_skew(state) == N

    # The web app shows the count, and the quotes it serves are fresh.
    client = create_app().test_client()
    rows = client.get("/api/exchanges").get_json()["exchanges"]
    assert next(r for r in rows if r["name"] == "kraken")["clock_skew"] == N
    served = [r for r in client.get("/api/quotes").get_json()["quotes"]
              if r["exchange"] == "kraken"]
    assert {r["symbol"] for r in served} == set(SYMBOLS)
    assert all(not r["stale"] and abs(r["ts_exchange_ns"] - r["ts_received_ns"]) < 5 * S
               for r in served)
    metrics = client.get("/metrics").get_data(as_text=True)
    samples = {(s.name, s.labels.get("exchange")): s.value
               for family in text_string_to_metric_families(metrics) for s in family.samples}
    assert samples[("cryptotracker_feed_clock_skew_total", "kraken")] == N

    # Storage took the skewed quotes at receipt time too: nothing lands in InfluxDB's future,
    # and the window of the skew has its points.
    def stored(where: str) -> int:
        rows = influx.query_points_if_any(
            f"SELECT count(bid) AS n FROM quotes WHERE exchange = 'kraken' AND {where}")
        return int(rows[0]["n"]) if rows else 0

    wait_for(lambda: stored(f"time >= {skewed_from_ns}") >= N, 15, "the window stored")
    assert stored(f"time > {time.time_ns() + 60 * S}") == 0
    assert "Traceback" not in feed.output
