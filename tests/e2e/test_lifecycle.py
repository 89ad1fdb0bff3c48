"""Opportunity lifecycle end to end: one scheduled dislocation → one open, one close, one point."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from core.influx import InfluxDB
from core.state import RedisState
from tests.support.procs import Proc, celery_worker, wait_for
from tests.support.stack import start_feed, start_simulator

pytestmark = pytest.mark.e2e

EXCHANGES = ("bitstamp", "kraken")
SYMBOL = "BTC-USD"
SHIFT = 0.02  # bitstamp 2 % rich: buy on kraken, sell on bitstamp, about 1 % net of both fees
SECONDS = 2.0
# Ordinary noise is a few basis points below two taker fees; only the dislocation clears this.
MIN_NET_PCT = "0.5"
TOLERANCE_S = 0.1


class LiveEvents:
    """Collects the opportunity events of the live channel in a thread, with receive times."""

    def __init__(self, state: RedisState) -> None:
        self._pubsub = state.redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(state.live.pattern)
        self.events: list[tuple[int, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.1)
            if message is None:
                continue
            event = json.loads(message["data"])
            if event.get("type") == "opportunity":
                self.events.append((time.time_ns(), event["data"]))

    def actions(self) -> list[str]:
        return [data["action"] for _, data in list(self.events)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()


@pytest.fixture(scope="module")
def workers(procs: list[Proc]) -> list[Proc]:
    """Storage and arbitrage workers with a threshold that noise never reaches."""
    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE

    env = {"MIN_NET_PCT": MIN_NET_PCT}
    started = [celery_worker([STORAGE_QUEUE], "e2e-life-storage", env),
               celery_worker([ARBITRAGE_QUEUE], "e2e-life-arbitrage", env)]
    procs.extend(started)
    return started


@pytest.fixture
def live(state: RedisState) -> Iterator[LiveEvents]:
    events = LiveEvents(state)
    yield events
    events.close()


def opportunity_points(influx: InfluxDB) -> list[dict[str, Any]]:
    return influx.query_points("SELECT * FROM opportunities")


def test_one_dislocation_is_one_opportunity_with_the_scheduled_duration(
    procs: list[Proc], workers: list[Proc], influx: InfluxDB, state: RedisState,
    live: LiveEvents,
) -> None:
    sim_url = start_simulator(procs, "--exchanges", ",".join(EXCHANGES), "--symbols", SYMBOL,
                              "--dislocations", "off", "--seed", "11")
    for name in EXCHANGES:
        start_feed(procs, name, sim_url, SYMBOL)
    wait_for(lambda: set(state.quotes_for(SYMBOL)) == set(EXCHANGES), 60,
             "both venues' quotes in Redis")
    time.sleep(2.0)  # noise alone, with both feeds streaming, opens nothing
    assert live.events == [] and state.opportunities() == []

    reply = requests.post(f"{sim_url}/control/bitstamp/dislocate", timeout=5,
                          params={"symbol": SYMBOL, "shift": SHIFT, "seconds": SECONDS})
    assert reply.status_code == 200, reply.text
    schedule = reply.json()
    scheduled_s = (schedule["end_ns"] - schedule["start_ns"]) / 1e9

    wait_for(lambda: "open" in live.actions(), 10, "the opportunity to open")
    assert len(state.opportunities()) == 1
    wait_for(lambda: "close" in live.actions(), SECONDS + 10, "the opportunity to close")
    wait_for(lambda: opportunity_points(influx), 30, "the opportunities point in InfluxDB",
             every_s=0.25)
    time.sleep(1.5)  # nothing else may follow: exactly one, not at least one

    actions = live.actions()
    assert actions.count("open") == 1 and actions.count("close") == 1, actions
    assert actions[0] == "open" and actions[-1] == "close", actions
    pairs = {(d["symbol"], d["buy_exchange"], d["sell_exchange"]) for _, d in live.events}
    assert pairs == {(SYMBOL, "kraken", "bitstamp")}
    assert state.opportunities() == []

    [point] = opportunity_points(influx)
    assert (point["symbol"], point["buy_exchange"], point["sell_exchange"]) == (
        SYMBOL, "kraken", "bitstamp")
    assert float(point["peak_net_pct"]) >= float(MIN_NET_PCT)
    duration_s = float(point["duration_s"])
    [closed] = [d for _, d in live.events if d["action"] == "close"]
    open_seen_ns = next(t for t, d in live.events if d["action"] == "open")
    close_seen_ns = next(t for t, d in live.events if d["action"] == "close")
    print(f"\nlifecycle: scheduled {scheduled_s:.6f} s, stored duration_s {duration_s:.6f} s "
          f"(error {duration_s - scheduled_s:+.4f} s); opened_ns - start_ns "
          f"{(closed['opened_ns'] - schedule['start_ns']) / 1e6:+.1f} ms, closed_ns - end_ns "
          f"{(closed['closed_ns'] - schedule['end_ns']) / 1e6:+.1f} ms; events seen by a "
          f"subscriber {(open_seen_ns - schedule['start_ns']) / 1e6:+.1f} ms after start and "
          f"{(close_seen_ns - schedule['end_ns']) / 1e6:+.1f} ms after end")
    assert abs(duration_s - scheduled_s) <= TOLERANCE_S, (duration_s, scheduled_s)
