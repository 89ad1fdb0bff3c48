"""Latency, hop by hop: simulator emission → `/ws` client (uncoalesced), under background load.

`python -m bench latency [--seconds S] [--rate R] [--json]`

The stack is the real one: simulators serving eight venues × four symbols (the six background
venues from pre-generated frames, the two probe venues rendered live), one feed worker per
venue, one arbitrage and one storage Celery worker (the Procfile's pools), one gunicorn
web process, and a websocket client on `/ws` that sent `{"coalesce": false, "trace": true}` (so
the hub's 200 ms per-key window does not hide the path's own latency, and each event carries the
hub's send stamp). `--rate` is the total quotes/s
offered by the simulator, spread evenly over the venues (its `--rate` is per exchange).

Latency of a quote = client receive wall time − the quote's `ts_exchange_ns`. The probe venues
are Coinbase (`l2update`/`ticker` `time`) and Kraken (ticker `timestamp`): the simulator stamps
each change with the wall clock in µs when it builds the frame, immediately before sending it,
and these two venues carry that stamp at µs resolution (OKX and Bybit carry it in ms, nudged
1 ms past the previous change, which would add up to a millisecond of error), so no side channel
is needed. Their quotes are part of the background load, not extra traffic.

Baseline in the same run: a plain Redis subscriber on the live channel, in a process of its own,
takes the same measurement on the same quotes with no web hop. Matching each quote at both
receivers splits its path into simulator → feed worker (`ts_received_ns − ts_exchange_ns`),
feed worker → Redis pub/sub (the 20 ms arbitrage batcher window, Celery publish, RabbitMQ,
the prefork task and the Redis publish) and Redis → `/ws` (the web hop).

Hop by hop (`bench.hops`): every quote event carries the path's stamps in `trace` (batch
publish, task start, Redis publish, and for this client the hub's socket write), so the table
splits each quote's latency at every hop, with the mean of each hop over the slowest 1 %.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from typing import Any

from bench.cli import add_feed_options, apply_feed_options, load_parser
from bench.collectors import PROBE_VENUES, redis_collector, ws_collector
from bench.delivery import emitted_total
from bench.hops import Sample, format_table, hop_table, percentiles
from bench.processes import cpu_seconds, machine_cpu, role_cpu
from bench.queues import backlog, delete_queues, start_worker
from bench.stack import BIN, Stack, feed_commands, free_port, isolate, print_figures, wait_until
from core.config import DEFAULT_SYMBOLS
from workers.exchanges import known_exchanges

VENUES = tuple(known_exchanges())  # the default deployment: every venue
SYMBOLS = DEFAULT_SYMBOLS  # the default deployment's
QUEUES = ("storage", "arbitrage", "reports", "alerts")  # celeryconfig's, after the prefix
TARGET_P50_MS = 25.0
TARGET_P99_MS = 60.0
WARMUP_S = 1.5  # after the first probe quote reaches the client: workers and hub settle
PREGEN_MARGIN_S = 90.0  # background changes rendered beyond the window: startup and drain
DRAIN_TIMEOUT_S = 30.0  # a backlog behind the window drains before the figures are taken

def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _median_ms(values_ns: list[int]) -> float | None:
    return percentiles(values_ns)["p50_ms"]


def _tasks_run(state: Any) -> int:
    """`ingest_quotes` runs so far, from the workers' task metrics in Redis."""
    raw = state.task_metrics.read().get("count|tasks.arbitrage.ingest_quotes")
    return int(raw or 0)


def summarize(ws: list[Sample], base: list[Sample], window: tuple[int, int],
              seconds: float) -> dict[str, Any]:
    """Percentiles at both receivers for quotes emitted inside `window`, and the stage split."""
    lo, hi = window
    ws = [s for s in ws if lo <= s[2] < hi]
    base = [s for s in base if lo <= s[2] < hi]
    figures: dict[str, Any] = {"samples": len(ws), "samples_per_s": round(len(ws) / seconds, 1)}
    figures.update(percentiles([s[4] - s[2] for s in ws]))
    figures["baseline_samples"] = len(base)
    figures.update(percentiles([s[4] - s[2] for s in base], "baseline_"))
    for q in ("p50", "p90", "p99"):
        figures[f"ratio_{q}"] = _ratio(figures[f"{q}_ms"], figures[f"baseline_{q}_ms"])
    at_redis = {s[:4]: s[4] for s in base}
    matched = [(s, at_redis[s[:4]]) for s in ws if s[:4] in at_redis]
    figures["matched"] = len(matched)
    figures["stage_sim_to_feed_p50_ms"] = _median_ms([s[3] - s[2] for s in base])
    figures["stage_feed_to_redis_p50_ms"] = _median_ms([s[4] - s[3] for s in base])
    figures["stage_redis_to_ws_p50_ms"] = _median_ms([s[4] - r for s, r in matched])
    figures["stage_redis_to_ws_p99_ms"] = percentiles([s[4] - r for s, r in matched])["p99_ms"]
    figures["hops"] = hop_table(ws, base)
    return figures


