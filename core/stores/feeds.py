"""Feed status: one hash per venue, written by its feed worker about once a second."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import redis

from core.keys import Keys


def _int(raw: str | None) -> int:
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


def _float_or_none(raw: str | None) -> float | None:
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def _errors(raw: str | None) -> dict[str, int]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class FeedStatus:
    """A venue's feed status, summed over its connections.

    Field order is the order of the `feed` live event's keys.
    """

    exchange: str = ""
    state: str = "unknown"
    connections: int = 0
    connected_since_ns: int = 0
    last_message_ns: int = 0
    parse_errors: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # parse errors by kind
    last_error: str = ""
    symbols: tuple[str, ...] = ()
    published_batches: int = 0
    # The local buffer that holds batches while the broker is unreachable: how full it is.
    buffer_batches: int = 0
    buffer_quotes: int = 0
    buffer_capacity: int = 0
    buffer_dropped: int = 0
    buffer_dropped_quotes: int = 0
    # The worst lag behind the venue's clock over the last interval (None: it sends no time).
    lag_ms: float | None = None
    behind: bool = False
    updated_ns: int = 0
    pid: int = 0
    ws_url: str = ""
    messages: int = 0
    quotes: int = 0
    reconnects: int = 0
    markets: int = 0
    resyncs: int = 0
    clock_skew: int = 0

    def to_event(self) -> dict[str, str | int | float]:
        """The `feed` live event's data: the hash's fields with numbers left as numbers."""
        out: dict[str, str | int | float] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "errors":
                value = json.dumps(value, sort_keys=True)
            elif f.name == "symbols":
                value = ",".join(value)
            elif f.name == "lag_ms":
                value = "" if value is None else value
            elif f.name == "behind":
                value = "1" if value else "0"
            out[f.name] = value
        return out

    def to_hash(self) -> dict[str, str]:
        """The Redis hash: every field as text."""
        return {name: str(value) for name, value in self.to_event().items()}

    @classmethod
    def from_hash(cls, raw: Mapping[str, str], exchange: str = "") -> FeedStatus:
        """Decode a hash; absent or unreadable fields take their defaults."""
        ints = {f.name: _int(raw.get(f.name)) for f in fields(cls) if f.type == "int"}
        return cls(
            exchange=raw.get("exchange") or exchange,
            state=raw.get("state") or "unknown",
            errors=_errors(raw.get("errors")),
            last_error=raw.get("last_error", ""),
            symbols=tuple(filter(None, raw.get("symbols", "").split(","))),
            lag_ms=_float_or_none(raw.get("lag_ms")),
            behind=raw.get("behind") == "1",
            ws_url=raw.get("ws_url", ""),
            **ints,
        )


class FeedStore:
    """`feed:{exchange}` hashes."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def set(self, exchange: str, status: FeedStatus | Mapping[str, Any]) -> None:
        """Replace the feed status hash of one exchange."""
        mapping = (status.to_hash() if isinstance(status, FeedStatus)
                   else {k: str(v) for k, v in status.items()})
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.keys.feed(exchange))
        pipe.hset(self.keys.feed(exchange), mapping=mapping)
        pipe.execute()

    def raw(self, exchange: str) -> dict[str, str]:
        """The hash as stored (empty when the venue's worker never reported)."""
        return self.client.hgetall(self.keys.feed(exchange))

    def get(self, exchange: str) -> FeedStatus | None:
        """The venue's status, None when its worker never reported."""
        raw = self.raw(exchange)
        return FeedStatus.from_hash(raw, exchange) if raw else None

    def get_many(self, exchanges: Sequence[str]) -> dict[str, FeedStatus | None]:
        """Several venues' statuses in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for exchange in exchanges:
            pipe.hgetall(self.keys.feed(exchange))
        return {
            exchange: FeedStatus.from_hash(raw, exchange) if raw else None
            for exchange, raw in zip(exchanges, pipe.execute(), strict=True)
        }

    def remove_stale(self, cutoff_ns: int) -> int:
        """Delete status hashes last updated before `cutoff_ns` (unreadable ones too)."""
        removed = 0
        for key in self.client.scan_iter(match=self.keys.feed_pattern, count=500):
            updated = self.client.hget(key, "updated_ns")
            try:
                stale = int(updated or 0) < cutoff_ns
            except ValueError:
                stale = True
            if stale:
                removed += int(self.client.delete(key))
        return removed
