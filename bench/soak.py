"""Soak: the whole stack for minutes at a steady rate — loss, memory over time, queue backlog.

`python -m bench soak [--seconds 600] [--rate 5000] [--exchanges ...] [--sample-s 10] [--json]`

The simulator offers `--rate` quotes/s in total, spread over the venues (eight by default, four
symbols), rendering frames live as a real feed arrives; one feed worker per venue, the storage
and arbitrage workers with the Procfile's pools, the web app with one `/ws` client reading
everything. Every `--sample-s` seconds it records each process's RSS (Celery pool children
summed into their worker) and the run's queue depths. At the end the venues are silenced, the
pipeline drains, and the simulator's counts are checked against the points in InfluxDB.

Memory is judged after a one-minute warm-up (caches and pools fill first): per role the RSS
then and at the end, the peak, and the least-squares slope over the rest of the run in MB per
minute. Baseline in the same run: the same figures for the shared services (RabbitMQ, Redis,
InfluxDB), which the pipeline does not own but loads.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psutil
import requests

from bench.cli import load_parser
from bench.delivery import drain, emitted_total, freeze_emission, loss_figures, stored_by_exchange
from bench.processes import SERVICES
from bench.queues import consumers, delete_queues, queue_depths, start_worker
from bench.sampling import Sampler
from bench.stack import BIN, Stack, free_port, isolate, print_figures, wait_until
from core.config import DEFAULT_SYMBOLS
from workers.exchanges import known_exchanges

EVERY_VENUE = ",".join(known_exchanges())  # the default deployment
SYMBOLS = DEFAULT_SYMBOLS  # the default deployment's
WARMUP_S = 60.0  # memory is judged from here on
FLAT_MB_PER_MIN = 1.0  # a slope below this over the run is "flat"


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return 60.0 * cov / var


class MemoryTimeline(Sampler):
    """RSS per role and queue depths every `every_s` seconds."""

    def __init__(self, every_s: float, queue_prefix: str) -> None:
        super().__init__("memory-timeline", every_s)
        self.queue_prefix = queue_prefix
        self.roles: dict[str, list[int]] = {}
        self.services = {p.pid: SERVICES[p.info["name"]]
                         for p in psutil.process_iter(["name"]) if p.info["name"] in SERVICES}
        self.rss: dict[str, list[tuple[float, float]]] = {}  # "role" or "role:pid" → (s, MB)
        self.backlog: list[tuple[float, int]] = []  # (s, messages ready + unacked)

    def add(self, role: str, pid: int) -> None:
        """Follow `pid` (and its children) as one process of `role`."""
        self.roles.setdefault(role, []).append(pid)

    def sample(self) -> None:
        """One sample of every followed process and of the run's queues."""
        t = time.monotonic() - self.t0
        followed = [(f"{role}:{pid}", pid, True) for role, pids in self.roles.items()
                    for pid in pids]
        followed += [(role, pid, False) for pid, role in self.services.items()]
        for key, pid, with_children in followed:
            try:
                proc = psutil.Process(pid)
                mem = proc.memory_info().rss
                if with_children:
                    mem += sum(c.memory_info().rss for c in proc.children(recursive=True))
            except psutil.Error:
                continue
            self.rss.setdefault(key, []).append((t, mem / 2**20))
        depths = queue_depths(self.queue_prefix)
        self.backlog.append((t, sum(d["ready"] + d["unacked"] for d in depths.values())))


    def figures(self, warmup_s: float) -> dict[str, Any]:
        """Per process: RSS after warm-up, at the end, peak, slope; the backlog's peak and end."""
        memory: dict[str, dict[str, float | None]] = {}
        for key, points in sorted(self.rss.items()):
            after = [p for p in points if p[0] >= warmup_s] or points[-1:]
            slope = slope_per_min(after)
            memory[key] = {
                "rss_after_warmup_mb": round(after[0][1], 1),
                "rss_end_mb": round(points[-1][1], 1),
                "rss_peak_mb": round(max(v for _, v in points), 1),
                "slope_mb_per_min": None if slope is None else round(slope, 3),
            }
        own = {k: v for k, v in memory.items() if k not in SERVICES.values()}
        slopes = [v["slope_mb_per_min"] for v in own.values() if v["slope_mb_per_min"] is not None]
        backlog = [b for _, b in self.backlog]
        return {
            "memory": memory,
            "max_slope_mb_per_min": max(slopes) if slopes else None,
            "memory_flat": bool(slopes) and max(abs(s) for s in slopes) < FLAT_MB_PER_MIN,
            "backlog_max": max(backlog, default=0),
            "backlog_end": backlog[-1] if backlog else None,
            "samples": len(self.backlog),
        }


