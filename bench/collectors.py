"""The latency bench's receivers, each in a process of its own: a `/ws` client and a plain
Redis subscriber on the live channel, both keeping the probe venues' quotes as samples."""

from __future__ import annotations

import json
import time
from typing import Any

from bench.hops import Sample, parse_sample

PROBE_VENUES = ("coinbase", "kraken")  # frames carry the simulator's emission time in µs


def _sample(raw: str | bytes, now: int) -> Sample | None:
    """A probe venue's quote event as a sample; None for anything else."""
    return parse_sample(raw, now, PROBE_VENUES)


async def _ws_loop(url: str, ready: Any, seen: Any, stop: Any) -> tuple[list[Sample], bool]:
    """Probe quotes received on `/ws` until `stop`, and whether the server closed first."""
    import aiohttp

    samples: list[Sample] = []
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(url, heartbeat=None, max_msg_size=0) as ws:
        await ws.send_str(json.dumps({"coalesce": False, "trace": True}))
        ready.set()
        while not stop.is_set():
            try:
                msg = await ws.receive(timeout=0.2)
            except TimeoutError:
                continue
            now = time.time_ns()
            if msg.type != aiohttp.WSMsgType.TEXT:
                return samples, True
            sample = _sample(msg.data, now)
            if sample is not None:
                samples.append(sample)
                seen.value = max(seen.value, sample[2])
    return samples, False


def ws_collector(url: str, ready: Any, seen: Any, stop: Any, out: Any) -> None:
    """Receive every event on `/ws` uncoalesced; probe quotes go to `out` (own process) and
    `seen` holds the newest emission time received."""
    import asyncio

    out.put(asyncio.run(_ws_loop(url, ready, seen, stop)))


def redis_collector(redis_url: str, pattern: str, ready: Any, stop: Any, out: Any) -> None:
    """The baseline receiver: a plain subscriber on the live channel (own process)."""
    import redis

    pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.psubscribe(pattern)
    pubsub.get_message(timeout=1.0)  # the subscription's confirmation
    ready.set()
    samples: list[Sample] = []
    while not stop.is_set():
        msg = pubsub.get_message(timeout=0.2)
        if msg is None or msg["type"] != "pmessage":
            continue
        now = time.time_ns()
        sample = _sample(msg["data"], now)
        if sample is not None:
            samples.append(sample)
    pubsub.close()
    out.put(samples)
