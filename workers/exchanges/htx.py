"""HTX (Huobi) spot adapter: `market.$symbol.bbo` for top of book, `.trade.detail` for last.

Protocol notes (docs/venues/htx.md): every frame the server sends is gzip-compressed binary
(`decode_binary`); the server pings (`{"ping": ts}`) every 5 s and drops a connection that has
not answered two of them with `{"pong": ts}`, so the adapter answers each one with a `Send`.
One topic per `sub` request, answered `{"status": "ok", "subbed": ...}` or an error with
`err-code`/`err-msg`. `bbo` pushes the best bid and ask with sizes whenever either changes.

Replay only: the 2021 recording's `market.$symbol.depth.step0` (a full book of up to 150 levels
a side in every push, numbers not strings) gives the top (and depth) from each snapshot.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from core.orderbook import OrderBook
from core.types import Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events, Send
from workers.exchanges.fields import decimal_str, int_stamp, integer, json_number

BBO, TRADES, DEPTH = "bbo", "trade.detail", "depth.step0"
# A gzip frame inflating past this is no market data frame (nor a safe one to inflate).
MAX_INFLATED_BYTES = 16 * 2**20


def number(value: Any) -> float:
    """A positive finite price or size: a JSON number (as pushed), or a decimal string."""
    return decimal_str(value) if type(value) is str else json_number(value)


def number_levels(levels: Any) -> list[tuple[float, float]]:
    """`[[64010.1, 0.25], ...]` → (price, size) pairs, every size above zero."""
    if type(levels) is not list:
        raise TypeError("book side is not a list")
    return [_pair(level) for level in levels]


def _pair(level: Any) -> tuple[float, float]:
    """One `[price, size]` level of a pushed book."""
    if type(level) is list and len(level) == 2:
        return number(level[0]), number(level[1])
    raise TypeError("book level is not a [price, size] pair")


class HtxAdapter(Adapter):
    """HTX spot: bbo pushes in, a Quote out whenever the best bid or offer changes."""

    name = "htx"
    markets_path = "/v2/settings/common/symbols"  # /v1/common/symbols is being retired
    rest_url = "https://api.huobi.pro"
    ws_url = "wss://api.huobi.pro/ws"  # also wss://api-aws.huobi.pro/ws, nearer AWS hosts
    # The server pings every 5 s whatever the markets do, and each ping is a frame: 20 s of
    # silence is four pings missed. The client sends no ping of its own (ping_message: None).
    watchdog_s = 20.0
    # No per-connection topic limit is documented (a 429 "too many request topics" exists);
    # two topics per market, 200 a connection.
    max_markets_per_connection = 100

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        # (symbol, kind) → the last bbo seqId or depth version read on this connection;
        # symbol → the latest trade price (kept across reconnects: it is still the last).
        self._seq: dict[tuple[str, str], int] = {}
        self._last: dict[str, float] = {}
        self._ids = 0  # request ids, rising over the adapter's life

    @staticmethod
    def decode_binary(data: bytes) -> str:
        """A gzip member as its UTF-8 text; ValueError when it is not gzip, or too large."""
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and trailer
        try:
            text = inflater.decompress(data, MAX_INFLATED_BYTES)
        except zlib.error as exc:
            raise ValueError(f"not gzip: {exc}") from None
        if inflater.unconsumed_tail or not inflater.eof:
            raise ValueError("gzip frame truncated or too large")
        return text.decode("utf-8")

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`GET /v2/settings/common/symbols` (or the older `/v1/common/symbols`) → `data`.

        {"status": "ok", "data": [{"sc": "btcusdt", "dn": "BTC/USDT", "bc": "btc",
          "qc": "usdt", "state": "online", "te": true, "tpp": 2, "tap": 6, ...}], "full": 1}
        v1: {"status": "ok", "data": [{"symbol": "btcusdt", "base-currency": "btc",
          "quote-currency": "usdt", "state": "online", "api-trading": "enabled", ...}]}
        """
        data = payload.get("data") if isinstance(payload, dict) else None
        if type(data) is list and payload.get("status") == "ok":
            return data
        raise ValueError("not an HTX symbol listing (status ok with a `data` list)")

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """An online symbol open for trading, in either listing's spelling."""
        if entry["state"] != "online":
            return None
        if "sc" in entry:
            if entry.get("te", True) is not True:
                return None
            native, base, quote = entry["sc"], entry["bc"], entry["qc"]
        else:
            if entry.get("api-trading", "enabled") != "enabled":
                return None
            native, base, quote = entry["symbol"], entry["base-currency"], entry["quote-currency"]
        # Topics are dot-separated: a native name must be one lower-case alphanumeric word.
        if not (isinstance(native, str) and native.isascii() and native.isalnum()
                and native.islower()):
            return None
        return cls.market(native, base, quote)

    def subscribe_messages(self) -> list[str]:
        """One `sub` per topic: every market's bbo, then every market's trades."""
        frames = []
        for kind in (BBO, TRADES):
            for native in self.markets:
                self._ids += 1
                frames.append(json.dumps({"sub": f"market.{native}.{kind}", "id": str(self._ids)},
                                         separators=(",", ":")))
        return frames

    def on_connect(self) -> None:
        """Sequence numbers and versions are per connection."""
        super().on_connect()
        self._seq.clear()

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One decoded frame: a push by its `ch`, a ping, an ack or an error."""
        if "ch" in msg:
            return self._on_push(msg["ch"], msg, received_ns)
        if "ping" in msg:
            return self._on_ping(msg)
        return self._on_status(msg)

    def _on_push(self, channel: Any, msg: dict[str, Any], received_ns: int) -> Events:
        """A `market.<symbol>.<kind>` push, routed by its kind.

        {"ch": "market.btcusdt.bbo", "ts": 1767225600125, "tick": {...}}
        """
        if type(channel) is not str or not channel.startswith("market."):
            return self.reject("unknown_channel")
        native, _, kind = channel[len("market."):].partition(".")
        market = self.markets.get(native)
        if kind not in (BBO, TRADES, DEPTH):
            return self.reject("unknown_channel")
        if market is None:
            return self.reject("unknown_market")
        tick = msg["tick"]
        if type(tick) is not dict:
            raise TypeError("tick is not an object")
        if kind == BBO:
            return self._on_bbo(native, market, tick, received_ns)
        if kind == TRADES:
            return self._on_trades(native, tick)
        return self._on_depth(native, tick, msg, received_ns)

    def _on_bbo(self, native: str, market: Market, tick: dict[str, Any],
                received_ns: int) -> Events:
        """The best bid and ask with sizes → a Quote when they differ from the last one sent.

        {"ch": "market.btcusdt.bbo", "ts": 1767225600125, "tick": {"seqId": 161499562790,
         "ask": 64012.4, "askSize": 0.05, "bid": 64010.1, "bidSize": 0.25,
         "quoteTime": 1767225600123, "symbol": "btcusdt"}}
        """
        if tick.get("symbol", native) != native:
            raise ValueError("bbo names another symbol than its channel")
        top = (number(tick["bid"]), number(tick["bidSize"]), number(tick["ask"]),
               number(tick["askSize"]))
        ts_ns = int_stamp(tick["quoteTime"], 1_000_000)
        if self._stale(native, BBO, integer(tick["seqId"])):
            return self.reject("stale_update")
        if top[0] < top[2]:
            changed = self.top_changed(native, top)
            return [Quote(self.name, market.symbol, *top, self._last.get(native), ts_ns,
                          received_ns)] if changed else []
        return self.reject("crossed_book")

    def _stale(self, native: str, kind: str, seq: int) -> bool:
        """True when `seq` is older than the last one read (a late push); else remember it."""
        key = (native, kind)
        if seq < self._seq.get(key, 0):
            return True
        self._seq[key] = seq
        return False

    def _on_trades(self, native: str, tick: dict[str, Any]) -> Events:
        """Trades → the newest one's price as the market's `last`; emits nothing by itself.

        {"ch": "market.btcusdt.trade.detail", "ts": 1767225600125, "tick": {"id": 10018,
         "ts": 1767225600123, "data": [{"id": 1001825345262557, "ts": 1767225600123,
         "tradeId": 100045088885, "amount": 0.01, "price": 64011.0, "direction": "buy"}]}}
        """
        trades = tick["data"]
        if type(trades) is not list or not trades:
            raise TypeError("trade data is not a non-empty list")
        newest = max(trades, key=lambda t: (integer(t["ts"]), integer(t["tradeId"])))
        self._last[native] = number(newest["price"])
        return []

    def _on_depth(self, native: str, tick: dict[str, Any], msg: dict[str, Any],
                  received_ns: int) -> Events:
        """Replay: a full book (step0, up to 150 levels a side) → its top as a Quote.

        {"ch": "market.btcusdt.depth.step0", "ts": 1767225600125, "tick": {
         "bids": [[64010.1, 0.25], [64009.0, 1.1]], "asks": [[64012.4, 0.05]],
         "version": 100182534697, "ts": 1767225600123}}
        """
        bids, asks = number_levels(tick["bids"]), number_levels(tick["asks"])
        ts_ns = int_stamp(tick.get("ts", msg["ts"]), 1_000_000)
        if self._stale(native, DEPTH, integer(tick["version"])):
            return self.reject("stale_update")
        book = OrderBook()
        book.snapshot(bids, asks)
        if book.top() is None:
            return self.reject("empty_book")
        return self.book_quote(native, book, self._last.get(native), ts_ns, received_ns,
                               after_delta=False)

    def _on_ping(self, msg: dict[str, Any]) -> Events:
        """`{"ping": 1767225600000}` → the `{"pong": ...}` reply that keeps the connection."""
        ping = integer(msg["ping"])
        return [Send(json.dumps({"pong": ping}, separators=(",", ":")))]

    def _on_status(self, msg: dict[str, Any]) -> Events:
        """An answer to a request: an ack, or the venue's error.

        {"id": "1", "status": "ok", "subbed": "market.btcusdt.bbo", "ts": 1767225600000}
        {"status": "error", "ts": 1767225600000, "id": "2", "err-code": "bad-request",
         "err-msg": "invalid topic market.foousdt.bbo"}
        """
        status = msg.get("status")
        if status == "ok":
            return []
        if status == "error":
            return self.venue_error(f"{msg.get('err-code')}: {msg.get('err-msg')}")
        return self.reject("unknown_event")
