"""End to end: simulator → feed workers → RabbitMQ → Celery → InfluxDB and Redis.

Baseline in the same run: the same number of quotes written straight to InfluxDB from this
process in 5,000-line batches, with no Celery (the storage ceiling).
"""

from __future__ import annotations

import time
from typing import Any

import requests

from bench.stack import BIN, Stack, free_port, isolate, print_figures, wait_until


def _count(influx: Any) -> int:
    rows = influx.query_points("SELECT count(bid) AS n FROM quotes")
    return int(rows[0]["n"]) if rows else 0


def baseline_direct_writes(count: int) -> float:
    """Quotes/s for line-protocol writes from one process, no Celery."""
    from core.config import get_settings
    from core.influx import InfluxDB
    from core.lineproto import quote_line
    from core.types import Quote

    s = get_settings()
    influx = InfluxDB(s.influxdb_url, s.influxdb_db + "_baseline")
    influx.ensure_database()
    t0 = time.time_ns()
    quotes = [Quote("kraken", "BTC-USD", 100.0 + i % 7, 1.0, 101.0, 1.0, None, t0 + i, t0)
              for i in range(count)]
    try:
        start = time.perf_counter()
        for i in range(0, count, 5000):
            influx.write_lines([quote_line(q) for q in quotes[i : i + 5000]])
        return count / (time.perf_counter() - start)
    finally:
        influx.drop_database()


def run(count: int, exchanges: list[str], rate: int) -> dict[str, Any]:
    """Run the whole stack on `count` changes per exchange; returns the figures."""
    isolate()
    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE
    from core.config import get_settings
    from core.influx import InfluxDB

    s = get_settings()
    influx = InfluxDB(s.influxdb_url, s.influxdb_db)
    influx.ensure_database()
    total = count * len(exchanges)
    figures: dict[str, Any] = {"count_per_exchange": count, "exchanges": exchanges,
                               "simulator_rate": rate}
    figures["baseline_direct_influx_qps"] = round(baseline_direct_writes(total))
    port = free_port()
    sim = f"http://127.0.0.1:{port}"
    try:
        with Stack() as stack:
            for queue in (STORAGE_QUEUE, ARBITRAGE_QUEUE):
                stack.start(str(BIN / "celery"), "-A", "tasks", "worker", "-Q", queue, "-n",
                            f"{queue}@%h", "--concurrency", "2", "--loglevel", "WARNING")
            stack.start(str(BIN / "python"), "-m", "simulator", "--port", str(port),
                        "--exchanges", ",".join(exchanges), "--count", str(count),
                        "--rate", str(rate))
            wait_until(lambda: requests.get(sim + "/stats", timeout=1).ok, 30, "simulator")
            time.sleep(3.0)  # let the Celery workers finish starting
            for name in exchanges:
                stack.start(str(BIN / "python"), "-m", "workers", name, "--ws-url",
                            f"ws://127.0.0.1:{port}/{name}", "--rest-url", f"{sim}/{name}")
            started = time.monotonic()
            from core.state import RedisState

            state = RedisState.from_url(s.redis_url, s.key_prefix)
            first_opp: list[float] = []

            def all_stored() -> bool:
                # At --rate 0 the run may end before the simulator's first dislocation.
                if not first_opp and state.redis.zcard(state.opps_key) > 0:
                    first_opp.append(time.monotonic())
                return _count(influx) >= total

            stored = wait_until(all_stored, 600, "all quotes stored")
            figures["first_opportunity_s"] = (
                round(first_opp[0] - started, 2) if first_opp else None)
            elapsed = stored - started
            time.sleep(1.0)
            figures["stored"] = _count(influx)
            figures["lost"] = total - figures["stored"]
            figures["seconds"] = round(elapsed, 2)
            figures["delivered_qps"] = round(total / elapsed)
            state.clear()
    finally:
        influx.drop_database()
    figures["ratio_to_baseline"] = round(
        figures["delivered_qps"] / figures["baseline_direct_influx_qps"], 3)
    return figures


def main() -> int:
    """`python -m bench pipeline [--count N] [--rate R] [--exchanges a,b] [--json]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench pipeline")
    parser.add_argument("--count", type=int, default=20000, help="changes per exchange")
    parser.add_argument("--rate", type=int, default=0, help="simulator rate (0 = max)")
    parser.add_argument("--exchanges", default="bitstamp,kraken")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = run(args.count, args.exchanges.split(","), args.rate)
    print_figures(figures, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
