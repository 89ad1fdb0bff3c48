"""Simulator settings and the parsing of their command-line spellings."""

from __future__ import annotations

import re
from collections.abc import Callable
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


def _unique(
    text: str, normalize: Callable[[str], str], check: Callable[[str, str], None], none: str
) -> tuple[str, ...]:
    """Comma-separated items, normalized and checked (`check(item, as_typed)`), in order, once."""
    items: list[str] = []
    for typed in (part.strip() for part in text.split(",")):
        item = normalize(typed)
        if not item:
            continue
        check(item, typed)
        if item not in items:
            items.append(item)
    if not items:
        raise ValueError(none)
    return tuple(items)


def parse_exchanges(text: str, known: list[str]) -> tuple[str, ...]:
    """`bitstamp,kraken` → ids, rejecting unknown ones and dropping duplicates."""

    def check(name: str, typed: str) -> None:
        if name not in known:
            raise ValueError(f"unknown exchange {name!r} (known: {', '.join(known)})")

    return _unique(text, str.lower, check, "no exchanges given")


def parse_symbols(text: str) -> tuple[str, ...]:
    """`BTC-USD,eth-usd` → normalized `BASE-QUOTE` symbols, without duplicates."""

    def check(symbol: str, typed: str) -> None:
        if not _SYMBOL_RE.match(symbol):
            raise ValueError(f"not a BASE-QUOTE symbol: {typed!r}")

    return _unique(text, str.upper, check, "no symbols given")
