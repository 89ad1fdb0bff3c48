"""Adapters: frames/s through each exchange adapter, recorded and simulated, against JSON alone.

`python -m bench adapters [--seconds S] [--json]`

Two sources of frames per venue: (a) the real recording in tests/fixtures/recorded/ when the
venue has one (its markets from the recorded REST listing), fed as received, non-JSON lines and
unknown channels included; (b) a few thousand frames rendered in-process by the simulator's own
venue class for that venue (subscribed with the adapter's own subscribe frames, so the acks and
the wire shapes are exactly what the simulator serves). Each (venue, source) gets ~S/N seconds: a
fresh adapter per pass over its frames (books and update ids start over as on a new connection),
`depth_levels` as the feed worker sets it, the quotes among each frame's events counted.
Baselines in the same run over the same frames, passes alternating with the adapter's:
`json.loads` alone (the floor of a stdlib-JSON adapter) and `orjson.loads` alone (the floor of
ours, which parse with orjson), with ratios.
Everything runs in one process on one core; figures are from the fastest pass (see `measure`).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench.stack import print_figures
from core.types import Quote
from tests.support.sessions import Session, recorded, simulated

# Venues whose top of book arrives as a ticker-like message (not a book built from deltas).
TICKER_VENUES = ("kraken", "okx", "binance", "bybit", "bitfinex")
TARGET_FRAMES_PER_S = 200_000
SIM_FRAMES = 4_000
DEPTH_LEVELS = 10  # the feed worker's BOOK_DEPTH default

Frames = Session  # (markets, frames)


def measure(name: str, markets: list[Any], frames: list[str], seconds: float) -> dict[str, Any]:
    """Frames/s and quotes/s of one adapter over `frames`, with the JSON-only floors."""
    # Passes of the adapter, `json.loads` and `orjson.loads` alternate until `seconds` are up,
    # so all three see the same machine load; each figure is from its fastest pass (what one
    # core does when nothing else takes it, as timeit reports), with the mean beside it.
    from workers.exchanges import get_adapter

    cls = get_adapter(name)

    def adapter_pass() -> tuple[float, int, int]:
        adapter = cls(markets)  # construction is outside the timed loop
        adapter.depth_levels = DEPTH_LEVELS
        on_message = adapter.on_message
        received_ns = time.time_ns()
        quotes = 0
        start = time.perf_counter()
        for text in frames:
            for event in on_message(text, received_ns):
                if type(event) is Quote:  # the rest are Depth and reconnect requests
                    quotes += 1
        busy = time.perf_counter() - start
        return busy, quotes, sum(adapter.errors.values())

    def floor_pass(loads: Callable[[str], Any]) -> float:
        start = time.perf_counter()
        for text in frames:
            try:
                loads(text)
            except ValueError:
                pass
        return time.perf_counter() - start

    best = {"adapter": math.inf, "json": math.inf, "orjson": math.inf}
    total = {"adapter": 0.0, "json": 0.0, "orjson": 0.0}
    passes = quotes = rejected = 0
    deadline = time.perf_counter() + seconds
    while passes == 0 or time.perf_counter() < deadline:
        busy, quotes, rejected = adapter_pass()
        timings = {"adapter": busy, "json": floor_pass(json.loads),
                   "orjson": floor_pass(orjson.loads)}
        for key, value in timings.items():
            best[key] = min(best[key], value)
            total[key] += value
        passes += 1
    n = len(frames)
    fps = n / best["adapter"]
    return {
        "frames": n,
        "markets": len(markets),
        "passes": passes,
        "frames_per_s": round(fps),
        "frames_per_s_mean": round(n * passes / total["adapter"]),
        "quotes_per_s": round(quotes / best["adapter"]),
        "us_per_frame": round(1e6 / fps, 3),
        "rejected_per_pass": rejected,
        "json_loads_frames_per_s": round(n / best["json"]),
        "ratio_to_json_loads": round(best["json"] / best["adapter"], 3),
        "orjson_loads_frames_per_s": round(n / best["orjson"]),
        "ratio_to_orjson_loads": round(best["orjson"] / best["adapter"], 3),
    }


def run(seconds: float = 10.0, venues: list[str] | None = None) -> dict[str, Any]:
    """Measure every registered adapter (or `venues`) on each source; figures keyed by venue."""
    from workers.exchanges import known_exchanges

    names = venues or known_exchanges()
    inputs: list[tuple[str, str, Frames]] = []
    for name in names:
        rec = recorded(name)
        if rec is not None:
            inputs.append((name, "recorded", rec))
        inputs.append((name, "simulated", simulated(name, SIM_FRAMES)))
    slice_s = seconds / len(inputs)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for name, source, (markets, frames) in inputs:
        results.setdefault(name, {})[source] = measure(name, markets, frames, slice_s)
    met = [n for n in TICKER_VENUES if n in results
           and results[n]["simulated"]["frames_per_s"] >= TARGET_FRAMES_PER_S]
    missed = [n for n in TICKER_VENUES if n in results and n not in met]
    return {
        "seconds": seconds,
        "target_frames_per_s": TARGET_FRAMES_PER_S,
        "ticker_venues_meeting_target": met,
        "ticker_venues_missing_target": missed,
        "venues": results,
    }


def flatten(figures: dict[str, Any]) -> dict[str, object]:
    """`venues.kraken.simulated.frames_per_s` style keys for the aligned text output."""
    flat: dict[str, object] = {}
    for key, value in figures.items():
        if key != "venues":
            flat[key] = ",".join(value) if isinstance(value, list) else value
    for name, sources in figures["venues"].items():
        for source, row in sources.items():
            for key, value in row.items():
                flat[f"{name}.{source}.{key}"] = value
    return flat


def main() -> int:
    """Run the adapters benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench adapters")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--venues", default="", help="comma-separated subset (default: all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    venues = [v.strip() for v in args.venues.split(",") if v.strip()] or None
    figures = run(args.seconds, venues)
    print_figures(figures if args.json else flatten(figures), args.json)
    return 0
