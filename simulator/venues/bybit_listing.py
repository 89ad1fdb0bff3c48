"""Bybit spot's names and listing: native symbols, size spelling, ticker statistics, instruments."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from simulator.assets import base_usd_price
from simulator.venues.base import split_pair

COIN_DECIMALS = 6  # base precision of the listing (sizes on the wire keep all 8 decimals)


def native_of(symbol: str) -> str:
    """`BTC-USDT` → `BTCUSDT`."""
    base, quote = split_pair(symbol)
    return base + quote


def listed(symbol: str) -> bool:
    """Bybit spot lists no USD-quoted pairs (USDT, USDC... quotes only)."""
    return split_pair(symbol)[1] != "USD"


def size_text(value: float) -> str:
    """A size as Bybit writes it: a decimal string without trailing zeros (`0.531`)."""
    return f"{value:.8f}".rstrip("0").rstrip(".")


class TickerStats:
    """24 h statistics for the `tickers` topic, moved by simulated trades."""

    def __init__(self, rng: random.Random, price: float) -> None:
        self.prev = price * (1.0 + rng.uniform(-0.03, 0.03))
        self.high = max(self.prev, price) * (1.0 + rng.uniform(0.002, 0.02))
        self.low = min(self.prev, price) * (1.0 - rng.uniform(0.002, 0.02))
        self.volume = rng.uniform(20e6, 80e6) / price
        self.turnover = self.volume * price
        self.last: float | None = None

    def trade(self, price: float, amount: float) -> None:
        self.last = price
        self.volume += amount
        self.turnover += price * amount
        self.high = max(self.high, price)
        self.low = min(self.low, price)


def instruments(listed: list[str], price_decimals: Callable[[str], int]) -> dict[str, object]:
    """The `GET /v5/market/instruments-info?category=spot` body for the listed pairs."""
    rows = []
    for symbol in listed:
        base, quote = split_pair(symbol)
        decimals = price_decimals(symbol)
        rows.append({
            "symbol": base + quote,
            "baseCoin": base,
            "quoteCoin": quote,
            "innovation": "0",
            "status": "Trading",
            "marginTrading": "utaOnly",
            "stTag": "0",
            "lotSizeFilter": {
                "basePrecision": f"{10.0**-COIN_DECIMALS:.{COIN_DECIMALS}f}",
                "quotePrecision": "0.00000001",
                "minOrderQty": f"{5.0 / base_usd_price(symbol):.{COIN_DECIMALS}f}",
                "maxOrderQty": "10000",
                "minOrderAmt": "5",
                "maxOrderAmt": "2000000",
            },
            "priceFilter": {"tickSize": f"{10.0**-decimals:.{decimals}f}"},
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
        })
    return {
        "retCode": 0,
        "retMsg": "OK",
        "result": {"category": "spot", "list": rows},
        "retExtInfo": {},
        "time": time.time_ns() // 1_000_000,
    }
