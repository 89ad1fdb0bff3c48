"""Symbol normalization: every venue's spelling becomes `BASE-QUOTE` in upper case."""

from __future__ import annotations

# Venue-specific asset codes that mean the same asset as the common code.
ASSET_ALIASES: dict[str, str] = {"XBT": "BTC", "XDG": "DOGE"}


def normalize_asset(code: str, aliases: dict[str, str] | None = None) -> str:
    """Upper-case an asset code and resolve venue aliases (XBT → BTC)."""
    upper = code.strip().upper()
    table = ASSET_ALIASES if aliases is None else {**ASSET_ALIASES, **aliases}
    return table.get(upper, upper)


def make_symbol(base: str, quote: str, aliases: dict[str, str] | None = None) -> str:
    """Join a base and quote asset into the normalized `BASE-QUOTE` form."""
    return f"{normalize_asset(base, aliases)}-{normalize_asset(quote, aliases)}"


def split_symbol(symbol: str) -> tuple[str, str]:
    """Split `BASE-QUOTE` into its assets, raising ValueError when it is not that shape."""
    parts = symbol.split("-")
    if len(parts) != 2 or not all(p.isalnum() and p.isupper() for p in parts):
        raise ValueError(f"not a BASE-QUOTE symbol: {symbol!r}")
    return parts[0], parts[1]


def parse_symbol_list(text: str) -> list[str]:
    """Parse a comma-separated symbol list (`BTC-USD,eth-usd`) into normalized symbols."""
    symbols: list[str] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        base, quote = split_symbol(item.upper())
        symbol = make_symbol(base, quote)
        if symbol not in symbols:
            symbols.append(symbol)
    return symbols
