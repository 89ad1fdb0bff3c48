"""The packed text of a quote or book in its Redis hash field: time first, `|`-separated."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from core.types import Depth, Quote


def pack_quote(quote: Quote) -> str:
    """Encode a quote for its hash field, time first so the Lua script can compare it."""
    last = "" if quote.last is None else repr(float(quote.last))
    ts_exchange = "" if quote.ts_exchange_ns is None else str(quote.ts_exchange_ns)
    return (
        f"{quote.ts_ns}|{float(quote.bid)!r}|{float(quote.bid_size)!r}|{float(quote.ask)!r}|"
        f"{float(quote.ask_size)!r}|{last}|{ts_exchange}|{quote.ts_received_ns}"
    )


def unpack_quote(exchange: str, symbol: str, packed: str) -> Quote:
    """Decode a packed quote back into a Quote."""
    _, bid, bid_size, ask, ask_size, last, ts_exchange, ts_received = packed.split("|")
    return Quote(
        exchange, symbol, float(bid), float(bid_size), float(ask), float(ask_size),
        float(last) if last else None, int(ts_exchange) if ts_exchange else None, int(ts_received),
    )


def received_ns(packed: str) -> int:
    """When the packed quote was received (its last field); 0 when unreadable."""
    try:
        return int(packed.rsplit("|", 1)[1])
    except (IndexError, ValueError):
        return 0


def _pack_levels(levels: Iterable[tuple[float, float]]) -> str:
    return ",".join(f"{float(p)!r} {float(s)!r}" for p, s in levels)


def _unpack_levels(text: str) -> tuple[tuple[float, float], ...]:
    if not text:
        return ()
    out = []
    for item in text.split(","):
        price, size = item.split(" ")
        out.append((float(price), float(size)))
    return tuple(out)


def pack_depth(depth: Depth) -> str:
    """Encode a book's top levels, time first like a quote: `ts|p s,p s|p s,...`."""
    return f"{depth.ts_ns}|{_pack_levels(depth.bids)}|{_pack_levels(depth.asks)}"


def unpack_depth(exchange: str, symbol: str, packed: str) -> Depth:
    """Decode a packed book back into Depth."""
    ts, bids, asks = packed.split("|")
    return Depth(exchange, symbol, _unpack_levels(bids), _unpack_levels(asks), int(ts))


class LazyBooks(Mapping[str, Depth]):
    """A symbol's packed books by exchange, decoded only when the engine walks one."""

    def __init__(self, symbol: str, packed: dict[str, str]) -> None:
        self._symbol = symbol
        self._packed = packed
        self._decoded: dict[str, Depth] = {}

    def __getitem__(self, exchange: str) -> Depth:
        book = self._decoded.get(exchange)
        if book is None:
            book = unpack_depth(exchange, self._symbol, self._packed[exchange])
            self._decoded[exchange] = book
        return book

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)
