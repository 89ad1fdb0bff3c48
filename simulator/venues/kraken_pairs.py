"""Kraken's REST `AssetPairs` listing, in the v1 spelling (XBT, XXBTZUSD) it still uses."""

from __future__ import annotations

import math
from typing import Any

from simulator.assets import base_usd_price, default_price_decimals, start_price
from simulator.venues.base import split_pair

# REST (v1) naming: Kraken still lists BTC as XBT and DOGE as XDG; v2 websocket names use ISO codes.
V1_NAMES = {"BTC": "XBT", "DOGE": "XDG"}
ASSET_IDS = {
    "BTC": "XXBT",
    "ETH": "XETH",
    "LTC": "XLTC",
    "XRP": "XXRP",
    "XLM": "XXLM",
    "XMR": "XXMR",
    "ETC": "XETC",
    "ZEC": "XZEC",
    "DOGE": "XXDG",
    "USD": "ZUSD",
    "EUR": "ZEUR",
    "GBP": "ZGBP",
    "CAD": "ZCAD",
    "JPY": "ZJPY",
    "AUD": "ZAUD",
}
LEGACY_BASES = ("BTC", "ETH", "LTC", "XRP", "XLM", "XMR", "ETC", "ZEC")  # keys like XXBTZUSD
# Fee tiers as AssetPairs lists them: [30-day USD volume, percent]; 0.40 % taker at the base.
VOLUME_TIERS = (0, 10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
                10_000_000)  # fmt: skip
TAKER_FEES = [list(t) for t in zip(VOLUME_TIERS, (0.4, 0.35, 0.24, 0.22, 0.2, 0.18, 0.16, 0.14,
                                                  0.12, 0.1), strict=True)]  # fmt: skip
MAKER_FEES = [list(t) for t in zip(VOLUME_TIERS, (0.25, 0.2, 0.14, 0.12, 0.1, 0.08, 0.06, 0.04,
                                                  0.02, 0.0), strict=True)]  # fmt: skip
# Listed but not configured, so clients must filter; DOGE shows the XDG spelling.
EXTRA_PAIRS = ("DOGE-USD", "BTC-EUR", "ETH-EUR")



def asset_pair(symbol: str) -> tuple[str, dict[str, Any]]:
    """The AssetPairs key and entry for a normalized symbol, in Kraken's v1 spelling."""
    base, quote = split_pair(symbol)
    v1_base, v1_quote = V1_NAMES.get(base, base), V1_NAMES.get(quote, quote)
    altname = v1_base + v1_quote
    base_id, quote_id = ASSET_IDS.get(base, base), ASSET_IDS.get(quote, quote)
    key = base_id + quote_id if base in LEGACY_BASES and quote in ASSET_IDS else altname
    price = start_price(symbol)
    decimals = kraken_price_decimals(price)
    ordermin = 10.0 / base_usd_price(symbol)  # sizes are base units: USD value, not price
    ordermin = round(ordermin, -int(math.floor(math.log10(ordermin))))
    return key, {
        "altname": altname,
        "wsname": f"{v1_base}/{v1_quote}",
        "aclass_base": "currency",
        "base": base_id,
        "aclass_quote": "currency",
        "quote": quote_id,
        "lot": "unit",
        "cost_decimals": 5,
        "pair_decimals": decimals,
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "leverage_buy": [2, 3] if base in LEGACY_BASES else [],
        "leverage_sell": [2, 3] if base in LEGACY_BASES else [],
        "fees": TAKER_FEES,
        "fees_maker": MAKER_FEES,
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": f"{ordermin:.10f}".rstrip("0").rstrip("."),
        "costmin": "0.5",
        "tick_size": f"{10.0**-decimals:.{decimals}f}",
        "status": "online",
    }


def kraken_price_decimals(price: float) -> int:
    """Kraken quotes high-priced pairs one decimal coarser (BTC/USD ticks by 0.1)."""
    return 1 if price >= 10_000 else default_price_decimals(price)


def asset_pairs(symbols: list[str]) -> dict[str, object]:
    """The `GET /0/public/AssetPairs` body: the configured pairs and up to two others."""
    extras = [s for s in EXTRA_PAIRS if s not in symbols][:2]
    result = dict(asset_pair(s) for s in sorted([*symbols, *extras]))
    return {"error": [], "result": result}
