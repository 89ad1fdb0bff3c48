"""KuCoin spot's REST side: which pairs it lists, `GET /api/v2/symbols`, the bullet token."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from simulator.assets import base_usd_price
from simulator.venues.base import split_pair

OK = "200000"
PING_INTERVAL_MS = 18_000
PING_TIMEOUT_MS = 10_000
# KuCoin quotes spot pairs in stablecoins and crypto; it lists no USD, KRW or JPY pairs, and
# whether its global site lists EUR pairs is unconfirmed, so none are listed here.
QUOTES = frozenset({"USDT", "USDC", "BTC", "ETH", "KCS"})
EXTRA_PAIRS = ("KCS-USDT", "SOL-USDT", "ETH-BTC")  # listed but not configured


def listed(symbol: str) -> bool:
    """True when KuCoin trades `symbol` (by its quote currency)."""
    return split_pair(symbol)[1] in QUOTES


def trim(value: float, decimals: int) -> str:
    """A decimal string without trailing zeros, as KuCoin writes prices and sizes."""
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def size_text(size: float) -> str:
    """A size with at most 8 decimals."""
    return trim(size, 8)


def symbol_rows(symbols: list[str], price_decimals: Callable[[str], int]) -> dict[str, object]:
    """The `GET /api/v2/symbols` body for `symbols`, all open for trading."""
    rows = []
    for symbol in symbols:
        base, quote = split_pair(symbol)
        tick = trim(10.0 ** -price_decimals(symbol), price_decimals(symbol))
        rows.append({
            "symbol": symbol, "name": symbol, "baseCurrency": base, "quoteCurrency": quote,
            "feeCurrency": quote, "market": "USDS" if quote.startswith("USD") else quote,
            "baseMinSize": trim(1.0 / base_usd_price(symbol), 8), "quoteMinSize": "0.1",
            "baseMaxSize": "10000000000", "quoteMaxSize": "99999999",
            "baseIncrement": "0.00000001", "quoteIncrement": tick, "priceIncrement": tick,
            "priceLimitRate": "0.1", "minFunds": "0.1", "isMarginEnabled": True,
            "enableTrading": True, "feeCategory": 1, "makerFeeCoefficient": "1.00",
            "takerFeeCoefficient": "1.00", "st": False, "callauctionIsEnabled": False,
        })
    return {"code": OK, "data": rows}


def bullet(ws_url: str) -> dict[str, object]:
    """The `POST /api/v1/bullet-public` answer: a fresh token and this server's endpoint."""
    return {"code": OK, "data": {
        "token": secrets.token_urlsafe(48),
        "instanceServers": [{"endpoint": ws_url, "encrypt": ws_url.startswith("wss:"),
                             "protocol": "websocket", "pingInterval": PING_INTERVAL_MS,
                             "pingTimeout": PING_TIMEOUT_MS}]}}
