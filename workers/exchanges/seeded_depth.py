"""Books seeded from a REST snapshot and kept by numbered deltas: a layer under a venue.

The venue half says which REST path holds a market's snapshot and reads the wire; this half
keeps one `SeededBook` per market: the first delta of a market on a connection is held and
asks for the snapshot (`RestRequest`), the snapshot joins the held deltas, later deltas
must follow on, and any hole asks for a fresh connection (`sequence_gap`), which brings
fresh snapshots. Binance.US and Gate.io share the rule (U/u ids against the snapshot's id).
"""

from __future__ import annotations

from typing import Any

import orjson

from core.types import Market
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import SHAPE_ERRORS, decimal_levels, integer
from workers.exchanges.seeded import APPLIED, GAP, SeededBook

Levels = list[tuple[float, float]]


class SeededDepth(Adapter):
    """Per-market seeded books and the snapshot requests still out, per connection."""

    # Latest trade price per native market, for the quotes the books give (the venue fills it).
    _last: dict[str, float]

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self.forget_books()

    def on_connect(self) -> None:
        """A new connection: new update ids, so books and snapshot requests start over."""
        super().on_connect()
        self.forget_books()

    def snapshot_path(self, native: str) -> str:
        """The REST path (with its query) of `native`'s book snapshot."""
        raise NotImplementedError

    def forget_books(self) -> None:
        """Drop every book and pending snapshot request."""
        # Per native market: its book on this connection, made by the market's first delta.
        self._seeded: dict[str, SeededBook] = {}
        # Snapshot URLs asked for on this connection → the native market each one seeds.
        self._asked: dict[str, str] = {}

    def read_delta(self, native: str, data: dict[str, Any], ts_ns: int | None,
                   received_ns: int) -> Events:
        """A delta `{"U": first, "u": last, "b": bids, "a": asks}` (both venues' keys)."""
        first, last = integer(data["U"]), integer(data["u"])
        # Read every level before the book sees any, so a bad frame changes nothing.
        bids = decimal_levels(data["b"], allow_zero=True)
        asks = decimal_levels(data["a"], allow_zero=True)
        return self.seeded_delta(native, first, last, bids, asks, ts_ns, received_ns)

    def read_snapshot(self, url: str, text: str, id_key: str, received_ns: int) -> Events:
        """A snapshot body `{id_key: id, "bids": [...], "asks": [...]}` for `seeded_snapshot`."""
        try:
            body = orjson.loads(text)
            last_id = integer(body[id_key])
            bids = decimal_levels(body["bids"], allow_zero=False)
            asks = decimal_levels(body["asks"], allow_zero=False)
        except SHAPE_ERRORS:
            return self.bad_snapshot(url)
        return self.seeded_snapshot(url, last_id, bids, asks, received_ns)

    def seeded_delta(self, native: str, first: int, last: int, bids: Levels, asks: Levels,
                     ts_ns: int | None, received_ns: int) -> Events:
        """One delta of ids first..last: held, applied (a Quote when the top moved) or a gap."""
        if first > last:
            raise ValueError("delta id range runs backwards")
        seeded = self._seeded.get(native)
        if seeded is None:
            # The market's first delta on this connection: hold it and ask for the snapshot,
            # which is then at least as new as this delta (Binance's and Gate's order of steps).
            seeded = self._seeded[native] = SeededBook()
            seeded.on_delta(first, last, bids, asks)
            path = self.snapshot_path(native)
            self._asked[self.rest_endpoint(path)] = native
            return self.fetch(path)
        verdict = seeded.on_delta(first, last, bids, asks)
        if verdict == APPLIED:
            return self.book_quote(native, seeded.book, self._last.get(native), ts_ns,
                                   received_ns, after_delta=True)
        if verdict == GAP:
            return self.reconnect("sequence_gap", counted="sequence_gap")
        return []  # held until the snapshot comes, or already part of it

    def bad_snapshot(self, url: str) -> Events:
        """A snapshot body that cannot be read: its book can never start, so resync."""
        if self._asked.pop(url, None) is None:
            return self.reject("unexpected_rest")
        return self.reconnect("bad_snapshot", counted="bad_snapshot")

    def seeded_snapshot(self, url: str, last_id: int, bids: Levels, asks: Levels,
                        received_ns: int) -> Events:
        """The snapshot asked for at `url`: the book starts at `last_id`, held deltas join it."""
        native = self._asked.pop(url, None)
        seeded = None if native is None else self._seeded.get(native)
        if native is None or seeded is None:
            return self.reject("unexpected_rest")
        if seeded.on_snapshot(last_id, bids, asks) == GAP:
            # The snapshot is older than the deltas held for it: nothing joins them.
            return self.reconnect("sequence_gap", counted="sequence_gap")
        return self.book_quote(native, seeded.book, self._last.get(native), None, received_ns,
                               after_delta=False)
