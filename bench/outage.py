"""Outage: InfluxDB stopped for minutes under load — storage worker memory, backlog, loss.

`python -m bench outage [--outage-s 600] [--rate 2000] [--exchanges ...] [--json]`

The whole pipeline (simulator offering `--rate` quotes/s over the venues, one feed worker per
venue, the storage and arbitrage workers with the Procfile's pools) writes to an InfluxDB of the
benchmark's own, on free ports (tests/support/influx_server.py: the shared one stays untouched).
After `--warmup-s` that InfluxDB is stopped for `--outage-s`, then started again; the load goes on
for `--after-s`, then the venues are silenced and the pipeline drains. Every `--sample-s` from
the stop to the end: the storage worker's RSS (pool children summed in) and its queue's ready
and unacknowledged messages. Printed: RSS first (at the stop), max and last; the backlog's
peak in RabbitMQ and the most the worker held unacknowledged; emitted against stored; how
long the backlog took to drain (no message waiting) once InfluxDB was back; dead letters.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.delivery import drain, emitted_total, freeze_emission, loss_figures, stored_by_exchange
from bench.queues import consumers, delete_queues, queue_depths, start_worker
from bench.sampling import Sampler
from bench.soak import EVERY_VENUE, SYMBOLS
from bench.stack import BIN, Stack, free_port, isolate, print_figures, wait_until


class StorageSampler(Sampler):
    """The storage worker's RSS and its queue's depths every `every_s` seconds."""

    def __init__(self, pid: int, queue_prefix: str, every_s: float) -> None:
        super().__init__("outage-sampler", every_s)
        self.pid = pid
        self.queue_prefix = queue_prefix
        self.samples: list[dict[str, float]] = []  # t, rss_mb, ready, unacked

    def sample(self) -> None:
        """One sample (a process or a queue that cannot be read is left out of it)."""
        point: dict[str, float] = {"t": round(time.monotonic() - self.t0, 1)}
        try:
            main = psutil.Process(self.pid)
            rss = sum(p.memory_info().rss for p in [main, *main.children(recursive=True)])
            point["rss_mb"] = rss / 2**20
        except psutil.Error:
            pass
        depth = queue_depths(self.queue_prefix).get("storage")
        if depth is not None:
            point.update(depth)
        self.samples.append(point)


    def series(self, key: str, since: float = 0.0) -> list[float]:
        return [s[key] for s in self.samples if key in s and s["t"] >= since]


def _dead(queue: str) -> int:
    """Messages in the dead queue (0 when nothing was ever dead-lettered)."""
    from kombu import Connection

    from core.config import get_settings

    with Connection(get_settings().broker_url) as conn:
        try:
            return int(conn.channel().queue_declare(queue, passive=True).message_count)
        except conn.channel_errors:
            return 0


def _delete_exchange(name: str) -> None:
    """Remove the run's exchange too (durable: it would outlive the run)."""
    from kombu import Connection

    from core.config import get_settings

    with Connection(get_settings().broker_url) as conn:
        conn.channel().exchange_delete(name)


