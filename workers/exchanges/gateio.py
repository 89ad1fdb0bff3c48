"""Gate.io spot adapter (API v4): `spot.book_ticker` for top of book, `spot.trades` for last.

Protocol notes (docs/venues/gateio.md): one websocket, `wss://api.gateio.ws/ws/v4/`; every
request and reply is `{"time", "channel", "event", "payload" | "result" | "error"}`; pairs are
spelled `BTC_USDT` on the wire and in REST; `spot.book_ticker` pushes the best bid/ask with
sizes on every change (order book id `u`, time `t` in ms); the app-level keepalive is
`spot.ping`, answered by `spot.pong`.

Recorded sessions hold `spot.order_book_update` diffs (ids `U`..`u`) instead, seeded by
`GET /spot/order_book?currency_pair=X&limit=100&with_id=true` (the snapshot's `id`); that depth
path (`seeded_depth`) serves replays, and live when `follow_depth` is set. `spot.tickers`
(no sizes) only supplies `last` until a trade does.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import orjson

from core.types import Market, Quote
from workers.exchanges.events import Events
from workers.exchanges.fields import (
    decimal_str,
    decimal_top,
    int_stamp,
    integer,
)
from workers.exchanges.seeded_depth import SeededDepth

# Our own bound (Gate documents none): pairs per connection, so one SUBSCRIBE frame per channel.
MAX_PAIRS = 100
SNAPSHOT_LIMIT = 100  # levels per side asked of the REST snapshot, as recorded
DEPTH_INTERVAL = "100ms"
_QUIET = frozenset({"subscribe", "unsubscribe"})  # replies that carry no data when successful


class GateioAdapter(SeededDepth):
    """Gate.io spot: book_ticker updates in, a Quote out whenever the top of book changes."""

    name: ClassVar[str] = "gateio"
    ws_url: ClassVar[str] = "wss://api.gateio.ws/ws/v4/"
    rest_url: ClassVar[str] = "https://api.gateio.ws/api/v4"
    markets_path: ClassVar[str] = "/spot/currency_pairs"
    # spot.ping every 15 s keeps a quiet connection fed with pongs: two missed ones resync.
    ping_interval_s: ClassVar[float] = 15.0
    watchdog_s: ClassVar[float] = 40.0
    max_markets_per_connection: ClassVar[int | None] = MAX_PAIRS

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        # True: subscribe `spot.order_book_update` (a local book) in place of book_ticker.
        self.follow_depth = False
        # Latest trade price per pair (kept across reconnects), and the pairs it came from a
        # trade for: a ticker's `last` lags the trades and never overrides one.
        self._last: dict[str, float] = {}
        self._traded: set[str] = set()
        # Last book_ticker order book id per pair on this connection.
        self._update_ids: dict[str, int] = {}

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`/spot/currency_pairs` → its entries.

        [{"id": "ETH_USDT", "base": "ETH", "quote": "USDT", "fee": "0.2",
          "min_quote_amount": "1", "amount_precision": 4, "precision": 2,
          "trade_status": "tradable", "sell_start": 0, "buy_start": 0}, ...]
        """
        if not isinstance(payload, list):
            raise ValueError(f"expected a list of currency pairs, got {type(payload).__name__}")
        return payload

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A `tradable` pair (not `untradable`, `buyable` or `sellable` only), native `BTC_USDT`."""
        if entry["trade_status"] != "tradable":
            return None
        native = entry["id"]
        if not (isinstance(native, str) and native.isascii() and native.replace("_", "").isalnum()):
            return None
        return cls.market(native, entry["base"], entry["quote"])

    @staticmethod
    def _request(channel: str, payload: list[str], event: str = "subscribe") -> dict[str, Any]:
        """A v4 request frame (its `time` in s, as Gate asks)."""
        return {"time": int(time.time()), "channel": channel, "event": event, "payload": payload}

    def subscribe_messages(self) -> list[str]:
        """book_ticker (or one order_book_update per pair) and trades for every market."""
        pairs = list(self.markets)
        if self.follow_depth:
            tops = [orjson.dumps(self._request("spot.order_book_update", [p, DEPTH_INTERVAL]))
                    .decode() for p in pairs]
        else:
            tops = self.chunked_frames(pairs, MAX_PAIRS,
                                       lambda chunk: self._request("spot.book_ticker", chunk))
        return tops + self.chunked_frames(pairs, MAX_PAIRS,
                                          lambda chunk: self._request("spot.trades", chunk))

    def ping_message(self) -> str | None:
        """`{"time": 1767225600, "channel": "spot.ping"}`: answered by spot.pong."""
        return orjson.dumps({"time": int(time.time()), "channel": "spot.ping"}).decode()

    def on_connect(self) -> None:
        """A new connection starts new ids (and books)."""
        super().on_connect()
        self._update_ids.clear()

    def snapshot_path(self, native: str) -> str:
        """`/spot/order_book` of one pair with its id, as the depth rule needs."""
        return (f"/spot/order_book?currency_pair={native}&limit={SNAPSHOT_LIMIT}"
                "&with_id=true")

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        channel, event = msg["channel"], msg.get("event")
        if type(channel) is not str:
            raise TypeError("channel is not a string")
        if msg.get("error") is not None:
            return self._on_error(msg)
        if channel == "spot.pong":
            return []
        if event in _QUIET:
            return []  # an ack: {..., "event": "subscribe", "result": {"status": "success"}}
        if event != "update":
            return self.reject("unknown_event")
        result = msg["result"]
        if channel == "spot.book_ticker":
            return self._on_book_ticker(result, received_ns)
        if channel == "spot.order_book_update":
            return self._on_book_update(result, received_ns)
        if channel == "spot.trades":
            return self._on_trade(result)
        if channel == "spot.tickers":
            return self._on_ticker(result)
        if channel == "spot.candlesticks":
            return []  # replay only: a candle's close lags the trades
        return self.reject("unknown_channel")

    def _on_error(self, msg: dict[str, Any]) -> Events:
        """A refused request: its code and message go to the status.

        {"time": 1606292218, "channel": "spot.trades", "event": "subscribe",
         "error": {"code": 2, "message": "unknown currency pair GIBBERISH_USD"}, "result": null}
        """
        error = msg["error"]
        return self.venue_error(f"{error['code']}: {error['message']}")

    def _pair(self, result: dict[str, Any], key: str) -> str | None:
        """The update's pair when it is followed; counted and None when it is not."""
        native, market = self.market_of(result, key)
        if market is None:
            self.reject("unknown_market")
            return None
        return native

    def _on_book_ticker(self, result: dict[str, Any], received_ns: int) -> Events:
        """Best bid/ask with sizes → a Quote when it differs from the last one sent.

        {"time": 1606293275, "time_ms": 1606293275723, "channel": "spot.book_ticker",
         "event": "update", "result": {"t": 1606293275123, "u": 48733182, "s": "BTC_USDT",
         "b": "19177.79", "B": "0.0003341504", "a": "19179.38", "A": "0.09"}}
        """
        native = self._pair(result, "s")
        if native is None:
            return []
        update_id = integer(result["u"])
        ts_ns = int_stamp(result["t"], 1_000_000)
        top = decimal_top(result["b"], result["B"], result["a"], result["A"])
        previous = self._update_ids.get(native)
        if previous is not None and update_id < previous:
            return self.reject("stale_update")  # ids only rise on a connection
        self._update_ids[native] = update_id
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        if not self.top_changed(native, top):
            return []
        return [Quote(self.name, self.markets[native].symbol, top[0], top[1], top[2], top[3],
                      self._last.get(native), ts_ns, received_ns)]

    def _on_book_update(self, result: dict[str, Any], received_ns: int) -> Events:
        """Changed levels (size 0 deletes) with ids U..u → the seeded book.

        {"time": 1619093533, "channel": "spot.order_book_update", "event": "update",
         "result": {"t": 1619093533661, "e": "depthUpdate", "E": 1619093533, "s": "OMG_USDT",
         "U": 59231870, "u": 59231873, "b": [["7.892", "65.675"], ["7.89", "0"]], "a": []}}
        """
        native = self._pair(result, "s")
        if native is None:
            return []
        return self.read_delta(native, result, int_stamp(result["t"], 1_000_000), received_ns)

    def _on_trade(self, result: dict[str, Any]) -> Events:
        """A public trade → the pair's `last`; emits nothing by itself.

        {"time": 1619093543, "channel": "spot.trades", "event": "update", "result": {
         "id": 816995772, "create_time": 1619093543, "create_time_ms": "1619093543708.2642",
         "side": "sell", "currency_pair": "DIS_USDT", "amount": "0.2010000000",
         "price": "121.5800000000"}}
        """
        native = self._pair(result, "currency_pair")
        if native is not None:
            self._last[native] = decimal_str(result["price"])
            self._traded.add(native)
        return []

    def _on_ticker(self, result: dict[str, Any]) -> Events:
        """A ticker (best prices without sizes, pushed at most every second) → `last` only.

        {"time": 1619093535, "channel": "spot.tickers", "event": "update", "result": {
         "currency_pair": "OMG_USDT", "last": "7.915", "lowest_ask": "7.927",
         "highest_bid": "7.899", "change_percentage": "5.85", "base_volume": "27799.83",
         "quote_volume": "215375.10", "high_24h": "8.44", "low_24h": "7.364"}}
        """
        native = self._pair(result, "currency_pair")
        if native is not None:
            last = decimal_str(result["last"])
            if native not in self._traded:
                self._last[native] = last
        return []

    def on_rest(self, url: str, text: str, received_ns: int) -> Events:
        """A `/spot/order_book` snapshot this connection asked for seeds that pair's book.

        {"id": 59231869, "current": 1619093534302, "update": 1619093534290,
         "asks": [["7.927", "316.6"], ...], "bids": [["7.899", "1.2"], ...]}
        """
        return self.read_snapshot(url, text, "id", received_ns)
