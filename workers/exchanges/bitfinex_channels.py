"""Bitfinex's channels besides the book: `last` from trades and ticker, and control frames
(acks that map channel ids, `conf`, `info` notices, errors).

The `ticker` channel (read when replaying recorded traffic, never subscribed) is not turned into
quotes: its BID_SIZE / ASK_SIZE are sums over the 25 best levels, not the size at the best price,
so they would overstate what can be traded at the quoted price (and the arbitrage size and profit
computed from it), and the ticker is a throttled view that lags the book. It contributes `last`,
like the `trades` channel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.orderbook import OrderBook
from workers.exchanges.bitfinex_book import CHECKSUM_DEPTH, book_checksum, trade
from workers.exchanges.events import Events, VenueError
from workers.exchanges.fields import integer as _int
from workers.exchanges.fields import json_number as _number

# One level per side is all a top of book needs; the ack echoes these as strings.
BOOK_PREC = "P0"
BOOK_FREQ = "F0"
BOOK_LEN = "1"
# Aggregated-price books share the [PRICE, COUNT, AMOUNT] shape; raw books (R0) do not.
_AGGREGATED = frozenset({"P0", "P1", "P2", "P3", "P4"})
_QUIET_EVENTS = frozenset({"pong", "unsubscribed"})
# Info codes (docs/protocols.md): restart (reconnect), maintenance start and end.
INFO_RESTART = 20051
INFO_MAINTENANCE_START = 20060
INFO_MAINTENANCE_END = 20061


@dataclass(slots=True)
class Channel:
    """What one `chanId` of this connection carries."""

    kind: str  # "book", "ticker", "trades", or "" for a channel this adapter cannot read
    native: str  # `tBTCUSD`
    depth: int  # book levels kept per side (the subscription's `len`)


class BitfinexChannels:
    """Everything but the book of the Bitfinex adapter (mixed into `BitfinexAdapter`)."""

    _channels: dict[int, Channel]
    books: dict[str, OrderBook]
    _last: dict[str, float]
    _last_trade: dict[str, tuple[int, int]]
    platform_status: int | None
    maintenance: bool

    if TYPE_CHECKING:  # provided by Adapter, which the adapter class also derives from
        def reject(self, reason: str) -> Events: ...

        def venue_error(self, text: str, counted: str = "venue_error") -> Events: ...

        def reconnect(self, reason: str, counted: str | None = None) -> Events: ...

    def _on_event(self, msg: dict[str, Any]) -> Events:
        """An event object: acks, conf, info, errors, pong.

        {"event": "conf", "status": "OK", "flags": 196608}
        """
        event = msg.get("event")
        if event == "subscribed":
            return self._on_subscribed(msg)
        if event == "info":
            return self._on_info(msg)
        if event == "conf":
            if msg.get("status") == "OK":
                return []
            return self.venue_error(f"conf failed: {json.dumps(msg)}")
        if event == "error":
            return self.venue_error(f"{msg.get('code')} {msg.get('msg')}")
        if event in _QUIET_EVENTS:
            if event == "unsubscribed":
                self._channels.pop(msg.get("chanId"), None)  # type: ignore[arg-type]
            return []
        return self.reject("unknown_event")

    def _on_subscribed(self, msg: dict[str, Any]) -> Events:
        """Remember what a channel id carries.

        {"event":"subscribed","channel":"book","chanId":232957,"symbol":"tTESTBTC:TESTUSD",
         "prec":"P0","freq":"F0","len":"100","pair":"TESTBTC:TESTUSD"}
        """
        chan_id = _int(msg["chanId"])
        channel = msg["channel"]
        native = msg["symbol"]
        if type(channel) is not str or type(native) is not str:
            raise TypeError("subscribed ack without channel or symbol names")
        kind = channel if channel in ("book", "ticker", "trades") else ""
        depth = CHECKSUM_DEPTH
        if kind == "book":
            if msg.get("prec", BOOK_PREC) not in _AGGREGATED:
                kind = ""  # raw books carry order ids, not [PRICE, COUNT, AMOUNT]
            length = msg.get("len")
            if length is not None:
                depth = int(length)
                if depth <= 0:
                    raise ValueError(f"book length {length!r}")
        self._channels[chan_id] = Channel(kind, native, depth)
        return []

    def _on_info(self, msg: dict[str, Any]) -> Events:
        """The greeting (platform status) or a coded notice (restart, maintenance).

        {"event":"info","version":2,"serverId":"083bd8d4-aca7-4690-a573-eabfc8103de8",
         "platform":{"status":1}}
        {"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}
        """
        code = msg.get("code")
        if code is None:
            platform = msg.get("platform")
            if platform is not None:
                status = _int(platform["status"])
                self.platform_status = status
                if status != 1:
                    # Subscriptions fail during maintenance: come back later (the loop backs
                    # off on a connection that never delivered data).
                    return [VenueError("platform in maintenance"),
                            *self.reconnect("maintenance")]
            return []
        code = _int(code)
        if code == INFO_RESTART:
            return self.reconnect(f"info_{code}")
        elif code == INFO_MAINTENANCE_START:
            # The venue pauses and announces the end (20061); the socket stays usable.
            self.maintenance = True
        elif code == INFO_MAINTENANCE_END:
            # "Resubscribe all channels": a new connection resubscribes and resyncs every book.
            self.maintenance = False
            return self.reconnect(f"info_{code}")
        return []

    def _on_checksum(self, channel: Channel, value: Any) -> Events:
        """`[chanId, "cs", CHECKSUM, seq]`: compare with our own book; a mismatch resyncs.

        [225206, "cs", -1397402958, 42]
        """
        expected = _int(value)
        if channel.kind != "book":
            return self.reject("bad_field")
        book = self.books.get(channel.native) or OrderBook()
        if book_checksum(book) != expected:
            return self.reconnect("checksum_mismatch", counted="checksum_mismatch")
        return []

    def _on_trades(self, native: str, trades: Any) -> Events:
        """Trades snapshot (newest first) or one `te`/`tu` → the market's last price.

        [232959, [[669899159, 1618665870435, 166.391496, 0.076989], ...], 8]
        [232959, "te", [669899160, 1618677550123, -12.5, 0.07699], 61]
        """
        if type(trades) is not list:
            raise TypeError("trades body is not a list")
        parsed = [trade(entry) for entry in trades]
        if parsed:
            mts, trade_id, price = max(parsed)
            if (mts, trade_id) >= self._last_trade.get(native, (0, 0)):
                self._last_trade[native] = (mts, trade_id)
                self._last[native] = price
        return []

    def _on_ticker(self, native: str, body: Any) -> Events:
        """A ticker → `last` only (its sizes are 25-level sums; see the module docstring).

        [232949, [0.068965, 60157.36709703, 0.0774, 48578.50804052, 0.001969, 0.0262,
                  0.076989, 101459.39453471, 0.0828, 0.068961], 1]
        """
        if type(body) is not list or len(body) < 10:
            raise TypeError("ticker body is not the 10-field array")
        # Validated even though unused, so a malformed ticker is counted, not half-read.
        for index in (0, 1, 2, 3):
            _number(body[index])
        self._last[native] = _number(body[6])
        return []
