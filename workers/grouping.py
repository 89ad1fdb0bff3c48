"""Which venues share a feed process: FEED_GROUPS (`a,b;c,d`) names groups outright, else the
exchanges are split into FEED_PROCESSES processes; read by the Procfile, compose and the benches."""

from __future__ import annotations

from core.config import Settings, get_settings

DEFAULT_PROCESSES = Settings().feed_processes  # the setting's default, for callers that pass none


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


def configured_groups(exchanges: list[str],
                      settings: Settings | None = None) -> list[list[str]]:
    """The grouping the settings ask for (FEED_GROUPS, else FEED_PROCESSES)."""
    s = settings or get_settings()
    return feed_groups(exchanges, s.feed_groups, s.feed_processes)


def group_of(venue: str, exchanges: list[str], settings: Settings | None = None) -> list[str]:
    """The group `venue` belongs to (itself alone when the grouping leaves it out)."""
    return next((g for g in configured_groups(exchanges, settings) if venue in g), [venue])
