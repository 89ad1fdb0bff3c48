"""End to end: simulator → feed workers → RabbitMQ → Celery → InfluxDB and Redis.

`python -m bench pipeline [--seconds S | --count N] [--rate R] [--exchanges a,b] [--json]`

Every registered venue runs by default (the default deployment); `--exchanges` narrows it. The
simulator pre-generates its frames (`--pregenerate`: every change rendered before the first
is sent, so the load generator costs little more than its socket writes; `--live-frames` renders
them as they go, as `make demo` does). In `--seconds` mode it is given a budget of
PREGEN_QPS / (number of venues) × S changes per exchange (or rate × S at a fixed rate).
The simulator emits for S seconds (or N changes per exchange), then every venue is silenced so
its `/stats` count is final: that count is what was offered, and `lost` is it minus the points
InfluxDB holds once the pipeline stops making progress. Delivery to Redis is counted on the live
channel: the run's quote events, and when the last one arrived (the arbitrage path coalesces to
the newest quote per series, so events are fewer than quotes; `redis_current` checks that Redis
ends on the newest stored quote of every series). CPU seconds and peak RSS are sampled 4×/s per
role, Celery prefork children included. Baselines in the same run (bench.baselines): one Celery
task per quote, batched no-op tasks (the transport ceiling), direct InfluxDB writes (the storage
ceiling), each with the pipeline's ratio to it.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import psutil
import requests

from bench.cli import add_feed_options, apply_feed_options, default_exchanges, exchange_list
from bench.delivery import (
    LiveCounter,
    drain,
    emitted_by_exchange,
    emitted_total,
    freeze_emission,
    loss_figures,
    print_loss_table,
    redis_current,
    stored_by_exchange,
    stored_points,
)
from bench.processes import ProcessSampler
from bench.queues import consumers, delete_queues, purge_queues, queue_depths, start_worker
from bench.stack import BIN, Stack, feed_commands, free_port, isolate, print_figures, wait_until

PREGEN_QPS = 100_000  # changes/s rendered ahead over all venues: twice the 50,000 target


def run_baselines(per_quote: int, noop: int, direct: int) -> dict[str, float]:
    """The three baselines, quotes/s each, with their own worker pair (stopped afterwards)."""
    from bench import baselines
    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE

    figures = {"baseline_direct_influx_qps": round(baselines.direct_writes(direct))}
    with Stack() as stack:
        for queue in (STORAGE_QUEUE, ARBITRAGE_QUEUE):
            start_worker(stack, queue, "-I", "bench.baselines")
        for queue in (STORAGE_QUEUE, ARBITRAGE_QUEUE):
            wait_until(lambda q=queue: consumers(q) > 0, 60, f"baseline worker on {queue}")
        figures["baseline_per_quote_tasks_qps"] = round(baselines.per_quote_tasks(per_quote))
        purge_queues([STORAGE_QUEUE, ARBITRAGE_QUEUE])  # what did not fit in the budget
        figures["baseline_noop_batches_qps"] = round(
            baselines.noop_batches(noop, STORAGE_QUEUE, ARBITRAGE_QUEUE))
    return figures


def run(seconds: float | None = 5.0, count: int | None = None, rate: float = 0,
        exchanges: tuple[str, ...] | None = None, baselines: bool = True,
        per_quote: int = 3000, noop: int = 100_000, direct: int = 100_000,
        stop_storage_after_s: float | None = None, drain_timeout_s: float = 60.0,
        live_frames: bool = False) -> dict[str, Any]:
    """Run the whole stack once (for `seconds`, or `count` changes per exchange); the figures.

    `stop_storage_after_s` SIGSTOPs the storage worker that long into the emission (the loss
    accounting test); the run then ends when InfluxDB has made no progress for a few seconds.
    """
    if (seconds is None) == (count is None):
        raise ValueError("give exactly one of seconds and count")
    exchanges = exchanges or default_exchanges()
    isolate()
    from celeryconfig import ALERTS_QUEUE, ARBITRAGE_QUEUE, REPORTS_QUEUE, STORAGE_QUEUE
    from core.config import get_settings
    from core.influx import InfluxDB
    from core.state import RedisState

    s = get_settings()
    influx = InfluxDB(s.influxdb_url, s.influxdb_db)
    influx.ensure_database()
    state = RedisState.from_url(s.redis_url, s.key_prefix)
    figures: dict[str, Any] = {"exchanges": ",".join(exchanges), "simulator_rate": rate,
                               "frames": "live" if live_frames else "pre-generated",
                               "seconds" if seconds is not None else "count_per_exchange":
                               seconds if seconds is not None else count}
    queues = [STORAGE_QUEUE, ARBITRAGE_QUEUE, REPORTS_QUEUE, ALERTS_QUEUE]
    try:
        if baselines:
            figures.update(run_baselines(per_quote, noop, direct))
            state.clear()
            delete_queues(queues)
            influx.drop_database()  # baseline (a) stored its quotes here
            influx.ensure_database()
        figures.update(_pipeline(s, influx, state, seconds, count, rate, exchanges,
                                 stop_storage_after_s, drain_timeout_s, live_frames))
    finally:
        state.clear()
        influx.drop_database()
        delete_queues(queues)
    if baselines:
        qps = figures["delivered_influx_qps"]
        for name in ("per_quote_tasks", "noop_batches", "direct_influx"):
            base = figures[f"baseline_{name}_qps"]
            figures[f"ratio_to_{name}"] = round(qps / base, 3) if base else None
    return figures


def _pipeline(s: Any, influx: Any, state: Any, seconds: float | None, count: int | None,
              rate: float, exchanges: tuple[str, ...], stop_storage_after_s: float | None,
              drain_timeout_s: float, live_frames: bool) -> dict[str, Any]:
    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE

    port = free_port()
    sim = f"http://127.0.0.1:{port}"
    figures: dict[str, Any] = {}
    sampler = ProcessSampler()
    live = LiveCounter(s.redis_url, state.live.pattern)
    storage_stopped = False
    with Stack() as stack:
        storage = start_worker(stack, STORAGE_QUEUE)
        sampler.add("storage", storage.pid)
        sampler.add("arbitrage", start_worker(stack, ARBITRAGE_QUEUE).pid)
        # The feeds follow the default SYMBOLS (USD and USDT pairs): simulate exactly those, so
        # USDT-only venues (Binance, OKX, Bybit) have markets too.
        sim_args = ["--port", str(port), "--exchanges", ",".join(exchanges), "--rate", str(rate),
                    "--symbols", ",".join(s.symbols)]
        if not live_frames and count is None and seconds is not None:
            per_venue = rate if rate > 0 else PREGEN_QPS / len(exchanges)
            count_to_send = int(per_venue * seconds) + 1
        else:
            count_to_send = count
        if count_to_send is not None:
            sim_args += ["--count", str(count_to_send)]
        if not live_frames:
            sim_args.append("--pregenerate")
        sampler.add("simulator", stack.start(str(BIN / "python"), "-m", "simulator",
                                             *sim_args).pid)
        wait_until(lambda: requests.get(sim + "/stats", timeout=1).ok, 30, "simulator")
        for queue in (STORAGE_QUEUE, ARBITRAGE_QUEUE):
            wait_until(lambda q=queue: consumers(q) > 0, 60, f"worker on {queue}")
        live.start()
        sampler.start()
        bases = {name: (f"ws://127.0.0.1:{port}", sim) for name in exchanges}
        for command in feed_commands(bases):
            sampler.add("feed", stack.start(*command).pid)
        # Pre-generation renders every change first (seconds for a few hundred thousand); the
        # clock starts once every venue is sending, so none is measured before it began.
        wait_until(lambda: all(emitted_by_exchange(sim).values()), 300,
                   "the first quote of every venue")
        t0 = time.monotonic()
        sampler.mark()
        target = None if count_to_send is None else count_to_send * len(exchanges)
        try:
            while True:
                now = time.monotonic() - t0
                if (stop_storage_after_s is not None and not storage_stopped
                        and now >= stop_storage_after_s):
                    os.killpg(storage.pid, signal.SIGSTOP)
                    storage_stopped = True
                if (target is not None and emitted_total(sim) >= target) or (
                        seconds is not None and now >= seconds):
                    break
                time.sleep(0.1)
            t_emitted, emitted_by = freeze_emission(sim, exchanges)
            emitted = sum(emitted_by.values())
            stored, t_stored = drain(influx, emitted, drain_timeout_s)
            sampler.stop()
            stored_by = stored_by_exchange(influx)
            wait_until(lambda: time.monotonic() - (live.last or 0.0) > 1.0, 30,
                       "a quiet live channel")
            live.stop()
            figures.update({
                "emitted": emitted,
                "offered_qps": round(emitted / (t_emitted - t0)),
                **loss_figures(emitted_by, stored, stored_by),
                "delivered_influx_qps": round(stored / (t_stored - t0)),
                "redis_quote_events": live.quotes,
                "delivered_redis_qps": (round(emitted / (live.last - t0))
                                if live.last is not None and live.last > t0 else 0),
                "drain_s": round(max(t_stored, live.last or 0) - t_emitted, 2),
                "redis_current": redis_current(influx, state) if stored == emitted else None,
                "backlog": queue_depths(s.queue_prefix),
                "processes": sampler.figures(),
                # All cores, everyone's processes: how much of the machine others took meanwhile.
                "machine_busy_pct": sampler.machine_busy_pct,
                "cores": psutil.cpu_count(),
            })
        finally:
            if storage_stopped:
                os.killpg(storage.pid, signal.SIGCONT)
        if storage_stopped and "emitted" in figures:
            # The quotes called lost must be exactly those held in the storage backlog.
            wait_until(lambda: stored_points(influx) >= figures["emitted"], drain_timeout_s,
                       "the backlog stored after resuming the storage worker")
            figures["stored_after_resume"] = stored_points(influx)
    return figures


def main() -> int:
    """`python -m bench pipeline [--seconds S | --count N] [--rate R] [--exchanges a,b]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench pipeline")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--seconds", type=float, help="emit for S seconds (default 5)")
    group.add_argument("--count", type=int, help="emit N changes per exchange instead")
    parser.add_argument("--rate", type=float, default=0,
                        help="simulator changes/s per exchange (0 = as fast as it goes)")
    parser.add_argument("--exchanges", type=exchange_list, default=None,
                        help="comma-separated venues (default: every registered venue)")
    parser.add_argument("--per-quote", type=int, default=3000,
                        help="quotes in baseline (a), one task per quote and path (10 s at most)")
    parser.add_argument("--noop", type=int, default=100_000,
                        help="quotes in baseline (c), 500-row no-op batches")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--live-frames", action="store_true",
                        help="the simulator renders frames as it sends them (not pre-generated)")
    parser.add_argument("--stop-storage-after", type=float, metavar="S",
                        help="SIGSTOP the storage worker S s into the run (loss accounting)")
    add_feed_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    apply_feed_options(args)
    seconds = 5.0 if args.seconds is None and args.count is None else args.seconds
    figures = run(seconds, args.count, args.rate, args.exchanges,
                  baselines=not args.no_baselines, per_quote=args.per_quote, noop=args.noop,
                  stop_storage_after_s=args.stop_storage_after, live_frames=args.live_frames)
    print_figures(figures, args.json)
    if not args.json and "by_exchange" in figures:
        print_loss_table(figures["by_exchange"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
