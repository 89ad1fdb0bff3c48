"""The Bithumb twin on its own: what differs from the Upbit twin (the shared wire is exercised
for both venues by test_simulator_upbit.py): its KRW/BTC market list, any unit count up to 30,
`level` 1, and a session of whole books through the adapter with the faults it has."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from core.types import Quote
from tests.support import simulator as sh
from tests.support.upbit_frames import frames_of, request
from workers.exchanges.bithumb import BithumbAdapter

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "bithumb", "--symbols",
                        "BTC-KRW,ETH-KRW,ETH-BTC,BTC-USDT,ETH-EUR", "--rate", "50")


def test_only_krw_and_btc_markets_are_listed(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/bithumb/v1/market/all", timeout=5).json()
    natives = {row["market"] for row in body}
    assert {"KRW-BTC", "KRW-ETH", "BTC-ETH"} <= natives
    assert not natives & {"USDT-BTC", "EUR-ETH"}  # Bithumb quotes in KRW and BTC only
    assert 1 <= len(natives - {"KRW-BTC", "KRW-ETH", "BTC-ETH"}) <= 2  # unconfigured extras
    symbols = {m.symbol for m in BithumbAdapter.parse_markets(body)}
    assert {"BTC-KRW", "ETH-KRW", "ETH-BTC"} <= symbols


def test_any_unit_count_and_level_one(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("bithumb")) as ws:
        ws.send(request({"type": "orderbook", "codes": ["KRW-ETH.3"]}, fmt="DEFAULT"))
        books = frames_of(ws, 3.0, 5)
        assert books and all(len(b["orderbook_units"]) == 3 and b["level"] == 1
                             for b in books)


def test_whole_books_through_the_adapter(sim: sh.SimProcess) -> None:
    adapter, ws = sh.subscribed(sim, BithumbAdapter, "bithumb", ("BTC-KRW", "ETH-KRW"))
    try:
        frames, out = sh.through_adapter(ws, adapter, 30)
        assert all(type(e) is Quote for e in out) and not adapter.errors
        assert {q.symbol for q in out} == {"BTC-KRW", "ETH-KRW"}
        # KRW books are priced in whole won; each quote's stamp is its frame's.
        assert all(q.bid == int(q.bid) and q.ask == int(q.ask) for q in out)
        stamps = {json.loads(f)["tms"] for f in frames if b'"orderbook"' in f}
        assert {q.ts_exchange_ns // 1_000_000 for q in out} <= stamps
        assert sim.control("bithumb", "gap").status_code == 400
        assert sim.control("bithumb", "silence", seconds=2).ok
        sh.collect_texts(ws, 0.3)  # what was already on its way
        assert sh.collect_texts(ws, 1.0) == []
        _, resumed = sh.through_adapter(ws, adapter, 3, timeout_s=5.0)
        assert len(resumed) >= 3
    finally:
        ws.close()
