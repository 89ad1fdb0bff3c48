"""The rollup watermark: the end (ns) of the last minute rolled up, only ever moving forward."""

from __future__ import annotations

import redis

from core.keys import Keys

# Set the watermark only forward: overlapping runs (a slow one and the next beat tick) are safe.
_SET_IF_GREATER = """
local old = redis.call("GET", KEYS[1])
if (not old) or tonumber(ARGV[1]) > tonumber(old) then
  redis.call("SET", KEYS[1], ARGV[1])
  return 1
end
return 0
"""


class WatermarkStore:
    """The `rollup:watermark` key."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._set_if_greater = client.register_script(_SET_IF_GREATER)

    def get(self) -> int | None:
        """The end of the last minute rolled, or None before the first run."""
        raw = self.client.get(self.keys.rollup_watermark)
        return int(raw) if raw else None

    def advance(self, end_ns: int) -> bool:
        """Move the watermark forward to `end_ns` (never back); True when it moved."""
        return bool(self._set_if_greater(keys=[self.keys.rollup_watermark],
                                         args=[str(int(end_ns))]))
