"""A synthetic stream of quote events published to Redis, and a plain subscriber reading it."""

from __future__ import annotations

import json
import multiprocessing
import time
from typing import Any

from workers.exchanges import known_exchanges

EXCHANGES = tuple(known_exchanges())  # the default deployment: every venue
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


def publisher(redis_url: str, prefix: str, rate: int, seconds: float,
               symbols: int) -> multiprocessing.Process:
    """`publish` started in a process of its own."""
    proc = multiprocessing.get_context("spawn").Process(
        target=publish, args=(redis_url, prefix, rate, seconds, symbols), daemon=True)
    proc.start()
    return proc


def percentiles(lags_ns: list[int]) -> dict[str, float | None]:
    """p50, p99 and max of `lags_ns` in ms (sorts the list in place)."""
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

    from core.stores import bus

    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(bus.pattern(prefix))
    lags: list[int] = []
    pub = publisher(redis_url, prefix, rate, seconds, symbols)
    deadline = time.monotonic() + seconds + 10
    while (pub.is_alive() or lags == []) and time.monotonic() < deadline:
        msg = pubsub.get_message(timeout=0.2)
        if msg and msg["type"] == "pmessage":
            event = json.loads(msg["data"])
            lags.append(time.time_ns() - event["data"]["ts_received_ns"])
    pub.join(5)
    pubsub.close()
    return {"events": len(lags), **percentiles(lags)}
