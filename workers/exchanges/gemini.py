"""Gemini market data v2 adapter: the `l2` subscription into a local book per symbol.

Protocol notes (docs/protocols.md, checked against the 2021 recording): symbols are
upper case (`BTCUSD`); the first `l2_updates` of a symbol is its whole book and also carries
`trades` (the last 50, not in time order) and `auction_events`; later `l2_updates` carry
absolute level sizes (`"0"` deletes); `trade` frames come standalone with a ms `timestamp`; a
`heartbeat` comes every 5 s; there is no subscribe ack, and errors look like
`{"result": "error", "reason": "NoValidTradingPairs"}`.

Time: no `l2_updates` frame carries a time, so every quote has `ts_exchange_ns` None and is
stamped on receipt downstream. That includes the quote from a symbol's full book: it is a real
top of book the moment it arrives, so it is emitted like any other (the simulator, not this
adapter, is what keeps "N changes ⇒ N quotes" on a fresh connection: see
simulator/venues/gemini.py).

Gaps: v2 has no sequence numbers, so a lost delta cannot be seen directly. What can be seen is
a delta for a symbol whose book is unknown on this connection (its full book was never read,
or a delta for it could not be read): that ends the connection with reason `sequence_gap`, and
the reconnect brings a fresh full book. A book that turns crossed after deltas (the trace of a
lost delete) asks for one resync (`crossed_book`); a full book that is itself crossed (an
auction) is only counted.
"""

from __future__ import annotations

from typing import Any

from core.orderbook import OrderBook
from core.types import Market
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import SHAPE_ERRORS as _SHAPE_ERRORS
from workers.exchanges.fields import decimal_str as _price
from workers.exchanges.fields import side_changes

# `/v1/symbols` lists bare lower-case names (`btcgusd`, `zecltc`), so the quote is recognized
# as a known currency suffix: every quote currency of the recorded listing, plus stablecoins
# and fiat Gemini added since.
_QUOTES = ("USD", "GUSD", "USDT", "USDC", "DAI", "EUR", "GBP", "SGD", "AUD", "CAD",
           "BTC", "ETH", "BCH", "LTC")
# No documented limit; modest frames keep one subscription request small.
_SYMBOLS_PER_FRAME = 100


def _splits(name: str) -> list[tuple[str, str]]:
    """Every (base, quote) reading of a listed name with a known quote suffix."""
    upper = name.upper()
    return [(upper[: -len(q)], q) for q in _QUOTES if upper.endswith(q) and len(upper) > len(q)]


def split_listed_names(names: list[Any]) -> dict[str, tuple[str, str]]:
    """Listed names → (base, quote); names without a known quote suffix are left out.

    Some names read two ways: `btcgusd` is BTC/GUSD, but `paxgusd` is PAXG/USD. A reading whose
    base is a currency of some unambiguous name wins (BTC is in `btcusd`; neither PAX nor PAXG
    is anywhere); otherwise the shorter, commoner quote does (USD over GUSD).
    """
    readings = {n: _splits(n) for n in names if isinstance(n, str)}
    known = {c for found in readings.values() if len(found) == 1 for c in found[0]}
    out: dict[str, tuple[str, str]] = {}
    for name, found in readings.items():
        if found:
            confirmed = [r for r in found if r[0] in known]
            out[name] = min(confirmed or found, key=lambda r: len(r[1]))
    return out