def run(seconds: float = 10, background_rate: float = 5000,
        venues: tuple[str, ...] = VENUES, symbols: str = SYMBOLS) -> dict[str, Any]:
    """Start the stack, measure for `seconds` at `background_rate` quotes/s offered in total;
    the caller's prefixes are restored afterwards, so a test session can call it in-process."""
    from core.config import reset_settings

    saved = {k: os.environ.get(k) for k in ("KEY_PREFIX", "QUEUE_PREFIX", "INFLUXDB_DB")}
    isolate()
    reset_settings()
    try:
        return _run(seconds, background_rate, venues, symbols)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()


def _run(seconds: float, background_rate: float, venues: tuple[str, ...],
         symbols: str) -> dict[str, Any]:
    """The measurement itself, under this run's own prefixes."""
    import requests

    from core.config import get_settings
    from core.influx import InfluxDB
    from core.state import RedisState

    s = get_settings()
    # celeryconfig may already be imported under the caller's prefix: name the queues here.
    queues = {name: f"{s.queue_prefix}{name}" for name in QUEUES}
    influx = InfluxDB(s.influxdb_url, s.influxdb_db)
    influx.ensure_database()
    state = RedisState.from_url(s.redis_url, s.key_prefix)
    per_venue = background_rate / len(venues)
    figures: dict[str, Any] = {
        "seconds": seconds, "venues": len(venues), "symbols": len(symbols.split(",")),
        "probe_venues": ",".join(PROBE_VENUES), "offered_qps": round(per_venue * len(venues)),
        "simulator_rate_per_venue": round(per_venue, 2),
    }
    # Two simulators: the probe venues render live (their frames carry the send time), the
    # background venues send pre-generated frames, so the load generator takes little CPU.
    probe_port, load_port, web_port = free_port(), free_port(), free_port()
    probe_sim, load_sim = f"http://127.0.0.1:{probe_port}", f"http://127.0.0.1:{load_port}"
    background = [v for v in venues if v not in PROBE_VENUES]
    port_of = {v: probe_port if v in PROBE_VENUES else load_port for v in venues}
    budget = int(per_venue * (seconds + WARMUP_S + PREGEN_MARGIN_S)) + 1
    sims = [probe_sim] + ([load_sim] if background else [])
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    ws_ready, redis_ready = ctx.Event(), ctx.Event()
    seen = ctx.Value("q", 0)
    ws_out, redis_out = ctx.Queue(), ctx.Queue()
    collectors: list[Any] = []
    try:
        with Stack() as stack:
            roles: dict[str, list[int]] = {}
            for role in ("storage", "arbitrage"):
                queue = queues[role]
                roles[role] = [start_worker(stack, queue).pid]
            roles["simulators"] = [stack.start(
                str(BIN / "python"), "-m", "simulator", "--port", str(probe_port),
                        "--exchanges", ",".join(v for v in venues if v in PROBE_VENUES),
                        "--symbols", symbols, "--rate", str(per_venue)).pid]
            if background:
                roles["simulators"].append(stack.start(
                    str(BIN / "python"), "-m", "simulator", "--port", str(load_port),
                    "--exchanges", ",".join(background), "--symbols", symbols,
                    "--rate", str(per_venue), "--count", str(budget), "--pregenerate").pid)
            roles["web"] = [stack.start(
                str(BIN / "gunicorn"), "web:create_app()", "--bind", f"127.0.0.1:{web_port}",
                "--worker-class", "gthread", "--workers", "1", "--threads", "16").pid]
            for sim in sims:
                wait_until(lambda sim=sim: requests.get(sim + "/stats", timeout=1).ok, 30,
                           "simulator")
            wait_until(lambda: requests.get(f"http://127.0.0.1:{web_port}/healthz", timeout=2)
                       .status_code in (200, 503), 30, "the web app")
            collectors = [
                ctx.Process(target=ws_collector, daemon=True,
                            args=(f"ws://127.0.0.1:{web_port}/ws", ws_ready, seen, stop, ws_out)),
                ctx.Process(target=redis_collector, daemon=True,
                            args=(s.redis_url, state.live.pattern, redis_ready, stop, redis_out)),
            ]
            for proc in collectors:
                proc.start()
            wait_until(lambda: ws_ready.is_set() and redis_ready.is_set(), 30, "the receivers")
            time.sleep(2.0)  # the Celery workers finish starting
            bases = {name: (f"ws://127.0.0.1:{port_of[name]}",
                            f"http://127.0.0.1:{port_of[name]}") for name in venues}
            feeds = [stack.start(*command).pid for command in feed_commands(bases)]
            wait_until(lambda: seen.value > 0, 60, "the first probe quote at the /ws client")
            if background:  # the background load flows once its frames are rendered
                wait_until(lambda: emitted_total(load_sim, 5) > 0, 300, "the background load")
            time.sleep(WARMUP_S)
            backlog0 = backlog(queues["arbitrage"])
            feed_cpu0 = cpu_seconds(feeds)
            roles["feeds"] = feeds
            role_cpu0, machine0 = role_cpu(roles), machine_cpu()
            tasks0 = _tasks_run(state)
            emitted0, t0 = sum(emitted_total(sim, 5) for sim in sims), time.time_ns()
            time.sleep(seconds)
            emitted1, t1 = sum(emitted_total(sim, 5) for sim in sims), time.time_ns()
            figures["emitted_qps"] = round((emitted1 - emitted0) / ((t1 - t0) / 1e9))
            # CPU time, not wall time: comparable across runs however busy the machine is.
            figures["feed_cpu_us_per_quote"] = round(
                1e6 * (cpu_seconds(feeds) - feed_cpu0) / max(1, emitted1 - emitted0), 1)
            # Who had the two cores: each role's share of one core, and the whole machine's
            # busy fraction (other work on the box included), over the window.
            wall = (t1 - t0) / 1e9
            role_cpu1, machine1 = role_cpu(roles), machine_cpu()
            for role, cpu in role_cpu1.items():
                figures[f"cpu_pct_{role}"] = round(100 * (cpu - role_cpu0[role]) / wall, 1)
            figures["cpu_pct_machine"] = round(100 * (machine1[0] - machine0[0])
                                               / max(1e-9, machine1[1] - machine0[1]), 1)
            figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
            tasks = _tasks_run(state) - tasks0  # metrics are written every 0.5 s: close enough
            figures["arbitrage_tasks_per_s"] = round(tasks / wall, 1)
            figures["arbitrage_cpu_us_per_task"] = round(
                1e6 * (role_cpu1["arbitrage"] - role_cpu0["arbitrage"]) / max(1, tasks), 1)
            figures["arbitrage_backlog_start"] = backlog0
            figures["arbitrage_backlog_end"] = backlog(queues["arbitrage"])
            # The path is FIFO: once a quote emitted after the window arrives, so has the rest.
            drained = time.monotonic()
            while seen.value < t1 and time.monotonic() - drained < DRAIN_TIMEOUT_S:
                time.sleep(0.05)
            figures["drained"] = seen.value >= t1  # False: late quotes are missing, not slow
            figures["drain_s"] = round(time.monotonic() - drained, 2)
            stop.set()
            (ws_samples, closed_early), redis_samples = (ws_out.get(timeout=30),
                                                         redis_out.get(timeout=30))
            figures["ws_closed_early"] = closed_early
            for proc in collectors:
                proc.join(10)
    finally:
        stop.set()
        for proc in collectors:
            if proc.is_alive():
                proc.terminate()
        state.clear()
        influx.drop_database()
        with contextlib.suppress(Exception):  # cleanup: the figures are taken already
            delete_queues(list(queues.values()))
    figures.update(summarize(ws_samples, redis_samples, (t0, t1), (t1 - t0) / 1e9))
    p50, p99 = figures["p50_ms"], figures["p99_ms"]
    figures["target_p50_met"] = p50 is not None and p50 <= TARGET_P50_MS
    figures["target_p99_met"] = p99 is not None and p99 <= TARGET_P99_MS
    return figures


def main() -> int:
    """`python -m bench latency [--seconds S] [--rate R] [--json]`."""
    parser = load_parser("latency", 10, "measurement window", 5000,
                         "background quotes/s offered in total (spread over the venues)")
    add_feed_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    apply_feed_options(args)
    figures = run(args.seconds, args.rate)
    if args.json:
        print_figures(figures, True)
        return 0
    print(format_table(figures.pop("hops")))
    print()
    print_figures(figures, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
