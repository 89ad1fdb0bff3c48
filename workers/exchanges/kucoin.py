"""KuCoin spot adapter: `/spotMarket/level1` for top of book, `/market/match` for last.

Protocol notes (docs/venues/kucoin.md): a connection needs a token first (POST
`/api/v1/bullet-public` names the server and the ping interval); the server greets with
`welcome`, answers each subscribe with `ack` (or `error`), and closes a connection that sends
no `ping` within pingInterval + pingTimeout. `/spotMarket/level1` pushes the best bid and ask
with sizes at most every 10 ms, only when they changed; a topic names up to 100 symbols, and a
connection holds at most 100 topics (one per symbol), two per market here.

Replay only: the 2021 recording's `/market/level2` increments (seeded from REST, see
`kucoin_book`) and `/market/ticker` (bestBid/bestAsk with sizes, used for a market until its
level2 book is seeded); `/market/candles` is read and ignored.
"""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any
from urllib.parse import urlencode, urljoin

from core.types import Market, Quote
from workers.exchanges.base import Adapter, loads
from workers.exchanges.events import Events
from workers.exchanges.fields import SHAPE_ERRORS, decimal_str, decimal_top, int_stamp
from workers.exchanges.kucoin_book import OK_CODE, KucoinBooks
from workers.exchanges.seeded import SeededBook

LEVEL1 = "/spotMarket/level1:"
MATCH = "/market/match:"
LEVEL2 = "/market/level2:"
TICKER = "/market/ticker:"
CANDLES = "/market/candles:"
SYMBOLS_PER_TOPIC = 100
MAX_TOPICS = 100  # per connection; each symbol of a topic counts as one
# Frames that carry nothing for us but are expected traffic.
_QUIET = frozenset({"welcome", "ack", "pong"})


