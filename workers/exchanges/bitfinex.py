"""Bitfinex WebSocket v2 adapter: the `book` channel at precision P0, length 1.

Protocol notes (docs/protocols.md): prices and amounts are JSON numbers, data frames are
arrays whose first element is the channel id from the `subscribed` ack, asks carry negative
amounts, a level with count 0 is deleted, and nothing carries a timestamp. A `conf` frame sent
first turns on per-connection sequence numbers (SEQ_ALL) and book checksums (OB_CHECKSUM): every
array frame then ends with a sequence number one above the previous one, and `cs` frames carry a
CRC32 of the book, so a lost frame or a drifted book is noticed and resynced by reconnecting.

The `ticker` channel (read when replaying recorded traffic, never subscribed) is not turned into
quotes: its BID_SIZE / ASK_SIZE are sums over the 25 best levels, not the size at the best price,
so they would overstate what can be traded at the quoted price (and the arbitrage size and profit
computed from it), and the ticker is a throttled view that lags the book. It contributes `last`,
like the `trades` channel.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from core.orderbook import BookSide, OrderBook
from core.symbols import make_symbol, split_symbol
from core.types import Market, Quote
from workers.exchanges.base import Adapter, loads
from workers.exchanges.fields import SHAPE_ERRORS as _SHAPE_ERRORS
from workers.exchanges.fields import json_number as _number

# `conf` flags (docs/protocols.md): sequence numbers on every array frame, and book checksums.
SEQ_ALL = 65_536
OB_CHECKSUM = 131_072
CONF_FLAGS = SEQ_ALL | OB_CHECKSUM
# One level per side is all a top of book needs; the ack echoes these as strings.
BOOK_PREC = "P0"
BOOK_FREQ = "F0"
BOOK_LEN = "1"
# Aggregated-price books share the [PRICE, COUNT, AMOUNT] shape; raw books (R0) do not.
_AGGREGATED = frozenset({"P0", "P1", "P2", "P3", "P4"})
# The checksum covers at most this many levels per side (fewer when the book is shorter).
CHECKSUM_DEPTH = 25
# Bitfinex's own codes for assets that have a common code elsewhere (docs/protocols.md).
ALIASES: dict[str, str] = {"UST": "USDT", "UDC": "USDC", "BCHN": "BCH"}
# Elements before the sequence number in each kind of array frame: [chanId, body] for data,
# [chanId, "hb"], [chanId, "cs", CHECKSUM], [chanId, "te" | "tu", TRADE].
_BASE_LENGTH = {"hb": 2, "cs": 3, "te": 3, "tu": 3}
_QUIET_EVENTS = frozenset({"pong", "unsubscribed"})
# Info codes (docs/protocols.md): restart (reconnect), maintenance start and end.
INFO_RESTART = 20051
INFO_MAINTENANCE_START = 20060
INFO_MAINTENANCE_END = 20061
_INF = math.inf


@dataclass(slots=True)
class _Channel:
    """What one `chanId` of this connection carries."""

    kind: str  # "book", "ticker", "trades", or "" for a channel this adapter cannot read
    native: str  # `tBTCUSD`
    depth: int  # book levels kept per side (the subscription's `len`)


# js_number's spellings by value: book prices and amounts repeat from one checksum to the next,
# and spelling one through Decimal costs ~3 µs. Cleared when full (65,536 entries kept the feed
# worker at 62 MB; the 60 MB budget wants it smaller).
_JS_TEXT: dict[float, str] = {}
_JS_TEXT_SIZE = 8_192  # ~1 MB: a few books × 25 levels repeat well within this


def js_number(value: float) -> str:
    """`value` spelled as JavaScript's Number#toString spells it (the checksum's text)."""
    text = _JS_TEXT.get(value)
    if text is None:
        text = _spell_js_number(value)
        if len(_JS_TEXT) >= _JS_TEXT_SIZE:
            _JS_TEXT.clear()
        _JS_TEXT[value] = text
    return text


def _spell_js_number(value: float) -> str:
    """The uncached spelling behind `js_number`.

    Bitfinex computes checksums over its own JSON text of each number: shortest round-trip
    digits, no `.0` on integers, fixed notation from 1e-7 up to 1e21, exponent form outside.
    """
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as JavaScript does; only the layout differs
    # (`60400.0` → digits 604, point after 5; `2.516e-05` → digits 2516, point after -4).
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    raw = "".join(map(str, digit_tuple))
    digits = raw.rstrip("0")
    k = len(digits)
    n = len(raw) + int(exponent)  # the decimal point sits after n digits
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{mantissa}e{'+' if n - 1 > 0 else '-'}{abs(n - 1)}"
    return sign + text


def book_checksum(book: OrderBook) -> int:
    """CRC32 (signed) of `bid:amount:ask:-amount:...` over the best 25 levels, interleaved."""
    bids = book.bids.levels(CHECKSUM_DEPTH)
    asks = book.asks.levels(CHECKSUM_DEPTH)
    parts: list[str] = []
    for i in range(max(len(bids), len(asks))):
        if i < len(bids):
            parts += (js_number(bids[i][0]), js_number(bids[i][1]))
        if i < len(asks):
            parts += (js_number(asks[i][0]), js_number(-asks[i][1]))
    crc = zlib.crc32(":".join(parts).encode("ascii"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _int(value: Any) -> int:
    """A JSON integer (never a bool, never a float)."""
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _amount(value: Any) -> float:
    """A signed, finite, non-zero JSON number (a book amount: > 0 bid, < 0 ask)."""
    if type(value) is not float and type(value) is not int:
        raise TypeError(f"expected a JSON number, got {type(value).__name__}")
    amount = float(value)
    if amount == 0.0 or not math.isfinite(amount):
        raise ValueError(f"not a usable amount: {value!r}")
    return amount


def _book_level(entry: Any) -> tuple[float, int, float]:
    """[PRICE, COUNT, AMOUNT] → (price, count, amount), validated."""
    if type(entry) is not list or len(entry) != 3:
        raise TypeError("book level is not [PRICE, COUNT, AMOUNT]")
    count = _int(entry[1])
    if count < 0:
        raise ValueError(f"negative order count: {count}")
    return _number(entry[0]), count, _amount(entry[2])


def _trade(entry: Any) -> tuple[int, int, float]:
    """[ID, MTS, AMOUNT, PRICE] → (mts, id, price), validated."""
    if type(entry) is not list or len(entry) != 4:
        raise TypeError("trade is not [ID, MTS, AMOUNT, PRICE]")
    _amount(entry[2])
    return _int(entry[1]), _int(entry[0]), _number(entry[3])


def _apply(book: OrderBook, price: float, count: int, amount: float) -> None:
    """One P0 level: count 0 deletes (amount 1 bid, -1 ask), else sets |amount| at price."""
    side = book.bids if amount > 0 else book.asks
    side.set(price, 0.0 if count == 0 else abs(amount))


def _truncate(side: BookSide, depth: int) -> None:
    """Drop levels beyond the subscribed length: the venue sends no delete for them."""
    if len(side) > depth:
        for price, _ in side.levels(len(side))[depth:]:
            side.set(price, 0.0)


class BitfinexAdapter(Adapter):
    """Bitfinex v2: P0 book snapshots and deltas in, a Quote out whenever the top changes."""

    name: ClassVar[str] = "bitfinex"
    ws_url: ClassVar[str] = "wss://api-pub.bitfinex.com/ws/2"
    rest_url: ClassVar[str] = "https://api-pub.bitfinex.com"
    markets_path: ClassVar[str] = "/v2/conf/pub:list:pair:exchange"
    taker_fee: ClassVar[float] = 0.0020
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
        self._channels: dict[int, _Channel] = {}
        self._books: dict[str, OrderBook] = {}
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
    def parse_markets(cls, payload: Any) -> list[Market]:
        """`/v2/conf/pub:list:pair:exchange` (a list of pairs wrapped in a list) → markets.

        [["AAVE:USD", "BTCUSD", "BTCUST", "TESTBTC:TESTUSD", ...]]
        Six-letter pairs split 3 + 3; longer codes use a colon. `UST` is USDT (`tBTCUST` →
        BTC-USDT). Entries that are not clean pairs are skipped.
        """
        if type(payload) is not list or len(payload) != 1 or type(payload[0]) is not list:
            raise ValueError("expected the pair list wrapped in a list: [[\"BTCUSD\", ...]]")
        markets: list[Market] = []
        seen: set[str] = set()
        for pair in payload[0]:
            # Listed pairs are upper-case ASCII; anything else is not a pair we can follow.
            if type(pair) is not str or not pair.isascii() or pair != pair.upper():
                continue
            if ":" in pair:
                raw_base, _, raw_quote = pair.partition(":")
            elif len(pair) == 6:
                raw_base, raw_quote = pair[:3], pair[3:]
            else:
                continue
            try:
                # split_symbol raises unless both codes are clean upper-case alphanumerics.
                base, quote = split_symbol(make_symbol(raw_base, raw_quote, ALIASES))
            except ValueError:
                continue
            native = "t" + pair
            if native in seen:
                continue
            seen.add(native)
            markets.append(Market(symbol=f"{base}-{quote}", native=native, base=base, quote=quote))
        return markets

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
        self._books.clear()
        self._next_seq = None
        self.maintenance = False

    def book_depth(self, native: str, book: OrderBook, received_ns: int) -> None:
        """`Adapter.book_depth` from the sides' remembered best levels (the same values)."""
        n = self.depth_levels
        if n > 0:
            self.note_depth(native, book.bids.best_levels(n), book.asks.best_levels(n),
                            received_ns)

    def on_message(self, text: str, received_ns: int) -> list[Quote]:
        """Read one frame; return the quotes it carries. Never raises on bad input."""
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

    def _on_array(self, msg: list[Any], received_ns: int) -> list[Quote]:
        """A channel frame: check its sequence number, then hand it to its channel."""
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
            return []
        if marker == "hb":
            return []
        channel = self._channels.get(chan_id)
        if channel is None:
            # Data on a channel id never acked: our map is out of step with the server's (a
            # lost ack), so this market's frames cannot be placed until we resubscribe.
            self.reject("unknown_channel")
            self.request_reconnect("unknown_channel")
            return []
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

    def _book_delta(self, msg: list[Any], received_ns: int) -> list[Quote] | None:
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
        book = self._books.get(native)
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
            self.reject("sequence_gap")
            self.request_reconnect("sequence_gap")
            return []
        self._next_seq = seq + 1
        side = book.bids if amount > 0 else book.asks
        side.set(price, 0.0 if count == 0 else abs(amount))
        return self._book_quote(channel, book, received_ns)

    def _sequence_ok(self, seq: Any) -> bool:
        """True when `seq` follows the previous one; a gap asks for a fresh connection.

        [225206, [279380, 1, 0.0089], 19]  (19 must follow 18 on this connection)
        """
        number = _int(seq)
        expected = self._next_seq
        if expected is not None and number != expected:
            self._next_seq = None
            self.reject("sequence_gap")
            self.request_reconnect("sequence_gap")
            return False
        self._next_seq = number + 1
        return True

    def _on_book(self, channel: _Channel, body: Any, received_ns: int) -> list[Quote]:
        """A book snapshot (list of levels) or update (one level) → a Quote if the top moved.

        Snapshot, bids then asks (recorded, 200 levels shortened to 3):
            [225206, [[277520, 1, 0.00383141], [277510, 1, 0.027], [282030, 2, -0.117]], 16]
        Update (count 0 deletes; amount 1 bid, -1 ask): [225206, [279380, 0, 1], 21]
        """
        if type(body) is not list:
            raise TypeError("book body is not a list")
        native = channel.native
        book = self._books.get(native)
        if book is None:
            book = self._books[native] = OrderBook()
        if not body or type(body[0]) is list:
            levels = [_book_level(entry) for entry in body]  # all validated before any applies
            # What clear() and an _apply per level leave, each side sorted once.
            bids: dict[float, float] = {}
            asks: dict[float, float] = {}
            for price, count, amount in levels:
                sizes = bids if amount > 0 else asks
                if count == 0:
                    sizes.pop(price, None)
                else:
                    sizes[price] = abs(amount)
            book.bids.assign(bids)
            book.asks.assign(asks)
        else:
            _apply(book, *_book_level(body))
        return self._book_quote(channel, book, received_ns)

    def _book_quote(self, channel: _Channel, book: OrderBook, received_ns: int) -> list[Quote]:
        """After a book frame: drop levels past the subscribed length, then quote a new top."""
        depth = channel.depth
        if len(book.bids.sizes) > depth:
            _truncate(book.bids, depth)
        if len(book.asks.sizes) > depth:
            _truncate(book.asks, depth)
        top = book.top()
        if top is None:
            return []
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        native = channel.native
        if depth > 1:
            # A `len: 1` book's Depth would repeat the Quote; deeper ones are worth walking.
            self.book_depth(native, book, received_ns)
        if self._tops.get(native) == top:  # top_changed() inlined
            return []
        self._tops[native] = top
        market = self.markets[native]
        return [Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                      self._last.get(native), None, received_ns)]

    def _on_checksum(self, channel: _Channel, value: Any) -> list[Quote]:
        """`[chanId, "cs", CHECKSUM, seq]`: compare with our own book; a mismatch resyncs.

        [225206, "cs", -1397402958, 42]
        """
        expected = _int(value)
        if channel.kind != "book":
            return self.reject("bad_field")
        book = self._books.get(channel.native) or OrderBook()
        if book_checksum(book) != expected:
            self.reject("checksum_mismatch")
            self.request_reconnect("checksum_mismatch")
        return []

    def _on_trades(self, native: str, trades: Any) -> list[Quote]:
        """Trades snapshot (newest first) or one `te`/`tu` → the market's last price.

        [232959, [[669899159, 1618665870435, 166.391496, 0.076989], ...], 8]
        [232959, "te", [669899160, 1618677550123, -12.5, 0.07699], 61]
        """
        if type(trades) is not list:
            raise TypeError("trades body is not a list")
        parsed = [_trade(entry) for entry in trades]
        if parsed:
            mts, trade_id, price = max(parsed)
            if (mts, trade_id) >= self._last_trade.get(native, (0, 0)):
                self._last_trade[native] = (mts, trade_id)
                self._last[native] = price
        return []

    def _on_ticker(self, native: str, body: Any) -> list[Quote]:
        """A ticker → `last` only (its sizes are 25-level sums; see the module docstring).

        [232949, [0.068965, 60157.36709703, 0.0774, 48578.50804052, 0.001969, 0.0262,
                  0.076989, 101459.39453471, 0.0828, 0.068961], 1]
        """
        if type(body) is not list or len(body) < 10:
            raise TypeError("ticker body is not the 10-field array")
        # Validated even though unused, so a malformed ticker is counted, not half-read.
        for index in (0, 1, 2, 3):
            _number(body[index])
        self._last[native] = _number(body[6])
        return []

    # --- events --------------------------------------------------------------------------

    def _on_event(self, msg: dict[str, Any]) -> list[Quote]:
        """An event object: acks, conf, info, errors, pong."""
        event = msg.get("event")
        if event == "subscribed":
            return self._on_subscribed(msg)
        if event == "info":
            return self._on_info(msg)
        if event == "conf":
            if msg.get("status") == "OK":
                return []
            self.last_error = f"conf failed: {json.dumps(msg)}"
            return self.reject("venue_error")
        if event == "error":
            self.last_error = f"{msg.get('code')} {msg.get('msg')}"
            return self.reject("venue_error")
        if event in _QUIET_EVENTS:
            if event == "unsubscribed":
                self._channels.pop(msg.get("chanId"), None)  # type: ignore[arg-type]
            return []
        return self.reject("unknown_event")

    def _on_subscribed(self, msg: dict[str, Any]) -> list[Quote]:
        """Remember what a channel id carries.

        {"event":"subscribed","channel":"book","chanId":232957,"symbol":"tTESTBTC:TESTUSD",
         "prec":"P0","freq":"F0","len":"100","pair":"TESTBTC:TESTUSD"}
        """
        chan_id = _int(msg["chanId"])
        channel = msg["channel"]
        native = msg["symbol"]
        if type(channel) is not str or type(native) is not str:
            raise TypeError("subscribed ack without channel or symbol names")
        kind = channel if channel in ("book", "ticker", "trades") else ""
        depth = CHECKSUM_DEPTH
        if kind == "book":
            if msg.get("prec", BOOK_PREC) not in _AGGREGATED:
                kind = ""  # raw books carry order ids, not [PRICE, COUNT, AMOUNT]
            length = msg.get("len")
            if length is not None:
                depth = int(length)
                if depth <= 0:
                    raise ValueError(f"book length {length!r}")
        self._channels[chan_id] = _Channel(kind, native, depth)
        return []

    def _on_info(self, msg: dict[str, Any]) -> list[Quote]:
        """The greeting (platform status) or a coded notice (restart, maintenance).

        {"event":"info","version":2,"serverId":"083bd8d4-aca7-4690-a573-eabfc8103de8",
         "platform":{"status":1}}
        {"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}
        """
        code = msg.get("code")
        if code is None:
            platform = msg.get("platform")
            if platform is not None:
                status = _int(platform["status"])
                self.platform_status = status
                if status != 1:
                    # Subscriptions fail during maintenance: come back later (the loop backs
                    # off on a connection that never delivered data).
                    self.last_error = "platform in maintenance"
                    self.request_reconnect("maintenance")
            return []
        code = _int(code)
        if code == INFO_RESTART:
            self.request_reconnect(f"info_{code}")
        elif code == INFO_MAINTENANCE_START:
            # The venue pauses and announces the end (20061); the socket stays usable.
            self.maintenance = True
        elif code == INFO_MAINTENANCE_END:
            # "Resubscribe all channels": a new connection resubscribes and resyncs every book.
            self.maintenance = False
            self.request_reconnect(f"info_{code}")
        return []
