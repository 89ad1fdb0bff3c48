"""Upbit's quotation websocket and market list (KRW, BTC and USDT markets, quote first).

The wire is shared with the Bithumb twin (`upbit_wire`). Upbit asks no client to reconnect, and
has neither sequence numbers nor checksums, so `reconnect` sends a harmless status frame and
`gap`/`bad_checksum` are not simulated.
"""

from __future__ import annotations

from simulator.venues.upbit_wire import UpbitShapedVenue


class UpbitVenue(UpbitShapedVenue):
    """Simulated Upbit."""

    name = "upbit"
    QUOTES = ("KRW", "BTC", "USDT")
    EXTRA_MARKETS = ("KRW-XRP", "USDT-ETH", "BTC-SOL")
