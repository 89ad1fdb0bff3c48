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
import subprocess
import threading
import time
from typing import Any

import psutil
import requests

from bench.stack import (
    BIN,
    Stack,
    feed_commands,
    free_port,
    isolate,
    print_figures,
    wait_until,
    worker_options,
)

SERVICES = {"beam.smp": "rabbitmq", "redis-server": "redis", "influxd": "influxdb"}
SAMPLE_S = 0.25
PREGEN_QPS = 100_000  # changes/s rendered ahead over all venues: twice the 50,000 target
STALL_S = 10.0  # no new point for this long after emission ended: done (or stuck); InfluxDB can
# pause writes for seconds (a cache snapshot) with batches still queued, which is not a loss


class Sampler(threading.Thread):
    """CPU seconds and peak RSS per role, each role's processes and their children summed."""

    def __init__(self) -> None:
        super().__init__(name="sampler", daemon=True)
        self.roles: dict[str, list[int]] = {}
        self.cpu_start: dict[int, float] = {}
        self.cpu_last: dict[int, tuple[str, float]] = {}
        self.peak_rss: dict[str, int] = {}
        self.peak_proc_rss: dict[str, int] = {}
        self.services = {p.pid: SERVICES[p.info["name"]]
                         for p in psutil.process_iter(["name"]) if p.info["name"] in SERVICES}
        self.started = time.monotonic()
        self.stopped: float | None = None
        self.machine_busy_pct = 0.0
        self.history: dict[int, list[tuple[float, float]]] = {}  # pid → (time, cpu) samples
        self._halt = threading.Event()

    def add(self, role: str, pid: int) -> None:
        """Follow `pid` (and its children) under `role`."""
        self.roles.setdefault(role, []).append(pid)

    def _procs(self) -> list[tuple[str, psutil.Process]]:
        out: list[tuple[str, psutil.Process]] = []
        for role, pids in list(self.roles.items()):
            for pid in pids:
                try:
                    proc = psutil.Process(pid)
                    out.append((role, proc))
                    out.extend((role, child) for child in proc.children(recursive=True))
                except psutil.NoSuchProcess:
                    pass
        for pid, role in self.services.items():
            try:
                out.append((role, psutil.Process(pid)))
            except psutil.NoSuchProcess:
                pass
        return out

    def sample(self) -> None:
        """Take one sample of every followed process."""
        rss: dict[str, int] = {}
        for role, proc in self._procs():
            try:
                with proc.oneshot():
                    t = proc.cpu_times()
                    cpu = t.user + t.system + t.children_user + t.children_system
                    mem = proc.memory_info().rss
            except psutil.Error:
                continue
            self.cpu_start.setdefault(proc.pid, cpu if role in SERVICES.values() else 0.0)
            self.cpu_last[proc.pid] = (role, cpu)
            self.history.setdefault(proc.pid, []).append((time.monotonic(), cpu))
            rss[role] = rss.get(role, 0) + mem
            self.peak_proc_rss[role] = max(self.peak_proc_rss.get(role, 0), mem)
        for role, total in rss.items():
            self.peak_rss[role] = max(self.peak_rss.get(role, 0), total)

    def mark(self) -> None:
        """Count CPU from now on: the measured window starts (the first quote emitted)."""
        self.sample()
        self.cpu_start = {pid: cpu for pid, (_, cpu) in self.cpu_last.items()}
        self.started = time.monotonic()
        psutil.cpu_percent(None)  # the machine's busy % is measured from here

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_S):
            self.sample()

    def stop(self) -> None:
        """Take the last sample and end the thread."""
        self._halt.set()
        self.join(5)
        self.sample()
        self.stopped = time.monotonic()
        self.machine_busy_pct = psutil.cpu_percent(None)

    def figures(self) -> dict[str, dict[str, float]]:
        """Per role: CPU seconds in the window, % of one core, peak summed and per-process RSS."""
        window = (self.stopped or time.monotonic()) - self.started
        cpu: dict[str, float] = {}
        for pid, (role, last) in self.cpu_last.items():
            cpu[role] = cpu.get(role, 0.0) + max(0.0, last - self.cpu_start.get(pid, 0.0))
        busiest: dict[str, float] = {}  # role → its busiest process's peak over any 1 s
        for pid, samples in self.history.items():
            role = self.cpu_last[pid][0]
            for (t1, c1), (t2, c2) in zip(samples, samples[4:], strict=False):
                if t1 >= self.started and t2 > t1:
                    busiest[role] = max(busiest.get(role, 0.0), (c2 - c1) / (t2 - t1))
        out: dict[str, dict[str, float]] = {}
        for role in [*self.roles, *sorted(set(SERVICES.values()))]:
            if role not in cpu:
                continue
            out[role] = {"cpu_s": round(cpu[role], 2),
                         "cpu_pct": round(100 * cpu[role] / window, 1) if window > 0 else 0.0,
                         "peak_1s_proc_cpu_pct": round(100 * busiest.get(role, 0.0), 1),
                         "peak_rss_mb": round(self.peak_rss.get(role, 0) / 2**20, 1),
                         "peak_proc_rss_mb": round(self.peak_proc_rss.get(role, 0) / 2**20, 1)}
            if role in SERVICES.values():
                out[role]["shared"] = True  # other users of the service are counted too
        return out


