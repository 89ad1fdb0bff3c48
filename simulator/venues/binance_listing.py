"""Binance spot's names and REST listing: native symbols, which pairs it lists, exchangeInfo."""

from __future__ import annotations

import time
from collections.abc import Callable

from simulator.venues.base import split_pair

EXTRA_PAIRS = ("BNB-USDT", "ETH-BTC", "SOL-USDT")  # listed but not configured: clients must filter
RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]




def native_of(symbol: str) -> str:
    """`BTC-USDT` → `BTCUSDT` (payload and REST spelling; streams use it lower-cased)."""
    base, quote = split_pair(symbol)
    return base + quote


def listed(symbol: str) -> bool:
    """binance.com lists no USD-quoted pairs (USDT, USDC, EUR, BTC... quotes only)."""
    return split_pair(symbol)[1] != "USD"


def exchange_info(symbols: list[str], price_decimals: Callable[[str], int]) -> dict[str, object]:
    """The `GET /api/v3/exchangeInfo` body: the configured pairs and up to two others."""
    extras = [s for s in EXTRA_PAIRS if s not in symbols][:2]
    return {
        "timezone": "UTC",
        "serverTime": time.time_ns() // 1_000_000,
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [symbol_info(s, price_decimals(s)) for s in [*symbols, *extras]],
    }

def symbol_info(symbol: str, decimals: int) -> dict[str, object]:
    """One `symbols` entry of exchangeInfo."""
    base, quote = split_pair(symbol)
    tick = f"{10.0**-decimals:.8f}"
    return {
        "symbol": base + quote,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT",
                       "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000",
             "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
             "stepSize": "0.00001000"},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": ["SPOT", "MARGIN"],
    }
