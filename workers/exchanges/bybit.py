"""Bybit v5 public spot adapter: `orderbook.1.{symbol}` for top of book, `tickers.*` for last.

Protocol notes (docs/protocols.md): symbols are upper-case without a separator
(`BTCUSDT`), numbers are decimal strings, `ts` is a ms number; at most 10 args per subscribe
request and 21,000 characters of args per connection; the client pings with `{"op":"ping"}`
every 20 s. Spot level 1 is snapshot-only; an unchanged book is re-pushed every 3 s with the
same update id `u`, and `u == 1` marks a service restart (the ids start over).

Spot `tickers` carries no bid/ask (only `lastPrice`), so it feeds `last` alone.
"""

from __future__ import annotations

import json
from typing import Any

from core.orderbook import OrderBook
from core.types import Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import decimal_levels, int_stamp
from workers.exchanges.fields import decimal_str as _price
from workers.exchanges.fields import integer as _int

_ARGS_PER_FRAME = 10  # Bybit spot refuses more ("args size >10")
_BOOK_PREFIX = "orderbook."
_TICKERS_PREFIX = "tickers."


class BybitAdapter(Adapter):
    """Bybit spot: level-1 book snapshots in, a Quote out whenever the top of book changes."""

    name = "bybit"
    ws_url = "wss://stream.bybit.com/v5/public/spot"
    rest_url = "https://api.bybit.com"
    markets_path = "/v5/market/instruments-info?category=spot"
    # The documented cadence: a ping every 20 s, which Bybit answers at once. Every subscribed
    # level-1 book is also re-pushed at least every 3 s, so a live connection is never quiet for
    # long; 45 s of silence is two missed pong replies, which means a dead connection.
    ping_interval_s = 20.0
    watchdog_s = 45.0
    # Two topics per market, at most ~60 characters of args for even a long symbol: 250 markets
    # stay well inside the 21,000-character per-connection budget.
    max_markets_per_connection = 250

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self._req_id = 0
        # Latest traded price per native symbol; kept across reconnects (it is still the last).
        self._last: dict[str, float] = {}
        # Per connection: the book and the last update id per native symbol.
        self._update_ids: dict[str, int] = {}
        # Book topics already read: topic → (depth, native market), so a push skips the split.
        self._book_topics: dict[str, tuple[int, str]] = {}

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`/v5/market/instruments-info?category=spot` → its `result.list` entries.

        {"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": [{"symbol":
         "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT", "status": "Trading", ...}]},
         "retExtInfo": {}, "time": 1767225600200}
        A non-zero `retCode` raises ValueError (the caller retries).
        """
        if isinstance(payload, dict) and payload.get("retCode") != 0:
            raise ValueError(f"bybit instruments-info error: {payload.get('retMsg')!r}")
        return cls.listed(payload, "result", "list")

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A symbol with `status: Trading`."""
        if entry["status"] != "Trading":
            return None
        native = entry["symbol"]
        # Topic names use the symbol as listed: upper-case ASCII letters and digits.
        if not (isinstance(native, str) and native.isascii() and native.isalnum()
                and native == native.upper()):
            return None
        return cls.market(native, entry["baseCoin"], entry["quoteCoin"])

    def _next_req_id(self, kind: str) -> str:
        """A fresh `req_id`, echoed in the reply, so acks and pongs can be told apart in logs."""
        self._req_id += 1
        return f"{kind}-{self._req_id}"

    def subscribe_messages(self) -> list[str]:
        """`orderbook.1` and `tickers` topics for every market, 10 args per frame."""
        topics = [f"{prefix}{native}" for native in self.markets
                  for prefix in ("orderbook.1.", _TICKERS_PREFIX)]
        return self.chunked_frames(topics, _ARGS_PER_FRAME, lambda chunk: {
            "req_id": self._next_req_id("sub"), "op": "subscribe", "args": chunk})

    def ping_message(self) -> str | None:
        """`{"req_id": "ping-N", "op": "ping"}`; without it Bybit cuts the connection."""
        request = {"req_id": self._next_req_id("ping"), "op": "ping"}
        return json.dumps(request, separators=(",", ":"))

    def on_connect(self) -> None:
        """A new connection sends fresh snapshots: forget books and update ids."""
        super().on_connect()
        self._update_ids.clear()

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        topic = msg.get("topic")
        if topic is not None:
            if type(topic) is not str:
                raise TypeError("topic is not a string")
            if topic.startswith(_BOOK_PREFIX):
                return self._on_book(topic, msg, received_ns)
            if topic.startswith(_TICKERS_PREFIX):
                return self._on_ticker(topic[len(_TICKERS_PREFIX):], msg["data"])
            return self.reject("unknown_channel")
        return self._on_response(msg)

    def _on_book(self, topic: str, msg: dict[str, Any], received_ns: int) -> Events:
        """A book push → a Quote when the top differs from the last one sent.

        {"topic": "orderbook.1.BTCUSDT", "ts": 1767225600123, "type": "snapshot",
         "data": {"s": "BTCUSDT", "b": [["64010.10", "0.531"]], "a": [["64010.20", "1.204"]],
                  "u": 18521301, "seq": 79616387240}, "cts": 1767225600120}
        `ts` (when the system generated the push, ms) is the quote's exchange time: it is on
        every push, and it is what orders the pushes of one book.
        """
        parsed = self._book_topics.get(topic)
        if parsed is None:
            _, depth, native = topic.split(".")
            if not depth.isdigit():
                raise ValueError(f"bad book depth in {topic!r}")
            if native not in self.markets:
                return self.reject("unknown_market")
            if len(self._book_topics) > 4 * len(self.markets):
                self._book_topics.clear()  # odd spellings of depths cannot grow it unbounded
            parsed = self._book_topics[topic] = (int(depth), native)
        levels, native = parsed
        market = self.markets[native]
        data = msg["data"]
        if data["s"] != native:
            raise ValueError(f"topic {topic!r} carries {data['s']!r}")
        kind = msg["type"]
        if kind not in ("snapshot", "delta"):
            raise ValueError(f"unknown book message type {kind!r}")
        update_id = _int(data["u"])
        ts_ns = int_stamp(msg["ts"], 1_000_000)
        bids = decimal_levels(data["b"], allow_zero=kind == "delta")
        asks = decimal_levels(data["a"], allow_zero=kind == "delta")
        previous = self._update_ids.get(native)
        if update_id == 1:
            # A service restart: update ids start over, and the snapshot that comes with it
            # replaces whatever this market's book held.
            previous = None
        elif previous is not None and update_id == previous:
            # The 3-second re-push of an unchanged book: nothing new.
            return []
        elif previous is not None and update_id < previous:
            return self.reject("stale_update")
        book = self.books.get(native)
        if kind == "snapshot":
            if book is None:
                book = self.books[native] = OrderBook()
            book.snapshot(bids, asks)
        elif book is None or previous is None:
            # A delta only makes sense on top of this connection's snapshot.
            return self.reject("unseeded_book")
        else:
            for price, size in bids:
                book.bids.set(price, size)
            for price, size in asks:
                book.asks.set(price, size)
        self._update_ids[native] = update_id
        top = book.top()
        if top is None:
            return self.reject("empty_book")
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        # A level-1 book's Depth would repeat the Quote; deeper ones are worth walking.
        changed = self.book_depth(native, book, received_ns) if levels > 1 else None
        if not self.top_changed(native, top):
            return [] if changed is None else [changed]
        quote = Quote(self.name, market.symbol, top[0], top[1], top[2], top[3],
                      self._last.get(native), ts_ns, received_ns)
        return [quote] if changed is None else [changed, quote]

    def _on_ticker(self, native: str, data: Any) -> Events:
        """A spot ticker → remember `lastPrice` as the market's `last`; emits nothing by itself.

        {"topic": "tickers.BTCUSDT", "ts": 1767225600150, "type": "snapshot", "cs": 79616387300,
         "data": {"symbol": "BTCUSDT", "lastPrice": "64010.20", "highPrice24h": "64550.00",
                  "lowPrice24h": "63100.00", "prevPrice24h": "63400.00", "volume24h": "9123.456",
                  "turnover24h": "581234567.12", "price24hPcnt": "0.0096",
                  "usdIndexPrice": "64005.12"}}
        """
        if native not in self.markets:
            return self.reject("unknown_market")
        if data["symbol"] != native:
            raise ValueError(f"ticker for {native!r} carries {data['symbol']!r}")
        self._last[native] = _price(data["lastPrice"])
        return []

    def _on_response(self, msg: dict[str, Any]) -> Events:
        """A reply to one of our requests (subscribe ack or failure, pong), keyed by `op`.

        {"success": false, "ret_msg": "Invalid symbol :[orderbook.1.FOOUSDT]",
         "conn_id": "d2b7c1a0-0f1e-4a3b-9c8d-7e6f5a4b3c2d", "req_id": "sub-1", "op": "subscribe"}
        """
        op = msg.get("op")
        success = msg.get("success")
        if op in ("ping", "pong") and success is not False:
            # Spot answers with op "ping" and ret_msg "pong"; other categories with op "pong".
            return []
        if op in ("subscribe", "unsubscribe") or success is False:
            if success is True:
                return []
            return self.venue_error(str(msg.get("ret_msg")),
                                    f"{op}_error" if op in ("subscribe", "unsubscribe")
                                    else "venue_error")
        return self.reject("unknown_event")
