"""What a bench run delivered: the simulator's counts, InfluxDB's points, live events, losses."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from core.measurements import QUOTES

STALL_S = 10.0  # no new point for this long after emission ended: done (or stuck); InfluxDB can
# pause writes for seconds (a cache snapshot) with batches still queued, which is not a loss


class LiveCounter(threading.Thread):
    """Counts quote events on the run's live channel and notes when the last one came."""

    def __init__(self, redis_url: str, pattern: str) -> None:
        import redis

        super().__init__(name="live-counter", daemon=True)
        self.pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        self.pubsub.psubscribe(pattern)
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


def stored_points(influx: Any) -> int:
    """Quote points InfluxDB holds."""
    rows = influx.query_points(f"SELECT count(bid) AS n FROM {QUOTES}")
    return int(rows[0]["n"]) if rows else 0


def stored_by_exchange(influx: Any) -> dict[str, int]:
    """Quote points InfluxDB holds, per exchange."""
    rows = influx.query_points(f"SELECT count(bid) AS n FROM {QUOTES} GROUP BY exchange")
    return {r["exchange"]: int(r["n"]) for r in rows}


def emitted_by_exchange(sim: str, timeout_s: float = 2.0) -> dict[str, int]:
    """Changes the simulator at `sim` has sent so far, per exchange."""
    stats = requests.get(sim + "/stats", timeout=timeout_s).json()
    return {name: sum(per.values()) for name, per in stats["emitted"].items()}


def emitted_total(sim: str, timeout_s: float = 2.0) -> int:
    """Changes the simulator at `sim` has sent so far."""
    return sum(emitted_by_exchange(sim, timeout_s).values())


def freeze_emission(sim: str, exchanges: tuple[str, ...]) -> tuple[float, dict[str, int]]:
    """Silence every venue, so the simulator's counts are final: when, and the counts."""
    for name in exchanges:
        requests.post(f"{sim}/control/{name}/silence", params={"seconds": 3600},
                      timeout=5).raise_for_status()
    frozen_at = time.monotonic()
    time.sleep(0.3)  # frames already sent are still counted
    return frozen_at, emitted_by_exchange(sim)


def drain(influx: Any, emitted: int, timeout_s: float) -> tuple[int, float]:
    """Wait until InfluxDB holds `emitted` points or stops gaining: (stored, when last grew)."""
    stored, t_stored, last_change = 0, time.monotonic(), time.monotonic()
    deadline = time.monotonic() + timeout_s
    while stored < emitted and time.monotonic() < deadline:
        n = stored_points(influx)
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


def redis_current(influx: Any, state: Any) -> bool:
    """Whether Redis holds the newest stored quote of every (exchange, symbol)."""
    rows = influx.query_points(
        f"SELECT last(bid) AS bid FROM {QUOTES} GROUP BY exchange, symbol")
    newest = {(r["exchange"], r["symbol"]): r["bid"] for r in rows}
    held = {(q.exchange, q.symbol): q.bid for q in state.all_quotes()}
    return newest == held
