"""OKX API v5 public WebSocket adapter: the `tickers` channel.

Protocol notes (docs/protocols.md): every value is a string (prices, sizes and `ts` in
Unix ms), `""` is OKX's null, acks come one per subscribed arg, the keepalive is the literal text
`ping` answered by the text `pong` (not JSON), and a `notice` with code 64008 announces that the
connection is about to be closed for an upgrade.

Recorded traffic also carries `books` (read on replay only: `okx_book`) and `trades`. Where a
market has a book on the connection, the book gives its top of book and `tickers` only its
`last`; a ticker's top lags the book, and mixing both would make the quote flap between them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.types import Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events, VenueError
from workers.exchanges.fields import SHAPE_ERRORS as _SHAPE_ERRORS
from workers.exchanges.fields import decimal_str as _price
from workers.exchanges.fields import decimal_top
from workers.exchanges.okx_book import _DELTA_BOOKS, _WHOLE_BOOKS, OkxReplayBooks, _ms_to_ns

LIVE_CHANNEL = "tickers"
_TRADES = frozenset({"trades", "trades-all"})
# OKX caps a request at 64 KB of args and 480 subscribe operations per connection per hour:
# many args per frame keep both far away (an arg is ~45 bytes).
_ARGS_PER_FRAME = 100
NOTICE_RECONNECT = "64008"
_QUIET_EVENTS = frozenset({"subscribe", "unsubscribe", "channel-conn-count"})


class OkxAdapter(OkxReplayBooks, Adapter):
    """OKX v5 spot: tickers (or books) in, a Quote out whenever the top of book changes."""

    name: ClassVar[str] = "okx"
    ws_url: ClassVar[str] = "wss://ws.okx.com:8443/ws/v5/public"
    rest_url: ClassVar[str] = "https://www.okx.com"
    markets_path: ClassVar[str] = "/api/v5/public/instruments?instType=SPOT"
    # OKX drops a connection that sends nothing for 30 s and has no server heartbeat: the text
    # ping every 10 s keeps it open and its `pong` means a quiet connection still yields a frame
    # every 10 s, so 30 s of silence is three missed replies.
    ping_interval_s: ClassVar[float] = 10.0
    watchdog_s: ClassVar[float] = 30.0

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        # seqId of the latest book frame per instrument, where OKX sends one.
        self._book_seq: dict[str, int] = {}
        # Latest trade/ticker price per instrument; kept across reconnects (still the last).
        self._last: dict[str, float] = {}

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`/api/v5/public/instruments?instType=SPOT` → its `data` entries.

        {"code":"0","msg":"","data":[{"instId":"BTC-USDT","instType":"SPOT","baseCcy":"BTC",
         "quoteCcy":"USDT","state":"live","tickSz":"0.1","lotSz":"0.00000001",...}]}
        A non-zero `code` raises ValueError.
        """
        if type(payload) is dict and payload.get("code") != "0":
            raise ValueError(f"okx instruments error {payload.get('code')!r}: "
                             f"{payload.get('msg')!r}")
        return cls.listed(payload, "data")

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A live spot instrument keyed by `instId` (swaps, futures, options are skipped)."""
        if entry["instType"] != "SPOT" or entry["state"] != "live":
            return None
        market = cls.market(entry["instId"], entry["baseCcy"], entry["quoteCcy"])
        # The websocket wants the instId exactly; for spot it is BASE-QUOTE already.
        return market if market.native == market.symbol else None

    def subscribe_messages(self) -> list[str]:
        """`tickers` for every market, up to 100 args per subscribe frame."""
        args = [{"channel": LIVE_CHANNEL, "instId": native} for native in self.markets]
        return self.chunked_frames(args, _ARGS_PER_FRAME,
                                   lambda chunk: {"op": "subscribe", "args": chunk})

    def ping_message(self) -> str | None:
        """The literal text `ping` (OKX answers `pong`; a JSON ping is an error)."""
        return "ping"

    def on_connect(self) -> None:
        """Books and their sequence are per connection: forget them."""
        super().on_connect()
        self._book_seq.clear()

    def on_message(self, text: str, received_ns: int) -> Events:
        """Read one frame; return the events it produced. Never raises on bad input."""
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

    def _on_event(self, event: Any, msg: dict[str, Any]) -> Events:
        """Acks, errors and notices.

        {"event":"error","code":"60018","msg":"Wrong URL or channel:tickers,instId:FOO-USDT
         doesn't exist. ...","connId":"a1b2c3d4"}
        {"event":"notice","code":"64008","msg":"The connection will soon be closed for a service
         upgrade. Please reconnect.","connId":"a1b2c3d4"}
        """
        if event in _QUIET_EVENTS:
            return []
        if event == "error":
            return self.venue_error(f"{msg.get('code')} {msg.get('msg')}")
        if event == "notice":
            code = msg.get("code")
            notice = VenueError(f"{code} {msg.get('msg')}")
            if code == NOTICE_RECONNECT:
                return [notice, *self.reconnect(f"notice_{code}")]
            return [notice]
        return self.reject("unknown_event")

    def _on_tickers(self, entries: Any, received_ns: int) -> Events:
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
        if inst in self.books:
            return None  # this market's book gives its top; the ticker gave `last`
        if top[0] >= top[2]:
            self.reject("crossed_book")
            return None
        if not self.top_changed(inst, top):
            return None
        return Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                     self._last.get(inst), ts_ns, received_ns)

    def _on_trades(self, entries: Any) -> Events:
        """Replay only (never subscribed): trades → the market's last price; no quote.

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