def run(outage_s: float, rate: float, exchanges: tuple[str, ...], symbols: str,
        warmup_s: float, after_s: float, sample_s: float, drain_timeout_s: float = 300.0,
        ) -> dict[str, Any]:
    """The outage benchmark; its figures."""
    isolate()
    from tests.support.influx_server import InfluxServer

    root = Path(tempfile.mkdtemp(prefix="ctbench-influx-"))
    server = InfluxServer(root)
    server.start()
    os.environ["INFLUXDB_URL"] = server.url  # every process of the stack writes to it
    from celeryconfig import (
        ALERTS_QUEUE,
        ARBITRAGE_QUEUE,
        DEAD_QUEUE,
        REPORTS_QUEUE,
        STORAGE_QUEUE,
    )
    from core.config import get_settings, reset_settings
    from core.influx import InfluxDB
    from core.state import RedisState

    reset_settings()
    s = get_settings()
    influx = InfluxDB(server.url, s.influxdb_db)
    influx.ensure_database()
    state = RedisState.from_url(s.redis_url, s.key_prefix)
    figures: dict[str, Any] = {"outage_s": outage_s, "offered_qps": rate,
                               "exchanges": ",".join(exchanges)}
    sim_port = free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    try:
        with Stack() as stack:
            storage = start_worker(stack, STORAGE_QUEUE)
            start_worker(stack, ARBITRAGE_QUEUE)
            stack.start(str(BIN / "python"), "-m", "simulator", "--port", str(sim_port),
                        "--exchanges", ",".join(exchanges), "--symbols", symbols,
                        "--rate", str(rate / len(exchanges)))
            wait_until(lambda: requests.get(sim + "/stats", timeout=1).ok, 30, "simulator")
            for queue in (STORAGE_QUEUE, ARBITRAGE_QUEUE):
                wait_until(lambda q=queue: consumers(q) > 0, 60, f"worker on {queue}")
            for name in exchanges:
                stack.start(str(BIN / "python"), "-m", "workers", name, "--ws-url",
                            f"ws://127.0.0.1:{sim_port}/{name}", "--rest-url", f"{sim}/{name}")
            wait_until(lambda: emitted_total(sim) > 0, 60, "the first quote")
            t_first = time.monotonic()
            time.sleep(warmup_s)
            sampler = StorageSampler(storage.pid, s.queue_prefix, sample_s)
            server.stop()
            sampler.start()
            time.sleep(outage_s)
            server.start()
            t_up = time.monotonic() - sampler.t0
            time.sleep(after_s)
            t_end, emitted_by = freeze_emission(sim, exchanges)
            emitted = sum(emitted_by.values())
            stored, _ = drain(influx, emitted, drain_timeout_s)
            sampler.stop()
            rss = sampler.series("rss_mb")
            ready = sampler.series("ready")
            after = [x for x in sampler.samples if x["t"] >= t_up and "ready" in x]
            drained = next((x["t"] - t_up for x in after if x["ready"] == 0), None)
            figures.update({
                "emitted": emitted,
                "delivered_qps": round(emitted / (t_end - t_first)),
                **loss_figures(emitted_by, stored, stored_by_exchange(influx)),
                "rss_first_mb": round(rss[0], 1) if rss else None,
                "rss_max_mb": round(max(rss), 1) if rss else None,
                "rss_last_mb": round(rss[-1], 1) if rss else None,
                "rss_growth_mb": round(max(rss) - rss[0], 1) if rss else None,
                "backlog_peak_messages": max(ready, default=None),
                "unacked_peak_messages": max(sampler.series("unacked"), default=None),
                "backlog_drained_s_after_up": None if drained is None else round(drained, 1),
                "dead_lettered": _dead(DEAD_QUEUE),
                "all_alive": all(p.poll() is None for p in stack.procs),
                "samples": len(sampler.samples),
            })
    finally:
        state.clear()
        delete_queues([STORAGE_QUEUE, ARBITRAGE_QUEUE, REPORTS_QUEUE, ALERTS_QUEUE, DEAD_QUEUE])
        _delete_exchange(f"{s.queue_prefix}cryptotracker")
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return figures


def main() -> int:
    """`python -m bench outage [--outage-s 600] [--rate 2000] [--exchanges ...] [--json]`."""
    parser = argparse.ArgumentParser(prog="python -m bench outage")
    parser.add_argument("--outage-s", type=float, default=600.0,
                        help="how long InfluxDB is down (default %(default)s)")
    parser.add_argument("--rate", type=float, default=2000.0,
                        help="quotes/s offered in total, spread over the venues")
    parser.add_argument("--exchanges", default=EVERY_VENUE)
    parser.add_argument("--symbols", default=SYMBOLS)
    parser.add_argument("--warmup-s", type=float, default=30.0,
                        help="load before InfluxDB stops (default %(default)s)")
    parser.add_argument("--after-s", type=float, default=30.0,
                        help="load after InfluxDB is back, before the venues go quiet")
    parser.add_argument("--sample-s", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = run(args.outage_s, args.rate, tuple(args.exchanges.split(",")), args.symbols,
                  args.warmup_s, args.after_s, args.sample_s)
    print_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
