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
import time
from typing import Any

from bench.idle import hold
from bench.probes import HttpProbe, cpu_ticks, rss_kib
from bench.publisher import EXCHANGES, baseline, percentiles, publisher


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
    cpu0, t0 = cpu_ticks(web_pid), time.monotonic()
    with probe:
        pub = publisher(redis_url, state.prefix, rate, seconds, symbols)
        pub.join()
    cpu1, t1 = cpu_ticks(web_pid), time.monotonic()
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
        **percentiles(lags),
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
            rss0 = rss_kib(web_pid)
            held = _hold_idle(port, idle)
            time.sleep(1.0)  # let the server settle what it allocated for them
            figures["idle_web_rss_kib_per_socket"] = round((rss_kib(web_pid) - rss0) / idle, 1)
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
        figures["web_rss_mib"] = round(rss_kib(web_pid) / 1024, 1)
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
