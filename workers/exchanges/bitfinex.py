"""Bitfinex WebSocket v2 adapter: the `book` channel at precision P0, length 1.

Protocol notes (docs/protocols.md): prices and amounts are JSON numbers, data frames are
arrays whose first element is the channel id from the `subscribed` ack, asks carry negative
amounts, a level with count 0 is deleted, and nothing carries a timestamp. A `conf` frame sent
first turns on per-connection sequence numbers (SEQ_ALL) and book checksums (OB_CHECKSUM): every
array frame then ends with a sequence number one above the previous one, and `cs` frames carry a
CRC32 of the book, so a lost frame or a drifted book is noticed and resynced by reconnecting.
Channels other than the book (trades, ticker) and control frames: `bitfinex_channels`.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

from core.orderbook import OrderBook
from core.types import Market, Quote
from workers.exchanges.base import Adapter, loads
from workers.exchanges.bitfinex_book import (
    apply_level,
    book_checksum,
    book_level,
    js_number,
    snapshot_sides,
    truncate,
)
from workers.exchanges.bitfinex_channels import (
    BOOK_FREQ,
    BOOK_LEN,
    BOOK_PREC,
    BitfinexChannels,
    Channel,
)
from workers.exchanges.events import Events
from workers.exchanges.fields import SHAPE_ERRORS as _SHAPE_ERRORS
from workers.exchanges.fields import integer as _int

__all__ = ["CONF_FLAGS", "BitfinexAdapter", "book_checksum", "js_number"]

# `conf` flags (docs/protocols.md): sequence numbers on every array frame, and book checksums.
SEQ_ALL = 65_536
OB_CHECKSUM = 131_072
CONF_FLAGS = SEQ_ALL | OB_CHECKSUM
# Bitfinex's own codes for assets that have a common code elsewhere (docs/protocols.md).
ALIASES: dict[str, str] = {"UST": "USDT", "UDC": "USDC", "BCHN": "BCH"}
# Elements before the sequence number in each kind of array frame: [chanId, body] for data,
# [chanId, "hb"], [chanId, "cs", CHECKSUM], [chanId, "te" | "tu", TRADE].
_BASE_LENGTH = {"hb": 2, "cs": 3, "te": 3, "tu": 3}
_INF = math.inf


class BitfinexAdapter(BitfinexChannels, Adapter):
    """Bitfinex v2: P0 book snapshots and deltas in, a Quote out whenever the top changes."""

    name: ClassVar[str] = "bitfinex"
    ws_url: ClassVar[str] = "wss://api-pub.bitfinex.com/ws/2"
    rest_url: ClassVar[str] = "https://api-pub.bitfinex.com"
    markets_path: ClassVar[str] = "/v2/conf/pub:list:pair:exchange"
    # Bitfinex heartbeats each idle channel every 15 s and answers the ping sent every 10 s, so a
    # healthy connection is never silent for more than ~10 s; 30 s is three missed replies.
    ping_interval_s: ClassVar[float] = 10.0
    watchdog_s: ClassVar[float] = 30.0
    # One `book` channel per market; two official pages say 25 and 30 channels per connection:
    # the lower one is safe on both.
    max_markets_per_connection: ClassVar[int | None] = 25
    delta_books: ClassVar[bool] = True  # book deltas: a lost frame means a resync

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self._channels: dict[int, Channel] = {}
        # Sequence number the next array frame must carry; None until the first one.
        self._next_seq: int | None = None
        # Latest trade or ticker price per native pair; kept across reconnects (still the last).
        self._last: dict[str, float] = {}
        # (MTS, ID) of the trade behind `_last`, so a late `tu` never moves it back in time.
        self._last_trade: dict[str, tuple[int, int]] = {}
        self._cid = 0
        # `platform.status` from the greeting (1 operative, 0 maintenance) and the 20060 pause.
        self.platform_status: int | None = None
        self.maintenance = False

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`/v2/conf/pub:list:pair:exchange`: a list of pairs wrapped in a list.

        [["AAVE:USD", "BTCUSD", "BTCUST", "TESTBTC:TESTUSD", ...]]
        """
        if type(payload) is not list or len(payload) != 1 or type(payload[0]) is not list:
            raise ValueError("expected the pair list wrapped in a list: [[\"BTCUSD\", ...]]")
        return payload[0]

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """Six-letter pairs split 3 + 3, longer codes at a colon; `UST` is USDT (→ BTC-USDT)."""
        # Listed pairs are upper-case ASCII; anything else is not a pair we can follow.
        if type(entry) is not str or not entry.isascii() or entry != entry.upper():
            return None
        if ":" in entry:
            raw_base, _, raw_quote = entry.partition(":")
        elif len(entry) == 6:
            raw_base, raw_quote = entry[:3], entry[3:]
        else:
            return None
        return cls.market("t" + entry, raw_base, raw_quote, ALIASES)

    def subscribe_messages(self) -> list[str]:
        """`conf` (sequence numbers + checksums) first, then one P0/len 1 `book` per market."""
        frames = [json.dumps({"event": "conf", "flags": CONF_FLAGS}, separators=(",", ":"))]
        for native in self.markets:
            request = {"event": "subscribe", "channel": "book", "symbol": native,
                       "prec": BOOK_PREC, "freq": BOOK_FREQ, "len": BOOK_LEN}
            frames.append(json.dumps(request, separators=(",", ":")))
        return frames

    def ping_message(self) -> str | None:
        """`{"event":"ping","cid":N}`; the `pong` reply feeds the watchdog on quiet books."""
        self._cid += 1
        return json.dumps({"event": "ping", "cid": self._cid}, separators=(",", ":"))

    def on_connect(self) -> None:
        """Channel ids, books and the sequence are per connection: forget them."""
        super().on_connect()
        self._channels.clear()
        self._next_seq = None
        self.maintenance = False

    def on_message(self, text: str, received_ns: int) -> Events:
        """Read one frame; return the events it produced. Never raises on bad input."""
        try:
            msg = loads(text)
        except (ValueError, TypeError, RecursionError):
            # RecursionError: a deeply nested array ("[[[[...") exhausts the decoder's stack.
            return self.reject("bad_json")
        try:
            if type(msg) is list:
                if len(msg) == 3 and type(msg[1]) is list and len(msg[1]) == 3:
                    quotes = self._book_delta(msg, received_ns)
                    if quotes is not None:
                        return quotes
                return self._on_array(msg, received_ns)
            if type(msg) is dict:
                return self._on_event(msg)
            return self.reject("not_object")
        except _SHAPE_ERRORS:
            return self.reject("bad_field")

    # --- array frames --------------------------------------------------------------------

    def _on_array(self, msg: list[Any], received_ns: int) -> Events:
        """A channel frame: check its sequence number, then hand it to its channel.

        [225206, "hb", 17]  (a heartbeat: only its sequence number is read)
        """
        chan_id = _int(msg[0])
        body = msg[1]
        marker = body if type(body) is str else None
        if marker is not None and marker not in _BASE_LENGTH:
            return self.reject("unknown_event")
        base = _BASE_LENGTH[marker] if marker is not None else 2
        if len(msg) < base:
            raise IndexError("array frame too short")
        # The sequence counts every array frame of the connection, whatever its channel, so it
        # is checked before anything else (even for a channel not acked yet, as recorded).
        if len(msg) > base and not self._sequence_ok(msg[base]):
            return self.reconnect("sequence_gap", counted="sequence_gap")
        if marker == "hb":
            return []
        channel = self._channels.get(chan_id)
        if channel is None:
            # Data on a channel id never acked: our map is out of step with the server's (a
            # lost ack), so this market's frames cannot be placed until we resubscribe.
            return self.reconnect("unknown_channel", counted="unknown_channel")
        if not channel.kind:
            return self.reject("unknown_channel")
        if channel.native not in self.markets:
            return self.reject("unknown_market")
        if marker == "cs":
            return self._on_checksum(channel, msg[2])
        if channel.kind == "book":
            if marker is not None:
                return self.reject("bad_field")
            return self._on_book(channel, body, received_ns)
        if channel.kind == "trades":
            if marker is not None:
                return self._on_trades(channel.native, [msg[2]])
            return self._on_trades(channel.native, body)
        if marker is not None:
            return self.reject("bad_field")
        return self._on_ticker(channel.native, body)

    def _book_delta(self, msg: list[Any], received_ns: int) -> Events | None:
        """`[chanId, [PRICE, COUNT, AMOUNT], seq]` on a known book: what `_on_array` would do.

        None when the frame is anything else or is not valid (nothing changed yet): the general
        path then reads it and counts what is wrong, in its own order.
        """
        # Checked up front without side effects, then the same steps as the general path
        # (sequence, apply, truncate, quote) with the calls between them inlined.
        chan_id, level, seq = msg
        if type(chan_id) is not int or type(seq) is not int:
            return None
        channel = self._channels.get(chan_id)
        if channel is None or channel.kind != "book":
            return None
        native = channel.native
        book = self.books.get(native)
        if book is None or native not in self.markets:
            return None
        price, count, amount = level
        kind = type(price)
        if kind is int:
            price = float(price)
        elif kind is not float:
            return None
        kind = type(amount)
        if kind is int:
            amount = float(amount)
        elif kind is not float:
            return None
        if (type(count) is not int or count < 0 or not 0.0 < price < _INF or amount == 0.0
                or not -_INF < amount < _INF):
            return None
        expected = self._next_seq
        if expected is not None and seq != expected:
            self._next_seq = None
            return self.reconnect("sequence_gap", counted="sequence_gap")
        self._next_seq = seq + 1
        side = book.bids if amount > 0 else book.asks
        side.set(price, 0.0 if count == 0 else abs(amount))
        return self._book_quote(channel, book, received_ns)

    def _sequence_ok(self, seq: Any) -> bool:
        """True when `seq` follows the previous one; False on a gap (the caller resyncs).

        [225206, [279380, 1, 0.0089], 19]  (19 must follow 18 on this connection)
        """
        number = _int(seq)
        expected = self._next_seq
        if expected is not None and number != expected:
            self._next_seq = None
            return False
        self._next_seq = number + 1
        return True

    def _on_book(self, channel: Channel, body: Any, received_ns: int) -> Events:
        """A book snapshot (list of levels) or update (one level) → a Quote if the top moved.

        Snapshot, bids then asks (recorded, 200 levels shortened to 3):
            [225206, [[277520, 1, 0.00383141], [277510, 1, 0.027], [282030, 2, -0.117]], 16]
        Update (count 0 deletes; amount 1 bid, -1 ask): [225206, [279380, 0, 1], 21]
        """
        if type(body) is not list:
            raise TypeError("book body is not a list")
        native = channel.native
        book = self.books.get(native)
        if book is None:
            book = self.books[native] = OrderBook()
        if not body or type(body[0]) is list:
            bids, asks = snapshot_sides(body)
            book.bids.assign(bids)
            book.asks.assign(asks)
        else:
            apply_level(book, *book_level(body))
        return self._book_quote(channel, book, received_ns)

    def _book_quote(self, channel: Channel, book: OrderBook, received_ns: int) -> Events:
        """After a book frame: drop levels past the subscribed length, then quote a new top."""
        depth = channel.depth
        if len(book.bids.sizes) > depth:
            truncate(book.bids, depth)
        if len(book.asks.sizes) > depth:
            truncate(book.asks, depth)
        top = book.top()
        if top is None:
            return []
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        native = channel.native
        # A `len: 1` book's Depth would repeat the Quote; deeper ones are worth walking.
        changed = self.book_depth(native, book, received_ns) if depth > 1 else None
        if self._tops.get(native) == top:  # top_changed() inlined
            return [] if changed is None else [changed]
        self._tops[native] = top
        market = self.markets[native]
        quote = Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                      self._last.get(native), None, received_ns)
        return [quote] if changed is None else [changed, quote]
