"""What the simulator knows of each asset: its start price in USD and its price precision."""

from __future__ import annotations

# Start prices in USD for well-known assets; any other base starts near 100 (in whatever quote).
START_PRICES: dict[str, float] = {
    "USD": 1.0,
    "BTC": 64000.0,
    "ETH": 3200.0,
    "SOL": 150.0,
    "LTC": 80.0,
    "BCH": 400.0,
    "XRP": 0.6,
    "DOGE": 0.15,
    "ADA": 0.45,
    "DOT": 7.0,
    "LINK": 15.0,
    "USDT": 1.0,
    "USDC": 1.0,
    "DAI": 1.0,
    # Fiat quotes, at fixed rates (see FIXED_USD): the level is what a trader expects to see.
    "EUR": 1.08,
    "KRW": 1 / 1380,
    "JPY": 1 / 150,
}
DEFAULT_START_PRICE = 100.0
# Pegged at exactly 1 USD: a stablecoin quote must not drift from the dollar on its own (the
# per-venue bias and noise still give each venue its small premium or discount).
STABLECOINS = frozenset({"USD", "USDT", "USDC", "DAI"})
# Assets whose USD price holds still: the stablecoins and the fiat quotes (a currency's own
# moves are tiny beside a coin's, and a quote that stands still keeps pairs comparable).
FIXED_USD = STABLECOINS | {"EUR", "KRW", "JPY"}


def legs(symbol: str) -> tuple[str, str]:
    """`BTC-USD` → (`BTC`, `USD`); a symbol without a dash has an empty quote."""
    base, _, quote = symbol.partition("-")
    return base, quote


def is_cross(symbol: str) -> bool:
    """True when both legs have a USD start price, so the pair is priced from the two walks."""
    base, quote = legs(symbol)
    return base in START_PRICES and quote in START_PRICES


def start_price(symbol: str) -> float:
    """Return the walk's starting price for a `BASE-QUOTE` symbol, in units of its quote."""
    base, quote = legs(symbol)
    if is_cross(symbol):
        return START_PRICES[base] / START_PRICES[quote]
    # An unknown quote is priced like USD: the level does not matter, only its moves.
    return START_PRICES.get(base, DEFAULT_START_PRICE)


def base_usd_price(symbol: str) -> float:
    """Rough USD value of one unit of the base: sizes are drawn to a USD notional with it."""
    return START_PRICES.get(legs(symbol)[0], DEFAULT_START_PRICE)


def default_price_decimals(price: float) -> int:
    """Pick a sensible number of price decimals for an asset trading near `price`."""
    if price >= 10.0:
        return 2
    if price >= 1.0:
        return 4
    if price >= 0.01:
        return 6
    return 8