class GeminiAdapter(Adapter):
    """Gemini spot v2: a book per symbol from `l2_updates`, a Quote whenever its top changes."""

    name = "gemini"
    ws_url = "wss://api.gemini.com/v2/marketdata"
    rest_url = "https://api.gemini.com"
    markets_path = "/v1/symbols"
    # The server heartbeats every 5 s even when the books are quiet: 15 s of silence is three
    # missed heartbeats. v2 has no app-level ping.
    watchdog_s = 15.0
    delta_books = True  # book deltas: a lost frame means a resync

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        # Symbols that got any l2_updates on this connection (the first one is the full book).
        self._seen: set[str] = set()
        # Latest trade per symbol as (event_id, price); kept across reconnects.
        self._last: dict[str, tuple[int, float]] = {}

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`GET /v1/symbols` (`["btcusd", ...]`), each name with its split: (name, split).

        Also takes a list of `/v1/symbols/details/<symbol>` objects, which name the currencies
        and carry a status: {"symbol": "BTCUSD", "base_currency": "BTC", "quote_currency":
        "USD", "tick_size": 1e-08, "quote_increment": 0.01, "min_order_size": "0.00001",
        "status": "open"}. How a bare name is split is in `split_listed_names`.
        """
        splits = split_listed_names(cls.listed(payload))
        return [(entry, splits.get(entry) if isinstance(entry, str) else None)
                for entry in payload]

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """A market with the v2 spelling (`BTCUSD`); only `open` details are kept.

        Names without a known quote currency (perpetuals like `btcgusdperp`) are skipped.
        """
        listed, split = entry
        if isinstance(listed, dict):
            if listed["status"] != "open":
                return None
            raw_base, raw_quote = listed["base_currency"], listed["quote_currency"]
            listed = listed["symbol"]
        elif split is None:
            return None
        else:
            raw_base, raw_quote = split
        native = listed.upper()
        market = cls.market(native, raw_base, raw_quote)
        # The v2 feed wants the listed name in upper case, which must be BASE+QUOTE.
        if native != market.base + market.quote or not native.isascii():
            return None
        return market

    def subscribe_messages(self) -> list[str]:
        """`subscribe` frames for `l2` (book deltas and trades), 100 symbols per frame."""
        return self.chunked_frames(list(self.markets), _SYMBOLS_PER_FRAME, lambda chunk: {
            "type": "subscribe", "subscriptions": [{"name": "l2", "symbols": chunk}]})

    def on_connect(self) -> None:
        """Forget the books: every symbol's first l2_updates on the new connection is its book."""
        super().on_connect()
        self._seen.clear()

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """One frame by its kind; a field of the wrong shape raises (counted as bad_field)."""
        kind = msg.get("type")
        if kind == "l2_updates":
            return self._on_l2(msg, received_ns)
        if kind == "trade":
            return self._on_trade(msg)
        if kind == "heartbeat":
            return []
        if isinstance(kind, str) and kind.startswith("auction_"):
            return []  # auction notices (open, indicative, result): no top of book
        if kind is None and msg.get("result") == "error":
            return self._on_error(msg)
        return self.reject("unknown_event")

    def _on_l2(self, msg: dict[str, Any], received_ns: int) -> Events:
        """A symbol's full book (first frame, with `trades`) or its deltas → a Quote on change.

        {"type": "l2_updates", "symbol": "ALCXUSD",
         "changes": [["buy", "302.75", "0.00001"], ["sell", "303.05", "8.12974"]],
         "trades": [{"type": "trade", "symbol": "ALCXUSD", "event_id": 45465785975,
                     "timestamp": 1624493651491, "price": "302.53", "quantity": "0.992143",
                     "side": "buy"}],
         "auction_events": []}
        (levels and trades shortened), then deltas such as
        {"type": "l2_updates", "symbol": "GRTUSD", "changes": [["buy", "0.6157", "0"]]}
        """
        native, market = self.market_of(msg, "symbol")
        if market is None:
            return self.reject("unknown_market")
        full = "trades" in msg or native not in self._seen
        self._seen.add(native)
        book = OrderBook() if full else self.books.get(native)
        if book is None:
            # A delta for a book we do not have: the rest of the stream cannot fix it.
            return self.reconnect("sequence_gap", counted="sequence_gap")
        try:
            parsed = side_changes(msg["changes"])
            trades = msg.get("trades", [])
            if type(trades) is not list:
                raise TypeError("trades is not a list")
            latest = [self._trade(trade) for trade in trades]
        except _SHAPE_ERRORS:
            # The symbol's book is now unknown; its next delta asks for a resync.
            self.books.pop(native, None)
            raise
        if full:
            self.books[native] = book
            # A fresh book: each side built whole and sorted once (as a set() per change).
            bids: dict[float, float] = {}
            asks: dict[float, float] = {}
            for is_bid, price, size in parsed:
                sizes = bids if is_bid else asks
                if size <= 0.0:
                    sizes.pop(price, None)
                else:
                    sizes[price] = size
            book.bids.assign(bids)
            book.asks.assign(asks)
        else:
            bid_side, ask_side = book.bids, book.asks
            for is_bid, price, size in parsed:
                (bid_side if is_bid else ask_side).set(price, size)
        for event_id, price in latest:
            self._remember(native, event_id, price)
        last = self._last.get(native)
        return self.book_quote(native, book, last[1] if last is not None else None, None,
                               received_ns, after_delta=not full)

    @staticmethod
    def _trade(trade: Any) -> tuple[int, float]:
        """(event_id, price) of one trade object; event ids rise with time."""
        event_id = trade["event_id"]
        if type(event_id) is not int:
            raise TypeError("event_id is not an integer")
        return event_id, _price(trade["price"])

    def _remember(self, native: str, event_id: int, price: float) -> None:
        """Keep the latest trade: the snapshot's trades come in no particular order."""
        previous = self._last.get(native)
        if previous is None or event_id >= previous[0]:
            self._last[native] = (event_id, price)

    def _on_trade(self, msg: dict[str, Any]) -> Events:
        """A trade: its price becomes the symbol's `last`; emits nothing by itself.

        {"type": "trade", "symbol": "ANKRUSD", "event_id": 45465818387,
         "timestamp": 1624493670759, "price": "0.07946", "quantity": "1020.482111",
         "side": "buy"}
        """
        native, market = self.market_of(msg, "symbol")
        if market is None:
            return self.reject("unknown_market")
        event_id, price = self._trade(msg)
        self._remember(native, event_id, price)
        return []

    def _on_error(self, msg: dict[str, Any]) -> Events:
        """An error reply (e.g. no valid symbol in a subscription): counted, text kept.

        {"result": "error", "reason": "NoValidTradingPairs"}
        """
        reason = msg.get("reason")
        message = msg.get("message")
        return self.venue_error(f"{reason}: {message}" if message is not None else str(reason))
