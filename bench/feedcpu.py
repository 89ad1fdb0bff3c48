"""Feed CPU per quote: feed processes against the simulator at a fixed rate, layouts compared.

`python -m bench feedcpu [--seconds S] [--rate 625] [--exchanges a,b,...] [--layouts ...] [--json]`

One simulator serves every venue at `--rate` changes/s each (rendered live); the feed processes
publish to a real RabbitMQ under a throwaway queue prefix, and a consumer in this process drains
(and at the end deletes) the queues. Each layout runs in turn against the same simulator, so the
layouts are each other's same-run baseline:

- `threads`: one process per venue, websocket-client on a thread per connection (`--io threads`,
  the feed worker as it was);
- `separate`: one process per venue, the selector loop (`--io loop`, the default);
- `grouped`: one process for all venues (or `--groups "a,b;c,d"`), the selector loop.

Figures per layout: CPU µs per quote = user + system CPU seconds of the feed processes (psutil)
over the window ÷ quotes they published (their status hashes' `quotes`), the offered quote rate,
and RSS per process (peak over the window) and per venue.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from typing import Any

from bench.stack import BIN, ROOT, free_port, isolate, print_figures, wait_until
from core.config import DEFAULT_SYMBOLS
from workers.exchanges import known_exchanges

VENUES = tuple(known_exchanges())  # the default deployment: every venue
SYMBOLS = DEFAULT_SYMBOLS  # the default deployment's
LAYOUTS = ("threads", "separate", "grouped")
WARMUP_S = 2.0  # after every venue reported quotes: connections and batching settle
TARGET_US = 40.0
TARGET_RSS_MB = 60.0


def _groups(layout: str, venues: list[str], groups: str | None) -> list[list[str]]:
    """The venues of each feed process in `layout`."""
    if layout != "grouped":
        return [[v] for v in venues]
    if groups:
        return [[v for v in g.split(",") if v] for g in groups.split(";") if g.strip(",")]
    return [list(venues)]


def _drain(stop: threading.Event, ready: threading.Event) -> None:
    """Consume (and drop) every message on this run's storage and arbitrage queues."""
    from kombu import Connection, Consumer

    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE, task_queues
    from core.config import get_settings

    queues = [q for q in task_queues if q.name in (ARBITRAGE_QUEUE, STORAGE_QUEUE)]
    with Connection(get_settings().broker_url) as conn:
        channel = conn.channel()
        with Consumer(channel, queues=queues, no_ack=True, callbacks=[lambda body, msg: None],
                      accept=["msgpack", "json"]):
            ready.set()
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    continue
                except Exception:  # noqa: BLE001  (a timeout spelled another way)
                    continue


def _delete_queues() -> None:
    from kombu import Connection

    from celeryconfig import task_queues
    from core.config import get_settings

    with Connection(get_settings().broker_url) as conn:
        for queue in task_queues:
            try:
                conn.default_channel.queue_delete(queue.name)
            except Exception:  # noqa: BLE001  (never declared)
                pass


def _cpu(procs: list[Any]) -> float:
    total = 0.0
    for proc in procs:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def _quotes(state: Any, venues: list[str]) -> int:
    return sum(int(state.feed_status(v).get("quotes") or 0) for v in venues)


def _emitted(sim: str, venues: list[str]) -> int:
    import requests

    stats = requests.get(sim + "/stats", timeout=5).json()["emitted"]
    return sum(sum(stats.get(v, {}).values()) for v in venues)


