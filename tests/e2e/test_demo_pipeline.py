"""Simulator → feed workers → RabbitMQ → Celery workers → InfluxDB and Redis → JSON API."""

from __future__ import annotations

import re
import signal
import time

import pytest
import requests

from core.influx import InfluxDB, quote_literal
from core.state import RedisState
from tests.support.procs import Proc, wait_for
from tests.support.stack import start_feed, start_simulator, start_web

pytestmark = pytest.mark.e2e

COUNT = 2000
EXCHANGES = ("bitstamp", "kraken")


def influx_counts(influx: InfluxDB, where: str = "") -> dict[str, int]:
    rows = influx.query_points(f"SELECT count(bid) AS n FROM quotes {where} GROUP BY exchange")
    return {row["exchange"]: int(row["n"]) for row in rows}


def test_count_2000_quotes_reach_influxdb_and_opportunities_reach_the_api(
    procs: list[Proc], celery_workers: list[Proc], influx: InfluxDB, state: RedisState
) -> None:
    web = start_web(procs)
    sim_url = start_simulator(procs, "--exchanges", ",".join(EXCHANGES), "--symbols",
                              "BTC-USD,ETH-USD", "--count", str(COUNT), "--seed", "7")
    started = time.monotonic()
    feeds = [start_feed(procs, name, sim_url, "BTC-USD,ETH-USD") for name in EXCHANGES]

    def api_opportunities() -> list[dict]:
        return requests.get(web + "/api/opportunities", timeout=2).json()["opportunities"]

    wait_for(lambda: api_opportunities(), 60, "an opportunity at /api/opportunities")
    first_opportunity_s = time.monotonic() - started
    [opp, *_] = api_opportunities()
    assert {"symbol", "buy_exchange", "sell_exchange", "net_pct", "gross_pct", "size",
            "net_profit"} <= set(opp)
    assert opp["buy_exchange"] != opp["sell_exchange"] and opp["net_pct"] >= 0
    assert state.opps.open_count() >= 1

    def all_emitted() -> bool:
        emitted = requests.get(sim_url + "/stats", timeout=2).json()["emitted"]
        return all(sum(emitted.get(name, {}).values()) == COUNT for name in EXCHANGES)

    wait_for(all_emitted, 120, f"the simulator to emit {COUNT} changes per exchange")
    emitted_s = time.monotonic() - started
    wait_for(lambda: influx_counts(influx) == {name: COUNT for name in EXCHANGES}, 60,
             f"exactly {COUNT} points per exchange in InfluxDB", every_s=0.5)
    stored_s = time.monotonic() - started
    time.sleep(1.5)  # nothing more may arrive: exactly COUNT, not at least COUNT
    assert influx_counts(influx) == {name: COUNT for name in EXCHANGES}

    quotes = requests.get(web + "/api/quotes", timeout=2).json()["quotes"]
    assert {(q["exchange"], q["symbol"]) for q in quotes} == {
        (ex, sym) for ex in EXCHANGES for sym in ("BTC-USD", "ETH-USD")}
    exchanges = requests.get(web + "/api/exchanges", timeout=2).json()["exchanges"]
    by_name = {row["name"]: row for row in exchanges}
    assert by_name["kraken"]["state"] == "connected" and by_name["kraken"]["taker_fee"] == 0.004
    assert by_name["bitstamp"]["quotes"] == COUNT

    for feed in feeds:
        feed.signal(signal.SIGTERM)
        assert feed.popen.wait(20) == 0, feed.output[-2000:]
    print(f"\ne2e: {2 * COUNT} quotes from 2 exchanges; first opportunity after "
          f"{first_opportunity_s:.1f} s; all emitted after {emitted_s:.1f} s; all stored after "
          f"{stored_s:.1f} s ({2 * COUNT / stored_s:.0f} quotes/s end to end at the default "
          f"simulator rate of 200/s per exchange)")


def test_sigterm_mid_stream_stores_every_quote_parsed(
    procs: list[Proc], celery_workers: list[Proc], influx: InfluxDB
) -> None:
    # A symbol of its own keeps this test's points apart from the previous test's.
    sim_url = start_simulator(procs, "--exchanges", "kraken", "--symbols", "SOL-USD",
                              "--rate", "2000")
    feed = start_feed(procs, "kraken", sim_url, "SOL-USD")
    where = f"WHERE symbol = {quote_literal('SOL-USD')}"
    wait_for(lambda: influx_counts(influx, where).get("kraken", 0) > 500, 60, "a stream")
    feed.signal(signal.SIGTERM)  # mid-stream: batches are pending on both paths
    assert feed.popen.wait(30) == 0, feed.output[-2000:]
    match = re.search(r"stopped after (\d+) quotes", feed.output)
    assert match, feed.output[-2000:]
    parsed = int(match.group(1))
    wait_for(lambda: influx_counts(influx, where).get("kraken") == parsed, 30,
             f"all {parsed} parsed quotes in InfluxDB")
    time.sleep(1.0)
    assert influx_counts(influx, where)["kraken"] == parsed
