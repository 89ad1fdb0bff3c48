"""Hop-by-hop latency of traced quote events: samples, per-hop percentiles, the tail's make-up.

A quote event on `/ws` (client sent `{"trace": true}`) carries every stamp of its path: the
simulator's emission time (`ts_exchange_ns`), the feed's receive time (`ts_received_ns`), and in
`trace` the batch publish (`batch_ns`, the feed's message header), the arbitrage task's start
(`task_ns`), the Redis publish (`redis_ns`) and the hub's socket write (`ws_ns`); the client adds
its own receive time. All are `time.time_ns()` on one machine, so differences are comparable.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple


class Sample(NamedTuple):
    """One probe quote as one receiver saw it (the first four fields identify the quote)."""

    exchange: str
    symbol: str
    exchange_ns: int
    received_ns: int
    recv_ns: int  # this receiver's wall time
    batch_ns: int | None = None
    task_ns: int | None = None
    redis_ns: int | None = None
    ws_ns: int | None = None


# (id, label, from field, to field), in path order; "end_to_end" last.
HOPS = (
    ("sim_to_feed", "exchange frame → feed receive", "exchange_ns", "received_ns"),
    ("feed_to_batch", "feed receive → batch publish", "received_ns", "batch_ns"),
    ("batch_to_task", "batch publish → arbitrage task start", "batch_ns", "task_ns"),
    ("task_to_redis", "arbitrage task start → Redis publish", "task_ns", "redis_ns"),
    ("redis_to_ws", "Redis publish → /ws send", "redis_ns", "ws_ns"),
    ("ws_to_client", "/ws send → client receive", "ws_ns", "recv_ns"),
    ("end_to_end", "end to end (exchange frame → client)", "exchange_ns", "recv_ns"),
)
BASELINE_HOPS = (
    ("baseline_redis_to_sub", "baseline: Redis publish → plain subscriber", "redis_ns",
     "recv_ns"),
    ("baseline_end_to_end", "baseline: end to end (exchange frame → subscriber)",
     "exchange_ns", "recv_ns"),
)


def parse_sample(raw: str | bytes, now_ns: int, venues: tuple[str, ...]) -> Sample | None:
    """A probe venue's quote event as a sample; None for anything else."""
    event = json.loads(raw)
    if event.get("type") != "quote":
        return None
    data = event["data"]
    if data["exchange"] not in venues or data.get("ts_exchange_ns") is None:
        return None
    trace = event.get("trace") or {}
    return Sample(data["exchange"], data["symbol"], data["ts_exchange_ns"],
                  data["ts_received_ns"], now_ns, trace.get("batch_ns"), trace.get("task_ns"),
                  trace.get("redis_ns"), trace.get("ws_ns"))


def percentiles(values_ns: list[int], prefix: str = "") -> dict[str, float | None]:
    """p50, p90, p99 and max in ms (nearest rank) of nanosecond values."""
    names = [f"{prefix}p50_ms", f"{prefix}p90_ms", f"{prefix}p99_ms", f"{prefix}max_ms"]
    if not values_ns:
        return dict.fromkeys(names)
    ordered = sorted(values_ns)
    picks = [ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.5, 0.9, 0.99)]
    return {name: round(v / 1e6, 2) for name, v in zip(names, [*picks, ordered[-1]], strict=True)}


def _span(sample: Sample, start: str, end: str) -> int | None:
    a, b = getattr(sample, start), getattr(sample, end)
    return None if a is None or b is None else b - a


def hop_table(ws: list[Sample], base: list[Sample]) -> list[dict[str, Any]]:
    """One row per hop (and the baseline's): samples, p50/p90/p99/max in ms, and the hop's
    mean over the slowest 1 % end to end (`p99_tail_ms`: what the p99 is made of)."""
    ends = sorted(s.recv_ns - s.exchange_ns for s in ws)
    cut = ends[min(len(ends) - 1, int(0.99 * len(ends)))] if ends else 0
    tail = [s for s in ws if s.recv_ns - s.exchange_ns >= cut] if ends else []
    rows = []
    for samples, hops, tails in ((ws, HOPS, tail), (base, BASELINE_HOPS, [])):
        for hop, label, start, end in hops:
            spans = [v for s in samples if (v := _span(s, start, end)) is not None]
            in_tail = [v for s in tails if (v := _span(s, start, end)) is not None]
            rows.append({"hop": hop, "label": label, "samples": len(spans), **percentiles(spans),
                         "p99_tail_ms": round(sum(in_tail) / len(in_tail) / 1e6, 2)
                         if in_tail else None})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """The hop table as aligned text (ms)."""
    head = ("hop", "p50", "p90", "p99", "max", "p99 tail", "n")
    lines = [[r["label"], *(_ms(r[k]) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms",
                                                 "p99_tail_ms")), str(r["samples"])]
             for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=True)]
    out = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(head, widths, strict=True)))]
    out += ["  ".join(x.ljust(w) if i == 0 else x.rjust(w)
                      for i, (x, w) in enumerate(zip(line, widths, strict=True)))
            for line in lines]
    return "\n".join(out)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
