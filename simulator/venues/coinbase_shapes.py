"""Coinbase's message shapes: product listing, subscription requests, ticker bodies, sizes."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from typing import Any

from simulator.assets import base_usd_price
from simulator.changes import Top, Trade
from simulator.venues.base import split_pair
from simulator.venues.daystats import DayStats
from simulator.venues.ladder import SIZE_DECIMALS

EXTRA_PAIRS = ("BTC-EUR", "ETH-BTC", "SOL-USD")  # listed but not configured: clients filter


def fixed_size(size: float) -> str:
    """Coinbase's size spelling: always eight decimals (`0.41230000`)."""
    return f"{size:.{SIZE_DECIMALS}f}"


class MonthStats(DayStats):
    """The day's figures plus the 30 d volume Coinbase's ticker also carries."""

    def __init__(self, rng: random.Random, price: float) -> None:
        super().__init__(rng, price, (5e6, 50e6))
        self.volume_30d = self.volume * rng.uniform(20.0, 40.0)

    def trade(self, price: float, amount: float) -> None:
        """Account for one trade."""
        super().trade(price, amount)
        self.volume_30d += amount


def product_rows(
    symbols: list[str], price_decimals: Callable[[str], int]
) -> list[dict[str, object]]:
    """The `GET /products` rows: the configured products, then up to two unconfigured ones."""
    extras = [s for s in EXTRA_PAIRS if s not in symbols][:2]
    rows: list[dict[str, object]] = []
    for symbol in [*symbols, *extras]:
        base, quote = split_pair(symbol)
        decimals = price_decimals(symbol)
        rows.append({
            "id": symbol, "base_currency": base, "quote_currency": quote,
            "base_min_size": f"{10.0 / base_usd_price(symbol):.8f}".rstrip("0").rstrip("."),
            "base_max_size": f"{2_000_000.0 / base_usd_price(symbol):.0f}",
            "quote_increment": f"{10.0**-decimals:.{decimals}f}",
            "base_increment": "0.00000001", "display_name": f"{base}/{quote}",
            "min_market_funds": "1", "max_market_funds": "1000000",
            "margin_enabled": False, "post_only": False, "limit_only": False,
            "cancel_only": False, "trading_disabled": False, "status": "online",
            "status_message": "", "auction_mode": False,
        })
    return rows


def parse_requests(msg: dict[str, Any]) -> list[tuple[str, list[str]]] | None:
    """(channel, product ids) pairs of a request, or None when it is malformed."""
    root = msg.get("product_ids", [])
    channels = msg.get("channels")
    if not isinstance(root, list) or not all(isinstance(p, str) for p in root):
        return None
    if not isinstance(channels, list) or not channels:
        return None
    out: list[tuple[str, list[str]]] = []
    for item in channels:
        if isinstance(item, str):
            out.append((item, list(root)))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            own = item.get("product_ids", root)
            if not isinstance(own, list) or not all(isinstance(p, str) for p in own):
                return None
            out.append((item["name"], list(own)))
        else:
            return None
    return out


def ticker_body(symbol: str, top: Top, trade: Trade, stats: MonthStats, *, decimals: int,
                price: str, stamp: str, sequence: int, trade_id: int) -> dict[str, Any]:
    """The `ticker` body of one trade (`side` is the taker's)."""
    return {
        "type": "ticker", "sequence": sequence, "product_id": symbol,
        "price": price, "open_24h": f"{stats.open:.{decimals}f}",
        "volume_24h": f"{stats.volume:.8f}", "low_24h": f"{stats.low:.{decimals}f}",
        "high_24h": f"{stats.high:.{decimals}f}", "volume_30d": f"{stats.volume_30d:.8f}",
        "best_bid": f"{top.bid:.{decimals}f}", "best_bid_size": fixed_size(top.bid_size),
        "best_ask": f"{top.ask:.{decimals}f}", "best_ask_size": fixed_size(top.ask_size),
        "side": "buy" if trade.side == 0 else "sell", "time": stamp, "trade_id": trade_id,
        "last_size": fixed_size(trade.amount),
    }


def match_body(ticker: dict[str, Any], rng: random.Random, size: str) -> dict[str, Any]:
    """The `match` fields of the trade `ticker` describes; order ids are drawn from `rng`."""
    return {
        "trade_id": ticker["trade_id"],
        "maker_order_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "taker_order_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        # The maker's side: a buying taker lifted a resting sell order.
        "side": "sell" if ticker["side"] == "buy" else "buy",
        "size": size, "price": ticker["price"], "product_id": ticker["product_id"],
        "sequence": ticker["sequence"], "time": ticker["time"],
    }
