"""Replay a recording whose books are seeded by REST snapshots, against an independent book.

Binance.US and Gate.io record `U`/`u`-numbered depth diffs beside the REST snapshots that seed
them: `replay` feeds both to an adapter in recorded order, and `TopCheck` keeps a dict book of
its own by the documented rule and checks each quote against it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.support.recorded import rest_body, rest_responses, ws_events
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events, split_events


def replay(adapter: Adapter, name: str, keep: Callable[[str], bool],
           on_events: Callable[[str, Events], None]) -> Counter[str]:
    """Recorded frames (`keep` picks) and, once due, the REST bodies asked for, through the
    adapter; `on_events(text or url, events)` sees each. Returns the fetches per URL."""
    bodies = {r.url: (r.time, r.body) for r in rest_responses(f"{name}.http.txt")}
    asked: list[str] = []
    fetched = Counter[str]()

    def answer_due(now: float) -> None:
        for url in [u for u in asked if bodies[u][0] <= now]:
            asked.remove(url)
            fetched[url] += 1
            on_events(url, adapter.on_rest(url, json.dumps(bodies[url][1]), 0))

    for event in ws_events(name):
        if event.kind != "recv" or not keep(event.payload):
            continue
        answer_due(event.time or 0.0)
        events = adapter.on_message(event.payload, 0)
        for url in split_events(events).fetches:
            assert url in bodies, url  # every snapshot asked for was recorded
            asked.append(url)
        on_events(event.payload, events)
    answer_due(float("inf"))
    return fetched


class DictBook:
    """An independent U/u book per market: dicts of price → size, the documented rule."""

    def __init__(self) -> None:
        self.held: dict[str, list[tuple[int, int, Any, Any]]] = {}
        self.books: dict[str, tuple[int, dict[float, float], dict[float, float]]] = {}

    def delta(self, market: str, first: int, last: int, bids: Any, asks: Any) -> bool:
        """Apply (True) or hold/drop (False) one delta; a hole fails the test."""
        if market not in self.books:
            self.held.setdefault(market, []).append((first, last, bids, asks))
            return False
        last_id, bid_book, ask_book = self.books[market]
        if last <= last_id:
            return False
        assert first <= last_id + 1, f"hole in the recording of {market}"
        for book, levels in ((bid_book, bids), (ask_book, asks)):
            book.update({float(p): float(q) for p, q in levels})
            for price in [p for p, q in book.items() if q == 0]:
                del book[price]
        self.books[market] = (last, bid_book, ask_book)
        return True

    def snapshot(self, market: str, last_id: int, bids: Any, asks: Any) -> None:
        """Seed `market`, then apply what was held for it."""
        self.books[market] = (last_id, {float(p): float(s) for p, s in bids},
                              {float(p): float(s) for p, s in asks})
        for held in self.held.pop(market, []):
            self.delta(market, *held)

    def top(self, market: str) -> tuple[float, float, float, float]:
        _, bids, asks = self.books[market]
        return max(bids), bids[max(bids)], min(asks), asks[min(asks)]


Delta = tuple[str, int, int, Any, Any]  # symbol, first id, last id, bids, asks


class TopCheck:
    """A replay callback keeping an independent book of the recording: after each snapshot
    and each delta the book applies, the last quote emitted for that market is its top."""

    def __init__(self, name: str, id_key: str, symbol_of_url: Callable[[str], str],
                 delta_of: Callable[[dict[str, Any]], Delta | None]) -> None:
        self.name, self.id_key = name, id_key
        self.symbol_of_url, self.delta_of = symbol_of_url, delta_of
        self.book = DictBook()
        self.last_top: dict[str, tuple[float, float, float, float]] = {}
        self.checked: Counter[str] = Counter()

    def __call__(self, text: str, events: Events) -> None:
        for quote in split_events(events).quotes:
            self.last_top[quote.symbol] = (quote.bid, quote.bid_size, quote.ask, quote.ask_size)
        if text.startswith("http"):
            symbol, body = self.symbol_of_url(text), rest_body(f"{self.name}.http.txt", text)
            self.book.snapshot(symbol, body[self.id_key], body["bids"], body["asks"])
        else:
            delta = self.delta_of(json.loads(text))
            if delta is None or not self.book.delta(*delta):
                return
            symbol = delta[0]
        assert self.last_top[symbol] == self.book.top(symbol), text[:120]
        self.checked[symbol] += 1
