"""bitFlyer Lightning Realtime API (JSON-RPC 2.0 over WebSocket): board snapshots and deltas.

Protocol notes (docs/venues/bitflyer.md): each channel is subscribed by a JSON-RPC request
`{"jsonrpc":"2.0","method":"subscribe","params":{"channel":...},"id":n}` answered by
`{"jsonrpc":"2.0","id":n,"result":true}`; data comes as `channelMessage` notifications. Prices
and sizes are JSON numbers. `lightning_board_snapshot_{product}` is a whole book pushed at a
limited rate (every few seconds); `lightning_board_{product}` carries each change (absolute
sizes, 0 deleting; a `price` of 0 is a market order matched in an auction, not a level), and
`mid_price` on both is the venue's own mid, cut to the tick. No sequence numbers exist.

The live path is the local book: snapshot, then deltas, each later snapshot replacing the book
whole. A break is detected from `mid_price`: after a delta the venue's mid must lie between our
best bid and ask (it did on every frame of the 2021 recording); when it does not, or deltas
cross the book, the book is dropped and the connection renewed once per episode (a market that
keeps disagreeing is only counted, and quoted again from its next snapshot). Deltas before the
first snapshot are counted and skipped: the snapshot holds them. `lightning_ticker_{product}`
(best bid/ask with sizes, a throttled summary) gives `last` only; executions, read on replay,
give it too. The recording's JPY spot boards, tickers and executions are all replayed; FX and
futures products are not in the spot listing and are counted as unknown markets.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from core.orderbook import OrderBook
from core.types import Market
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import json_number

SNAPSHOT = "lightning_board_snapshot_"
BOARD = "lightning_board_"
TICKER = "lightning_ticker_"
EXECUTIONS = "lightning_executions_"
# Deltas first: once they flow, the snapshot that follows misses none of them (a snapshot
# taken before the deltas start would lack the changes made in between).
LIVE_CHANNELS = (BOARD, SNAPSHOT, TICKER)

Levels = list[tuple[float, float]]


def _levels(levels: Any, allow_zero: bool) -> Levels:
    """`[{"price": 471156.0, "size": 5.763}, ...]` → (price, size), auction entries left out."""
    # A size of 0 (a delete) only where allowed: a snapshot lists resting levels only.
    if type(levels) is not list:
        raise TypeError("book side is not a list")
    parsed = []
    for level in levels:
        price, size = level["price"], level["size"]
        if type(price) not in (int, float) or type(size) not in (int, float):
            raise TypeError("price or size is not a number")
        if price == 0:
            continue  # an auction's matched market order: no resting level
        if not (0.0 < price < math.inf and (0.0 <= size if allow_zero else 0.0 < size)
                and size < math.inf):
            raise ValueError(f"level out of range: {level!r}")
        parsed.append((float(price), float(size)))
    return parsed


class BitflyerAdapter(Adapter):
    """bitFlyer spot: board snapshots and deltas into local books, checked by `mid_price`."""

    name: ClassVar[str] = "bitflyer"
    ws_url: ClassVar[str] = "wss://ws.lightstream.bitflyer.com/json-rpc"
    rest_url: ClassVar[str] = "https://api.bitflyer.com"
    markets_path: ClassVar[str] = "/v1/markets"
    # No app-level ping exists; snapshots of every subscribed board come every few seconds even
    # on a quiet market, so 30 s without a frame is several missed snapshots.
    watchdog_s: ClassVar[float] = 30.0
    delta_books: ClassVar[bool] = True

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self._books: dict[str, OrderBook] = {}
        # Latest trade price per product; kept across reconnects (it is still the last).
        self._last: dict[str, float] = {}
        # Products whose mid disagreement already cost a reconnect; cleared once they agree.
        self._mid_resynced: set[str] = set()
        self._req_id = 0

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`GET /v1/markets` → its entries (a bare list).

        [{"product_code":"BTC_JPY","market_type":"Spot"},{"product_code":"FX_BTC_JPY",
          "market_type":"FX"},{"product_code":"BTCJPY31DEC2021","alias":"BTCJPY_MAT3M",
          "market_type":"Futures"}]
        """
        if type(payload) is not list:
            raise ValueError(f"expected a list of markets, got {type(payload).__name__}")
        return payload

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A spot product `BASE_QUOTE` (FX and futures are skipped)."""
        if entry["market_type"] != "Spot":
            return None
        code = entry["product_code"]
        base, quote = code.split("_")
        return cls.market(code, base, quote)

    def subscribe_messages(self) -> list[str]:
        """One JSON-RPC subscribe per channel: deltas, snapshot and ticker of every product."""
        channels = [prefix + native for native in self.markets for prefix in LIVE_CHANNELS]
        return self.chunked_frames(channels, 1, self._subscribe)

    def _subscribe(self, chunk: list[str]) -> dict[str, Any]:
        """The request for one channel, with a fresh id so its answer can be told apart."""
        self._req_id += 1
        return {"jsonrpc": "2.0", "method": "subscribe", "params": {"channel": chunk[0]},
                "id": self._req_id}

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        if msg.get("method") == "channelMessage":
            params = msg["params"]
            return self._on_channel(params["channel"], params["message"], received_ns)
        return self._on_response(msg)

    def on_connect(self) -> None:
        """Books are per connection: forget them."""
        super().on_connect()
        self._books.clear()

    def _on_response(self, msg: dict[str, Any]) -> Events:
        """The answer to a request: `true`, or a JSON-RPC error.

        {"jsonrpc":"2.0","id":3,"result":true}
        {"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"Invalid params"}}
        """
        if "result" in msg and "id" in msg:
            if msg["result"] is True:
                return []
            return self.venue_error(f"request {msg['id']} refused: {msg['result']}")
        error = msg.get("error")
        if type(error) is dict:
            return self.venue_error(f"{error.get('code')}: {error.get('message')}")
        return self.reject("unknown_event")

    def _on_channel(self, channel: Any, message: Any, received_ns: int) -> Events:
        """A `channelMessage`, routed by its channel's prefix to the product it names.

        {"jsonrpc":"2.0","method":"channelMessage","params":{"channel":
         "lightning_board_snapshot_BTC_JPY","message":{"mid_price":5860745.0,
         "bids":[{"price":5859870.0,"size":0.05}],"asks":[{"price":5861621.0,"size":0.1}]}}}
        """
        if type(channel) is not str:
            raise TypeError("channel is not a string")
        for prefix in (SNAPSHOT, BOARD, TICKER, EXECUTIONS):
            if channel.startswith(prefix):
                native = channel[len(prefix):]
                if native not in self.markets:
                    return self.reject("unknown_market")
                if prefix == TICKER:
                    return self._on_ticker(native, message)
                if prefix == EXECUTIONS:
                    return self._on_executions(native, message)
                return self._on_board(native, message, prefix == SNAPSHOT, received_ns)
        return self.reject("unknown_channel")

    def _on_board(self, native: str, message: dict[str, Any], snapshot: bool,
                  received_ns: int) -> Events:
        """A board snapshot or delta → a Quote when the top moved; a book off the mid resyncs.

        {"jsonrpc":"2.0","method":"channelMessage","params":{"channel":
         "lightning_board_ETH_JPY","message":{"mid_price":471328.0,"bids":[{"price":471156.0,
         "size":5.763}],"asks":[{"price":471848.0,"size":0.832},{"price":471506.0,"size":0.0}]}}}
        """
        mid = message["mid_price"]
        if type(mid) not in (int, float) or not 0.0 <= mid < math.inf:
            raise ValueError(f"bad mid_price: {mid!r}")
        bids = _levels(message["bids"], allow_zero=not snapshot)
        asks = _levels(message["asks"], allow_zero=not snapshot)
        if snapshot:
            book = self._books[native] = OrderBook()
            book.snapshot(bids, asks)  # sorted here: the venue does not order its arrays
        else:
            book = self._books.get(native)
            if book is None:
                return self.reject("no_snapshot")  # the snapshot on its way holds this change
            for price, size in bids:
                book.bids.set(price, size)
            for price, size in asks:
                book.asks.set(price, size)
            top = book.top()
            if top is not None and top[0] < top[2] and mid and not top[0] <= mid <= top[2]:
                return self._off_mid(native)
            # Only a delta that agrees ends an episode: a snapshot alone would let a venue whose
            # mid disagrees for good renew the connection after every snapshot.
            self._mid_resynced.discard(native)
        return self.book_quote(native, book, self._last.get(native), None, received_ns,
                               after_delta=not snapshot)

    def _off_mid(self, native: str) -> Events:
        """Our book disagrees with the venue's mid: drop it; renew the connection once."""
        del self._books[native]
        if native in self._mid_resynced:
            return self.reject("mid_mismatch")
        self._mid_resynced.add(native)
        return self.reconnect("checksum_mismatch", counted="mid_mismatch")

    def _on_ticker(self, native: str, message: dict[str, Any]) -> Events:
        """A ticker → the product's `last` (`ltp`); its top lags the board, so no quote.

        {"jsonrpc":"2.0","method":"channelMessage","params":{"channel":"lightning_ticker_ETH_JPY",
         "message":{"product_code":"ETH_JPY","state":"RUNNING","timestamp":
         "2021-12-12T23:05:30.6696895Z","tick_id":26934450,"best_bid":471156.0,
         "best_ask":471501.0,"best_bid_size":5.763,"best_ask_size":0.74,"ltp":471501.0,
         "volume":10838.5135055,"volume_by_product":10838.5135055}}}
        """
        self._last[native] = json_number(message["ltp"])
        return []

    def _on_executions(self, native: str, message: Any) -> Events:
        """Replay only (never subscribed): executions → the last one's price as `last`.

        {"jsonrpc":"2.0","method":"channelMessage","params":{"channel":
         "lightning_executions_ETH_JPY","message":[{"id":2284078764,"side":"BUY",
         "price":471800.0,"size":0.02,"exec_date":"2021-12-12T23:05:36.9869304Z",
         "buy_child_order_acceptance_id":"JRF20211212-230536-156822",
         "sell_child_order_acceptance_id":"JRF20211212-230312-093056"}]}}
        """
        if type(message) is not list:
            raise TypeError("executions are not a list")
        prices = [json_number(execution["price"]) for execution in message]
        if prices:
            self._last[native] = prices[-1]
        return []
