"""Simulator settings and the parsing of their command-line spellings."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_EXCHANGES = "bitstamp,kraken"
DEFAULT_SYMBOLS = "BTC-USD,ETH-USD"
DEFAULT_RATE = 200.0
DEFAULT_SEED = 1

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$")


@dataclass(frozen=True)
class SimConfig:
    """Everything a simulator run needs."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    exchanges: tuple[str, ...] = ("bitstamp", "kraken")
    symbols: tuple[str, ...] = ("BTC-USD", "ETH-USD")
    rate: float = DEFAULT_RATE  # top-of-book changes per second per exchange; 0 = unthrottled
    count: int | None = None  # total changes per exchange, then idle
    seed: int = DEFAULT_SEED
    dislocations: bool = True  # the random schedule; off leaves only requested dislocations
    pregenerate: bool = False  # render all `count` changes before sending any (benchmarks)


def parse_exchanges(text: str, known: list[str]) -> tuple[str, ...]:
    """`bitstamp,kraken` → ids, rejecting unknown ones and duplicates."""
    names: list[str] = []
    for item in text.split(","):
        name = item.strip().lower()
        if not name:
            continue
        if name not in known:
            raise ValueError(f"unknown exchange {name!r} (known: {', '.join(known)})")
        if name not in names:
            names.append(name)
    if not names:
        raise ValueError("no exchanges given")
    return tuple(names)


def parse_symbols(text: str) -> tuple[str, ...]:
    """`BTC-USD,eth-usd` → normalized `BASE-QUOTE` symbols, without duplicates."""
    symbols: list[str] = []
    for item in text.split(","):
        symbol = item.strip().upper()
        if not symbol:
            continue
        if not _SYMBOL_RE.match(symbol):
            raise ValueError(f"not a BASE-QUOTE symbol: {item.strip()!r}")
        if symbol not in symbols:
            symbols.append(symbol)
    if not symbols:
        raise ValueError("no symbols given")
    return tuple(symbols)
