"""OKX API v5 public WebSocket adapter: the `tickers` channel.

Protocol notes (docs/protocols.md): every value is a string (prices, sizes and `ts` in
Unix ms), `""` is OKX's null, acks come one per subscribed arg, the keepalive is the literal text
`ping` answered by the text `pong` (not JSON), and a `notice` with code 64008 announces that the
connection is about to be closed for an upgrade.

Recorded traffic also carries `books` (400 levels: a snapshot, then updates whose `checksum` is a
CRC32 over the best 25 levels of each side, interleaved, in the exact strings received) and
`trades`. Where a market has a book on the connection, the book gives its top of book and
`tickers` only its `last`; a ticker's top lags the book, and mixing both would make the quote flap
between them.
"""

from __future__ import annotations

import json
import math
import zlib
from typing import Any, ClassVar

from core.orderbook import OrderBook
from core.symbols import make_symbol, split_symbol
from core.types import Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.fields import SHAPE_ERRORS as _SHAPE_ERRORS
from workers.exchanges.fields import decimal_str as _price
from workers.exchanges.fields import decimal_top, int_stamp

LIVE_CHANNEL = "tickers"
# Books sent as a snapshot then updates (the checksummed ones), and books sent whole each push.
_DELTA_BOOKS = frozenset({"books", "books-l2-tbt", "books50-l2-tbt"})
_WHOLE_BOOKS = frozenset({"bbo-tbt", "books5"})
_TRADES = frozenset({"trades", "trades-all"})
CHECKSUM_DEPTH = 25
# OKX caps a request at 64 KB of args and 480 subscribe operations per connection per hour:
# many args per frame keep both far away (an arg is ~45 bytes).
_ARGS_PER_FRAME = 100
NOTICE_RECONNECT = "64008"
_QUIET_EVENTS = frozenset({"subscribe", "unsubscribe", "channel-conn-count"})
_INF = math.inf


def _ms_to_ns(value: Any) -> int:
    """OKX's ms timestamp (a digit string: OKX sends every value as a string) as integer ns."""
    if type(value) is not str:
        raise TypeError(f"expected a ms timestamp string, got {type(value).__name__}")
    return int_stamp(value, 1_000_000)


