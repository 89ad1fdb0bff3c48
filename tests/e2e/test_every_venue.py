"""Every registered venue's feed against the simulator, grouped into processes as deployed,
through the real stack into InfluxDB: exactly `--count` quotes per venue, each venue's
connection closed once mid-run."""

from __future__ import annotations

import time

import pytest
import requests

from core.config import DEFAULT_SYMBOLS
from core.influx import InfluxDB, quote_literal
from core.state import RedisState
from tests.support.procs import Proc, wait_for
from tests.support.stack import start_feed_groups, start_simulator
from workers.exchanges import known_exchanges

pytestmark = pytest.mark.e2e

COUNT = 1000
VENUES = tuple(known_exchanges())
SYMBOLS = DEFAULT_SYMBOLS  # every venue lists at least two of them


def test_every_venue_stores_exactly_count_points_through_a_reconnect(
    procs: list[Proc], celery_workers: list[Proc], influx: InfluxDB, state: RedisState
) -> None:
    sim_url = start_simulator(procs, "--exchanges", ",".join(VENUES), "--symbols", SYMBOLS,
                              "--count", str(COUNT), "--seed", "11")
    # Each test writes its own symbols' series; earlier tests in this module used others.
    where = "WHERE " + " OR ".join(f"symbol = {quote_literal(s)}" for s in SYMBOLS.split(","))
    started = time.monotonic()
    start_feed_groups(procs, list(VENUES), sim_url, SYMBOLS)

    def stats() -> dict:
        return requests.get(sim_url + "/stats", timeout=2).json()

    wait_for(lambda: all(n >= 1 for n in stats()["clients"].values()), 60,
             "every feed worker to connect")
    # A forced reconnect of every venue mid-run: recorded as a feed event, and still nothing
    # lost, since the simulator only emits to subscribed clients.
    closed: set[str] = set()

    def close_those_under_way() -> bool:
        emitted = stats()["emitted"]
        for venue in VENUES:
            if venue not in closed and sum(emitted[venue].values()) > COUNT // 4:
                assert requests.post(f"{sim_url}/control/{venue}/close", timeout=5).ok
                closed.add(venue)
        return len(closed) == len(VENUES)

    wait_for(close_those_under_way, 120, "every venue under way, then closed once")

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
    except TimeoutError as exc:  # say which venue is off, by how much, and what it went through
        stored = counts()
        off = [v for v in VENUES if stored.get(v) != COUNT]
        events = [(e["exchange"], e["event"], e["reason"])
                  for e in influx.query_points("SELECT * FROM feed_events")
                  if e["exchange"] in off]
        raise AssertionError(f"{exc}: stored {stored}, simulator {stats()['emitted']}, "
                             f"feed events of those off {events}") from exc
    stored_s = time.monotonic() - started
    time.sleep(1.5)
    assert counts() == expected

    open_pairs = {(o["buy_exchange"], o["sell_exchange"]) for o in state.opportunities(1000)}
    closed = influx.query_points("SELECT * FROM opportunities")
    pairs = open_pairs | {(p["buy_exchange"], p["sell_exchange"]) for p in closed}
    venues_in_opportunities = {v for pair in pairs for v in pair}
    assert len(venues_in_opportunities) >= 6, pairs

    events = influx.query_points("SELECT * FROM feed_events")
    for venue in VENUES:
        mine = [e for e in events if e["exchange"] == venue]
        disconnects = [e for e in mine if e["event"] == "disconnect"]
        assert disconnects and all(e["reason"] for e in disconnects), venue
        assert len([e for e in mine if e["event"] == "connect"]) >= 2, venue
    print(f"\ne2e every venue: {len(VENUES) * COUNT} quotes stored after {stored_s:.1f} s; "
          f"{len(pairs)} venue pairs had opportunities, over {len(venues_in_opportunities)} "
          f"venues")
