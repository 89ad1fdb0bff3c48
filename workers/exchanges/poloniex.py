"""Poloniex spot public WebSocket (the 2022 API at ws.poloniex.com): `book_lv2` and `trades`.

Protocol notes (docs/venues/poloniex.md): one subscribe frame names channels and symbols
(`BTC_USDT`) and is acked once per channel; `book_lv2` sends a `snapshot` of the best 20 levels
per side, then `update`s in real time, each numbered: an update's `lastId` is the `id` of the
one before it for that symbol, and anything else means a lost update (resubscribe). A snapshot
may also come mid-stream: the book is then reset to it. Levels are [price, size] decimal
strings, size "0" deleting. The server pings nobody and drops a client that sent nothing for
30 s: `{"event":"ping"}` is answered by `{"event":"pong"}`. Errors are `{"event":"error",
"message":...}`.

The live path is the `book_lv2` local book: the `book` channel sends whole shallow books on a
schedule and the `ticker` channel is a 24 h summary without sizes. `trades` only sets `last`.
The recorded 2022 session holds exactly these two channels, so all of it is replayed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.orderbook import OrderBook
from core.types import Market
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import decimal_levels, decimal_str, int_stamp, integer

BOOK = "book_lv2"
TRADES = "trades"
# No documented cap on symbols per request or per connection; 100 keeps a frame small.
_SYMBOLS_PER_FRAME = 100
_QUIET_EVENTS = frozenset({"subscribe", "unsubscribe", "unsubscribe_all", "list_subscriptions",
                           "pong"})

# One parsed book entry: native, levels, its id and the id before it, push time in ns.
_Entry = tuple[str, list[tuple[float, float]], list[tuple[float, float]], int, int, int]


class PoloniexAdapter(Adapter):
    """Poloniex spot: book_lv2 snapshots and numbered updates into local books, trades for last."""

    name: ClassVar[str] = "poloniex"
    ws_url: ClassVar[str] = "wss://ws.poloniex.com/ws/public"
    rest_url: ClassVar[str] = "https://api.poloniex.com"
    markets_path: ClassVar[str] = "/markets"
    # The server ends a session that sent nothing for 30 s: a ping every 15 s keeps it open, and
    # its pong means even a quiet connection yields a frame every 15 s; 35 s is two missed pongs.
    ping_interval_s: ClassVar[float] = 15.0
    watchdog_s: ClassVar[float] = 35.0
    delta_books: ClassVar[bool] = True

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        # Per symbol on this connection: its book and the `id` of the latest frame applied.
        self._books: dict[str, tuple[OrderBook, int]] = {}
        # Latest trade price per symbol; kept across reconnects (it is still the last).
        self._last: dict[str, float] = {}

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`GET /markets` → its entries (the body is a bare list).

        [{"symbol":"BTC_USDT","baseCurrencyName":"BTC","quoteCurrencyName":"USDT",
          "displayName":"BTC/USDT","state":"NORMAL","visibleStartTime":1659018819512,
          "tradableStartTime":1659018819512,"symbolTradeLimit":{"symbol":"BTC_USDT",
          "priceScale":2,"quantityScale":6,"amountScale":2,"minQuantity":"0.000001",
          "minAmount":"1","highestBid":"0","lowestAsk":"0"}}]
        """
        if type(payload) is not list:
            raise ValueError(f"expected a list of markets, got {type(payload).__name__}")
        return payload

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A `NORMAL` market keyed by its symbol (`PAUSE`d and post-only ones are skipped)."""
        if entry["state"] != "NORMAL":
            return None
        symbol = entry["symbol"]
        if type(symbol) is not str:
            return None
        market = cls.market(symbol, entry["baseCurrencyName"], entry["quoteCurrencyName"])
        # The websocket takes the symbol as listed; it must be BASE_QUOTE for our pair to hold.
        return market if symbol == f"{market.base}_{market.quote}" else None

    def subscribe_messages(self) -> list[str]:
        """`book_lv2` and `trades` for every market, 100 symbols a frame."""
        return self.chunked_frames(list(self.markets), _SYMBOLS_PER_FRAME, lambda chunk: {
            "event": "subscribe", "channel": [BOOK, TRADES], "symbols": chunk})

    def ping_message(self) -> str | None:
        """`{"event":"ping"}`, answered by `{"event":"pong"}`."""
        return '{"event":"ping"}'

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        if "event" in msg:
            return self._on_event(msg)
        channel = msg["channel"]
        if channel == BOOK:
            return self._on_book(msg, received_ns)
        if channel == TRADES:
            return self._on_trades(msg)
        return self.reject("unknown_channel")

    def on_connect(self) -> None:
        """Books and their ids are per connection: forget them."""
        super().on_connect()
        self._books.clear()

    def _rows(self, msg: dict[str, Any]) -> list[tuple[str, Any]] | None:
        """The frame's `data` entries with their symbols; None if one is a market not followed."""
        data = msg["data"]
        if type(data) is not list:
            raise TypeError("data is not a list")
        rows = []
        for entry in data:
            native = entry["symbol"]
            if type(native) is not str:
                raise TypeError("symbol is not a string")
            if native not in self.markets:
                return None
            rows.append((native, entry))
        return rows

    def _on_event(self, msg: dict[str, Any]) -> Events:
        """Acks, pongs and errors.

        {"event":"subscribe","channel":"book_lv2","symbols":["BTC_USDT","ETH_USDT"]}
        {"event":"pong"}
        {"event":"error","message":"Invalid channel value [\"book_lv3\"]"}
        """
        event = msg["event"]
        if event in _QUIET_EVENTS:
            return []
        if event == "error":
            return self.venue_error(str(msg.get("message")))
        return self.reject("unknown_event")

    def _on_book(self, msg: dict[str, Any], received_ns: int) -> Events:
        """A book snapshot or numbered update → a Quote when the top moved; a gap resyncs.

        {"channel":"book_lv2","data":[{"symbol":"BTC_USDT","createTime":1661123517832,
         "asks":[["21617.15","0.34"]],"bids":[],"lastId":4485675,"id":4485676,
         "ts":1661123517837}],"action":"update"}
        """
        action = msg["action"]
        if action not in ("snapshot", "update"):
            return self.reject("bad_field")
        snapshot = action == "snapshot"
        rows = self._rows(msg)
        if rows is None:
            return self.reject("unknown_market")
        entries: list[_Entry] = [
            (native, decimal_levels(entry["bids"], allow_zero=not snapshot),
             decimal_levels(entry["asks"], allow_zero=not snapshot), integer(entry["id"]),
             integer(entry["lastId"]), int_stamp(entry["ts"], 1_000_000))
            for native, entry in rows]
        if not snapshot:
            # Every entry must join the one before it before any is applied.
            ids = {native: held[1] for native, held in self._books.items()}
            for native, _, _, current, previous, _ in entries:
                if ids.get(native) != previous:
                    # A lost update (or one with no snapshot on this connection): the book is
                    # dropped until the resubscription's snapshot comes.
                    self._books.pop(native, None)
                    return self.reconnect("sequence_gap", counted="sequence_gap")
                ids[native] = current
        events: Events = []
        for native, bids, asks, current, _, ts_ns in entries:
            if snapshot:
                book = OrderBook()
                book.snapshot(bids, asks)
            else:
                book = self._books[native][0]
                for price, size in bids:
                    book.bids.set(price, size)
                for price, size in asks:
                    book.asks.set(price, size)
            self._books[native] = (book, current)
            events += self.book_quote(native, book, self._last.get(native), ts_ns, received_ns,
                                      after_delta=not snapshot)
        return events

    def _on_trades(self, msg: dict[str, Any]) -> Events:
        """Trades → the market's `last` price; emits nothing by itself.

        {"channel":"trades","data":[{"symbol":"BTC_USDT","amount":"248.3516391",
         "quantity":"0.01149","takerSide":"sell","createTime":1661123520381,
         "price":"21614.59","id":"60184114","ts":1661123520386}]}
        """
        rows = self._rows(msg)
        if rows is None:
            return self.reject("unknown_market")
        prices = [(native, decimal_str(entry["price"])) for native, entry in rows]
        self._last.update(prices)
        return []
