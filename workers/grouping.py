"""Which venues share a feed process: FEED_GROUPS (`a,b;c,d`), read by the Procfile and compose."""

from __future__ import annotations


def feed_groups(exchanges: list[str], spec: str = "") -> list[list[str]]:
    """The venues of each feed process: the spec's groups of the configured exchanges, in
    order, then one process for each exchange no group names."""
    groups: list[list[str]] = []
    placed: set[str] = set()
    for part in spec.split(";"):
        group = [v for v in dict.fromkeys(n.strip().lower() for n in part.split(","))
                 if v in exchanges and v not in placed]
        if group:
            groups.append(group)
            placed.update(group)
    return groups + [[name] for name in exchanges if name not in placed]


def group_of(venue: str, exchanges: list[str], spec: str = "") -> list[str]:
    """The group `venue` belongs to (itself alone when no group names it)."""
    return next((g for g in feed_groups(exchanges, spec) if venue in g), [venue])
