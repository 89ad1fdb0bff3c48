"""Requested dislocations (`POST /control/<venue>/dislocate`), `--dislocations off`, cross pairs."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket

from simulator.__main__ import parse_args
from simulator.prices import Market, start_price
from simulator.venues import VENUES
from tests.support import bitstamp_kraken as bk
from tests.support import simulator as sh

pytestmark = pytest.mark.integration

EDGE_MS = 50.0  # a client must see each edge this soon after the scheduled time
T0_US = 1_767_225_600_000_000


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    # One change per second: a shifted price seen within milliseconds can only be the edge.
    proc = sh.SimProcess("--exchanges", "bitstamp,kraken", "--symbols", "BTC-USD,ETH-USD",
                         "--rate", "1", "--dislocations", "off").start()
    yield proc
    assert proc.stop() == 0, proc.output()


def subscribe_btc(sim: sh.SimProcess, exchange: str) -> websocket.WebSocket:
    ws = sh.connect(sim.ws_url(exchange))
    if exchange == "kraken":
        bk.kraken_subscribe(ws, ["BTC/USD"])
    else:
        bk.bitstamp_subscribe(ws, "order_book_btcusd")
    return ws


def timed_tops(
    ws: websocket.WebSocket, exchange: str, until_ns: int
) -> list[tuple[int, int, float]]:
    """(receive wall ns, venue timestamp µs, bid) of each top-of-book frame until `until_ns`."""
    out = []
    while (left_s := (until_ns - time.time_ns()) / 1e9) > 0:
        frame = sh.recv_json(ws, left_s)
        received_ns = time.time_ns()
        if frame is not None and bk.BOOK[exchange](frame):
            _, top, ts_us = bk.TOP[exchange](frame)
            out.append((received_ns, ts_us, top[0]))
    return out


@pytest.mark.parametrize(("exchange", "shift"), [("kraken", 0.02), ("bitstamp", -0.02)])
def test_both_edges_reach_a_client_within_milliseconds(
    sim: sh.SimProcess, exchange: str, shift: float
) -> None:
    ws = subscribe_btc(sim, exchange)
    try:
        _, top, _ = bk.TOP[exchange](sh.wait_frame(ws, bk.BOOK[exchange], seconds=5.0))
        base = top[0]
        reply = sim.control(exchange, "dislocate", symbol="BTC-USD", shift=shift, seconds=1.0)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        start_ns, end_ns = body["start_ns"], body["end_ns"]
        assert end_ns - start_ns == 1_000_000_000
        assert abs(start_ns - time.time_ns()) < 1e9  # wall clock, not market time
        assert body["subscribed"] is True and body["symbol"] == "BTC-USD"
        # A paced change may have gone out just before the request: it belongs to before.
        frames = [f for f in timed_tops(ws, exchange, end_ns + 300_000_000)
                  if f[1] >= start_ns // 1000]
        shifted_bid = base * (1 + shift)

        def is_shifted(bid: float) -> bool:
            return abs(bid - shifted_bid) < abs(shift) * base / 4

        first = frames[0]
        assert is_shifted(first[2]), (base, first)
        assert (first[0] - start_ns) / 1e6 < EDGE_MS, (first, start_ns)
        assert first[1] == start_ns // 1000  # the start edge is stamped at the scheduled start
        for _, ts_us, bid in frames:
            assert is_shifted(bid) == (ts_us < end_ns // 1000), (ts_us, bid, start_ns, end_ns)
        after = [f for f in frames if f[1] >= end_ns // 1000]
        assert after, frames
        assert (after[0][0] - end_ns) / 1e6 < EDGE_MS, (after[0], end_ns)
        assert abs(after[0][2] - base) < abs(shift) * base / 4
    finally:
        ws.close()


def test_edges_are_extra_changes_even_after_count() -> None:
    sim = sh.SimProcess("--exchanges", "kraken", "--symbols", "BTC-USD", "--count", "1").start()
    ws = subscribe_btc(sim, "kraken")
    try:
        sh.wait_frame(ws, bk.is_kraken_update)
        assert sim.total_emitted("kraken") == 1
        body = sim.control("kraken", "dislocate", symbol="BTC-USD", shift=0.03,
                           seconds=0.3).json()
        updates = [f for f in sh.collect(ws, 1.0) if bk.is_kraken_update(f)]
        stamps = [bk.kraken_ts_us(u["data"][0]["timestamp"]) for u in updates]
        assert len(updates) == 2, updates  # the start edge and the end edge, nothing else
        assert stamps[0] == body["start_ns"] // 1000
        assert body["end_ns"] // 1000 <= stamps[1] < body["end_ns"] // 1000 + EDGE_MS * 1000
        assert updates[0]["data"][0]["bid"] > updates[1]["data"][0]["bid"] * 1.02
        assert sim.total_emitted("kraken") == 3
    finally:
        ws.close()
        assert sim.stop() == 0, sim.output()


def test_json_body_and_an_unsubscribed_symbol(sim: sh.SimProcess) -> None:
    before = sim.stats()["emitted"]["kraken"]["ETH-USD"]
    reply = requests.post(f"{sim.http}/control/kraken/dislocate", timeout=5,
                          json={"symbol": "eth-usd", "shift": -0.015, "seconds": 0.25})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["symbol"] == "ETH-USD" and body["shift"] == -0.015
    assert body["end_ns"] - body["start_ns"] == 250_000_000
    assert body["subscribed"] is False
    time.sleep(0.4)  # past the end: with nobody subscribed neither edge is emitted
    assert sim.stats()["emitted"]["kraken"]["ETH-USD"] == before


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"shift": 0.02, "seconds": 1}, "symbol is required"),
        ({"symbol": "XRP-USD", "shift": 0.02, "seconds": 1}, "not simulated on kraken"),
        ({"symbol": "BTC-USD", "seconds": 1}, "shift"),
        ({"symbol": "BTC-USD", "shift": "lots", "seconds": 1}, "shift must be a number"),
        ({"symbol": "BTC-USD", "shift": "nan", "seconds": 1}, "finite"),
        ({"symbol": "BTC-USD", "shift": 0, "seconds": 1}, "non-zero"),
        ({"symbol": "BTC-USD", "shift": 0.9, "seconds": 1}, "within"),
        ({"symbol": "BTC-USD", "shift": 0.02, "seconds": 0}, "seconds must be in"),
        ({"symbol": "BTC-USD", "shift": 0.02, "seconds": -1}, "seconds must be in"),
        ({"symbol": "BTC-USD", "shift": 0.02, "seconds": 1e9}, "seconds must be in"),
        ({"symbol": "BTC-USD", "shift": 0.02, "seconds": "inf"}, "finite"),
    ],
)
def test_bad_parameters_are_400_with_a_reason(
    sim: sh.SimProcess, params: dict[str, Any], message: str
) -> None:
    reply = sim.control("kraken", "dislocate", **params)
    assert reply.status_code == 400
    assert message in reply.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"symbol": "BTC-USD", "shift": True, "seconds": 1}), "shift must be a number"),
        (json.dumps({"symbol": "BTC-USD", "shift": 0.02, "seconds": [1]}), "seconds must be"),
    ],
)
def test_bad_json_bodies_are_400(sim: sh.SimProcess, body: str, message: str) -> None:
    reply = requests.post(f"{sim.http}/control/kraken/dislocate", data=body, timeout=5,
                          headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert message in reply.json()["error"]


def test_unknown_exchange_and_wrong_method(sim: sh.SimProcess) -> None:
    assert sim.control("binance", "dislocate", symbol="BTC-USDT", shift=0.02,
                       seconds=1).status_code == 404  # not started in this simulator
    get = requests.get(f"{sim.http}/control/kraken/dislocate", timeout=5)
    assert get.status_code == 405
    assert "dislocate?symbol=S&shift=X&seconds=T" in sim.output()


# --- the model, driven directly -------------------------------------------------------------


def test_dislocations_off_leaves_only_requested_ones() -> None:
    assert parse_args([]).dislocations is True
    assert parse_args(["--dislocations", "off"]).dislocations is False
    market = Market(["bitstamp", "kraken"], ["BTC-USD"], 1, random_dislocations=False)
    market.book("bitstamp", "BTC-USD")
    market.book("kraken", "BTC-USD")
    assert market.dislocations.upcoming(3600) == []
    # Every venue stays within noise of the other for ten simulated minutes.
    for i in range(0, 600_000, 50):
        now = T0_US + i * 1000
        bids = [market.next_change(e, "BTC-USD", now).top.bid for e in ("bitstamp", "kraken")]
        assert abs(bids[0] / bids[1] - 1) < 0.002, (i, bids)
    event = market.dislocate("kraken", "BTC-USD", T0_US + 700_000_000, T0_US + 702_000_000, 0.02)
    assert market.dislocations.upcoming(3600) == [event]
    assert market.dislocations.shift("kraken", "BTC-USD", event.start_s) == 0.02
    assert market.dislocations.shift("kraken", "BTC-USD", event.end_s) == 0.0
    assert market.dislocations.shift("bitstamp", "BTC-USD", event.start_s) == 0.0


def test_a_request_overrides_the_random_schedule_while_it_lasts() -> None:
    market = Market(["kraken"], ["BTC-USD"], 3)
    market.book("kraken", "BTC-USD")
    random_event = market.dislocations.upcoming(60)[0]
    start_us = T0_US + int(random_event.start_s * 1e6)
    market.start(T0_US)
    market.dislocate("kraken", "BTC-USD", start_us, start_us + 100_000, 0.05)
    assert market.dislocations.shift("kraken", "BTC-USD", random_event.start_s) == 0.05
    later = random_event.start_s + 0.2  # random ones last at least a second
    assert market.dislocations.shift("kraken", "BTC-USD", later) == random_event.shift


# --- cross pairs ----------------------------------------------------------------------------


def test_cross_pairs_are_the_ratio_of_the_usd_walks() -> None:
    symbols = ["BTC-USD", "ETH-USD", "ETH-BTC", "BTC-USDT", "SOL-ETH"]
    market = Market(["kraken"], symbols, 5)
    market.start(T0_US)
    assert start_price("ETH-BTC") == pytest.approx(0.05)
    assert start_price("BTC-EUR") == pytest.approx(64000.0 / 1.08)  # a fiat quote at its rate
    assert start_price("BTC-XYZ") == 64000.0  # an unknown quote keeps the base's level
    for i in range(0, 1_200, 7):
        now = T0_US + i * 500_000
        mid = {s: market.mid(s, now) for s in symbols}
        assert mid["ETH-BTC"] == pytest.approx(mid["ETH-USD"] / mid["BTC-USD"], rel=1e-12)
        assert mid["BTC-USDT"] == pytest.approx(mid["BTC-USD"], rel=1e-12)  # USDT is pegged
        assert mid["SOL-ETH"] == pytest.approx(market.mid("SOL-USD", now) / mid["ETH-USD"],
                                               rel=1e-12)
    # The walks did move: a constant ratio would pass the checks above trivially.
    assert market.mid("BTC-USD", now) != pytest.approx(64000.0, rel=1e-4)


def test_cross_pair_books_have_sensible_ticks_and_sizes() -> None:
    market = Market(["kraken"], ["ETH-BTC"], 2)
    for _ in range(200):
        top = market.next_change("kraken", "ETH-BTC", T0_US).top
        assert 0.04 < top.bid < top.ask < 0.06
        assert (top.ask - top.bid) / top.bid < 0.001  # at least five significant decimals
    sizes = [market.next_change("kraken", "ETH-BTC", T0_US).top.bid_size for _ in range(400)]
    median_usd = sorted(sizes)[len(sizes) // 2] * 3200.0
    assert 1000 < median_usd < 20_000  # a few thousand USD of ETH, not of a 0.05 "price"


@pytest.mark.parametrize("name", sorted(set(VENUES) - {"bitvavo"}))
def test_every_venue_can_list_eth_btc(name: str) -> None:
    # Every simulated venue lists ETH-BTC as it does for real (ETHBTC, XETHXXBT, tETHBTC,
    # ETH-BTC...), except Bitvavo, which quotes in EUR only.
    market = Market([name], ["BTC-USDT", "ETH-BTC"], 1)
    venue = VENUES[name](["ETH-BTC"], market, 1)
    assert venue.symbols == ["ETH-BTC"]
    assert venue.price_decimals("ETH-BTC") >= 5


def test_triangle_on_the_wire_is_near_fair() -> None:
    sim = sh.SimProcess("--exchanges", "kraken", "--symbols", "BTC-USD,ETH-USD,ETH-BTC",
                        "--dislocations", "off").start()
    ws = sh.connect(sim.ws_url("kraken"))
    try:
        bk.kraken_subscribe(ws, ["BTC/USD", "ETH/USD", "ETH/BTC"])
        mids: dict[str, float] = {}
        gaps = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            frame = sh.recv_json(ws, 1.0)
            if frame is None or not bk.is_kraken_update(frame):
                continue
            data = frame["data"][0]
            mids[data["symbol"]] = (data["bid"] + data["ask"]) / 2
            if len(mids) == 3:
                gaps.append(mids["ETH/USD"] / (mids["BTC/USD"] * mids["ETH/BTC"]) - 1)
        assert len(gaps) > 50
        assert max(abs(g) for g in gaps) < 0.002, max(gaps, key=abs)
        assert all(math.isfinite(g) for g in gaps)
    finally:
        ws.close()
        assert sim.stop() == 0, sim.output()
