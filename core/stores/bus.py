"""The live bus: the events workers publish for the web processes' `/ws` hubs.

Each event goes out on a channel that names what a hub routes it by, so the hub filters and
coalesces on the channel name alone and forwards the published JSON to browsers untouched:
`{prefix}live:{type}:{symbol}` for events never coalesced, followed by the rest of the coalescing
identity for those that are (`quote`: the exchange; `opportunity`: the buy and sell exchanges;
`feed`: the exchange, with no symbol, since feed events reach every client). Components are
percent-encoded, so any string (a `:` included) round-trips, and `%` alone means "none"
(percent-encoding never ends with a bare `%`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

import orjson
import redis

from core.keys import Keys

NONE = "%"
# Data fields that complete the coalescing identity of an event type, after its symbol.
COALESCED_BY: dict[str, tuple[str, ...]] = {
    "quote": ("exchange",),
    "opportunity": ("buy_exchange", "sell_exchange"),
    "feed": ("exchange",),
}
UNFILTERED = frozenset({"feed"})  # types every client gets, whatever its symbol filter


def _jsonable(value: Any) -> Any:
    """What orjson cannot encode by itself: other mappings and sets."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot encode {type(value).__name__} in a live event")


def encode(event_type: str, data: Any, trace: Mapping[str, int] | None = None) -> bytes:
    """A live event as JSON bytes (orjson: several times faster than json, NaN → null)."""
    if trace is None:
        return orjson.dumps({"type": event_type, "data": data}, default=_jsonable)
    # `trace` goes last: the hub appends its send stamp to it without encoding the event again.
    return orjson.dumps({"type": event_type, "data": data, "trace": trace}, default=_jsonable)


@lru_cache(maxsize=8192)  # symbols and exchange names repeat on every quote
def _component(value: str) -> str:
    return quote(value, safe="")


def _part(value: Any) -> str:
    """One channel component; anything but a string counts as absent."""
    return _component(value) if isinstance(value, str) else NONE


@lru_cache(maxsize=64)  # called for every published event
def base(prefix: str) -> str:
    """The name every live channel of `prefix` starts with."""
    return Keys(prefix).live


def pattern(prefix: str) -> str:
    """The `PSUBSCRIBE` pattern of every channel under `prefix`; `route` keeps the live ones.

    Redis checks a PSUBSCRIBE pattern literally against an ACL user's channel patterns, so a
    user confined to its prefix (`&{prefix}*`, as .env.example shows) may subscribe to exactly
    this one and to no narrower pattern.
    """
    escaped = "".join(f"\\{c}" if c in "\\*?[]" else c for c in prefix)
    return f"{escaped}*"


def channel(prefix: str, event_type: str, data: Any) -> str:
    """The channel an event of `event_type` with `data` is published on."""
    head = f"{base(prefix)}:{_component(event_type)}"
    if not isinstance(data, Mapping):
        return f"{head}:{NONE}"
    symbol = NONE if event_type in UNFILTERED else _part(data.get("symbol"))
    rest = COALESCED_BY.get(event_type)
    if rest is None:
        return f"{head}:{symbol}"
    return ":".join((head, symbol, *(_part(data.get(name)) for name in rest)))


@dataclass(frozen=True, slots=True)
class Route:
    """What a hub needs to deliver one event: its coalescing key and the symbol it filters on."""

    key: bytes | None  # None: never coalesced
    symbol: str | None  # None: goes to every client whatever its filter


def route(prefix: str, name: bytes) -> Route | None:
    """The route a live channel name stands for; None when it is not one of `prefix`'s."""
    head = base(prefix).encode() + b":"
    if not name.startswith(head):
        return None
    parts = name[len(head):].split(b":")
    if len(parts) < 2:
        return None
    symbol = None if parts[1] == NONE.encode() else unquote(parts[1].decode("ascii", "replace"))
    return Route(name if len(parts) > 2 else None, symbol)


class LiveBus:
    """Publishes live events of one key prefix."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self.pattern = pattern(prefix)

    def publish(self, event_type: str, data: Mapping[str, Any] | list[Any]) -> None:
        """Publish a live event (`quote`, `opportunity`, `feed`, ...) to the web processes."""
        payload = encode(event_type, data)  # first, so data orjson refuses fails as its TypeError
        self.redis.publish(channel(self.prefix, event_type, data), payload)

    def publish_many(self, events: Iterable[tuple[str, Any]],
                     trace: Mapping[str, int] | None = None) -> None:
        """Publish several live events in one round trip; with `trace` (the path's stamps so
        far), each event carries them plus `redis_ns`, the wall time of this publish."""
        if trace is not None:
            trace = {**trace, "redis_ns": time.time_ns()}
        pipe = self.redis.pipeline(transaction=False)
        for event_type, data in events:
            payload = encode(event_type, data, trace)
            pipe.publish(channel(self.prefix, event_type, data), payload)
        pipe.execute()


class Subscription:
    """One pub/sub connection subscribed to every live channel of a prefix (a hub's listener)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.pattern = pattern(prefix)
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(self.pattern)

    def take(self, timeout_s: float, limit: int) -> list[tuple[bytes, bytes]]:
        """The events waiting as (channel, payload), at most `limit`; waits up to `timeout_s`
        for the first. Raises redis.RedisError or OSError when the connection is lost."""
        out: list[tuple[bytes, bytes]] = []
        msg = self._pubsub.get_message(timeout=timeout_s)
        while msg is not None:
            if msg.get("type") == "pmessage":
                out.append((msg["channel"], msg["data"]))
            if len(out) >= limit:
                break
            msg = self._pubsub.get_message(timeout=0)
        return out

    def close(self) -> None:
        """Drop the connection (errors ignored: it may be gone already)."""
        try:
            self._pubsub.close()
        except (redis.RedisError, OSError):
            pass
