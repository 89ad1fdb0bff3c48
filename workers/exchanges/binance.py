"""Binance spot adapter: `<symbol>@bookTicker` for top of book, `<symbol>@aggTrade` for last.

Protocol notes (docs/protocols.md): stream names are lower-case (`btcusdt@bookTicker`)
while payloads and REST spell symbols upper-case (`BTCUSDT`); the combined endpoint wraps every
event as `{"stream": ..., "data": ...}`; spot bookTicker carries no event type and no time, so
its quotes are stamped on receipt; there is no snapshot on subscribe; the server sends protocol
pings every 20 s and no app-level heartbeat; 1,024 streams and 5 incoming messages per second
per connection; a `serverShutdown` event precedes a planned disconnect.

The live connection subscribes by SUBSCRIBE frames on `/stream`, so the URL carries no stream
list and can be pointed anywhere (the simulator serves one path per venue). Recorded traffic
also has `@depth@100ms` diffs, which need a REST depth snapshot to seed a book: none was
recorded, so those frames are checked and counted as `unseeded_book` and never produce quotes.
"""

from __future__ import annotations

from typing import Any

from core.types import Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import decimal_str as _price
from workers.exchanges.fields import decimal_top, non_negative

# 2 streams per market and 1,024 streams per connection.
_STREAMS_PER_MARKET = 2
_MAX_STREAMS = 1024
# Binance counts every incoming frame (SUBSCRIBE, ping, pong) against 5 per second and drops
# the connection above that; the loop sends all subscribe frames at once, so a full connection
# must fit in 4 frames, leaving room for a pong in the same second.
_STREAMS_PER_FRAME = 256


def _int(value: Any) -> int:
    """A JSON integer (update ids); bool, float and strings are refused."""
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _is_zero(text: Any) -> bool:
    """True for a decimal string equal to zero (`"0.00000000"`: that side of the book is empty)."""
    return type(text) is str and float(text) == 0.0


