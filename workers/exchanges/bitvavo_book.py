"""Bitvavo's `book` channel: per-market books seeded from `GET /{market}/book` and kept by deltas.

Every `book` event carries the book's `nonce`, which rises by one with each change; the REST
snapshot carries the nonce it is at. Deltas wait until the snapshot comes, those at or below its
nonce are dropped, and each one applied must be the next nonce (`SeededBook` with first = last =
nonce). A skipped nonce, or one that goes back once the book is joined (the matching engine
restarted), drops that market's book and fetches a new snapshot; a snapshot that cannot be
joined three times running ends the connection instead.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from core.orderbook import OrderBook
from core.types import Depth, Market
from workers.exchanges.events import Events
from workers.exchanges.fields import SHAPE_ERRORS, decimal_levels, integer
from workers.exchanges.seeded import APPLIED, GAP, STALE, SeededBook

SNAPSHOT_DEPTH = 1000  # the most the REST book gives; deeper levels stay unknown
MAX_FAILED_JOINS = 3


def snapshot_path(native: str) -> str:
    """The REST path of a market's book snapshot."""
    return f"/{native}/book?depth={SNAPSHOT_DEPTH}"


class BitvavoBooks:
    """The book half of the Bitvavo adapter (mixed into `BitvavoAdapter`)."""

    name: str
    markets: dict[str, Market]
    _last: dict[str, float]
    _seeded: dict[str, SeededBook]
    _fetching: set[str]  # markets whose snapshot was asked for and has not come
    _joined: set[str]  # markets whose book took a delta after its snapshot
    _failed_joins: dict[str, int]
    errors: Counter[str]

    if TYPE_CHECKING:  # provided by Adapter, which the adapter class also derives from
        def reject(self, reason: str) -> Events: ...

        def decode_object(self, text: str) -> dict[str, Any] | None: ...

        def reconnect(self, reason: str, counted: str | None = None) -> Events: ...

        def venue_error(self, text: str, counted: str = "venue_error") -> Events: ...

        def fetch(self, path: str) -> Events: ...

        def book_quote(self, native: str, book: OrderBook, last: float | None,
                       ts_ns: int | None, received_ns: int, after_delta: bool) -> Events: ...

        def book_depth(self, native: str, book: OrderBook, received_ns: int) -> Depth | None: ...

    def _reset_books(self) -> None:
        self._seeded.clear()
        self._fetching.clear()
        self._joined.clear()
        self._failed_joins.clear()

    def _seed(self, native: str) -> Events:
        """Ask for a market's snapshot unless one is on its way."""
        if native in self._fetching:
            return []
        self._fetching.add(native)
        return self.fetch(snapshot_path(native))

    def _resync(self, native: str) -> Events:
        """Drop a market's book and fetch it again (counted as a sequence gap)."""
        self._seeded[native].reset()
        self._joined.discard(native)
        self.errors["sequence_gap"] += 1
        return self._seed(native)

    def _on_book(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One book change, applied when its nonce is the next one.

        {"event": "book", "market": "BTC-EUR", "nonce": 438525,
         "bids": [["64010.15", "0.25"], ["64009.00", "0"]], "asks": [["64012.40", "0.05"]],
         "timestamp": 1767225600482}
        """
        native = msg["market"]
        if native not in self.markets:
            return self.reject("unknown_market")
        nonce = integer(msg["nonce"])
        bids = decimal_levels(msg["bids"], allow_zero=True)
        asks = decimal_levels(msg["asks"], allow_zero=True)
        seeded = self._seeded.setdefault(native, SeededBook())
        if not seeded.ready and native not in self._fetching:
            seeded.on_delta(nonce, nonce, bids, asks)
            return self._seed(native)  # deltas are held from now on; the snapshot joins them
        verdict = seeded.on_delta(nonce, nonce, bids, asks)
        if verdict == GAP or (verdict == STALE and native in self._joined):
            return self._resync(native)
        if verdict != APPLIED:
            return []  # held for the snapshot, or already in it
        self._joined.add(native)
        return self.book_quote(native, seeded.book, self._last.get(native), None, received_ns,
                               after_delta=True)

    def on_rest(self, url: str, text: str, received_ns: int) -> Events:
        """A book snapshot asked for by `_seed`: seed the book and join the waiting deltas.

        {"market": "BTC-EUR", "nonce": 438524, "bids": [["64010.15", "0.25"]],
         "asks": [["64012.40", "0.05"]], "timestamp": 1767225600482}
        """
        msg = self.decode_object(text)
        if msg is None:
            return []
        try:
            if "errorCode" in msg:
                return [*self.venue_error(f"{msg['errorCode']} {msg.get('error')}"),
                        *self.reconnect("rest_error")]
            native = msg["market"]
            if native not in self._fetching or url.rsplit("/", 2)[-2] != native:
                return self.reject("unexpected_rest")
            nonce = integer(msg["nonce"])
            bids = decimal_levels(msg["bids"], allow_zero=False)
            asks = decimal_levels(msg["asks"], allow_zero=False)
        except SHAPE_ERRORS:
            return self.reject("bad_snapshot")
        self._fetching.discard(native)
        seeded = self._seeded.setdefault(native, SeededBook())
        if seeded.on_snapshot(nonce, bids, asks) == GAP:
            failed = self._failed_joins[native] = self._failed_joins.get(native, 0) + 1
            if failed >= MAX_FAILED_JOINS:
                return self.reconnect("sequence_gap", counted="sequence_gap")
            return self._resync(native)
        self._failed_joins.pop(native, None)
        return self.book_quote(native, seeded.book, self._last.get(native), None, received_ns,
                               after_delta=False)
