"""Triangular (cyclic) arbitrage within one venue, found as negative cycles. Pure: no I/O.

Each fresh quote of `BASE-QUOTE` gives two edges between currencies: QUOTE→BASE at
(1/ask)(1 − fee) (buy the base at the ask) and BASE→QUOTE at bid (1 − fee) (sell it at the bid),
the taker fee charged on every leg. A cycle whose rates multiply to more than 1 turns a currency
into more of itself; with weights −log(rate) it is a negative cycle, which Bellman-Ford finds.

One Bellman-Ford pass reports only the cycles its predecessor pointers happen to settle on, so a
strong cycle can hide a weaker one sharing a currency. The search therefore re-runs with edges of
each found cycle banned, one at a time (every other cycle lacks at least one of those edges, so
it stays reachable). Cycles of more than MAX_LEGS legs are searched around but not reported, the
ban sets grown from short cycles go first, and MAX_SEARCH_RUNS caps the runs per venue: with
many coins quoted in two currencies, one mispriced market makes countless long routes, and
measured on 8 venues × 200 markets with 16 mispriced at once, the cap keeps a scan near 150 ms
while every profitable three-leg cycle is still found.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from core.types import Quote

# Where a cycle is shown to start: cash-like first, so "max_start" reads as an amount to spend.
PREFERRED_START = ("USD", "USDT", "USDC", "EUR", "GBP", "DAI", "BTC", "ETH")
MAX_LEGS = 4  # longest cycle reported (triangles are the main case)
MAX_SEARCH_RUNS = 128  # Bellman-Ford runs per venue: bounds the work when many cycles exist
# Relaxations smaller than this are float noise: a fair market must not look like a cycle.
EPSILON = 1e-12
REDIS_KEY = "triangles"  # under the deployment's key prefix


@dataclass(frozen=True, slots=True)
class Leg:
    """One trade of a cycle: buy the base at the ask or sell it at the bid."""

    symbol: str
    side: str  # "buy" | "sell"
    price: float
    size: float  # base units on offer at that price (top of book)
    from_ccy: str
    to_ccy: str


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


@dataclass(frozen=True, slots=True)
class Edge:
    """A conversion from one currency to another at a rate, up to a capacity (src units)."""

    src: str
    dst: str
    rate: float  # after fee
    gross: float  # before fee
    capacity: float  # how much of `src` the top of book takes
    leg: Leg
    ts_ns: int
    weight: float = 0.0  # −log(rate): Bellman-Ford's edge length, computed once


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


def _predecessor_cycles(nodes: list[str], pred: Mapping[str, Edge | None]) -> list[
    tuple[Edge, ...]
]:
    """The cycles of the predecessor graph (one predecessor per node), each in trade order."""
    walk_of: dict[str, int] = {}
    cycles: list[tuple[Edge, ...]] = []
    for walk, start in enumerate(nodes):
        node = start
        while node not in walk_of:
            walk_of[node] = walk
            p = pred[node]
            if p is None:
                break
            node = p.src
        else:
            if walk_of[node] != walk:
                continue  # ran into an earlier walk: its cycle (if any) is already recorded
            cycle: list[Edge] = []
            at = node
            while True:
                p = pred[at]
                assert p is not None  # every node on a predecessor cycle has one
                cycle.append(p)
                at = p.src
                if at == node:
                    break
            cycle.reverse()
            cycles.append(tuple(cycle))
    return cycles


def _bellman_ford(nodes: list[str], edges: list[Edge]) -> list[tuple[Edge, ...]]:
    """Negative cycles of −log(rate), from a virtual source joined to every node at 0.

    Any cycle among the predecessor pointers is a negative cycle, so the predecessor graph is
    checked after every round: a real cycle shows up within a few rounds, long before |V|.
    """
    dist = dict.fromkeys(nodes, 0.0)
    pred: dict[str, Edge | None] = dict.fromkeys(nodes, None)
    for _ in range(len(nodes)):
        changed = False
        for e in edges:
            src, dst = e.src, e.dst
            candidate = dist[src] + e.weight
            if candidate < dist[dst] - EPSILON:
                dist[dst] = candidate
                pred[dst] = e
                changed = True
        if not changed:
            return []  # settled: no negative cycle
        cycles = _predecessor_cycles(nodes, pred)
        if cycles:
            return cycles
    return _predecessor_cycles(nodes, pred)


def _rotate(cycle: tuple[Edge, ...]) -> tuple[Edge, ...]:
    """The cycle started at its preferred currency, so rotations compare equal."""
    def rank(ccy: str) -> tuple[int, str]:
        return (PREFERRED_START.index(ccy) if ccy in PREFERRED_START else len(PREFERRED_START),
                ccy)
    start = min(range(len(cycle)), key=lambda i: rank(cycle[i].src))
    return cycle[start:] + cycle[:start]


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


def find_cycles(
    edges: list[Edge], max_legs: int = MAX_LEGS, max_runs: int = MAX_SEARCH_RUNS
) -> list[tuple[Edge, ...]]:
    """Negative cycles of at most `max_legs` legs that the banned-edge search reaches within
    `max_runs` Bellman-Ford runs. Longer cycles are searched around (they can hide short ones)
    but not kept: their variations are countless (every coin quoted in two currencies bridges
    them) and a route of many legs is rarely executable before the prices move."""
    found: dict[tuple[tuple[str, str], ...], tuple[Edge, ...]] = {}
    # Best first: ban sets grown from short cycles, then fewer bans (where cycles are likelier).
    todo: list[tuple[int, int, int, frozenset[tuple[str, str]]]] = [(0, 0, 0, frozenset())]
    tried: set[frozenset[tuple[str, str]]] = set()
    seq = runs = 0
    while todo and runs < max_runs:
        _, _, _, banned = heapq.heappop(todo)
        if banned in tried:
            continue
        tried.add(banned)
        runs += 1
        allowed = [e for e in edges if (e.src, e.dst) not in banned]
        nodes = sorted({e.src for e in allowed} | {e.dst for e in allowed})
        for cycle in _bellman_ford(nodes, allowed):
            rotated = _rotate(cycle)
            if len(cycle) <= max_legs:
                found.setdefault(tuple((e.src, e.dst) for e in rotated), rotated)
            for e in rotated:
                child = banned | {(e.src, e.dst)}
                if child not in tried:
                    seq += 1
                    heapq.heappush(todo, (len(cycle), len(child), seq, child))
    return [found[k] for k in sorted(found)]


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


def encode_snapshot(triangles: Iterable[Triangle], computed_ns: int) -> str:
    """The stored/published form: `{"triangles": [...], "computed_ns": ...}` as JSON."""
    return json.dumps(snapshot(triangles, computed_ns))


def snapshot(triangles: Iterable[Triangle], computed_ns: int) -> dict[str, Any]:
    """The current list with the time it was computed."""
    return {"triangles": [t.to_dict() for t in triangles], "computed_ns": int(computed_ns)}


def decode_snapshot(raw: str | bytes | None) -> dict[str, Any]:
    """Parse a stored snapshot; nothing stored (or garbage) reads as an empty list."""
    if not raw:
        return {"triangles": [], "computed_ns": None}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"triangles": [], "computed_ns": None}
    if not isinstance(data, Mapping) or not isinstance(data.get("triangles"), list):
        return {"triangles": [], "computed_ns": None}
    return {"triangles": data["triangles"], "computed_ns": data.get("computed_ns")}
