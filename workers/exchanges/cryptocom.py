"""Crypto.com Exchange v1 market data adapter: `book.{instrument}.10` as a delta book.

Protocol notes (docs/venues/cryptocom.md): every request and reply is `{"id", "method", ...}`;
replies carry an integer `code` (0: success); the server sends `public/heartbeat` every 30 s and
drops a connection that does not answer `public/respond-heartbeat` with the same id within
5 s. The book subscription with `book_subscription_type=SNAPSHOT_AND_UPDATE` sends one `book`
snapshot, then `book.update` deltas every 10 ms, each with `u` (its sequence) and `pu` (the
`u` before it): a `pu` that is not the last `u` is a hole in the book, and the book is resynced
by a new connection. A quiet book still sends an empty delta every 5 s. The ticker channel's
best bid/ask is not documented as real time, so the 10 ms book is the live path.

The venue counts requests against a per-second limit that is pro-rated on the calendar second
the connection opened in, and recommends a 1 s pause before the first request. The loop sends
subscribe frames at once, so a connection opened late in a second may be refused with
TOO_MANY_REQUESTS (42901): that reply ends the connection, and the loop's backoff reconnects.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, ClassVar

from core.orderbook import OrderBook
from core.types import Market
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events, Send
from workers.exchanges.fields import decimal_levels, int_stamp

BOOK_DEPTH = 10
# Each channel counts once against the 400 subscriptions one market-data connection may hold.
MAX_SUBSCRIPTIONS = 400
# Channels per subscribe frame: no documented cap; a few frames keep the request count low
# (the per-second limit is pro-rated on connect) and each frame a few KB.
_CHANNELS_PER_FRAME = 100
RATE_LIMITED = 42901
# Spot instruments are BASE_QUOTE; derivatives (BTCUSD-PERP, BTCUSD-260925) are not spot.
_SPOT_NAME = re.compile(r"[A-Z0-9]{1,20}_[A-Z0-9]{1,20}", re.ASCII)
_QUIET_METHODS = frozenset({"subscribe", "unsubscribe"})


def _sequence(value: Any) -> int:
    """A book sequence (`u`, `pu`): a JSON integer, or its digit string as some replies spell it."""
    if type(value) is int:
        return value
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    raise TypeError(f"not a sequence number: {value!r}")


def _levels(levels: Any) -> list[tuple[float, float]]:
    """`[["50126.0", "0.4", "2"], ...]` (price, size, orders) → (price, size); size 0 deletes."""
    if type(levels) is not list:
        raise TypeError("book side is not a list")
    # The order count is not needed: the pairs before it are read as any venue's levels.
    return decimal_levels([lvl[:2] if type(lvl) is list and len(lvl) == 3 else lvl
                           for lvl in levels], allow_zero=True)


def _book_ns(data: dict[str, Any]) -> int:
    """The book's time: `tt` (its last change, ms) when sent, else `t` (the publish time)."""
    stamp = data.get("tt")
    return int_stamp(data["t"] if stamp is None else stamp, 1_000_000)