def measure(layout: str, venues: list[str], sim_port: int, seconds: float,
            groups: str | None, key_prefix: str) -> dict[str, Any]:
    """Run one layout's feed processes and measure them over `seconds`."""
    import psutil

    from core.config import get_settings
    from core.state import RedisState

    state = RedisState.from_url(get_settings().redis_url, key_prefix)
    env = {**os.environ, "KEY_PREFIX": key_prefix, "PATH": f"{BIN}:{os.environ['PATH']}"}
    sim = f"http://127.0.0.1:{sim_port}"
    io = ["--io", "threads"] if layout == "threads" else []
    popens: list[subprocess.Popen[bytes]] = []
    try:
        for group in _groups(layout, venues, groups):
            popens.append(subprocess.Popen(
                [str(BIN / "python"), "-m", "workers", ",".join(group), *io,
                 "--ws-url", f"ws://127.0.0.1:{sim_port}/{{exchange}}" if len(group) > 1
                 else f"ws://127.0.0.1:{sim_port}/{group[0]}",
                 "--rest-url", f"{sim}/{{exchange}}" if len(group) > 1 else f"{sim}/{group[0]}"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(lambda: all(int(state.feed_status(v).get("quotes") or 0) > 0 for v in venues),
                   180, f"quotes from every venue ({layout})")
        time.sleep(WARMUP_S)
        procs = [psutil.Process(p.pid) for p in popens]
        cpu0, quotes0, emitted0, t0 = (_cpu(procs), _quotes(state, venues),
                                       _emitted(sim, venues), time.monotonic())
        peak = [0] * len(procs)
        while time.monotonic() - t0 < seconds:
            time.sleep(min(1.0, max(0.0, seconds - (time.monotonic() - t0))))
            peak = [max(m, p.memory_info().rss) for m, p in zip(peak, procs, strict=True)]
        cpu1, quotes1, emitted1, t1 = (_cpu(procs), _quotes(state, venues),
                                       _emitted(sim, venues), time.monotonic())
        alive = all(p.poll() is None for p in popens)
    finally:
        for popen in popens:
            popen.terminate()
        for popen in popens:
            try:
                popen.wait(20)
            except subprocess.TimeoutExpired:
                popen.kill()
        state.clear()
    quotes = max(1, quotes1 - quotes0)
    rss_mb = [round(m / 2**20, 1) for m in peak]
    return {
        "processes": len(popens),
        "quotes": quotes1 - quotes0,
        "offered_qps_per_venue": round((emitted1 - emitted0) / (t1 - t0) / len(venues), 1),
        "cpu_s": round(cpu1 - cpu0, 3),
        "cpu_us_per_quote": round(1e6 * (cpu1 - cpu0) / quotes, 1),
        "cpu_pct_of_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
        "rss_mb_per_process": rss_mb,
        "rss_mb_per_venue": round(sum(rss_mb) / len(venues), 1),
        "all_alive": alive,
    }


def run(seconds: float, rate: float, venues: list[str], layouts: list[str],
        groups: str | None = None) -> dict[str, Any]:
    """Start the simulator and the drain, then measure each layout in turn."""
    import requests

    from core.config import get_settings, reset_settings

    run_id = isolate()
    reset_settings()
    figures: dict[str, Any] = {"seconds": seconds, "rate_per_venue": rate,
                               "venues": ",".join(venues)}
    port = free_port()
    stop, ready = threading.Event(), threading.Event()
    drain = threading.Thread(target=_drain, args=(stop, ready), daemon=True)
    sim = subprocess.Popen(
        [str(BIN / "python"), "-m", "simulator", "--port", str(port), "--exchanges",
         ",".join(venues), "--symbols", SYMBOLS, "--rate", str(rate)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/stats", timeout=1).ok, 30,
                   "the simulator")
        drain.start()
        wait_until(ready.is_set, 30, "the queue drain")
        for layout in layouts:
            result = measure(layout, venues, port, seconds, groups,
                             f"{get_settings().key_prefix}{layout}:")
            figures.update({f"{layout}_{k}": v for k, v in result.items()})
        best = min(figures[f"{lay}_cpu_us_per_quote"] for lay in layouts)
        figures["target_cpu_met"] = best <= TARGET_US
        figures["target_rss_met"] = all(
            figures[f"{lay}_rss_mb_per_venue"] <= TARGET_RSS_MB for lay in layouts
            if lay != "threads")
    finally:
        stop.set()
        sim.terminate()
        sim.wait(20)
        drain.join(5)
        _delete_queues()
    figures["run"] = run_id
    return figures


def main() -> int:
    """`python -m bench feedcpu [--seconds S] [--rate R] [--exchanges ...] [--json]`."""
    parser = argparse.ArgumentParser(prog="python -m bench feedcpu")
    parser.add_argument("--seconds", type=float, default=20, help="window per layout")
    parser.add_argument("--rate", type=float, default=625, help="changes/s per venue")
    parser.add_argument("--exchanges", default=",".join(VENUES))
    parser.add_argument("--layouts", default=",".join(LAYOUTS),
                        help=f"comma-separated, from {','.join(LAYOUTS)}")
    parser.add_argument("--groups", help='for `grouped`: "a,b;c,d" (default: all in one)')
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    venues = [v.strip() for v in args.exchanges.split(",") if v.strip()]
    layouts = [lay for lay in args.layouts.split(",") if lay]
    if not set(layouts) <= set(LAYOUTS) or not venues:
        parser.error(f"layouts are {', '.join(LAYOUTS)}")
    print_figures(run(args.seconds, args.rate, venues, layouts, args.groups), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
