"""Poloniex spot's names, number spelling, book frames and `GET /markets` rows for the twin."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from simulator.assets import base_usd_price
from simulator.venues.base import split_pair

# Quote currencies Poloniex spot lists pairs in (2022 listing: no fiat quote at all).
QUOTES = frozenset({"USDT", "USDC", "BTC", "ETH", "TRX", "USDD"})
# Real public channels that are acked here but never carry anything.
QUIET_CHANNELS = ("book", "ticker", "candles_minute_1")
QUANTITY_SCALE = 6
EXTRA_PAIRS = ("TRX-USDT", "SOL-USDT", "ETH-BTC")  # listed but not configured


def native_of(symbol: str) -> str:
    """`BTC-USDT` → `BTC_USDT`."""
    base, quote = split_pair(symbol)
    return f"{base}_{quote}"


def listed(symbol: str) -> bool:
    """Poloniex lists crypto- and stablecoin-quoted pairs only (no USD, EUR, KRW, JPY)."""
    return split_pair(symbol)[1] in QUOTES


def with_extras(symbols: list[str]) -> list[str]:
    """The pairs the listing shows: the configured ones and up to two others."""
    return [*symbols, *[s for s in EXTRA_PAIRS if s not in symbols][:2]]


def trim(text: str) -> str:
    """A decimal string without trailing zeros, as Poloniex writes most (`1.001`, `21617.15`)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def size_text(value: float) -> str:
    """A size with the listing's quantity scale, trimmed (`0.34`, `14.101117`)."""
    return trim(f"{value:.{QUANTITY_SCALE}f}")


def book_frame(action: str, native: str, bids: Sequence[tuple[str, str]],
               asks: Sequence[tuple[str, str]], last_id: int, book_id: int, ms: int) -> str:
    """A `book_lv2` frame in the recorded key order (`createTime` a moment before `ts`)."""
    def side(levels: Sequence[tuple[str, str]]) -> str:
        return ",".join(f'["{trim(price)}","{size}"]' for price, size in levels)

    return (f'{{"channel":"book_lv2","data":[{{"symbol":"{native}","createTime":{ms - 5},'
            f'"asks":[{side(asks)}],"bids":[{side(bids)}],"lastId":{last_id},"id":{book_id},'
            f'"ts":{ms}}}],"action":"{action}"}}')


def market_rows(symbols: list[str], price_decimals: Callable[[str], int]) -> list[object]:
    """The `GET /markets` body: one row per listed pair, every one trading (`NORMAL`)."""
    now_ms = time.time_ns() // 1_000_000
    rows: list[object] = []
    for symbol in symbols:
        base, quote = split_pair(symbol)
        native = native_of(symbol)
        min_quantity = 10.0 ** -QUANTITY_SCALE
        rows.append({
            "symbol": native, "baseCurrencyName": base, "quoteCurrencyName": quote,
            "displayName": f"{base}/{quote}", "state": "NORMAL",
            "visibleStartTime": now_ms - 86_400_000, "tradableStartTime": now_ms - 86_400_000,
            "symbolTradeLimit": {
                "symbol": native, "priceScale": price_decimals(symbol),
                "quantityScale": QUANTITY_SCALE, "amountScale": 2,
                "minQuantity": trim(f"{max(min_quantity, 1.0 / base_usd_price(symbol)):.6f}"),
                "minAmount": "1", "highestBid": "0", "lowestAsk": "0"},
        })
    return rows