class CryptocomAdapter(Adapter):
    """Crypto.com Exchange spot: a 10-level delta book per instrument, quoted on each change."""

    name: ClassVar[str] = "cryptocom"
    ws_url: ClassVar[str] = "wss://stream.crypto.com/exchange/v1/market"
    rest_url: ClassVar[str] = "https://api.crypto.com/exchange/v1"
    markets_path: ClassVar[str] = "/public/get-instruments"
    # No app-level ping: the server's heartbeat (every 30 s) is answered instead, and each
    # book sends an empty delta after 5 s without changes, so 45 s of silence means one
    # heartbeat missed beyond the next: the connection is gone.
    watchdog_s: ClassVar[float] = 45.0
    max_markets_per_connection: ClassVar[int | None] = MAX_SUBSCRIPTIONS
    delta_books: ClassVar[bool] = True

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self._req_id = 0
        self._books: dict[str, OrderBook] = {}
        self._seq: dict[str, int] = {}  # `u` of the last frame applied, per instrument

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`GET /public/get-instruments` → `result.data`; a non-zero `code` is a ValueError.

        {"id": 1, "method": "public/get-instruments", "code": 0, "result": {"data": [
         {"symbol": "BTC_USDT", "inst_type": "CCY_PAIR", "display_name": "BTC/USDT",
          "base_ccy": "BTC", "quote_ccy": "USDT", "quote_decimals": 2, "quantity_decimals": 5,
          "price_tick_size": "0.01", "qty_tick_size": "0.00001", "tradable": true}, ...]}}
        """
        if type(payload) is not dict:
            raise ValueError(f"expected an instruments object, got {type(payload).__name__}")
        if payload.get("code") != 0:
            raise ValueError(f"cryptocom instruments error {payload.get('code')!r}")
        result = payload.get("result")
        data = result.get("data") if type(result) is dict else None
        if type(data) is not list:
            raise ValueError("cryptocom instruments payload has no `result.data` list")
        return data

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A tradable spot pair (`CCY_PAIR`); perpetuals, futures and options are skipped."""
        if entry["inst_type"] != "CCY_PAIR" or entry["tradable"] is not True:
            return None
        native = entry["symbol"]
        if type(native) is not str or _SPOT_NAME.fullmatch(native) is None:
            return None
        return cls.market(native, entry["base_ccy"], entry["quote_ccy"])

    def _next_id(self) -> int:
        """A fresh request id, echoed by the reply (errors name the request they refuse)."""
        self._req_id += 1
        return self._req_id

    def subscribe_messages(self) -> list[str]:
        """`book.{instrument}.10` delta subscriptions, 100 channels per frame."""
        channels = [f"book.{native}.{BOOK_DEPTH}" for native in self.markets]
        return self.chunked_frames(channels, _CHANNELS_PER_FRAME, lambda chunk: {
            "id": self._next_id(), "method": "subscribe",
            "params": {"channels": chunk, "book_subscription_type": "SNAPSHOT_AND_UPDATE",
                       "book_update_frequency": 10},
            "nonce": time.time_ns() // 1_000_000})

    def on_connect(self) -> None:
        """Books and their sequences belong to one connection."""
        super().on_connect()
        self._books.clear()
        self._seq.clear()

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        beat = msg.get("method") == "public/heartbeat"
        return self._on_heartbeat(msg) if beat else self._on_reply(msg, received_ns)

    def _on_reply(self, msg: dict[str, Any], received_ns: int) -> Events:
        """A reply or a channel push, by its code and its channel.

        {"id": 1, "method": "subscribe", "code": 0}
        """
        code = msg.get("code", 0)
        if code != 0:
            return self._on_error(msg, code)
        result = msg.get("result")
        if result is None:
            # The ack of a (un)subscribe request, or a reply we never ask for.
            return [] if msg.get("method") in _QUIET_METHODS else self.reject("unknown_event")
        channel = result["channel"]
        if channel == "book.update":
            return self._on_delta(result, received_ns)
        if channel == "book":
            return self._on_snapshot(result, received_ns)
        return self.reject("unknown_channel")

    def _on_heartbeat(self, msg: dict[str, Any]) -> Events:
        """The server's heartbeat → the reply it waits 5 s for, with the same id.

        {"id": 1587523073344, "method": "public/heartbeat", "code": 0}
        """
        beat = msg["id"]
        if type(beat) is not int:
            raise TypeError("heartbeat id is not an integer")
        reply = {"id": beat, "method": "public/respond-heartbeat"}
        return [Send(json.dumps(reply, separators=(",", ":")))]

    def _on_error(self, msg: dict[str, Any], code: Any) -> Events:
        """A refused request, its code and message; TOO_MANY_REQUESTS ends the connection.

        {"id": 1, "method": "subscribe", "code": 40003, "message": "INVALID_REQUEST",
         "original": "{\\"id\\":1,\\"method\\":\\"subscribe\\",...}"}
        """
        text = f"{code} {msg.get('message', '')}".rstrip()
        if code == RATE_LIMITED:
            # The connection's first second was too short for its requests; the reconnect
            # (after the loop's backoff) lands at another fraction of a second.
            return [*self.venue_error(text), *self.reconnect("rate_limited")]
        return self.venue_error(text)

    def _book_of(self, result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The frame's instrument and its one data object."""
        native = result["instrument_name"]
        if type(native) is not str:
            raise TypeError("instrument_name is not a string")
        data = result["data"]
        if type(data) is not list or len(data) != 1 or type(data[0]) is not dict:
            raise TypeError("book data is not one object")
        return native, data[0]

    def _on_snapshot(self, result: dict[str, Any], received_ns: int) -> Events:
        """The full book sent on subscribe: a fresh book at sequence `u`.

        {"id": -1, "method": "subscribe", "code": 0, "result": {"instrument_name": "BTC_USDT",
         "subscription": "book.BTC_USDT.10", "channel": "book", "depth": 10, "data": [{
         "asks": [["64012.40", "0.0500", "1"], ["64013.10", "0.8000", "2"]],
         "bids": [["64010.15", "0.2500", "1"], ["64009.00", "1.1000", "3"]],
         "tt": 1767225600481, "t": 1767225600482, "u": 542048017824}]}}
        """
        native, data = self._book_of(result)
        if native not in self.markets:
            return self.reject("unknown_market")
        bids, asks = _levels(data["bids"]), _levels(data["asks"])
        seq, ts_ns = _sequence(data["u"]), _book_ns(data)
        book = OrderBook()
        book.snapshot(bids, asks)
        self._books[native] = book
        self._seq[native] = seq
        return self.book_quote(native, book, None, ts_ns, received_ns, after_delta=False)

    def _on_delta(self, result: dict[str, Any], received_ns: int) -> Events:
        """Changed levels (absolute sizes, 0 deletes) applied when `pu` is the last `u`.

        {"id": -1, "method": "subscribe", "code": 0, "result": {"instrument_name": "BTC_USDT",
         "subscription": "book.BTC_USDT.10", "channel": "book.update", "depth": 10, "data": [{
         "update": {"asks": [["64012.40", "0", "0"], ["64014.00", "3.2790", "4"]],
                    "bids": [["64010.15", "0.2520", "1"]]},
         "tt": 1767225600493, "t": 1767225600493, "u": 542048017840, "pu": 542048017824}]}}
        """
        native, data = self._book_of(result)
        if native not in self.markets:
            return self.reject("unknown_market")
        update = data["update"]
        if type(update) is not dict:
            raise TypeError("update is not an object")
        bids, asks = _levels(update.get("bids", [])), _levels(update.get("asks", []))
        seq, prev, ts_ns = _sequence(data["u"]), _sequence(data["pu"]), _book_ns(data)
        book = self._books.get(native)
        if book is None:
            # The snapshot comes first on a subscription: a delta without one means it was
            # lost, and the book can only be rebuilt from a fresh subscription.
            return self.reconnect("sequence_gap", counted="no_snapshot")
        if prev != self._seq[native]:
            return self.reconnect("sequence_gap", counted="sequence_gap")
        for price, size in bids:
            book.bids.set(price, size)
        for price, size in asks:
            book.asks.set(price, size)
        self._seq[native] = seq
        return self.book_quote(native, book, None, ts_ns, received_ns, after_delta=True)
