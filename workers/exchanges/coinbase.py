"""Coinbase Exchange feed adapter: `level2_batch` into a local book, `ticker` for last price.

Protocol notes (docs/protocols.md, checked against the 2021 recording): every message is a
JSON object with a `type`; prices and sizes are decimal strings; `snapshot` carries the whole book
and no time, `l2update` carries absolute level sizes (any zero spelling, `"0"` or `"0.00000000"`,
deletes) and an ISO `time` with µs; the server pushes a `ticker` for the latest trade right after
the subscription (the recording shows one 7 s old), then one per trade; `heartbeat` comes once a
second per product. A quote is emitted when the book's top changes, stamped with the l2update's
`time`; the top built from a `snapshot` has no venue time and is stamped on receipt downstream.

Sequence numbers, and what this adapter can and cannot see with them:
- `level2_batch` frames carry no sequence at all, so a lost l2update is invisible in itself.
- `ticker`, `heartbeat` and `match`/`last_match` carry the product's sequence, which counts every
  event of the product's full channel: consecutive tickers legitimately skip thousands of
  numbers, so a skipped number means nothing. What must never happen on one channel is the
  sequence going backwards; that is a replayed or reset stream and ends the connection with
  reason `sequence_gap` (the loop reconnects, and the fresh snapshots resync every book).
- An `l2update` for a followed product whose snapshot never came (or whose book was dropped
  after an unreadable delta) means the book cannot be trusted: also `sequence_gap`.
- A book that becomes crossed after deltas is the one visible trace of a lost delete; it asks
  for one resync (`crossed_book`). A snapshot that is itself crossed (an auction) is counted
  and not quoted, and never triggers another reconnect, so a crossed venue book cannot cause
  a reconnect storm.
Missed tickers (trades) cannot be detected, and only cost a stale `last`.
"""

from __future__ import annotations

from typing import Any

from core.orderbook import OrderBook
from core.types import Market
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events, VenueError
from workers.exchanges.fields import SHAPE_ERRORS as _SHAPE_ERRORS
from workers.exchanges.fields import decimal_str as _price
from workers.exchanges.fields import parse_rfc3339_ns, side_changes

# Live subscription: the public batched book, trades with the venue's best bid/ask, and the
# per-product heartbeat that keeps a quiet connection visibly alive.
CHANNELS = ("level2_batch", "ticker", "heartbeat")
# Coinbase documents no per-frame product limit but does drop frames that are "too big"; 100
# product ids keep a frame a few kB, and each frame gets its own `subscriptions` ack.
_PRODUCTS_PER_FRAME = 100
# Expected traffic that carries nothing we use: the subscription ack and the `status` channel.
_QUIET_TYPES = frozenset({"subscriptions", "status"})


def _sequence(value: Any) -> int:
    """A per-product sequence number: a JSON integer, never a bool or string."""
    if type(value) is not int or value < 0:
        raise TypeError(f"expected a non-negative integer sequence, got {value!r}")
    return value


def _levels(rows: Any) -> list[tuple[float, float]]:
    """Snapshot rows [["price", "size"], ...] as (price, size) floats; sizes must be positive."""
    if type(rows) is not list:
        raise TypeError("snapshot side is not a list")
    levels = []
    for row in rows:
        if type(row) is not list:
            raise TypeError("book level is not a list")
        levels.append((_price(row[0]), _price(row[1])))
    return levels


