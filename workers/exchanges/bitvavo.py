"""Bitvavo WebSocket API v2 adapter: the `ticker` channel (best bid/ask with sizes) as the live
path; the `book` channel seeded from REST (`bitvavo_book`) when built with `book=True`.

Protocol notes (docs/venues/bitvavo.md): requests are `{"action": "subscribe", "channels":
[{"name": ..., "markets": [...]}]}`, confirmed by `{"event": "subscribed", "subscriptions":
{...}}` listing everything the connection follows; prices and sizes are decimal strings; errors
carry `errorCode` and `error`. `ticker` is sent whenever a market's best bid or ask changes,
which is what we quote; `ticker24h` (once a second) and the REST ticker book are slower. The
server sends no app-level heartbeat and none is asked of the client: the watchdog relies on
websocket pings, as for Binance.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.types import Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.bitvavo_book import BitvavoBooks
from workers.exchanges.events import Events
from workers.exchanges.fields import decimal_str
from workers.exchanges.seeded import SeededBook

TICKER, BOOK = "ticker", "book"
# No documented cap on markets per request; 100 keeps each frame a couple of KB.
_MARKETS_PER_FRAME = 100
_TOP_FIELDS = ("bestBid", "bestBidSize", "bestAsk", "bestAskSize")
_QUIET_EVENTS = frozenset({"subscribed", "unsubscribed"})


class BitvavoAdapter(BitvavoBooks, Adapter):
    """Bitvavo spot (EUR markets): a Quote whenever a market's best bid or ask changes."""

    name: ClassVar[str] = "bitvavo"
    ws_url: ClassVar[str] = "wss://ws.bitvavo.com/v2/"
    rest_url: ClassVar[str] = "https://api.bitvavo.com/v2"
    markets_path: ClassVar[str] = "/markets"
    # A quiet market can send no ticker for minutes; the loop's websocket pings are answered,
    # so only a dead connection stays silent this long.
    watchdog_s: ClassVar[float] = 45.0

    def __init__(self, markets: list[Market], book: bool = False) -> None:
        super().__init__(markets)
        # The book path costs a REST snapshot per market per (re)connect and resync, against
        # Bitvavo's 1,000 weight points a minute: for a few markets, not the whole listing.
        self.channel = BOOK if book else TICKER
        self.delta_books = book  # type: ignore[misc]  # per instance: the channel decides
        # Latest trade price per market; kept across reconnects (it is still the last).
        self._last: dict[str, float] = {}
        # Per market, the ticker's best bid/ask fields as last sent (a ticker may name only
        # some of them: the others stand).
        self._fields: dict[str, dict[str, float]] = {}
        self._seeded: dict[str, SeededBook] = {}
        self._fetching: set[str] = set()
        self._joined: set[str] = set()
        self._failed_joins: dict[str, int] = {}

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`GET /markets`: a list of market objects.

        [{"market": "BTC-EUR", "status": "trading", "base": "BTC", "quote": "EUR",
          "pricePrecision": null, "tickSize": "1", "minOrderInBaseAsset": "0.0001",
          "minOrderInQuoteAsset": "5", "orderTypes": ["market", "limit", ...]}, ...]
        """
        if type(payload) is not list:
            raise ValueError(f"expected a list of markets, got {type(payload).__name__}")
        return payload

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A market in `trading` status (halted and auction ones are skipped)."""
        if entry["status"] != "trading":
            return None
        market = cls.market(entry["market"], entry["base"], entry["quote"])
        # The websocket wants the name exactly; it is BASE-QUOTE already.
        return market if market.native == market.symbol else None

    def subscribe_messages(self) -> list[str]:
        """One channel (ticker, or book) for every market, 100 markets per frame."""
        return self.chunked_frames(list(self.markets), _MARKETS_PER_FRAME, lambda chunk: {
            "action": "subscribe", "channels": [{"name": self.channel, "markets": chunk}]})

    def on_connect(self) -> None:
        """Books, their snapshots and the ticker fields belong to one connection."""
        super().on_connect()
        self._fields.clear()
        self._reset_books()

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        # An error is any frame with an `errorCode` (with `event` or, on older pages, `action`).
        kind = "error" if "errorCode" in msg else msg.get("event")
        if kind == TICKER:
            return self._on_ticker(msg, received_ns)
        if kind == BOOK:
            if self.channel != BOOK:
                return self.reject("unknown_channel")
            return self._on_book(msg, received_ns)
        if kind == "error":
            return self._on_error(msg)
        if kind in _QUIET_EVENTS:
            return self._on_subscribed(msg)
        return self.reject("unknown_event")

    def _on_error(self, msg: dict[str, Any]) -> Events:
        """A refused request: its code and text.

        {"event": "error", "action": "subscribe", "errorCode": 205,
         "error": "Invalid parameter value: markets"}
        """
        return self.venue_error(f"{msg['errorCode']} {msg.get('error', '')}".rstrip())

    def _on_subscribed(self, msg: dict[str, Any]) -> Events:
        """The confirmation; on the book path it starts the snapshots of its book markets.

        {"event": "subscribed", "subscriptions": {"ticker": ["BTC-EUR", "ETH-EUR"]}}
        """
        subscriptions = msg["subscriptions"]
        if type(subscriptions) is not dict:
            raise TypeError("subscriptions is not an object")
        if self.channel != BOOK or msg["event"] != "subscribed":
            return []
        followed = subscriptions.get(BOOK, [])
        if type(followed) is not list:
            raise TypeError("book subscriptions are not a list")
        events: Events = []
        for native in followed:
            seeded = self._seeded.get(native) if type(native) is str else None
            if native in self.markets and (seeded is None or not seeded.ready):
                self._seeded.setdefault(native, SeededBook())
                events += self._seed(native)
        return events

    def _on_ticker(self, msg: dict[str, Any], received_ns: int) -> Events:
        """Best bid/ask (and the last trade) → a Quote when the top changed.

        {"event": "ticker", "market": "BTC-EUR", "bestBid": "64010.15",
         "bestBidSize": "0.25", "bestAsk": "64012.40", "bestAskSize": "0.05",
         "lastPrice": "64011.00"}
        """
        native = msg["market"]
        market = self.markets.get(native) if type(native) is str else None
        if market is None:
            return self.reject("unknown_market")
        # Read every field before anything is kept, so a bad frame changes nothing.
        given = {key: decimal_str(msg[key]) for key in _TOP_FIELDS if key in msg}
        last = decimal_str(msg["lastPrice"]) if "lastPrice" in msg else None
        if last is not None:
            self._last[native] = last
        if self.channel == BOOK:
            return []  # the book gives the top; the ticker only `last`
        fields = self._fields.setdefault(native, {})
        fields.update(given)
        if len(fields) < len(_TOP_FIELDS):
            return []  # a side not known yet on this connection
        top = (fields["bestBid"], fields["bestBidSize"], fields["bestAsk"],
               fields["bestAskSize"])
        if top[0] < top[2]:
            changed = self.top_changed(native, top)
            return [Quote(self.name, market.symbol, *top, self._last.get(native), None,
                          received_ns)] if changed else []
        return self.reject("crossed_book")

