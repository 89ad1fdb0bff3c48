"""`--count N` means exactly N top-of-book changes per venue, and every one reaches the adapter
as one quote: for every registered venue, through its own protocol (acks, pings answered,
snapshots fetched, binary frames), nothing lost and nothing extra."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import websocket

from core.config import DEFAULT_SYMBOLS
from core.types import Quote
from tests.support import simulator as sh
from tests.support.sessions import twin
from workers.exchanges import get_adapter, known_exchanges
from workers.exchanges.events import split_events

pytestmark = pytest.mark.integration

COUNT = 300


def two_symbols(venue: str) -> tuple[str, ...]:
    """Two default symbols the venue lists (every venue has them, see test_default_symbols)."""
    listed = sorted(m.symbol for m in twin(venue, DEFAULT_SYMBOLS.split(","))[1])
    return tuple(s for s in DEFAULT_SYMBOLS.split(",") if s in listed)[:2]


def quotes_of(adapter: Any, ws: websocket.WebSocket, frame: Any) -> list[Quote]:
    """The frame through the adapter as the feed dispatches it: replies sent, snapshots fetched."""
    events = (adapter.on_binary(frame, 1) if isinstance(frame, bytes)
              else adapter.on_message(frame, 1))
    split = split_events(events)
    for reply in split.sends:
        ws.send(reply)
    quotes = list(split.quotes)
    for url in split.fetches:
        body = requests.get(url, timeout=5)
        quotes += split_events(adapter.on_rest(url, body.text, 1)).quotes
    return quotes


@pytest.mark.parametrize("venue", known_exchanges())
def test_count_is_exactly_count_quotes_through_the_adapter(venue: str) -> None:
    symbols = two_symbols(venue)
    sim = sh.SimProcess("--exchanges", venue, "--symbols", ",".join(symbols),
                        "--count", str(COUNT), "--rate", "0").start()
    try:
        adapter, ws = sh.subscribed(sim, get_adapter(venue), venue, symbols)
        quotes: list[Quote] = []

        def read(frame: Any) -> bool:
            quotes.extend(quotes_of(adapter, ws, frame))
            return len(quotes) >= COUNT

        sh.collect_texts(ws, 30.0, until=read)
        for frame in sh.collect_texts(ws, 1.0):  # and nothing more
            quotes += quotes_of(adapter, ws, frame)
        ws.close()
        assert len(quotes) == COUNT, (len(quotes), adapter.errors)
        assert {q.symbol for q in quotes} == set(symbols)
        assert sum(sim.stats()["emitted"][venue].values()) == COUNT
    finally:
        assert sim.stop() == 0, sim.output()
