"""The pure figures of a report: per venue pair statistics and a venue's connected time."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def pair_stats(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Opportunity points → per (symbol, buy, sell) figures, best total profit first."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        key = (str(row["symbol"]), str(row["buy_exchange"]), str(row["sell_exchange"]))
        groups.setdefault(key, []).append(row)
    pairs = []
    for (symbol, buy, sell), items in groups.items():
        durations = [float(r.get("duration_s") or 0.0) for r in items]
        pairs.append({
            "symbol": symbol, "buy_exchange": buy, "sell_exchange": sell,
            "opportunities": len(items),
            "total_duration_s": sum(durations),
            "median_duration_s": statistics.median(durations),
            "peak_net_pct": max(float(r.get("peak_net_pct") or 0.0) for r in items),
            "mean_net_pct": statistics.fmean(float(r.get("mean_net_pct") or 0.0) for r in items),
            "total_profit": sum(float(r.get("max_profit") or 0.0) for r in items),
        })
    pairs.sort(key=lambda p: (-p["total_profit"], -p["opportunities"], p["symbol"],
                              p["buy_exchange"], p["sell_exchange"]))
    return pairs


def venue_uptime(
    events: Sequence[tuple[int, str]], connected_at_start: bool | None, start_ns: int, end_ns: int
) -> float | None:
    """Percent of [start, end) the venue was connected, from its feed events.

    The venue counts as connected from a `connect` event until the next `disconnect` event, and
    as its most recent event before the period says at the period's start (`connected_at_start`;
    None when it never had one). `events` are (ts_ns, "connect"|"disconnect") inside the period.
    With several connections per venue, one connection's disconnect counts as down until the next
    connect. None (unknown) when the venue has no event before or during the period.
    """
    if connected_at_start is None and not events:
        return None
    up = bool(connected_at_start)
    since = start_ns
    total = 0
    for ts, event in sorted(events):
        if up:
            total += ts - since
        up = event == "connect"
        since = ts
    if up:
        total += end_ns - since
    return 100.0 * total / (end_ns - start_ns)
