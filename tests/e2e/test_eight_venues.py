"""All eight feed workers against the simulator, through the real stack into InfluxDB."""

from __future__ import annotations

import time

import pytest
import requests

from core.influx import InfluxDB, quote_literal
from core.state import RedisState
from tests.support.procs import Proc, wait_for
from tests.support.stack import start_feed, start_simulator
from workers.exchanges import known_exchanges

pytestmark = pytest.mark.e2e

COUNT = 1000
VENUES = ("binance", "bitfinex", "bitstamp", "bybit", "coinbase", "gemini", "kraken", "okx")
# USD and USDT pairs: binance.com, OKX and Bybit list no USD pairs, the others list both.
SYMBOLS = "BTC-USD,ETH-USD,BTC-USDT,ETH-USDT"


def test_all_eight_venues_store_exactly_count_points_each(
    procs: list[Proc], celery_workers: list[Proc], influx: InfluxDB, state: RedisState
) -> None:
    assert set(VENUES) <= set(known_exchanges())
    sim_url = start_simulator(procs, "--exchanges", ",".join(VENUES), "--symbols", SYMBOLS,
                              "--count", str(COUNT), "--seed", "11")
    # Each test writes its own symbols' series; earlier tests in this module used others.
    where = "WHERE " + " OR ".join(f"symbol = {quote_literal(s)}" for s in SYMBOLS.split(","))
    started = time.monotonic()
    for venue in VENUES:
        start_feed(procs, venue, sim_url, SYMBOLS)

    def stats() -> dict:
        return requests.get(sim_url + "/stats", timeout=2).json()

    wait_for(lambda: all(n >= 1 for n in stats()["clients"].values()), 60,
             "every feed worker to connect")
    # A forced reconnect mid-run: recorded as a feed event, and still nothing lost, since the
    # simulator only emits to subscribed clients.
    wait_for(lambda: sum(stats()["emitted"]["bitstamp"].values()) > COUNT // 4, 60,
             "bitstamp to be under way")
    requests.post(sim_url + "/control/bitstamp/close", timeout=5)

    def emitted_all() -> bool:
        emitted = stats()["emitted"]
        return all(sum(emitted[v].values()) == COUNT for v in VENUES)

    wait_for(emitted_all, 180, f"{COUNT} changes per venue")

    def counts() -> dict[str, int]:
        rows = influx.query_points(
            f"SELECT count(bid) AS n FROM quotes {where} GROUP BY exchange")
        return {row["exchange"]: int(row["n"]) for row in rows}

    expected = {venue: COUNT for venue in VENUES}
    try:
        wait_for(lambda: counts() == expected, 90, f"exactly {COUNT} points per venue",
                 every_s=1.0)
    except TimeoutError as exc:  # say which venue is off, and by how much
        raise AssertionError(f"{exc}: stored {counts()}, simulator {stats()}") from exc
    stored_s = time.monotonic() - started
    time.sleep(1.5)
    assert counts() == expected

    open_pairs = {(o["buy_exchange"], o["sell_exchange"]) for o in state.opportunities(1000)}
    closed = influx.query_points("SELECT * FROM opportunities")
    pairs = open_pairs | {(p["buy_exchange"], p["sell_exchange"]) for p in closed}
    venues_in_opportunities = {v for pair in pairs for v in pair}
    assert len(venues_in_opportunities) >= 3, pairs

    events = influx.query_points(
        f"SELECT * FROM feed_events WHERE exchange = {quote_literal('bitstamp')}")
    disconnects = [e for e in events if e["event"] == "disconnect"]
    assert disconnects and all(e["reason"] for e in disconnects)
    assert len([e for e in events if e["event"] == "connect"]) >= 2
    print(f"\ne2e eight venues: {len(VENUES) * COUNT} quotes stored after {stored_s:.1f} s; "
          f"{len(pairs)} venue pairs had opportunities, over {len(venues_in_opportunities)} "
          f"venues")
