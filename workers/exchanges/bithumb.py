"""Bithumb public websocket adapter (the current `ws-api.bithumb.com/websocket/v1`): `orderbook`.

Bithumb's documents name this endpoint the public stream (ticker, trade, orderbook) next to the
private v2 one; the older `pubwss.bithumb.com/pub/ws` (`orderbookdepth` deltas without sequence
numbers, needing a REST seed and guesswork on ordering) is the legacy API. The current one is
Upbit's wire (`upbit_book`): quote-first market codes (`KRW-BTC`), one request frame, and the
whole top-N book per change, so a frame replaces the book and nothing needs resyncing. See
docs/venues/bithumb.md. No recording exists; the tests use frames of the documented shapes.
"""

from __future__ import annotations

from workers.exchanges.upbit_book import UpbitShapedAdapter


class BithumbAdapter(UpbitShapedAdapter):
    """Bithumb (KRW and BTC markets): orderbook frames in, a Quote per top-of-book change."""

    name = "bithumb"
    ws_url = "wss://ws-api.bithumb.com/websocket/v1"
    rest_url = "https://api.bithumb.com"
    markets_path = "/v1/market/all"
    # Bithumb documents no app-level keepalive for this endpoint (the text PING is Upbit's),
    # so none is sent: the loop's protocol pings keep the connection open, and KRW books move
    # often enough that a minute without any frame means the connection is gone.
    watchdog_s = 60.0
    # No documented cap on codes per request (connections: 10 a second per IP).
    max_markets_per_connection = None
