"""Binance.US spot adapter: Binance's protocol on its own hosts, plus a REST-seeded depth path.

Binance.US runs the Binance stream server (docs/venues/binanceus.md): the same combined-stream
envelope, SUBSCRIBE frames, `<symbol>@bookTicker` and `@aggTrade`, protocol pings, and
`/api/v3/exchangeInfo`; all of that is `BinanceAdapter`'s. What differs is the hosts and the
depth path: `@depth@100ms` diffs (update ids `U`..`u`) on a book seeded from
`GET /api/v3/depth?symbol=X&limit=1000` (`lastUpdateId`), which recorded sessions hold and
which `follow_depth` subscribes live instead of bookTicker.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.types import Market
from workers.exchanges.binance import _STREAMS_PER_FRAME, BinanceAdapter
from workers.exchanges.events import Events
from workers.exchanges.fields import int_stamp
from workers.exchanges.seeded_depth import SeededDepth

# Bids and asks of a snapshot this deep: Binance's documented size for seeding a local book.
SNAPSHOT_LIMIT = 1000


class BinanceUsAdapter(SeededDepth, BinanceAdapter):
    """Binance.US spot: bookTicker quotes live; depth diffs on a REST-seeded book on request."""

    name: ClassVar[str] = "binanceus"
    ws_url: ClassVar[str] = "wss://stream.binance.us:9443/stream"
    rest_url: ClassVar[str] = "https://api.binance.us"

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        # True: subscribe `@depth@100ms` (a local book) in place of `@bookTicker`.
        self.follow_depth = False

    def subscribe_messages(self) -> list[str]:
        """SUBSCRIBE frames for every market's top (bookTicker or depth diffs) and aggTrade."""
        top = "depth@100ms" if self.follow_depth else "bookTicker"
        streams = [f"{native}@{kind}" for native in self.markets for kind in (top, "aggTrade")]
        return self.chunked_frames(streams, _STREAMS_PER_FRAME, lambda chunk: {
            "method": "SUBSCRIBE", "params": chunk, "id": self._next_id()})

    def snapshot_path(self, native: str) -> str:
        """`/api/v3/depth` of one market, in the REST (upper-case) spelling."""
        return f"/api/v3/depth?symbol={native.upper()}&limit={SNAPSHOT_LIMIT}"

    def _on_event(self, stream: str | None, data: Any, received_ns: int) -> Events:
        """Depth diffs go to the seeded book; every other event is Binance's.

        {"stream": "btcusd@depth@100ms", "data": {"e": "depthUpdate", ...}}
        """
        if type(data) is dict and data.get("e") == "depthUpdate":
            return self._on_depth_update(stream, data, received_ns)
        return super()._on_event(stream, data, received_ns)

    def _on_depth_update(self, stream: str | None, data: dict[str, Any],
                         received_ns: int) -> Events:
        """Changed levels (size 0 deletes) with update ids U..u → the seeded book.

        {"stream": "compusdt@depth@100ms", "data": {"e": "depthUpdate", "E": 1633998275394,
         "s": "COMPUSDT", "U": 113129221, "u": 113129222,
         "b": [["296.45000000", "38.69742000"], ["296.17000000", "0.00000000"]], "a": []}}
        """
        native = self._native(stream, data["s"])
        if native not in self.markets:
            return self.reject("unknown_market")
        return self.read_delta(native, data, int_stamp(data["E"], 1_000_000), received_ns)

    def on_rest(self, url: str, text: str, received_ns: int) -> Events:
        """A `/api/v3/depth` snapshot this connection asked for seeds that market's book.

        {"lastUpdateId": 113129219, "bids": [["296.58000000", "1.40000000"], ...],
         "asks": [["296.61000000", "0.87000000"], ...]}
        """
        return self.read_snapshot(url, text, "lastUpdateId", received_ns)