class CoinbaseAdapter(Adapter):
    """Coinbase spot: a level2_batch book per product, a Quote out whenever its top changes."""

    name = "coinbase"
    ws_url = "wss://ws-feed.exchange.coinbase.com"
    rest_url = "https://api.exchange.coinbase.com"
    markets_path = "/products"
    # Every followed product heartbeats once a second, so 10 s without any frame is a dead
    # connection, not a quiet market. Coinbase has no app-level ping (protocol pings only).
    watchdog_s = 10.0
    delta_books = True  # book deltas: a lost frame means a resync

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        # Highest sequence seen per (channel, product) on this connection.
        self._sequences: dict[tuple[str, str], int] = {}
        # Latest trade price per product; kept across reconnects (it is still the last trade).
        self._last: dict[str, float] = {}

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`GET /products`: a list of product objects.

        [{"id": "BTC-GBP", "base_currency": "BTC", "quote_currency": "GBP", ...}, ...]
        """
        return cls.listed(payload)

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A product that takes taker orders.

        {"id": "BTC-GBP", "base_currency": "BTC", "quote_currency": "GBP",
         "base_min_size": "0.0001", "base_max_size": "80", "quote_increment": "0.01",
         "base_increment": "0.00000001", "display_name": "BTC/GBP", "min_market_funds": "10",
         "max_market_funds": "200000", "margin_enabled": false, "post_only": false,
         "limit_only": false, "cancel_only": false, "trading_disabled": false,
         "status": "online", "status_message": ""}
        Offline, disabled, cancel-only and post-only products cannot be traded against, and an
        auction book may be crossed, so all of those are left out.
        """
        if entry["status"] != "online":
            return None
        if any(entry.get(flag) is True for flag in
               ("trading_disabled", "cancel_only", "post_only", "auction_mode")):
            return None
        market = cls.market(entry["id"], entry["base_currency"], entry["quote_currency"])
        # The id is what the feed wants; it must be the same pair spelled BASE-QUOTE.
        return market if market.native == market.symbol else None

    def subscribe_messages(self) -> list[str]:
        """`subscribe` frames for level2_batch, ticker and heartbeat, 100 products per frame."""
        return self.chunked_frames(list(self.markets), _PRODUCTS_PER_FRAME, lambda chunk: {
            "type": "subscribe", "product_ids": chunk, "channels": list(CHANNELS)})

    def on_connect(self) -> None:
        """Forget books and sequences: the new connection starts with fresh snapshots."""
        super().on_connect()
        self._sequences.clear()

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        kind = msg.get("type")
        if type(kind) is not str:
            return self.reject("unknown_event")
        if kind == "l2update":
            return self._on_update(msg, received_ns)
        if kind == "snapshot":
            return self._on_snapshot(msg, received_ns)
        if kind == "ticker":
            return self._on_trade("ticker", msg)
        if kind in ("match", "last_match"):
            return self._on_trade("matches", msg)
        if kind == "heartbeat":
            return self._on_heartbeat(msg)
        if kind in _QUIET_TYPES:
            return []
        if kind == "error":
            return self._on_error(msg)
        return self.reject("unknown_event")

    def _on_snapshot(self, msg: dict[str, Any], received_ns: int) -> Events:
        """The whole book of one product: replaces the local book; quoted with no venue time.

        {"type": "snapshot", "product_id": "BAND-GBP",
         "asks": [["14.8024", "12.77"], ["14.8069", "12.49"]],
         "bids": [["14.7693", "27.51"], ["14.7659", "12.48"]]}
        (first two levels a side of a recorded frame; the real one lists the whole book)
        """
        native, market = self.market_of(msg, "product_id")
        if market is None:
            return self.reject("unknown_market")
        bids, asks = _levels(msg["bids"]), _levels(msg["asks"])
        stamp = msg.get("time")  # not sent today; used if Coinbase ever adds it
        ts_ns = parse_rfc3339_ns(stamp) if stamp is not None else None
        book = OrderBook()
        book.snapshot(bids, asks)
        self.books[native] = book
        return self.book_quote(native, book, self._last.get(native), ts_ns, received_ns,
                               after_delta=False)

    def _on_update(self, msg: dict[str, Any], received_ns: int) -> Events:
        """Level changes (absolute sizes, zero deletes) applied to the product's book.

        {"type": "l2update", "product_id": "SKL-BTC",
         "changes": [["sell", "0.00001306", "660.5"]], "time": "2021-04-17T16:43:37.075687Z"}
        """
        native, market = self.market_of(msg, "product_id")
        if market is None:
            return self.reject("unknown_market")
        book = self.books.get(native)
        if book is None:
            # No snapshot on this connection (or the book was dropped): nothing to apply to.
            return self.reconnect("sequence_gap", counted="sequence_gap")
        try:
            parsed = side_changes(msg["changes"])
            ts_ns = parse_rfc3339_ns(msg["time"])
        except _SHAPE_ERRORS:
            # A delta we cannot read leaves the book unknown: drop it, so the product's next
            # update asks for a resync instead of quoting a book that missed a change.
            del self.books[native]
            raise
        for is_bid, price, size in parsed:
            book.side(is_bid).set(price, size)
        return self.book_quote(native, book, self._last.get(native), ts_ns, received_ns,
                               after_delta=True)

    def _check_sequence(self, channel: str, native: str, value: Any) -> bool:
        """Record the product's sequence on `channel`; False when it went back (a resync)."""
        sequence = _sequence(value)
        key = (channel, native)
        previous = self._sequences.get(key)
        if previous is not None and sequence < previous:
            return False
        self._sequences[key] = sequence
        return True

    def _on_trade(self, channel: str, msg: dict[str, Any]) -> Events:
        """A ticker (or, on replay only, a match): its price becomes the product's `last`.

        {"type": "ticker", "sequence": 333938798, "product_id": "BAND-GBP", "price": "14.7775",
         "open_24h": "14.6647", "volume_24h": "94381.28000000", "low_24h": "14.3691",
         "high_24h": "16.55", "volume_30d": "2295579.57000000", "best_bid": "14.7550",
         "best_ask": "14.8060", "side": "buy", "time": "2021-04-17T16:43:30.244075Z",
         "trade_id": 881613, "last_size": "0.04"}
        The ticker's best bid/ask are not used: they lag the level2 book, and the 2021 feed
        sent them without sizes.
        """
        native, market = self.market_of(msg, "product_id")
        if market is None:
            return self.reject("unknown_market")
        price = _price(msg["price"])
        sequence = msg.get("sequence")
        if sequence is not None and not self._check_sequence(channel, native, sequence):
            # An older trade than one already seen: not the last price, and a reset stream.
            return self.reconnect("sequence_gap", counted="sequence_gap")
        self._last[native] = price
        return []

    def _on_heartbeat(self, msg: dict[str, Any]) -> Events:
        """A product's heartbeat: its sequence must not go back.

        {"type": "heartbeat", "sequence": 81234567891, "last_trade_id": 712345678,
         "product_id": "BTC-USD", "time": "2026-01-01T00:00:03.000123Z"}
        (documented shape, made-up values: the recording has no heartbeat channel)
        """
        native, market = self.market_of(msg, "product_id")
        if market is None:
            return self.reject("unknown_market")
        if not self._check_sequence("heartbeat", native, msg["sequence"]):
            return self.reconnect("sequence_gap", counted="sequence_gap")
        return []

    def _on_error(self, msg: dict[str, Any]) -> Events:
        """An error: a failed subscription, or the notice sent before the server disconnects us.

        {"type": "error", "message": "Failed to subscribe", "reason": "FOO-USD is not a valid
         product"}
        """
        message = msg.get("message")
        reason = msg.get("reason")
        error = VenueError(f"{message}: {reason}" if reason is not None else str(message))
        if not (isinstance(message, str) and message.startswith("Failed to subscribe")):
            # ErrSlowConsume, ErrSlowRead, "Message too big": the server is dropping this
            # connection anyway; reconnecting at once loses less than waiting for the close.
            # Too slow a reader means frames were dropped for us: a resync, counted as such.
            slow = isinstance(message, str) and message.startswith("ErrSlow")
            return [error, *self.reconnect("slow_consumer" if slow else "venue_error",
                                           counted="venue_error")]
        return [error, *self.reject("venue_error")]