class KucoinAdapter(KucoinBooks, Adapter):
    """KuCoin spot: level1 best bid/offer in, a Quote out whenever it changes."""

    name = "kucoin"
    rest_url = "https://api.kucoin.com"
    bootstrap_path = "/api/v1/bullet-public"
    # Only a default: every connect opens the endpoint the bullet answer names.
    ws_url = "wss://ws-api-spot.kucoin.com/"
    markets_path = "/api/v2/symbols"
    # The bullet answer says pingInterval 18 s (pingTimeout 10 s): the server answers each ping
    # with a pong, so a live connection yields a frame every 18 s at least; 45 s is two missed.
    ping_interval_s = 18.0
    watchdog_s = 45.0
    max_markets_per_connection = MAX_TOPICS // 2

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self._ids = itertools.count(1)
        # Latest trade price per symbol; kept across reconnects (it is still the last).
        self._last: dict[str, float] = {}
        # Level1 time (ms) last read per symbol on this connection: an older push is late.
        self._level1_ms: dict[str, int] = {}
        # Replay: level2 books per symbol, seeded from REST (see kucoin_book).
        self._books: dict[str, SeededBook] = {}

    def on_connect(self) -> None:
        """A new connection starts new level1 times and new level2 books."""
        super().on_connect()
        self._level1_ms.clear()
        self._books.clear()

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`GET /api/v2/symbols` → its `data` entries.

        {"code": "200000", "data": [{"symbol": "BTC-USDT", "name": "BTC-USDT",
          "baseCurrency": "BTC", "quoteCurrency": "USDT", "market": "USDS",
          "enableTrading": true, "priceIncrement": "0.1", ...}]}
        """
        data = payload.get("data") if isinstance(payload, dict) else None
        if type(data) is list and payload.get("code") == OK_CODE:
            return data
        raise ValueError("not a KuCoin symbol listing (a `data` list with code 200000)")

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A symbol open for trading; the native name is the listing's `BASE-QUOTE` symbol."""
        if entry["enableTrading"] is not True:
            return None
        native = entry["symbol"]
        market = cls.market(native, entry["baseCurrency"], entry["quoteCurrency"],
                            {"BCHSV": "BSV"})
        # Topics are comma-separated symbol lists: a symbol must not carry a comma or colon.
        if not (isinstance(native, str) and native.isascii()
                and native.replace("-", "").isalnum()):
            return None
        return market

    def ws_url_from_bootstrap(self, text: str) -> str:
        """The server and token from `POST /api/v1/bullet-public`, as the URL to open.

        {"code": "200000", "data": {"token": "2neAiuYvAU61ZD...", "instanceServers": [
          {"endpoint": "wss://ws-api-spot.kucoin.com/", "encrypt": true,
           "protocol": "websocket", "pingInterval": 18000, "pingTimeout": 10000}]}}
        """
        try:
            body = loads(text)
            if body["code"] != OK_CODE:
                raise ValueError(f"bullet refused: {body.get('msg')!r}")
            token = body["data"]["token"]
            servers = [s for s in body["data"]["instanceServers"]
                       if s.get("protocol", "websocket") == "websocket"]
            endpoint = servers[0]["endpoint"]
        except SHAPE_ERRORS as exc:
            raise ValueError(f"unusable bullet answer: {exc}") from None
        if type(token) is not str or not token or type(endpoint) is not str or not endpoint:
            raise ValueError("bullet answer without a token or endpoint")
        # An endpoint given as a path is on the REST host (the simulator serves it that way).
        url = urljoin(self.rest_base.rstrip("/") + "/", endpoint)
        if url.startswith("http"):
            url = "ws" + url[4:]
        query = urlencode({"token": token, "connectId": uuid.uuid4().hex})
        return f"{url}{'&' if '?' in url else '?'}{query}"

    def subscribe_messages(self) -> list[str]:
        """Level1 and match topics, 100 symbols a topic, one subscribe frame each."""
        natives = list(self.markets)
        frames: list[str] = []
        for prefix in (LEVEL1, MATCH):
            frames += self.chunked_frames(natives, SYMBOLS_PER_TOPIC, lambda chunk, p=prefix: {
                "id": next(self._ids), "type": "subscribe", "topic": p + ",".join(chunk),
                "privateChannel": False, "response": True})
        return frames

    def ping_message(self) -> str | None:
        """The app-level ping KuCoin wants every pingInterval; it answers with a pong."""
        return json.dumps({"id": str(next(self._ids)), "type": "ping"}, separators=(",", ":"))

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """A decoded frame by its `type`: message, welcome/ack/pong, error."""
        kind = msg["type"]
        if kind == "message":
            return self._on_push(msg["topic"], msg["data"], received_ns)
        if kind in _QUIET:
            return []
        return self._on_error(msg) if kind == "error" else self.reject("unknown_event")

    def _on_push(self, topic: Any, data: Any, received_ns: int) -> Events:
        """A `message` frame, routed by its topic prefix.

        {"type": "message", "topic": "/spotMarket/level1:BTC-USDT", "subject": "level1",
         "data": {...}}
        """
        if type(topic) is not str or type(data) is not dict:
            raise TypeError("topic or data of the wrong type")
        prefix, _, native = topic.partition(":")
        prefix += ":"
        if prefix == LEVEL1:
            return self._on_level1(native, data, received_ns)
        if prefix == MATCH:
            return self._on_match(native, data)
        if prefix == LEVEL2:
            return self._on_level2(native, data, received_ns)
        if prefix == TICKER:
            return self._on_ticker(native, data, received_ns)
        if prefix == CANDLES:
            return []  # recorded, not followed: a candle's close lags the trades
        return self.reject("unknown_channel")

    def _on_level1(self, native: str, data: dict[str, Any], received_ns: int) -> Events:
        """Best bid and ask with sizes → a Quote when they differ from the last one sent.

        {"type": "message", "topic": "/spotMarket/level1:BTC-USDT", "subject": "level1",
         "data": {"asks": ["64012.4", "0.05"], "bids": ["64010.1", "0.25"],
                  "timestamp": 1767225600123}}
        """
        market = self.markets.get(native)
        if market is None:
            return self.reject("unknown_market")
        ms = int_stamp(data["timestamp"], 1)
        bid, ask = data["bids"], data["asks"]
        if type(bid) is not list or type(ask) is not list:
            raise TypeError("level1 side is not a list")
        if not bid or not ask:
            return self.reject("empty_book")
        top = decimal_top(bid[0], bid[1], ask[0], ask[1])
        if ms < self._level1_ms.get(native, 0):
            return self.reject("stale_update")
        self._level1_ms[native] = ms
        return self._quote(native, market, top, ms * 1_000_000, received_ns)

    def _on_ticker(self, native: str, data: dict[str, Any], received_ns: int) -> Events:
        """Replay: a ticker's best bid/ask → a Quote, until the market's level2 book is seeded.

        {"type": "message", "topic": "/market/ticker:BTC-USDT", "subject": "trade.ticker",
         "data": {"sequence": "1545896669105", "price": "64011.0", "size": "0.01",
                  "bestAsk": "64012.4", "bestAskSize": "0.05", "bestBid": "64010.1",
                  "bestBidSize": "0.25", "time": 1767225600123}}
        """
        market = self.markets.get(native)
        if market is None:
            return self.reject("unknown_market")
        top = decimal_top(data["bestBid"], data["bestBidSize"], data["bestAsk"],
                          data["bestAskSize"])
        ts_ns = int_stamp(data["time"], 1_000_000)
        self._last[native] = decimal_str(data["price"])
        if self.book_ready(native):
            return []  # the seeded book is fresher than the 100 ms ticker
        return self._quote(native, market, top, ts_ns, received_ns)

    def _quote(self, native: str, market: Market, top: tuple[float, float, float, float],
               ts_ns: int, received_ns: int) -> Events:
        """The Quote of a venue-given top, when it is uncrossed and new."""
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        if self.top_changed(native, top):
            return [Quote(self.name, market.symbol, *top, self._last.get(native), ts_ns,
                          received_ns)]
        return []

    def _on_match(self, native: str, data: dict[str, Any]) -> Events:
        """A trade → remember its price as the market's `last`; emits nothing by itself.

        {"type": "message", "topic": "/market/match:BTC-USDT", "subject": "trade.l3match",
         "data": {"symbol": "BTC-USDT", "sequence": "1545896669145", "side": "buy",
                  "size": "0.01", "price": "64011.0", "tradeId": "5c24c5da03aa673885cd67aa",
                  "time": "1767225600123456789", "type": "match", ...}}
        """
        if native not in self.markets:
            return self.reject("unknown_market")
        self._last[native] = decimal_str(data["price"])
        return []

    def _on_error(self, msg: dict[str, Any]) -> Events:
        """A refused request: `{"id": "3", "type": "error", "code": 404, "data": "..."}`."""
        return self.venue_error(f"{msg.get('code')}: {msg.get('data')}")
