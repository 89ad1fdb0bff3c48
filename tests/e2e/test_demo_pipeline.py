"""Simulator → two feed workers → RabbitMQ → Celery workers → InfluxDB and Redis → JSON API."""

from __future__ import annotations

import signal
import time

import pytest
import requests

from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE
from core.influx import InfluxDB
from core.state import RedisState
from tests.e2e.conftest import start_web
from tests.procs import VENV_BIN, Proc, celery_worker, free_port, wait_for

pytestmark = pytest.mark.e2e

COUNT = 2000
EXCHANGES = ("bitstamp", "kraken")


def influx_counts(influx: InfluxDB) -> dict[str, int]:
    rows = influx.query_points("SELECT count(bid) AS n FROM quotes GROUP BY exchange")
    return {row["exchange"]: int(row["n"]) for row in rows}


def test_count_2000_quotes_reach_influxdb_and_opportunities_reach_the_api(
    procs: list[Proc], influx: InfluxDB, state: RedisState
) -> None:
    procs.append(celery_worker([STORAGE_QUEUE], "e2e-storage"))
    procs.append(celery_worker([ARBITRAGE_QUEUE], "e2e-arbitrage"))
    web = start_web(procs)

    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    procs.append(Proc("simulator", [str(VENV_BIN / "python"), "-m", "simulator", "--port",
                                    str(port), "--exchanges", ",".join(EXCHANGES), "--symbols",
                                    "BTC-USD,ETH-USD", "--count", str(COUNT), "--seed", "7"]))
    wait_for(lambda: requests.get(sim_url + "/stats", timeout=1).ok, 30, "the simulator")

    started = time.monotonic()
    feeds = {}
    for name in EXCHANGES:
        feeds[name] = Proc(f"feed-{name}", [
            str(VENV_BIN / "python"), "-m", "workers", name, "--symbols", "BTC-USD,ETH-USD",
            "--ws-url", f"ws://127.0.0.1:{port}/{name}", "--rest-url", f"{sim_url}/{name}"])
        procs.append(feeds[name])

    def api_opportunities() -> list[dict]:
        return requests.get(web + "/api/opportunities", timeout=2).json()["opportunities"]

    wait_for(lambda: api_opportunities(), 60, "an opportunity at /api/opportunities")
    first_opportunity_s = time.monotonic() - started
    [opp, *_] = api_opportunities()
    assert {"symbol", "buy_exchange", "sell_exchange", "net_pct", "gross_pct", "size",
            "net_profit"} <= set(opp)
    assert opp["buy_exchange"] != opp["sell_exchange"] and opp["net_pct"] >= 0
    assert state.redis.zcard(state.opps_key) >= 1

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

    for feed in feeds.values():
        feed.signal(signal.SIGTERM)
        assert feed.popen.wait(20) == 0, feed.output[-2000:]
    print(f"\ne2e: {2 * COUNT} quotes from 2 exchanges; first opportunity after "
          f"{first_opportunity_s:.1f} s; all emitted after {emitted_s:.1f} s; all stored after "
          f"{stored_s:.1f} s ({2 * COUNT / stored_s:.0f} quotes/s end to end at the default "
          f"simulator rate of 200/s per exchange)")
