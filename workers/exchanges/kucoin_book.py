"""KuCoin `/market/level2` books seeded from REST, read when replaying recorded traffic.

The live feed follows `/spotMarket/level1` (the best bid and ask themselves). The 2021 recording
holds `/market/level2` increments instead, which only mean something on top of a REST snapshot
carrying a `sequence`: the first increment of a market asks for one (`RestRequest`), the
increments wait in a `SeededBook` until `on_rest` hands the snapshot over, and from then on
every increment must continue the sequence (`sequenceStart` = previous `sequenceEnd` + 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from core.orderbook import OrderBook
from core.types import Market
from workers.exchanges.base import loads
from workers.exchanges.events import Events
from workers.exchanges.fields import SHAPE_ERRORS, decimal_levels, int_stamp, integer
from workers.exchanges.seeded import APPLIED, BUFFERED, GAP, STALE, SeededBook

# The public snapshot (the full book needs an API key since 2023): 100 levels a side.
SNAPSHOT_PATH = "/api/v1/market/orderbook/level2_100?symbol="
OK_CODE = "200000"


def delta_levels(changes: Any) -> list[tuple[float, float]]:
    """`[["64010.1", "0.5", "1613277183874"], ...]` → (price, size); size 0 deletes.

    A change at price "0" carries only its sequence number (the book did not move at any
    price), so it is dropped; the sequence itself is checked on the whole increment.
    """
    if type(changes) is not list:
        raise TypeError("changes side is not a list")
    pairs = []
    for change in changes:
        if type(change) is not list or len(change) != 3:
            raise TypeError("change is not a [price, size, sequence] list")
        if change[0] != "0":
            pairs.append(change[:2])
    return decimal_levels(pairs, allow_zero=True)


class KucoinBooks:
    """The level2 half of the KuCoin adapter (mixed into `KucoinAdapter`)."""

    if TYPE_CHECKING:  # provided by Adapter, which the adapter class also derives from
        def fetch(self, path: str) -> Events: ...

        def book_quote(self, native: str, book: OrderBook, last: float | None,
                       ts_ns: int | None, received_ns: int, after_delta: bool) -> Events: ...

        def reject(self, reason: str) -> Events: ...

        def reconnect(self, reason: str, counted: str | None = None) -> Events: ...

    markets: dict[str, Market]
    _last: dict[str, float]  # latest trade price per symbol
    _books: dict[str, SeededBook]  # per symbol, while this connection lasts

    def book_ready(self, native: str) -> bool:
        """True when the market's level2 book is seeded (its ticker then gives no top)."""
        seeded = self._books.get(native)
        return seeded is not None and seeded.ready

    def _on_level2(self, native: str, data: Any, received_ns: int) -> Events:
        """One increment → the book's top as a Quote when it moved; a hole resyncs.

        {"type": "message", "topic": "/market/level2:BTC-USDT", "subject": "trade.l2update",
         "data": {"sequenceStart": 1545896669106, "sequenceEnd": 1545896669106,
                  "symbol": "BTC-USDT", "time": 1767225600123,
                  "changes": {"asks": [["64012.4", "0.05", "1545896669106"]], "bids": []}}}
        """
        if native not in self.markets:
            return self.reject("unknown_market")
        if data["symbol"] != native:
            raise ValueError("increment names another symbol than its topic")
        first, last = integer(data["sequenceStart"]), integer(data["sequenceEnd"])
        if first > last:
            raise ValueError("sequence range runs backwards")
        changes = data["changes"]
        # Read every level before touching the book, so a bad frame changes nothing.
        bids, asks = delta_levels(changes["bids"]), delta_levels(changes["asks"])
        seeded = self._books.get(native)
        fetch: Events = []
        if seeded is None:
            seeded = self._books[native] = SeededBook()
            fetch = self.fetch(SNAPSHOT_PATH + native)
        verdict = seeded.on_delta(first, last, bids, asks)
        if verdict == BUFFERED:
            return fetch
        if verdict == STALE:
            return self.reject("stale_update")
        if verdict == GAP:
            del self._books[native]
            return self.reconnect("sequence_gap", counted="sequence_gap")
        ts = data.get("time")
        ts_ns = int_stamp(ts, 1_000_000) if ts is not None else None
        return self.book_quote(native, seeded.book, self._last.get(native), ts_ns, received_ns,
                               after_delta=True)

    def on_rest(self, url: str, text: str, received_ns: int) -> Events:
        """A level2 snapshot seeds the market's book and joins the increments that waited.

        {"code": "200000", "data": {"time": 1767225600123, "sequence": "1545896669105",
         "bids": [["64010.1", "0.25"], ["64009.0", "1.1"]],
         "asks": [["64012.4", "0.05"], ["64015.0", "0.8"]]}}
        """
        try:
            native = parse_qs(urlsplit(url).query)["symbol"][0]
        except (KeyError, IndexError, ValueError):
            return self.reject("unexpected_rest")
        seeded = self._books.get(native)
        if seeded is None or seeded.ready:
            return self.reject("unexpected_rest")  # asked for on an earlier connection
        try:
            body = loads(text)
            if body["code"] != OK_CODE:
                raise ValueError(f"snapshot refused: {body.get('msg')!r}")
            data = body["data"]
            sequence = int_stamp(data["sequence"], 1)  # a digit string (or int), above 0
            bids = decimal_levels(data["bids"], allow_zero=False)
            asks = decimal_levels(data["asks"], allow_zero=False)
            ts_ns = int_stamp(data["time"], 1_000_000)
        except SHAPE_ERRORS:
            # The book goes: the market's next increment asks for a snapshot again.
            del self._books[native]
            return self.reject("bad_snapshot")
        if seeded.on_snapshot(sequence, bids, asks) != APPLIED:
            del self._books[native]
            return self.reconnect("sequence_gap", counted="sequence_gap")
        return self.book_quote(native, seeded.book, self._last.get(native), ts_ns, received_ns,
                               after_delta=False)
