"""Twins that join numbered depth diffs to REST snapshots, read through an adapter (Binance.US,
Gate.io): the session, the tops it yields, the join and the gap fault's resync."""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests
import websocket

from tests.support import simulator as sh
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events, split_events


def depth_session(sim: sh.SimProcess, cls: Any, venue: str,
                  symbols: tuple[str, ...]) -> tuple[Any, websocket.WebSocket]:
    """An adapter of `cls` on its depth path, its snapshots fetched from the simulator."""
    listing = requests.get(cls.markets_url(f"{sim.http}/{venue}"), timeout=5).json()
    adapter = cls([m for m in cls.parse_markets(listing) if m.symbol in symbols])
    adapter.follow_depth = True
    adapter.rest_base = f"{sim.http}/{venue}"
    adapter.on_connect()
    ws = sh.connect(sim.ws_url(venue))
    for frame in adapter.subscribe_messages():
        ws.send(frame)
    return adapter, ws


def gap_resyncs(sim: sh.SimProcess, venue: str, adapter: Adapter,
                ws: websocket.WebSocket) -> None:
    """Once the book quotes, the `gap` fault makes the adapter resync, once."""
    try:
        assert feed(adapter, ws, 10.0, until="Quote")["Quote"] > 0
        assert sim.control(venue, "gap").ok
        assert feed(adapter, ws, 10.0, until="Reconnect")["Reconnect"] == 1
        assert adapter.errors["sequence_gap"] == 1
    finally:
        ws.close()


def feed(adapter: Adapter, ws: websocket.WebSocket, seconds: float,
         until: str | None = None) -> Counter[str]:
    """Frames through the adapter for `seconds` (or until an event of kind `until`), its
    snapshot requests answered by GETs: the kinds of events it returned."""
    kinds: Counter[str] = Counter()

    def note(events: Events) -> bool:
        kinds.update(type(e).__name__ for e in events)
        for url in split_events(events).fetches:
            body = requests.get(url, timeout=5)
            assert body.ok, body.text
            note(adapter.on_rest(url, body.text, 1))
        return until is not None and kinds[until] > 0

    sh.collect_texts(ws, seconds, until=lambda text: note(adapter.on_message(text, 1)))
    return kinds


def tops_through_adapter(sim: sh.SimProcess, cls: Any, venue: str,
                         symbols: tuple[str, ...], timed: bool) -> None:
    """The live path: 20 quotes of both markets, uncrossed, with a venue time if `timed`."""
    adapter, ws = sh.subscribed(sim, cls, venue, symbols)
    try:
        _, quotes = sh.through_adapter(ws, adapter, 20, timeout_s=20, quiet_s=0.2)
        assert {q.symbol for q in quotes} == set(symbols) and not adapter.errors
        assert all(q.bid < q.ask and (q.ts_exchange_ns is not None) is timed for q in quotes)
    finally:
        ws.close()


def depth_joins(adapter: Adapter, ws: websocket.WebSocket) -> None:
    """Four seconds of the depth path: one snapshot per market, then diffs only, no resync."""
    kinds = feed(adapter, ws, 4.0)
    assert kinds["RestRequest"] == 2 and kinds["Quote"] > 20 and "Reconnect" not in kinds
    assert not adapter.errors