class BinanceAdapter(Adapter):
    """Binance spot: bookTicker events in, a Quote out whenever the top of book changes."""

    name = "binance"
    ws_url = "wss://stream.binance.com:9443/stream"
    rest_url = "https://api.binance.com"
    markets_path = "/api/v3/exchangeInfo"
    # Binance has no app-level ping (ping_message is None). A quiet market can go minutes
    # without a bookTicker, so the watchdog relies on protocol frames instead: the server pings
    # every 20 s and the loop's own protocol pings (every 20 s) are answered with pongs. 45 s
    # is more than two server ping intervals: one late ping is tolerated, two missed are not.
    watchdog_s = 45.0
    max_markets_per_connection = _MAX_STREAMS // _STREAMS_PER_MARKET

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self._req_id = 0
        # Latest trade price per native symbol; kept across reconnects (it is still the last).
        self._last: dict[str, float] = {}
        # Last bookTicker update id per native symbol on this connection.
        self._update_ids: dict[str, int] = {}

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`/api/v3/exchangeInfo` → its `symbols` entries.

        {"timezone": "UTC", "serverTime": 1633998511098, "rateLimits": [...],
         "exchangeFilters": [], "symbols": [{"symbol": "ETHBTC", "status": "TRADING",
         "baseAsset": "ETH", "quoteAsset": "BTC", "isSpotTradingAllowed": true, ...}]}
        """
        return cls.listed(payload, "symbols")

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A trading spot symbol, native in stream spelling (halted `BREAK` ones are skipped)."""
        if entry["status"] != "TRADING":
            return None
        # Older listings lack the flag; a present flag must say spot trading is on.
        if entry.get("isSpotTradingAllowed", True) is not True:
            return None
        symbol = entry["symbol"]
        # Stream names are the lower-cased symbol; anything but ASCII letters and digits
        # could not be named in a stream.
        if not (isinstance(symbol, str) and symbol.isascii() and symbol.isalnum()):
            return None
        return cls.market(symbol.lower(), entry["baseAsset"], entry["quoteAsset"])

    def _next_id(self) -> int:
        """A fresh request id, so an error reply can be matched to the frame that caused it."""
        self._req_id += 1
        return self._req_id

    def subscribe_messages(self) -> list[str]:
        """SUBSCRIBE frames for every market's bookTicker and aggTrade, 256 streams a frame."""
        streams = [f"{native}@{kind}" for native in self.markets
                   for kind in ("bookTicker", "aggTrade")]
        return self.chunked_frames(streams, _STREAMS_PER_FRAME, lambda chunk: {
            "method": "SUBSCRIBE", "params": chunk, "id": self._next_id()})

    def on_connect(self) -> None:
        """A new connection starts a new sequence of update ids."""
        super().on_connect()
        self._update_ids.clear()

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        if "stream" in msg:
            stream = msg["stream"]
            if type(stream) is not str:
                raise TypeError("stream name is not a string")
            return self._on_event(stream, msg["data"], received_ns)
        if "e" in msg or ("u" in msg and "s" in msg):
            # A raw (not combined) event, as sent after SET_PROPERTY combined=false.
            return self._on_event(None, msg, received_ns)
        if "event" in msg:
            # The WebSocket API wraps connection events as {"event": {"e": ...}}.
            return self._on_event(None, msg["event"], received_ns)
        return self._on_response(msg)

    def _on_event(self, stream: str | None, data: Any, received_ns: int) -> Events:
        """One stream event, routed by its `e` type (bookTicker has none).

        {"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1767225600000}}
        """
        if type(data) is not dict:
            raise TypeError("event data is not an object")
        event = data.get("e")
        if event is None:
            # Spot bookTicker is the one event without a type; partial-depth snapshots
            # (`@depth5`) have none either, and are not read.
            if stream is None or stream.endswith("@bookTicker"):
                return self._on_book_ticker(stream, data, received_ns)
            return self.reject("unknown_channel")
        if type(event) is not str:
            raise TypeError("event type is not a string")
        if event == "serverShutdown":
            return self.reconnect("server_shutdown")
        if event in ("aggTrade", "trade"):
            return self._on_trade(stream, data)
        if event == "depthUpdate":
            return self._on_depth(stream, data)
        if event == "kline":
            return self._on_kline(stream, data)
        return self.reject("unknown_channel")

    def _native(self, stream: str | None, symbol: Any) -> str:
        """The payload's upper-case `s` as our native spelling, checked against the stream."""
        if type(symbol) is not str:
            raise TypeError("symbol is not a string")
        native = symbol.lower()
        if stream is not None and stream.split("@", 1)[0] != native:
            raise ValueError(f"stream {stream!r} does not carry {symbol!r}")
        return native

    def _on_book_ticker(self, stream: str | None, data: dict[str, Any],
                        received_ns: int) -> Events:
        """Best bid/ask → a Quote when it differs from the last one sent (receive-time stamped).

        {"stream": "nknusdt@bookTicker", "data": {"u": 499869768, "s": "NKNUSDT",
         "b": "0.35210000", "B": "672.00000000", "a": "0.35260000", "A": "3199.00000000"}}
        """
        native = self._native(stream, data["s"])
        market = self.markets.get(native)
        if market is None:
            return self.reject("unknown_market")
        update_id = _int(data["u"])
        if _is_zero(data["b"]) or _is_zero(data["a"]):
            return self.reject("empty_book")
        top = decimal_top(data["b"], data["B"], data["a"], data["A"])
        previous = self._update_ids.get(native)
        if previous is not None and update_id < previous:
            # Ids only rise on a connection: an older one is a late frame, not news.
            return self.reject("stale_update")
        self._update_ids[native] = update_id
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        if not self.top_changed(native, top):
            return []
        return [Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                      self._last.get(native), None, received_ns)]

    def _on_trade(self, stream: str | None, data: dict[str, Any]) -> Events:
        """A trade → remember its price as the market's `last`; emits nothing by itself.

        {"stream": "nknusdt@aggTrade", "data": {"e": "aggTrade", "E": 1633998523963,
         "s": "NKNUSDT", "a": 15683430, "p": "0.35280000", "q": "58.00000000", "f": 19862790,
         "l": 19862790, "T": 1633998523963, "m": false, "M": true}}
        """
        native = self._native(stream, data["s"])
        if native not in self.markets:
            return self.reject("unknown_market")
        self._last[native] = _price(data["p"])
        return []

    def _on_depth(self, stream: str | None, data: dict[str, Any]) -> Events:
        """Replay only (never subscribed): a diff-depth event, checked, then counted.

        No REST snapshot seeds the book, so the diffs cannot give a top of book.

        {"stream": "nknusdt@depth@100ms", "data": {"e": "depthUpdate", "E": 1633998512568,
         "s": "NKNUSDT", "U": 499869753, "u": 499869754, "b": [["0.35170000", "4265.00000000"]],
         "a": [["0.35290000", "10968.00000000"]]}}
        """
        native = self._native(stream, data["s"])
        if native not in self.markets:
            return self.reject("unknown_market")
        if _int(data["U"]) > _int(data["u"]):
            raise ValueError("depth update range runs backwards")
        for side in (data["b"], data["a"]):
            if type(side) is not list:
                raise TypeError("depth side is not a list")
            for level in side:
                if type(level) is not list or len(level) != 2:
                    raise TypeError("depth level is not a [price, size] pair")
                _price(level[0])
                if type(level[1]) is not str:
                    raise TypeError("depth size is not a string")
                non_negative(float(level[1]))  # 0 deletes a level; NaN and inf are refused
        # Diffs only mean something on top of a snapshot from GET /api/v3/depth; without one
        # the book's top is unknown, so nothing is emitted rather than something wrong.
        return self.reject("unseeded_book")

    def _on_kline(self, stream: str | None, data: dict[str, Any]) -> Events:
        """Replay only (never subscribed): a candle update, checked but not used for `last`.

        {"stream": "nknusdt@kline_1m", "data": {"e": "kline", "E": 1633998523963,
         "s": "NKNUSDT", "k": {"t": 1633998480000, "T": 1633998539999, "s": "NKNUSDT",
         "i": "1m", "o": "0.35270000", "c": "0.35280000", "h": "0.35280000", "l": "0.35220000",
         "x": false, ...}}}
        The close `c` is the last trade as of the candle's push (every second or two), which can
        lag the aggTrade stream: taking it would move `last` back in time.
        """
        native = self._native(stream, data["s"])
        if native not in self.markets:
            return self.reject("unknown_market")
        _price(data["k"]["c"])
        return []

    def _on_response(self, msg: dict[str, Any]) -> Events:
        """A reply to a request: `{"result": null, "id": 1}` (ack) or an error with its code.

        {"code": 2, "msg": "Invalid request: unknown variant `SUBSCRIB`", "id": 7}
        """
        if "result" in msg and "id" in msg:
            return []  # SUBSCRIBE/UNSUBSCRIBE ack, LIST_SUBSCRIPTIONS or GET_PROPERTY answer
        error = msg.get("error") if isinstance(msg.get("error"), dict) else msg
        if "code" in error and "msg" in error:
            return self.venue_error(f"{error['code']}: {error['msg']}")
        return self.reject("unknown_event")
