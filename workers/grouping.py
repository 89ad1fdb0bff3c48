"""Which venues share a feed process: FEED_GROUPS (`a,b;c,d`) names groups outright, else the
exchanges are split into FEED_PROCESSES processes; read by the Procfile, compose and the benches."""

from __future__ import annotations

import os
from collections.abc import Mapping

# Two feed processes by default: one per core of a small box. Grouped venues share a read loop
# and one arbitrage batch, so eight venues cost far less CPU and broker traffic than eight
# processes (BENCHMARKS.md, "Every venue at full rate").
DEFAULT_PROCESSES = 2


def feed_groups(exchanges: list[str], spec: str = "",
                processes: int = DEFAULT_PROCESSES) -> list[list[str]]:
    """The venues of each feed process: the spec's groups of the configured exchanges, in
    order, then one process for each exchange no group names; with no spec, the exchanges in
    order, split into `processes` groups as equal as can be (0: one process per exchange)."""
    groups: list[list[str]] = []
    placed: set[str] = set()
    for part in spec.split(";"):
        group = [v for v in dict.fromkeys(n.strip().lower() for n in part.split(","))
                 if v in exchanges and v not in placed]
        if group:
            groups.append(group)
            placed.update(group)
    rest = [name for name in exchanges if name not in placed]
    if groups or processes <= 0 or not rest:
        return groups + [[name] for name in rest]
    count = min(processes, len(rest))
    size, extra = divmod(len(rest), count)
    start = 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        groups.append(rest[start:end])
        start = end
    return groups


def processes_from(env: Mapping[str, str]) -> int:
    """FEED_PROCESSES (default DEFAULT_PROCESSES); ValueError for what is not a count."""
    raw = env.get("FEED_PROCESSES", "").strip()
    if not raw:
        return DEFAULT_PROCESSES
    value = int(raw)
    if value < 0:
        raise ValueError(f"FEED_PROCESSES must be 0 or more, not {raw!r}")
    return value


def configured_groups(exchanges: list[str],
                      env: Mapping[str, str] | None = None) -> list[list[str]]:
    """The grouping the environment asks for (FEED_GROUPS, else FEED_PROCESSES)."""
    env = os.environ if env is None else env
    return feed_groups(exchanges, env.get("FEED_GROUPS") or "", processes_from(env))


def group_of(venue: str, exchanges: list[str], env: Mapping[str, str] | None = None) -> list[str]:
    """The group `venue` belongs to (itself alone when the grouping leaves it out)."""
    return next((g for g in configured_groups(exchanges, env) if venue in g), [venue])
