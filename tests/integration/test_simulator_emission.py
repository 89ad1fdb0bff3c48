"""Emission: exact counts, pacing, clean top-of-book series, and opportunities net of fees."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from tests.support import bitstamp_kraken as bk
from tests.support import simulator as sh

pytestmark = pytest.mark.integration

@pytest.mark.parametrize("rate", ["200", "0"])
def test_count_is_exact_and_series_are_clean(rate: str) -> None:
    sim = sh.SimProcess("--count", "300", "--rate", rate).start()
    clients = bk.subscribe_both(sim)
    try:
        received = bk.collect_books(clients, 300, 8.0)
        for exchange, frames in received.items():
            assert len(frames) == 300, (exchange, len(frames))
            counts = bk.check_series(exchange, frames)
            assert set(counts) == {"BTC-USD", "ETH-USD"}
            assert counts == sim.stats()["emitted"][exchange]
        # Nothing more comes once the count is reached; Kraken keeps heartbeating.
        assert [f for f in sh.collect(clients["bitstamp"], 1.5) if bk.is_bitstamp_book(f)] == []
        idle = sh.collect(clients["kraken"], 2.6)
        assert [f for f in idle if bk.is_kraken_update(f)] == []
        assert len([f for f in idle if f == {"channel": "heartbeat"}]) >= 2
        stats = sim.stats()
        assert {e: sum(c.values()) for e, c in stats["emitted"].items()} == {
            "bitstamp": 300,
            "kraken": 300,
        }
        assert stats["clients"] == {"bitstamp": 1, "kraken": 1}
    finally:
        for ws in clients.values():
            ws.close()
        assert sim.stop() == 0, sim.output()


def test_default_rate_is_roughly_200_per_second() -> None:
    sim = sh.SimProcess().start()
    clients = bk.subscribe_both(sim)
    try:
        for exchange, ws in clients.items():
            sh.wait_frame(ws, bk.BOOK[exchange])
        before = {e: sim.total_emitted(e) for e in clients}
        started = time.monotonic()
        frames = sh.collect(clients["kraken"], 2.0)
        elapsed = time.monotonic() - started
        after = {e: sim.total_emitted(e) for e in clients}
        received = len([f for f in frames if bk.is_kraken_update(f)])
        assert 100 <= received / elapsed <= 300, received
        for exchange in clients:
            per_s = (after[exchange] - before[exchange]) / elapsed
            assert 100 <= per_s <= 300, (exchange, per_s)
    finally:
        for ws in clients.values():
            ws.close()
        sim.stop()


def test_opportunities_net_of_fees_appear_and_vanish() -> None:
    sim = sh.SimProcess().start()
    clients = bk.subscribe_both(sim)
    tops: dict[str, dict[str, tuple[float, ...]]] = defaultdict(dict)
    opened_at: float | None = None
    closed = False
    try:
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and not closed:
            for exchange, ws in clients.items():
                # Drain what is there, a short slice at a time, so both venues stay current.
                for frame in sh.collect(ws, 0.02):
                    if bk.BOOK[exchange](frame):
                        native, top, _ = bk.TOP[exchange](frame)
                        tops[bk.normalized(exchange, native)][exchange] = top
            open_now = any(_opportunity(by_venue) for by_venue in tops.values())
            if opened_at is None and open_now:
                opened_at = time.monotonic()
                deadline = opened_at + 5.0  # a dislocation lasts at most ~3 s
            elif opened_at is not None and not open_now:
                closed = True
        assert opened_at is not None, "no opportunity net of 0.4 % + 0.4 % fees within 10 s"
        assert closed, "the opportunity never went away"
    finally:
        for ws in clients.values():
            ws.close()
        sim.stop()


def _opportunity(by_venue: dict[str, tuple[float, ...]]) -> bool:
    """Some venue's bid after fee beats another venue's ask after fee."""
    for buy, (_, _, ask, _) in by_venue.items():
        for sell, (bid, _, _, _) in by_venue.items():
            if buy != sell and bid * (1 - sh.FEE) > ask * (1 + sh.FEE):
                return True
    return False
