"""Negative cycles in one venue's currency graph: its edges, Bellman-Ford and the search.

One Bellman-Ford pass reports only the cycles its predecessor pointers happen to settle on, so a
strong cycle can hide a weaker one sharing a currency. The search therefore re-runs with edges of
each found cycle banned, one at a time (every other cycle lacks at least one of those edges, so
it stays reachable). Cycles of more than MAX_LEGS legs are searched around but not reported, the
ban sets grown from short cycles go first, and MAX_SEARCH_RUNS caps the runs per venue: with
many coins quoted in two currencies, one mispriced market makes countless long routes, and the
cap bounds a scan's time while every profitable three-leg cycle is still found.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass

# Where a cycle is shown to start: cash-like first, so "max_start" reads as an amount to spend.
PREFERRED_START = ("USD", "USDT", "USDC", "EUR", "GBP", "DAI", "BTC", "ETH")
MAX_LEGS = 4  # longest cycle reported (triangles are the main case)
MAX_SEARCH_RUNS = 128  # Bellman-Ford runs per venue: bounds the work when many cycles exist
# Relaxations smaller than this are float noise: a fair market must not look like a cycle.
EPSILON = 1e-12


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