def ws_reader(url: str, stop: threading.Event, counts: dict[str, int]) -> None:
    """A `/ws` client reading every event until `stop` (the web app is part of the soak)."""
    import websocket

    ws = websocket.create_connection(url, timeout=5)
    ws.send('{"coalesce": false}')
    ws.settimeout(1.0)
    while not stop.is_set():
        try:
            ws.recv()
            counts["events"] = counts.get("events", 0) + 1
        except websocket.WebSocketTimeoutException:
            continue
        except (websocket.WebSocketException, OSError):
            counts["errors"] = counts.get("errors", 0) + 1
            break
    ws.close()


def run(seconds: float, rate: float, exchanges: tuple[str, ...], symbols: str,
        sample_s: float, warmup_s: float = WARMUP_S, drain_timeout_s: float = 120.0,
        ) -> dict[str, Any]:
    """The soak; its figures."""
    isolate()
    from celeryconfig import ALERTS_QUEUE, ARBITRAGE_QUEUE, REPORTS_QUEUE, STORAGE_QUEUE
    from core.config import get_settings
    from core.influx import InfluxDB
    from core.state import RedisState

    s = get_settings()
    influx = InfluxDB(s.influxdb_url, s.influxdb_db)
    influx.ensure_database()
    state = RedisState.from_url(s.redis_url, s.key_prefix)
    per_venue = rate / len(exchanges)
    figures: dict[str, Any] = {"seconds": seconds, "offered_qps": rate,
                               "exchanges": ",".join(exchanges), "symbols": symbols}
    timeline = MemoryTimeline(sample_s, s.queue_prefix)
    sim_port, web_port = free_port(), free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    stop_ws = threading.Event()
    ws_counts: dict[str, int] = {}
    try:
        with Stack() as stack:
            for queue in (STORAGE_QUEUE, ARBITRAGE_QUEUE):
                timeline.add(queue.rsplit(".", 1)[-1], start_worker(stack, queue).pid)
            timeline.add("simulator", stack.start(
                str(BIN / "python"), "-m", "simulator", "--port", str(sim_port), "--exchanges",
                ",".join(exchanges), "--symbols", symbols, "--rate", str(per_venue)).pid)
            timeline.add("web", stack.start(
                str(BIN / "gunicorn"), "-c", "web/gunicorn_conf.py", "web:create_app()",
                "--bind", f"127.0.0.1:{web_port}").pid)
            wait_until(lambda: requests.get(sim + "/stats", timeout=1).ok, 30, "simulator")
            wait_until(lambda: requests.get(f"http://127.0.0.1:{web_port}/healthz", timeout=2)
                       .status_code in (200, 503), 30, "the web app")
            for queue in (STORAGE_QUEUE, ARBITRAGE_QUEUE):
                wait_until(lambda q=queue: consumers(q) > 0, 60, f"worker on {queue}")
            reader = threading.Thread(target=ws_reader, daemon=True, args=(
                f"ws://127.0.0.1:{web_port}/ws", stop_ws, ws_counts))
            reader.start()
            for name in exchanges:
                timeline.add(f"feed-{name}", stack.start(
                    str(BIN / "python"), "-m", "workers", name, "--ws-url",
                    f"ws://127.0.0.1:{sim_port}/{name}", "--rest-url", f"{sim}/{name}").pid)
            wait_until(lambda: emitted_total(sim) > 0, 60, "the first quote")
            t0 = time.monotonic()
            timeline.t0 = t0
            timeline.start()
            time.sleep(seconds)
            t_end, emitted_by = freeze_emission(sim, exchanges)  # the ground truth
            emitted = sum(emitted_by.values())
            stored, _ = drain(influx, emitted, drain_timeout_s)
            drain_s = time.monotonic() - t_end
            timeline.stop()
            stop_ws.set()
            reader.join(5)
            stored_by = stored_by_exchange(influx)
            figures.update({
                "emitted": emitted,
                "delivered_qps": round(emitted / (t_end - t0)),
                **loss_figures(emitted_by, stored, stored_by),
                "drain_s": round(drain_s, 1),
                "ws_events": ws_counts.get("events", 0),
                "ws_errors": ws_counts.get("errors", 0),
                "all_alive": all(p.poll() is None for p in stack.procs),
                **timeline.figures(warmup_s),
            })
    finally:
        stop_ws.set()
        state.clear()
        influx.drop_database()
        delete_queues([STORAGE_QUEUE, ARBITRAGE_QUEUE, REPORTS_QUEUE, ALERTS_QUEUE])
    return figures


def main() -> int:
    """`python -m bench soak [--seconds 600] [--rate 5000] [--exchanges ...] [--json]`."""
    parser = load_parser("soak", 600.0, "how long the load runs", 5000.0,
                         "quotes/s offered in total, spread over the venues")
    parser.add_argument("--exchanges", default=EVERY_VENUE)
    parser.add_argument("--symbols", default=SYMBOLS)
    parser.add_argument("--sample-s", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=WARMUP_S,
                        help="seconds before memory is judged (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = run(args.seconds, args.rate, tuple(args.exchanges.split(",")), args.symbols,
                  args.sample_s, args.warmup)
    print_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
