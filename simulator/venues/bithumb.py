"""Bithumb's current public websocket (`/websocket/v1`) and market list: KRW and BTC markets.

The wire is Upbit's (`upbit_wire`); Bithumb's documents show any unit count up to 30 in
`code.N` and a book `level` of 1 (the plain tick). Like Upbit it has neither sequence numbers
nor checksums and never asks a client to reconnect.
"""

from __future__ import annotations

from simulator.venues.upbit_wire import MAX_UNITS, UpbitShapedVenue


class BithumbVenue(UpbitShapedVenue):
    """Simulated Bithumb."""

    name = "bithumb"
    QUOTES = ("KRW", "BTC")
    EXTRA_MARKETS = ("KRW-XRP", "KRW-USDT", "BTC-SOL")
    LEVEL = 1
    UNIT_COUNTS = tuple(range(1, MAX_UNITS + 1))
