"""Engine: cost of the arbitrage pass per quote, and of a full recompute, on the real Redis.

`python -m bench engine [--venues 8] [--symbols 200] [--batch 500] [--batches 200] [--seconds S]
[--json]`

A market of `venues` × `symbols` random-walking quotes (a few venues dislocated, so
opportunities open and close) is fed through `core.engine.ingest` in batches of `batch` quotes,
as the arbitrage task receives them. Figures: µs per quote amortized over whole passes (Redis
round trips included), a full recompute of every symbol (with Redis, and its pure computing part
on an in-memory snapshot). Baseline in the same run: the same batches through a per-symbol
engine (one HGETALL per symbol, one script call per opportunity) — the design before batching.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from typing import Any

from bench.stack import isolate, print_figures
from workers.exchanges import known_exchanges

# Real venue names, so per-venue fees and lookups take their real paths; more venues than
# there are adapters get numbered copies.
EXCHANGES = tuple(known_exchanges())


class Market:
    """Random-walking top of book per (venue, symbol); a few venues run rich or cheap."""

    def __init__(self, venues: int, symbols: int, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        n = len(EXCHANGES)
        self.venues = [EXCHANGES[i % n] + ("" if i < n else str(i)) for i in range(venues)]
        self.symbols = [f"S{i:03d}-USD" for i in range(symbols)]
        self.mid = {s: 100.0 * (1 + i / 10) for i, s in enumerate(self.symbols)}
        self.tick = 0

    def quote(self, venue: str, symbol: str) -> Any:
        from core.types import Quote

        self.tick += 1
        rng = self.rng
        self.mid[symbol] *= 1.0 + rng.gauss(0.0, 0.0002)
        skew = 0.006 if rng.random() < 0.02 else rng.gauss(0.0, 0.0003)
        mid = self.mid[symbol] * (1.0 + skew)
        now = time.time_ns()
        return Quote(venue, symbol, mid * 0.9999, rng.uniform(0.1, 3.0), mid * 1.0001,
                     rng.uniform(0.1, 3.0), None, now, now)

    def every_quote(self) -> list[Any]:
        return [self.quote(v, s) for s in self.symbols for v in self.venues]

    def batch(self, size: int) -> list[Any]:
        rng = self.rng
        return [self.quote(rng.choice(self.venues), rng.choice(self.symbols))
                for _ in range(size)]


def per_symbol_pass(state: Any, quotes: list[Any], rules: Any, now_ns: int) -> None:
    """The baseline: store the batch, then one round trip per symbol and per opportunity."""
    from core.arbitrage import find_opportunities
    from core.engine import newest_per_series

    applied = state.update_quotes(newest_per_series(quotes))
    for symbol in sorted({q.symbol for q in applied}):
        for opp in find_opportunities(state.quotes_for(symbol), rules, now_ns):
            state.upsert_opportunity(opp, now_ns)


def timed(run: Any, repeat: int) -> float:
    """Best-of-`repeat` wall time of `run()` in seconds (noise on a shared box only adds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    """Run the engine benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench engine")
    parser.add_argument("--venues", type=int, default=8)
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=0.0,
                        help="feed batches for this long instead of a fixed number (0: off)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    isolate()
    from core.arbitrage import Rules
    from core.config import reset_settings
    from core.engine import decide, ingest, recompute_all
    from core.fees import taker_fee
    from core.state import RedisState

    reset_settings()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = os.environ["KEY_PREFIX"]
    state = RedisState.from_url(redis_url, prefix)
    baseline_state = RedisState.from_url(redis_url, prefix + "baseline:")
    rules = Rules(fee_of=lambda ex: taker_fee(ex.rstrip("0123456789")), max_age_s=600.0)
    market = Market(args.venues, args.symbols)
    try:
        seed = market.every_quote()
        ingest(state, seed, rules, time.time_ns())
        per_symbol_pass(baseline_state, seed, rules, time.time_ns())
        batches = [market.batch(args.batch) for _ in range(args.batches)]

        opened = 0
        fed: list[list[Any]] = []
        start = time.perf_counter()
        while True:  # every prepared batch once, or (with --seconds) round and round until then
            batch = batches[len(fed) % len(batches)]
            opened += sum(1 for d in ingest(state, batch, rules, time.time_ns()).live
                          if d["action"] == "open")
            fed.append(batch)
            elapsed = time.perf_counter() - start
            if (elapsed >= args.seconds) if args.seconds > 0 else len(fed) == len(batches):
                break
        engine_s = time.perf_counter() - start
        batches = fed

        start = time.perf_counter()
        for batch in batches:
            per_symbol_pass(baseline_state, batch, rules, time.time_ns())
        baseline_s = time.perf_counter() - start

        full_s = timed(lambda: recompute_all(state, rules, time.time_ns()), 5)
        symbols = state.symbols()
        snapshot_s = timed(lambda: state.snapshot(symbols), 5)
        snapshots = state.snapshot(symbols)
        decide_s = timed(lambda: decide(snapshots, rules, time.time_ns()), 5)
        open_now = len(state.opportunities(limit=100000))
    finally:
        state.clear()
        baseline_state.clear()

    quotes = args.batch * len(batches)
    figures = {
        "market": f"{args.venues} venues x {args.symbols} symbols, batches of {args.batch}",
        "quotes": quotes,
        "engine_us_per_quote": round(engine_s / quotes * 1e6, 2),
        "engine_quotes_per_s": round(quotes / engine_s),
        "baseline_per_symbol_us_per_quote": round(baseline_s / quotes * 1e6, 2),
        "speedup_vs_baseline": round(baseline_s / engine_s, 1),
        "opportunities_opened": opened,
        "open_at_end": open_now,
        "full_recompute_ms": round(full_s * 1e3, 2),
        "full_recompute_snapshot_read_ms": round(snapshot_s * 1e3, 2),
        "full_recompute_compute_only_ms": round(decide_s * 1e3, 2),
        "symbols_recomputed": len(symbols),
    }
    print_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
