"""Triangular (cyclic) arbitrage within one venue, found as negative cycles. Pure: no I/O.

Each fresh quote of `BASE-QUOTE` gives two edges between currencies: QUOTE→BASE at
(1/ask)(1 − fee) (buy the base at the ask) and BASE→QUOTE at bid (1 − fee) (sell it at the bid),
the taker fee charged on every leg. A cycle whose rates multiply to more than 1 turns a currency
into more of itself; with weights −log(rate) it is a negative cycle (core.cycles finds them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from core.cycles import Edge, Leg, find_cycles
from core.types import Quote


@dataclass(frozen=True, slots=True)
class Triangle:
    """A profitable cycle of trades on one venue, fees on every leg."""

    exchange: str
    path: tuple[str, ...]  # currencies, first == last: ("USD", "BTC", "ETH", "USD")
    legs: tuple[Leg, ...]
    gross_pct: float  # 100 × (product of rates without fees − 1)
    net_pct: float  # 100 × (product of rates after fees − 1)
    fee: float  # the venue's taker fee applied to each leg
    max_start: float  # the most of path[0] the top-of-book sizes let through every leg
    max_profit: float  # net profit in path[0] when starting with max_start
    event_ns: int  # receive time of the newest quote the cycle uses

    @property
    def key(self) -> str:
        """Identity of the cycle: venue and currency path."""
        return f"{self.exchange}|{'>'.join(self.path)}"

    def to_dict(self) -> dict[str, Any]:
        """The triangle as a JSON-ready mapping."""
        out = asdict(self)
        out["path"] = list(self.path)
        out["legs"] = [asdict(leg) for leg in self.legs]
        out["key"] = self.key
        return out


def _split(symbol: str) -> tuple[str, str] | None:
    parts = symbol.split("-")
    if len(parts) != 2 or not parts[0] or not parts[1] or parts[0] == parts[1]:
        return None
    return parts[0], parts[1]


def _order(q: Quote) -> tuple[float, ...]:
    return (q.ts_received_ns, q.ts_ns, q.bid, q.ask, q.bid_size, q.ask_size)


def _usable(q: Quote, now_ns: int, max_age_s: float) -> bool:
    """Fresh, positive prices, and not crossed: a venue's own book cannot be bid above its ask,
    so a crossed quote is a glitch whose phantom 2-cycle must not reach the table."""
    return (
        now_ns - q.ts_received_ns < max_age_s * 1e9
        and q.bid > 0.0 and q.ask > 0.0 and q.bid <= q.ask
        and math.isfinite(q.bid) and math.isfinite(q.ask)
    )


def build_edges(quotes: Iterable[Quote], fee: float, now_ns: int,
                max_age_s: float = 5.0) -> list[Edge]:
    """The currency graph's edges from one venue's usable quotes, in a fixed order."""
    if not 0.0 <= fee < 1.0:
        raise ValueError(f"taker fee must be a fraction in [0, 1), got {fee!r}")
    newest: dict[str, Quote] = {}
    for q in quotes:
        old = newest.get(q.symbol)
        # Duplicates (an older copy of the same market) resolve to the newest, whatever the order.
        if old is None or _order(q) > _order(old):
            newest[q.symbol] = q
    best: dict[tuple[str, str], Edge] = {}
    for symbol in sorted(newest):
        q = newest[symbol]
        assets = _split(symbol)
        if assets is None or not _usable(q, now_ns, max_age_s):
            continue
        base, quote = assets
        keep = 1.0 - fee
        candidates = []
        if 0.0 < q.ask_size < math.inf:  # buy the base: spend up to ask × ask_size of the quote
            candidates.append(Edge(
                quote, base, keep / q.ask, 1.0 / q.ask, q.ask * q.ask_size,
                Leg(symbol, "buy", q.ask, q.ask_size, quote, base), q.ts_received_ns,
                -math.log(keep / q.ask)))
        if 0.0 < q.bid_size < math.inf:  # sell the base: up to bid_size of it
            candidates.append(Edge(
                base, quote, q.bid * keep, q.bid, q.bid_size,
                Leg(symbol, "sell", q.bid, q.bid_size, base, quote), q.ts_received_ns,
                -math.log(q.bid * keep)))
        for edge in candidates:
            # Two markets of the same currencies (ETH-BTC and BTC-ETH): the better rate wins.
            held = best.get((edge.src, edge.dst))
            if held is None or edge.rate > held.rate:
                best[(edge.src, edge.dst)] = edge
    return [best[k] for k in sorted(best)]


def to_triangle(exchange: str, fee: float, cycle: tuple[Edge, ...]) -> Triangle:
    """The figures of one cycle: net and gross %, and the start its top-of-book sizes allow."""
    net = gross = 1.0
    max_start = math.inf
    for e in cycle:
        # Starting with x, this leg receives x × (rates so far), which its book must absorb.
        max_start = min(max_start, e.capacity / net)
        net *= e.rate
        gross *= e.gross
    return Triangle(
        exchange=exchange,
        path=tuple(e.src for e in cycle) + (cycle[0].src,),
        legs=tuple(e.leg for e in cycle),
        gross_pct=100.0 * (gross - 1.0),
        net_pct=100.0 * (net - 1.0),
        fee=fee,
        max_start=max_start,
        max_profit=max_start * (net - 1.0),
        event_ns=max(e.ts_ns for e in cycle),
    )


def venue_triangles(
    exchange: str,
    quotes: Iterable[Quote],
    fee: float,
    now_ns: int,
    max_age_s: float = 5.0,
    min_net_pct: float = 0.0,
) -> list[Triangle]:
    """Profitable cycles on one venue whose net % is above 0 and at least `min_net_pct`."""
    edges = build_edges((q for q in quotes if q.exchange == exchange), fee, now_ns, max_age_s)
    out = []
    for cycle in find_cycles(edges):
        tri = to_triangle(exchange, fee, cycle)
        # Bellman-Ford's epsilon lets through only real cycles; the product decides for good.
        if tri.net_pct > 0.0 and tri.net_pct >= min_net_pct and tri.max_start > 0.0:
            out.append(tri)
    return sort_triangles(out)


def find_triangles(
    quotes: Iterable[Quote],
    fee_of: Callable[[str], float],
    now_ns: int,
    max_age_s: float = 5.0,
    min_net_pct: float = 0.0,
) -> list[Triangle]:
    """Profitable cycles on every venue among `quotes`, best net % first."""
    by_venue: dict[str, list[Quote]] = {}
    for q in quotes:
        by_venue.setdefault(q.exchange, []).append(q)
    out: list[Triangle] = []
    for exchange in sorted(by_venue):
        out.extend(venue_triangles(exchange, by_venue[exchange], fee_of(exchange), now_ns,
                                   max_age_s, min_net_pct))
    return sort_triangles(out)


def sort_triangles(triangles: Iterable[Triangle]) -> list[Triangle]:
    """Best net % first; ties by venue and path so the order never depends on input order."""
    return sorted(triangles, key=lambda t: (-t.net_pct, t.exchange, t.path))