class LiveCounter(threading.Thread):
    """Counts quote events on the run's live channel and notes when the last one came."""

    def __init__(self, redis_url: str, channel: str) -> None:
        import redis

        super().__init__(name="live-counter", daemon=True)
        self.pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.quotes = 0
        self.last: float | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            msg = self.pubsub.get_message(timeout=0.2)
            # Events are compact JSON starting with their type; a substring test avoids parsing.
            if msg is not None and msg["data"].startswith(b'{"type":"quote"'):
                self.quotes += 1
                self.last = time.monotonic()

    def stop(self) -> None:
        """End the thread and unsubscribe."""
        self._halt.set()
        self.join(5)
        self.pubsub.close()


def _stored(influx: Any) -> int:
    rows = influx.query_points("SELECT count(bid) AS n FROM quotes")
    return int(rows[0]["n"]) if rows else 0


def _stored_by_exchange(influx: Any) -> dict[str, int]:
    rows = influx.query_points("SELECT count(bid) AS n FROM quotes GROUP BY exchange")
    return {r["exchange"]: int(r["n"]) for r in rows}


def _emitted_by_exchange(sim: str) -> dict[str, int]:
    stats = requests.get(sim + "/stats", timeout=2).json()
    return {name: sum(per.values()) for name, per in stats["emitted"].items()}


def _emitted(sim: str) -> int:
    return sum(_emitted_by_exchange(sim).values())


def freeze_emission(sim: str, exchanges: tuple[str, ...]) -> tuple[float, dict[str, int]]:
    """Silence every venue, so the simulator's counts are final: when, and the counts."""
    for name in exchanges:
        requests.post(f"{sim}/control/{name}/silence", params={"seconds": 3600},
                      timeout=5).raise_for_status()
    frozen_at = time.monotonic()
    time.sleep(0.3)  # frames already sent are still counted
    return frozen_at, _emitted_by_exchange(sim)


def drain(influx: Any, emitted: int, timeout_s: float) -> tuple[int, float]:
    """Wait until InfluxDB holds `emitted` points or stops gaining: (stored, when last grew)."""
    stored, t_stored, last_change = 0, time.monotonic(), time.monotonic()
    deadline = time.monotonic() + timeout_s
    while stored < emitted and time.monotonic() < deadline:
        n = _stored(influx)
        if n != stored:
            stored, t_stored, last_change = n, time.monotonic(), time.monotonic()
        elif time.monotonic() - last_change > STALL_S:
            break
        time.sleep(0.25)
    return stored, t_stored


def loss_figures(emitted_by: dict[str, int], stored: int,
                 stored_by: dict[str, int]) -> dict[str, Any]:
    """The simulator's counts against InfluxDB's points: stored, lost, and both per exchange."""
    return {
        "stored": stored,
        "lost": sum(emitted_by.values()) - stored,
        "lost_by_exchange": {ex: n - stored_by.get(ex, 0) for ex, n in emitted_by.items()},
        "by_exchange": {ex: {"emitted": n, "stored": stored_by.get(ex, 0),
                             "lost": n - stored_by.get(ex, 0)}
                        for ex, n in sorted(emitted_by.items())},
    }


def print_loss_table(by_exchange: dict[str, dict[str, int]]) -> None:
    """One line per venue: emitted, stored, lost, and whether it lost nothing."""
    print(f"\n{'venue':<10} {'emitted':>10} {'stored':>10} {'lost':>8}  zero loss")
    for name, row in by_exchange.items():
        verdict = "yes" if row["lost"] == 0 else "NO"
        print(f"{name:<10} {row['emitted']:>10,} {row['stored']:>10,} {row['lost']:>8,}  {verdict}")


def default_exchanges() -> tuple[str, ...]:
    """Every registered venue: the deployment a user gets without choosing."""
    from workers.exchanges import known_exchanges

    return tuple(known_exchanges())


def exchange_list(text: str) -> tuple[str, ...]:
    """`--exchanges a,b`: registered venue names, or an argparse error naming the known ones."""
    import argparse

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = sorted(set(names) - set(default_exchanges()))
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown exchange(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(default_exchanges())}")
    return names


