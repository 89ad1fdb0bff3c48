"""The last triangle scan: one JSON value replaced whole, so readers never see half of two."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from core.keys import Keys
from core.triangles import Triangle


def snapshot(triangles: Iterable[Triangle], computed_ns: int) -> dict[str, Any]:
    """The current list with the time it was computed (also the `triangle` live event)."""
    return {"triangles": [t.to_dict() for t in triangles], "computed_ns": int(computed_ns)}


def encode_snapshot(triangles: Iterable[Triangle], computed_ns: int) -> str:
    """The stored form: `{"triangles": [...], "computed_ns": ...}` as JSON."""
    return json.dumps(snapshot(triangles, computed_ns))


def decode_snapshot(raw: str | bytes | None) -> dict[str, Any]:
    """Parse a stored snapshot; nothing stored (or garbage) reads as an empty list."""
    if not raw:
        return {"triangles": [], "computed_ns": None}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"triangles": [], "computed_ns": None}
    if not isinstance(data, Mapping) or not isinstance(data.get("triangles"), list):
        return {"triangles": [], "computed_ns": None}
    return {"triangles": data["triangles"], "computed_ns": data.get("computed_ns")}


class TriangleStore:
    """The `triangles` key: the last scan's cycles, expiring when nobody refreshes them."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def save(self, triangles: Iterable[Triangle], computed_ns: int, ttl_s: int) -> None:
        """Replace the list; it disappears after `ttl_s` unless saved again."""
        self.client.set(self.keys.triangles, encode_snapshot(triangles, computed_ns), ex=ttl_s)

    def load(self) -> dict[str, Any]:
        """`{"triangles": [...], "computed_ns": ...}`, empty when none is stored."""
        return decode_snapshot(self.client.get(self.keys.triangles))
