"""Fan-out: N websocket clients on one gunicorn web process (the production config,
web/gunicorn_conf.py) while R quote events/s are published to Redis; delivery lag (publish time
carried in the event → receive time) and the web process's CPU. Baseline in the same run: the
same stream read by a plain Redis subscriber.

`python -m bench.fanout [--clients N] [--rate R] [--seconds S] [--symbols 4] [--idle N] [--json]`

`--idle N` also holds N idle websockets (connected, narrowed to a symbol nobody publishes, never
reading: open tabs nobody looks at) through the run, from a process of their own; the figures
say how many were held to the end and what they cost the web process in memory. Throughout,
`GET /api/quotes` is timed on fresh connections every 50 ms; its baseline is the same probe
before any websocket connected.

Events spread over `symbols` × 8 exchanges keys (the default config follows 4 symbols), so
each client gets at most 5 × keys messages per second after coalescing. Clients run in one
asyncio + aiohttp process per CPU, the publisher in a process of its own; on a small machine all
of them share the CPUs with the web process, so the lag includes client-side queueing too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import threading
import time
from typing import Any

from bench.idle import hold

EXCHANGES = ("binance", "bitfinex", "bitstamp", "bybit", "coinbase", "gemini", "kraken", "okx")
SYMBOLS = ("BTC-USD", "ETH-USD", "BTC-USDT", "ETH-USDT", "SOL-USD", "XRP-USD", "LTC-USD",
           "ADA-USD")


def publish(redis_url: str, prefix: str, rate: int, seconds: float, symbols: int) -> None:
    """Publish `rate` quote events/s for `seconds` in 5 ms batches (runs in its own process)."""
    from core.state import RedisState

    state = RedisState.from_url(redis_url, prefix)
    keys = [(ex, sym) for sym in SYMBOLS[:symbols] for ex in EXCHANGES]
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(rate * elapsed) - sent
        if due > 0:
            now = time.time_ns()
            events = []
            for i in range(sent, sent + due):
                ex, sym = keys[i % len(keys)]
                bid = 100.0 + (i % 997) * 0.01
                events.append(("quote", {
                    "exchange": ex, "symbol": sym, "bid": bid, "bid_size": 1.0,
                    "ask": bid + 0.5, "ask_size": 1.0, "last": None,
                    "ts_exchange_ns": now - 1_000_000, "ts_received_ns": now}))
            state.publish_many(events)
            sent += due
        time.sleep(0.005)


def _publisher(redis_url: str, prefix: str, rate: int, seconds: float,
               symbols: int) -> multiprocessing.Process:
    proc = multiprocessing.get_context("spawn").Process(
        target=publish, args=(redis_url, prefix, rate, seconds, symbols), daemon=True)
    proc.start()
    return proc


def _percentiles(lags_ns: list[int]) -> dict[str, float | None]:
    if not lags_ns:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    lags_ns.sort()

    def pick(q: float) -> float:
        return round(lags_ns[min(len(lags_ns) - 1, int(q * len(lags_ns)))] / 1e6, 2)

    return {"p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": round(lags_ns[-1] / 1e6, 2)}


def baseline(redis_url: str, prefix: str, rate: int, seconds: float,
             symbols: int) -> dict[str, Any]:
    """The same stream read straight from Redis pub/sub by one subscriber: no web hop."""
    import redis

    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"{prefix}live")
    lags: list[int] = []
    pub = _publisher(redis_url, prefix, rate, seconds, symbols)
    deadline = time.monotonic() + seconds + 10
    while (pub.is_alive() or lags == []) and time.monotonic() < deadline:
        msg = pubsub.get_message(timeout=0.2)
        if msg and msg["type"] == "message":
            event = json.loads(msg["data"])
            lags.append(time.time_ns() - event["data"]["ts_received_ns"])
    pub.join(5)
    pubsub.close()
    return {"events": len(lags), **_percentiles(lags)}


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


class HttpProbe:
    """Times `GET /api/quotes` on a fresh connection every 50 ms on a thread, until stopped."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/api/quotes"
        self.times_ns: list[int] = []
        self.failed = 0  # errors, non-200s and answers slower than the 5 s timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="http-probe", daemon=True)

    def _run(self) -> None:
        import requests

        while not self._stop.is_set():
            t0 = time.perf_counter_ns()
            try:
                ok = requests.get(self.url, timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                self.times_ns.append(time.perf_counter_ns() - t0)
            else:
                self.failed += 1
            self._stop.wait(0.05)

    def __enter__(self) -> HttpProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def figures(self) -> dict[str, Any]:
        return {"requests": len(self.times_ns), "failed": self.failed,
                **_percentiles(self.times_ns)}


def _hold_idle(port: int, count: int) -> tuple[Any, Any, Any]:
    """Start the idle clients' process; returns it with its stop event and results queue once
    they are connected (or raises when not all of them could be)."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=hold, args=("127.0.0.1", port, count, ready, stop, results),
                       daemon=True)
    proc.start()
    held = ready.get(timeout=120)
    if held < count:
        stop.set()
        raise RuntimeError(f"only {held} of {count} idle websockets were accepted")
    return proc, stop, results


def _worker_pid(master: int) -> int:
    """gunicorn's single worker, the process that serves the websockets."""
    with open(f"/proc/{master}/task/{master}/children") as f:
        children = f.read().split()
    return int(children[0])


async def _client_loop(url: str, count: int, ready: Any, stop: Any) -> tuple[list[int], int]:
    """`count` websocket clients in one event loop; returns every quote's lag and how many
    clients were closed on (dropped) before the end."""
    import aiohttp

    lags: list[int] = []
    probed = [asyncio.Event() for _ in range(count)]
    closed_early = [False] * count

    async def one(i: int, session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(url, heartbeat=None, max_msg_size=0) as ws:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.time_ns()
                event = json.loads(msg.data)
                if event["type"] == "quote":
                    lags.append(now - event["data"]["ts_received_ns"])
                elif event["type"] == "feed":
                    probed[i].set()
                if stop.is_set():
                    return
            closed_early[i] = not stop.is_set()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = [asyncio.create_task(one(i, session)) for i in range(count)]
        await asyncio.gather(*(p.wait() for p in probed))
        ready.put(count)
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await asyncio.wait(tasks, timeout=5)
        for task in tasks:
            task.cancel()
    return lags, sum(closed_early)


def _client_process(url: str, count: int, ready: Any, stop: Any, results: Any) -> None:
    """Entry point of one client process (clients are spread over processes, one per CPU,
    so the receiving side does not become the bottleneck being measured)."""
    results.put(asyncio.run(_client_loop(url, count, ready, stop)))


def _fanout(url: str, clients: int, state: Any, redis_url: str, rate: int, seconds: float,
            symbols: int, web_pid: int, probe: HttpProbe) -> dict[str, Any]:
    """Connect the clients, publish (timing the HTTP probe meanwhile), and collect every
    quote's delivery lag."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    nproc = max(1, min(os.cpu_count() or 1, 4))
    shares = [clients // nproc + (1 if i < clients % nproc else 0) for i in range(nproc)]
    procs = [ctx.Process(target=_client_process, args=(url, n, ready, stop, results),
                         daemon=True) for n in shares if n]
    for proc in procs:
        proc.start()
    connected, deadline = 0, time.monotonic() + 60
    while connected < clients:  # the hub subscribes lazily: probe until everyone saw one
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {connected} of {clients} clients connected")
        state.publish("feed", {"exchange": "bench-probe", "state": "probe"})
        while not ready.empty():
            connected += ready.get()
        time.sleep(0.1)
    time.sleep(0.5)
    hz = os.sysconf("SC_CLK_TCK")
    cpu0, t0 = _cpu_ticks(web_pid), time.monotonic()
    with probe:
        pub = _publisher(redis_url, state.prefix, rate, seconds, symbols)
        pub.join()
    cpu1, t1 = _cpu_ticks(web_pid), time.monotonic()
    time.sleep(1.0)  # stragglers still count towards the lag
    stop.set()
    state.publish("feed", {"exchange": "bench-probe", "state": "done"})
    lags: list[int] = []
    dropped = 0
    for _ in procs:
        part, gone = results.get(timeout=60)
        lags.extend(part)
        dropped += gone
    for proc in procs:
        proc.join(10)
    return {
        "client_processes": len(procs),
        "messages_received": len(lags),
        "messages_per_client_per_s": round(len(lags) / clients / seconds, 1),
        **_percentiles(lags),
        "web_cpu_pct": round(100 * (cpu1 - cpu0) / hz / (t1 - t0), 1),
        "clients_dropped": dropped,
    }


def run(clients: int = 200, rate: int = 2000, seconds: float = 10,
        symbols: int = 4, idle: int = 0) -> dict[str, Any]:
    """Run the baselines, then the fan-out through one web process; returns the figures."""
    from bench.stack import BIN, Stack, free_port, isolate, wait_until

    isolate()
    import requests

    from core.config import get_settings, reset_settings
    from core.state import RedisState

    reset_settings()
    settings = get_settings()
    state = RedisState.from_url(settings.redis_url, settings.key_prefix)
    figures: dict[str, Any] = {"clients": clients, "idle": idle, "rate": rate,
                               "seconds": seconds, "keys": symbols * len(EXCHANGES),
                               "cpus": os.cpu_count()}
    base = baseline(settings.redis_url, settings.key_prefix, rate, min(seconds, 5), symbols)
    figures.update({f"baseline_{k}": v for k, v in base.items()})
    port = free_port()
    # Every client of the benchmark comes from 127.0.0.1: let them all in.
    for name in ("WS_MAX_CLIENTS", "WS_MAX_PER_ADDRESS"):
        os.environ[name] = str(max(clients + idle + 16, int(os.environ.get(name) or 0)))
    base = f"http://127.0.0.1:{port}"
    with Stack() as stack:
        web = stack.start(str(BIN / "gunicorn"), "-c", "web/gunicorn_conf.py",
                          "web:create_app()", "--bind", f"127.0.0.1:{port}")
        wait_until(lambda: requests.get(f"{base}/healthz", timeout=2).status_code
                   in (200, 503), 30, "the web app")
        web_pid = _worker_pid(web.pid)
        with HttpProbe(base) as http_base:
            time.sleep(min(seconds, 2.0))
        figures.update({f"http_baseline_{k}": v for k, v in http_base.figures().items()})
        held = None
        if idle:
            rss0 = _rss_kib(web_pid)
            held = _hold_idle(port, idle)
            time.sleep(1.0)  # let the server settle what it allocated for them
            figures["idle_web_rss_kib_per_socket"] = round((_rss_kib(web_pid) - rss0) / idle, 1)
        probe = HttpProbe(base)
        out = _fanout(f"ws://127.0.0.1:{port}/ws", clients, state, settings.redis_url,
                      rate, seconds, symbols, web_pid, probe)
        figures.update({f"ws_{k}": v for k, v in out.items()})
        figures.update({f"http_{k}": v for k, v in probe.figures().items()})
        if held is not None:
            proc, stop, results = held
            stop.set()
            figures["idle_held_to_end"] = results.get(timeout=60)
            proc.join(10)
        figures["web_rss_mib"] = round(_rss_kib(web_pid) / 1024, 1)
    state.clear()
    return figures


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=int, default=2000, help="quote events published per s")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--symbols", type=int, default=4, help="symbols (× 8 exchanges = keys)")
    parser.add_argument("--idle", type=int, default=0,
                        help="idle websockets held open through the run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = run(args.clients, args.rate, args.seconds, args.symbols, args.idle)
    from bench.stack import print_figures

    print_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