def queue_depths(prefix: str) -> dict[str, dict[str, int]]:
    """Ready and unacknowledged messages of the run's queues (rabbitmqctl; {} if unavailable)."""
    try:
        out = subprocess.run(["rabbitmqctl", "list_queues", "-q", "name", "messages_ready",
                              "messages_unacknowledged"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    depths: dict[str, dict[str, int]] = {}
    for line in out.splitlines():
        parts = line.split()
        if (len(parts) == 3 and parts[0].startswith(prefix) and parts[1].isdigit()
                and "pidbox" not in parts[0]):
            depths[parts[0][len(prefix):]] = {"ready": int(parts[1]), "unacked": int(parts[2])}
    return depths


def delete_queues(names: list[str]) -> None:
    """Remove the run's queues from the broker (they are durable and would outlive the run)."""
    from kombu import Connection

    from core.config import get_settings

    with Connection(get_settings().broker_url) as conn:
        channel = conn.channel()
        for name in names:
            try:
                channel.queue_delete(name)
            except Exception:  # noqa: BLE001  (already gone)
                channel = conn.channel()


def purge_queues(names: list[str]) -> None:
    """Drop the messages waiting in the run's queues."""
    from kombu import Connection

    from core.config import get_settings

    with Connection(get_settings().broker_url) as conn:
        channel = conn.channel()
        for name in names:
            channel.queue_purge(name)


def _consumers(queue: str) -> int:
    from kombu import Connection

    from core.config import get_settings

    with Connection(get_settings().broker_url) as conn:
        return int(conn.channel().queue_declare(queue, passive=True).consumer_count)


def _celery(stack: Stack, queue: str, *extra: str) -> subprocess.Popen[bytes]:
    return stack.start(str(BIN / "celery"), "-A", "tasks", "worker", *extra, "-Q", queue, "-n",
                       f"{queue}@%h", *worker_options(queue), "--loglevel", "WARNING")


def run_baselines(per_quote: int, noop: int, direct: int) -> dict[str, float]:
    """The three baselines, quotes/s each, with their own worker pair (stopped afterwards)."""
    from bench import baselines
    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE

    figures = {"baseline_direct_influx_qps": round(baselines.direct_writes(direct))}
    with Stack() as stack:
        for queue in (STORAGE_QUEUE, ARBITRAGE_QUEUE):
            _celery(stack, queue, "-I", "bench.baselines")
        for queue in (STORAGE_QUEUE, ARBITRAGE_QUEUE):
            wait_until(lambda q=queue: _consumers(q) > 0, 60, f"baseline worker on {queue}")
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
    sampler = Sampler()
    live = LiveCounter(s.redis_url, state.channel)
    storage_stopped = False
    with Stack() as stack:
        storage = _celery(stack, STORAGE_QUEUE)
        sampler.add("storage", storage.pid)
        sampler.add("arbitrage", _celery(stack, ARBITRAGE_QUEUE).pid)
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
            wait_until(lambda q=queue: _consumers(q) > 0, 60, f"worker on {queue}")
        live.start()
        sampler.start()
        bases = {name: (f"ws://127.0.0.1:{port}", sim) for name in exchanges}
        for command in feed_commands(bases):
            sampler.add("feed", stack.start(*command).pid)
        # Pre-generation renders every change first (seconds for a few hundred thousand); the
        # clock starts once every venue is sending, so none is measured before it began.
        wait_until(lambda: all(_emitted_by_exchange(sim).values()), 300,
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
                if (target is not None and _emitted(sim) >= target) or (
                        seconds is not None and now >= seconds):
                    break
                time.sleep(0.1)
            t_emitted, emitted_by = freeze_emission(sim, exchanges)
            emitted = sum(emitted_by.values())
            stored, t_stored = drain(influx, emitted, drain_timeout_s)
            sampler.stop()
            stored_by = _stored_by_exchange(influx)
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
                "redis_current": _redis_current(influx, state) if stored == emitted else None,
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
            wait_until(lambda: _stored(influx) >= figures["emitted"], drain_timeout_s,
                       "the backlog stored after resuming the storage worker")
            figures["stored_after_resume"] = _stored(influx)
    return figures


def _redis_current(influx: Any, state: Any) -> bool:
    """Whether Redis holds the newest stored quote of every (exchange, symbol)."""
    rows = influx.query_points("SELECT last(bid) AS bid FROM quotes GROUP BY exchange, symbol")
    newest = {(r["exchange"], r["symbol"]): r["bid"] for r in rows}
    held = {(q.exchange, q.symbol): q.bid for q in state.all_quotes()}
    return newest == held


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
    parser.add_argument("--feed-groups", metavar="SPEC",
                        help="feed processes as FEED_GROUPS spells them (default: $FEED_GROUPS)")
    parser.add_argument("--feed-processes", metavar="N",
                        help="without groups, this many feed processes (default: "
                             "$FEED_PROCESSES or 2; 0 = one per venue)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.feed_groups is not None:
        os.environ["FEED_GROUPS"] = args.feed_groups
    if args.feed_processes is not None:
        os.environ["FEED_PROCESSES"] = args.feed_processes
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