def book_checksum(book: OrderBook) -> int:
    """CRC32 (signed) of `bidPx:bidSz:askPx:askSz:...` over the best 25 levels, as received."""
    bids = book.bids.level_texts(CHECKSUM_DEPTH)
    asks = book.asks.level_texts(CHECKSUM_DEPTH)
    # Pairs interleaved while both sides have one, then the longer side's rest.
    parts: list[str] = []
    for bid, ask in zip(bids, asks, strict=False):
        parts += bid
        parts += ask
    n = min(len(bids), len(asks))
    for rest in bids[n:] or asks[n:]:
        parts += rest
    crc = zlib.crc32(":".join(parts).encode("ascii"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _levels(levels: Any, ascii_text: bool = False) -> list[tuple[float, float, str, str]]:
    """[[px, sz, "0", count], ...] → (price, size, px text, sz text); size "0" deletes.

    `ascii_text`: the frame's text is ASCII without `\\u` escapes, so every string decoded
    from it is ASCII and the per-level check can be skipped.
    """
    # decimal_str and non_negative inlined (a snapshot has 400 levels a side); same checks.
    if type(levels) is not list:
        raise TypeError("book side is not a list")
    parsed = []
    append = parsed.append
    for level in levels:
        if type(level) is not list or len(level) < 2:
            raise TypeError("book level is not [px, sz, ...]")
        px, sz = level[0], level[1]
        if type(sz) is not str or type(px) is not str:
            raise TypeError("book level is not two strings")
        if not ascii_text and not (px.isascii() and sz.isascii()):
            # float() reads other scripts' digits ("５.1"), but the checksum is over ASCII
            # text: such a level would make every later checksum of the book fail to compute.
            raise ValueError(f"book level is not ASCII: {level!r}")
        price = float(px)
        size = float(sz)
        if not (0.0 < price < _INF and 0.0 <= size < _INF):
            raise ValueError(f"book level out of range: {level!r}")
        append((price, size, px, sz))
    return parsed


def _side(levels: list[tuple[float, float, str, str]]) -> tuple[dict[float, float],
                                                                 dict[float, tuple[str, str]]]:
    """A snapshot side's levels as a fresh book side's sizes and texts (size 0 deleting)."""
    sizes: dict[float, float] = {}
    texts: dict[float, tuple[str, str]] = {}
    for price, size, px, sz in levels:
        if size <= 0.0:
            if sizes.pop(price, None) is not None:
                del texts[price]
        else:
            sizes[price] = size
            texts[price] = (px, sz)
    return sizes, texts


class OkxAdapter(Adapter):
    """OKX v5 spot: tickers (or books) in, a Quote out whenever the top of book changes."""

    name: ClassVar[str] = "okx"
    ws_url: ClassVar[str] = "wss://ws.okx.com:8443/ws/v5/public"
    rest_url: ClassVar[str] = "https://www.okx.com"
    markets_path: ClassVar[str] = "/api/v5/public/instruments?instType=SPOT"
    taker_fee: ClassVar[float] = 0.0010
    # OKX drops a connection that sends nothing for 30 s and has no server heartbeat: the text
    # ping every 10 s keeps it open and its `pong` means a quiet connection still yields a frame
    # every 10 s, so 30 s of silence is three missed replies.
    ping_interval_s: ClassVar[float] = 10.0
    watchdog_s: ClassVar[float] = 30.0

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self._books: dict[str, OrderBook] = {}
        # seqId of the latest book frame per instrument, where OKX sends one.
        self._book_seq: dict[str, int] = {}
        # Latest trade/ticker price per instrument; kept across reconnects (still the last).
        self._last: dict[str, float] = {}

    @classmethod
    def parse_markets(cls, payload: Any) -> list[Market]:
        """`/api/v5/public/instruments?instType=SPOT` → live spot markets keyed by `instId`.

        {"code":"0","msg":"","data":[{"instId":"BTC-USDT","instType":"SPOT","baseCcy":"BTC",
         "quoteCcy":"USDT","state":"live","tickSz":"0.1","lotSz":"0.00000001",...}]}
        A non-zero `code` raises ValueError; swaps, futures, options and odd entries are skipped.
        """
        if type(payload) is not dict:
            raise ValueError(f"expected an instruments object, got {type(payload).__name__}")
        code = payload.get("code")
        if code != "0":
            raise ValueError(f"okx instruments error {code!r}: {payload.get('msg')!r}")
        data = payload.get("data")
        if type(data) is not list:
            raise ValueError("okx instruments payload has no `data` list")
        markets: list[Market] = []
        seen: set[str] = set()
        for entry in data:
            try:
                if entry["instType"] != "SPOT" or entry["state"] != "live":
                    continue
                native = entry["instId"]
                base, quote = split_symbol(make_symbol(entry["baseCcy"], entry["quoteCcy"]))
            except _SHAPE_ERRORS:
                continue
            # The websocket wants the instId exactly; for spot it is BASE-QUOTE already.
            if native != f"{base}-{quote}" or native in seen:
                continue
            seen.add(native)
            markets.append(Market(symbol=native, native=native, base=base, quote=quote))
        return markets

    def subscribe_messages(self) -> list[str]:
        """`tickers` for every market, up to 100 args per subscribe frame."""
        args = [{"channel": LIVE_CHANNEL, "instId": native} for native in self.markets]
        return [
            json.dumps({"op": "subscribe", "args": args[start:start + _ARGS_PER_FRAME]},
                       separators=(",", ":"))
            for start in range(0, len(args), _ARGS_PER_FRAME)
        ]

    def ping_message(self) -> str | None:
        """The literal text `ping` (OKX answers `pong`; a JSON ping is an error)."""
        return "ping"

    def on_connect(self) -> None:
        """Books and their sequence are per connection: forget them."""
        super().on_connect()
        self._books.clear()
        self._book_seq.clear()

    def book_depth(self, native: str, book: OrderBook, received_ns: int) -> None:
        """`Adapter.book_depth` from the sides' remembered best levels (the same values)."""
        n = self.depth_levels
        if n > 0:
            self.note_depth(native, book.bids.best_levels(n), book.asks.best_levels(n),
                            received_ns)

    def on_message(self, text: str, received_ns: int) -> list[Quote]:
        """Read one frame; return the quotes it carries. Never raises on bad input."""
        if text == "pong":
            return []
        msg = self.decode_object(text)
        if msg is None:
            return []
        try:
            event = msg.get("event")
            if event is not None:
                return self._on_event(event, msg)
            channel = msg["arg"]["channel"]
            if channel == LIVE_CHANNEL:
                return self._on_tickers(msg["data"], received_ns)
            if channel in _DELTA_BOOKS or channel in _WHOLE_BOOKS:
                # isascii() is a flag test; the escape search is one pass in C.
                ascii_text = text.isascii() and "\\u" not in text
                return self._on_book(msg, channel, received_ns, ascii_text)
            if channel in _TRADES:
                return self._on_trades(msg["data"])
            return self.reject("unknown_channel")
        except _SHAPE_ERRORS:
            return self.reject("bad_field")

    def _on_event(self, event: Any, msg: dict[str, Any]) -> list[Quote]:
        """Acks, errors and notices.

        {"event":"error","code":"60018","msg":"Wrong URL or channel:tickers,instId:FOO-USDT
         doesn't exist. ...","connId":"a1b2c3d4"}
        {"event":"notice","code":"64008","msg":"The connection will soon be closed for a service
         upgrade. Please reconnect.","connId":"a1b2c3d4"}
        """
        if event in _QUIET_EVENTS:
            return []
        if event == "error":
            self.last_error = f"{msg.get('code')} {msg.get('msg')}"
            return self.reject("venue_error")
        if event == "notice":
            code = msg.get("code")
            self.last_error = f"{code} {msg.get('msg')}"
            if code == NOTICE_RECONNECT:
                self.request_reconnect(f"notice_{code}")
            return []
        return self.reject("unknown_event")

    def _on_tickers(self, entries: Any, received_ns: int) -> list[Quote]:
        """Ticker entries → Quotes for the markets whose top of book changed.

        {"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT",
         "instId":"BTC-USDT","last":"30236","lastSz":"0.0002","askPx":"30228.7",
         "askSz":"1.55896972","bidPx":"30228.6","bidSz":"0.23393","open24h":"29700.4",
         "high24h":"31073","low24h":"28020.3","sodUtc0":"29028.8","sodUtc8":"30337.7",
         "volCcy24h":"525802090.62716611","vol24h":"17602.13085371","ts":"1652459224956"}]}
        """
        return self.each_entry(entries, self._ticker_entry, received_ns)

    def _ticker_entry(self, entry: Any, received_ns: int) -> Quote | None:
        """One ticker entry → a Quote, or None when unusable (counted), unchanged or booked."""
        inst = entry["instId"]
        market = self.markets.get(inst)
        if market is None:
            self.reject("unknown_market")
            return None
        raw_last = entry.get("last")
        last = _price(raw_last) if raw_last not in (None, "") else None
        fields = (entry["bidPx"], entry["bidSz"], entry["askPx"], entry["askSz"])
        ts_ns = _ms_to_ns(entry["ts"])
        if "" in fields:
            # An empty side (OKX's null): no top of book to report, not a malformed frame.
            if last is not None:
                self._last[inst] = last
            self.reject("empty_book")
            return None
        top = decimal_top(*fields)
        if last is not None:
            self._last[inst] = last
        if inst in self._books:
            return None  # this market's book gives its top; the ticker gave `last`
        if top[0] >= top[2]:
            self.reject("crossed_book")
            return None
        if not self.top_changed(inst, top):
            return None
        return Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                     self._last.get(inst), ts_ns, received_ns)

    def _on_book(self, msg: dict[str, Any], channel: str, received_ns: int,
                 ascii_text: bool = False) -> list[Quote]:
        """A book snapshot or update (checksum verified) → a Quote if the top moved.

        {"arg":{"channel":"books","instId":"UNI-USD-SWAP"},"action":"update","data":[{
         "asks":[["5.158","129","0","2"],["5.233","240","0","1"]],"bids":[["5.14","427","0","4"],
         ["5.138","26","0","2"],["5.117","0","0","0"]],"ts":"1652459225464",
         "checksum":1361161687}]}
        """
        inst = msg["arg"]["instId"]
        market = self.markets.get(inst)
        if market is None:
            return self.reject("unknown_market")
        data = msg["data"]
        if type(data) is not list or len(data) != 1 or type(data[0]) is not dict:
            raise TypeError("book data is not one object")
        entry = data[0]
        bids, asks = _levels(entry["bids"], ascii_text), _levels(entry["asks"], ascii_text)
        ts_ns = _ms_to_ns(entry["ts"])
        checksum = entry.get("checksum")
        if checksum is not None and type(checksum) is not int:
            raise TypeError("checksum is not an integer")
        seq, prev_seq = entry.get("seqId"), entry.get("prevSeqId")
        action = msg.get("action") if channel in _DELTA_BOOKS else "snapshot"
        book = self._books.get(inst)
        if action == "snapshot":
            book = self._books[inst] = OrderBook()
        elif action != "update":
            return self.reject("bad_field")
        elif book is None:
            # An update for a book whose snapshot never came on this connection.
            return self.reject("no_snapshot")
        elif (type(prev_seq) is int and inst in self._book_seq
              and prev_seq != self._book_seq[inst]):
            self.reject("sequence_gap")
            self.request_reconnect("sequence_gap")
            return []
        if type(seq) is int:
            self._book_seq[inst] = seq
        if action == "snapshot":
            # A fresh book: each side built whole and sorted once.
            book.bids.assign(*_side(bids))
            book.asks.assign(*_side(asks))
        else:
            book.bids.update(bids)
            book.asks.update(asks)
        if checksum is not None and book_checksum(book) != checksum:
            self.reject("checksum_mismatch")
            self.request_reconnect("checksum_mismatch")
            return []
        top = book.top()
        if top is None:
            return []
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        self.book_depth(inst, book, received_ns)
        if not self.top_changed(inst, top):
            return []
        return [Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                      self._last.get(inst), ts_ns, received_ns)]

    def _on_trades(self, entries: Any) -> list[Quote]:
        """Trades → the market's last price; emits nothing by itself.

        {"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",
         "tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}
        """
        if type(entries) is not list:
            raise TypeError("trade data is not a list")
        prices = []
        for entry in entries:
            inst = entry["instId"]
            if inst not in self.markets:
                return self.reject("unknown_market")
            prices.append((inst, _price(entry["px"])))
        for inst, price in prices:
            self._last[inst] = price
        return []
