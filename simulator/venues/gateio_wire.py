"""Gate.io's names, listing and frame envelope for the simulated venue (no Venue here)."""

from __future__ import annotations

import time
from typing import Any

from simulator.venues.base import dumps, split_pair

QUOTES = frozenset({"USDT", "USDC", "BTC", "ETH"})  # what Gate quotes in (of ours): no fiat
# Listed but not configured, one of them not tradable: clients must filter both.
EXTRA_PAIRS = (("GT_USDT", "tradable"), ("ETH_SGD", "untradable"))


def listed(symbol: str) -> bool:
    """Gate lists pairs quoted in USDT, USDC, BTC and ETH (none in USD, EUR, KRW or JPY)."""
    return split_pair(symbol)[1] in QUOTES


def pair_of(symbol: str) -> str:
    """`BTC-USDT` → `BTC_USDT`, Gate's spelling on the wire and in REST."""
    return symbol.replace("-", "_")


def trimmed(value: float) -> str:
    """A number as Gate prints it: up to eight decimals, no trailing zeros (`0.25`, `3`)."""
    text = f"{value:.8f}".rstrip("0").rstrip(".")
    return text or "0"


def currency_pairs(symbols: list[str], price_decimals: dict[str, int]) -> list[dict[str, Any]]:
    """The `GET /spot/currency_pairs` body: the configured pairs, then the extras."""
    rows = [(pair_of(s), "tradable", price_decimals[s]) for s in symbols]
    rows += [(pair, status, 4) for pair, status in EXTRA_PAIRS]
    return [{"id": pair, "base": pair.split("_")[0], "quote": pair.split("_")[1], "fee": "0.2",
             "min_base_amount": "0.0001", "min_quote_amount": "3", "amount_precision": 4,
             "precision": decimals, "trade_status": status, "sell_start": 0, "buy_start": 0}
            for pair, status, decimals in rows]


def envelope(channel: str, event: str, **body: Any) -> str:
    """A server frame: `time` (s), `time_ms`, channel, event, then `result` or `error`."""
    now_ms = time.time_ns() // 1_000_000
    return dumps({"time": now_ms // 1000, "time_ms": now_ms, "channel": channel,
                  "event": event, **body})


def error(channel: str, event: str, code: int, message: str) -> str:
    """A refused request, as Gate answers it (`result` null)."""
    return envelope(channel, event, error={"code": code, "message": message}, result=None)
