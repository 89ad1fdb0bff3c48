"""Binance.US spot streams: the Binance twin on Binance.US's listing, plus seeded depth diffs.

Served at `/binanceus`. Everything of `/binance` (SUBSCRIBE and the other control methods,
combined or raw envelopes, `@bookTicker`, `@aggTrade`/`@trade`, the 5 messages a second limit,
`serverShutdown`) is inherited; what differs:
- the listing: Binance.US trades USD pairs besides USDT, USDC and BTC ones (no EUR, KRW, JPY);
- `<symbol>@depth@100ms` carries `depthUpdate` diffs (one per book change here, the real
  server batches 100 ms) numbered `U`..`u` in the same id space as bookTicker's `u`, and
  `GET /api/v3/depth?symbol=X&limit=N` answers the book as it is on the wire with its
  `lastUpdateId`, so a client joins the two as Binance documents;
- `fault("gap")`: the next diff of every symbol skips an update id.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

from simulator.changes import Change
from simulator.prices import Market
from simulator.venues.base import Outgoing, QueryRoute, Venue, dumps, split_pair
from simulator.venues.binance import RAW, BinanceVenue
from simulator.venues.binance_listing import exchange_info, native_of
from simulator.venues.depth_diffs import DepthWire

QUOTES = frozenset({"USD", "USDT", "USDC", "BTC"})  # what Binance.US quotes in (of ours)
DEPTH = "depth@100ms"
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)  # the `limit` values REST accepts
DEFAULT_LIMIT = 100
ZERO = "0.00000000"


def listed(symbol: str) -> bool:
    """Binance.US lists USD, USDT, USDC and BTC quoted pairs."""
    return split_pair(symbol)[1] in QUOTES


def eight(text: str) -> str:
    """A price or size in Binance's spelling, eight decimals (`64010.01000000`)."""
    return f"{float(text):.8f}"


class BinanceUsVenue(DepthWire, BinanceVenue):
    """Simulated Binance.US: the Binance streams, its own listing, depth diffs and snapshots."""

    name = "binanceus"
    quote_currencies = QUOTES

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        # Binance's own constructor keeps what binance.com lists (no USD pairs), so the
        # venue state it sets up is set up here for Binance.US's listing instead.
        Venue.__init__(self, [s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:binanceus")
        self._by_native = {native_of(s): s for s in self.symbols}
        self._stream_symbol = {n.lower(): s for n, s in self._by_native.items()}
        spans = {"_update_ids": (10**9, 5 * 10**10), "_agg_ids": (10**7, 10**9),
                 "_trade_ids": (10**8, 10**10)}
        for attr, (low, high) in spans.items():
            setattr(self, attr, {s: self._rng.randrange(low, high) for s in self.symbols})
        self.init_depth(self._rng, lambda size: f"{size:.8f}", ZERO)

    def book_id(self, symbol: str) -> int:
        """Binance numbers every book change; bookTicker's `u` is the latest."""
        return self._update_ids[symbol]

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /api/v3/exchangeInfo` as on api.binance.us."""
        return {"/api/v3/exchangeInfo": lambda: exchange_info(self.symbols, self.price_decimals)}

    def query_routes(self) -> dict[str, QueryRoute]:
        """`GET /api/v3/depth?symbol=BTCUSD&limit=1000`: the book snapshot."""
        return {"/api/v3/depth": self._depth_snapshot}

    def _depth_snapshot(self, query: Mapping[str, str]) -> object:
        """The wire's book of one symbol, best first; ValueError (400) on a bad query."""
        symbol = self._by_native.get(query.get("symbol", ""))
        if symbol is None:
            raise ValueError("Invalid symbol.")
        limit = int(query.get("limit", DEFAULT_LIMIT))
        if limit not in DEPTH_LIMITS:
            raise ValueError("Illegal characters found in parameter 'limit'.")
        last_id, bids, asks = self.wire_book(symbol, limit)
        return {"lastUpdateId": last_id, "bids": [[eight(p), s] for p, s in bids],
                "asks": [[eight(p), s] for p, s in asks]}

    # --- streams ------------------------------------------------------------------------

    def _carries_data(self, stream: str) -> bool:
        symbol, _, kind = stream.partition("@")
        return super()._carries_data(stream) or (symbol in self._stream_symbol and kind == DEPTH)

    def _depth_stream(self, symbol: str) -> str | None:
        """`symbol`'s depth stream name when someone follows it (combined or raw), else None."""
        stream = f"{native_of(symbol).lower()}@{DEPTH}"
        return stream if self.topics.has(stream) or self.topics.has(RAW + stream) else None

    def active_symbols(self) -> list[str]:
        """Symbols with a bookTicker or a depth subscriber, combined or raw."""
        tickers = set(super().active_symbols())
        return [s for s in self.symbols if s in tickers or self._depth_stream(s) is not None]

    def render(self, change: Change) -> list[Outgoing]:
        """Binance's frames for a change, plus its depth diff (ids since the previous change)."""
        symbol = change.symbol
        if self.skip_id(symbol):
            self._update_ids[symbol] += 1  # an id that never goes on the wire
        first = self._update_ids[symbol] + 1
        frames = super().render(change)  # moves the update id on
        # The ladder moves on every change: snapshots must show the book without subscribers.
        levels = self.move_book(symbol, change.top)
        stream = self._depth_stream(symbol)
        if stream is None:
            return frames
        bids = [[eight(p), s] for side, p, s in levels if side == "buy"]
        asks = [[eight(p), s] for side, p, s in levels if side == "sell"]
        data = dumps({"e": "depthUpdate", "E": change.ts_us // 1000, "s": native_of(symbol),
                      "U": first, "u": self._update_ids[symbol], "b": bids, "a": asks})
        return frames + self._outgoing(stream, data)
