"""Batches through RabbitMQ into a real Celery worker, landing in InfluxDB and Redis."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from core.influx import InfluxDB, quote_literal
from core.state import RedisState
from core.types import Quote
from tasks.arbitrage import ingest_quotes
from tasks.storage import store_quotes
from tests.support.procs import Proc, wait_for

pytestmark = pytest.mark.integration


def unique_symbol() -> str:
    return f"T{uuid.uuid4().hex[:6].upper()}-USD"


def count_quotes(influx: InfluxDB, symbol: str) -> int:
    rows = influx.query_points(
        f"SELECT count(bid) AS n FROM quotes WHERE symbol = {quote_literal(symbol)}"
    )
    return int(rows[0]["n"]) if rows else 0


def test_store_quotes_batch_lands_in_influxdb(worker: Proc, influx: InfluxDB) -> None:
    symbol = unique_symbol()
    t0 = time.time_ns()
    quotes = [
        Quote("kraken", symbol, 100.0 + i, 1.5, 101.0 + i, 2.5, 100.5 + i, t0 + i * 1000, t0 + 5)
        for i in range(250)
    ]
    store_quotes.delay([tuple(q) for q in quotes])
    wait_for(lambda: count_quotes(influx, symbol) == 250, 30, "250 points in InfluxDB")
    rows = influx.query_points(
        f"SELECT * FROM quotes WHERE symbol = {quote_literal(symbol)} ORDER BY time ASC LIMIT 2"
    )
    assert rows[0]["time"] == t0 and rows[1]["time"] == t0 + 1000
    assert rows[1]["bid"] == 101.0 and rows[1]["ask"] == 102.0 and rows[1]["last"] == 101.5
    assert rows[0]["exchange"] == "kraken" and rows[0]["bid_size"] == 1.5


def test_a_redelivered_batch_does_not_duplicate(worker: Proc, influx: InfluxDB) -> None:
    symbol = unique_symbol()
    t0 = time.time_ns()
    rows = [
        tuple(Quote("bitstamp", symbol, 1.0, 1.0, 2.0, 1.0, None, t0 + i, t0)) for i in range(50)
    ]
    store_quotes.delay(rows)
    store_quotes.delay(rows)  # as acks_late redelivery after a crash would
    wait_for(lambda: count_quotes(influx, symbol) == 50, 30, "50 points")
    time.sleep(1.0)
    assert count_quotes(influx, symbol) == 50


def test_malformed_rows_are_skipped_and_the_rest_lands(worker: Proc, influx: InfluxDB) -> None:
    symbol = unique_symbol()
    t0 = time.time_ns()
    good = [tuple(Quote("kraken", symbol, 1.0, 1.0, 2.0, 1.0, None, t0 + i, t0)) for i in range(3)]
    store_quotes.delay([good[0], ["too", "short"], good[1], "junk", good[2]])
    wait_for(lambda: count_quotes(influx, symbol) == 3, 30, "the 3 good points")


def test_ingest_opens_and_closes_opportunities(
    worker: Proc, state: RedisState, influx: InfluxDB
) -> None:
    symbol = unique_symbol()
    pubsub = state.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(state.live.pattern)
    now = time.time_ns()
    # Buy on kraken at 100, sell on bitstamp at 102: 2 % gross, about 1.19 % after 0.4 % fees.
    ingest_quotes.delay([
        tuple(Quote("kraken", symbol, 99.0, 1.0, 100.0, 0.7, None, now, now)),
        tuple(Quote("bitstamp", symbol, 102.0, 0.3, 103.0, 1.0, None, now, now)),
    ])
    wait_for(lambda: state.opportunities(), 30, "an opportunity in Redis")
    [opp] = [o for o in state.opportunities() if o["symbol"] == symbol]
    assert (opp["buy_exchange"], opp["sell_exchange"]) == ("kraken", "bitstamp")
    assert opp["net_pct"] == pytest.approx(100 * (102 * 0.996 / (100 * 1.004) - 1))
    assert opp["size"] == 0.3

    events: list[dict] = []

    def got_open_event() -> bool:
        while (message := pubsub.get_message(timeout=0.1)) is not None:
            events.append(json.loads(message["data"]))
        return any(e["type"] == "opportunity" and e["data"]["action"] == "open" for e in events)

    wait_for(got_open_event, 10, "an opportunity event on the live channel")
    assert {e["data"]["exchange"] for e in events if e["type"] == "quote"} == {"kraken", "bitstamp"}

    later = time.time_ns()
    closing = Quote("bitstamp", symbol, 99.5, 1.0, 100.5, 1.0, None, later, later)
    ingest_quotes.delay([tuple(closing)])
    wait_for(lambda: not state.opportunities(), 30, "the opportunity to close")
    query = f"SELECT * FROM opportunities WHERE symbol = {quote_literal(symbol)}"
    wait_for(lambda: influx.query_points(query), 30, "the closed opportunity in InfluxDB")
    [point] = influx.query_points(query)
    assert point["buy_exchange"] == "kraken" and point["sell_exchange"] == "bitstamp"
    assert point["peak_net_pct"] == pytest.approx(opp["net_pct"])
    assert point["duration_s"] >= 0 and point["max_size"] == 0.3
