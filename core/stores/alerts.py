"""Alert decisions and the delivery record: which alerts went out, decided once for everyone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import redis

from core.alerts import opened_ns, pair_key
from core.keys import Keys

# How long "this opportunity was alerted" is remembered: longer than any opportunity lasts, so
# an open one is never alerted twice, yet the keys do not pile up forever.
SENT_TTL_S = 86400.0
MAX_DELIVERIES = 1000

# Decide a batch of candidates atomically, so several arbitrage workers never both send one.
# KEYS: (sent key, cooldown key) per candidate. ARGV: sent ttl ms, cooldown ms, then one flag per
# candidate: "1" when its opening time is known (else only the cooldown can identify it).
# A candidate goes when neither its opportunity was alerted nor its pair is cooling down; then
# both are marked. Returns 1 (send) or 0 (skip) per candidate.
_CLAIM = """
local sent_ms, cool_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS / 2 do
  local sent, cool = KEYS[2 * i - 1], KEYS[2 * i]
  local known = ARGV[2 + i] == "1"
  if (known and redis.call("EXISTS", sent) == 1)
      or (cool_ms > 0 and redis.call("EXISTS", cool) == 1) then
    out[i] = 0
  else
    if known then redis.call("SET", sent, "1", "PX", sent_ms) end
    if cool_ms > 0 then redis.call("SET", cool, "1", "PX", cool_ms) end
    out[i] = 1
  end
end
return out
"""


class AlertStore:
    """`alerts:sent:*` and `alerts:cooldown:*` markers and the `alerts:deliveries` list."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._claim = client.register_script(_CLAIM)

    def claim(self, candidates: list[dict[str, Any]], cooldown_s: float) -> list[dict[str, Any]]:
        """The candidates this caller must alert (one Redis round trip; none when empty)."""
        if not candidates:
            return []
        keys: list[str] = []
        args: list[str] = [str(int(SENT_TTL_S * 1000)), str(int(max(cooldown_s, 0.0) * 1000))]
        for opp in candidates:
            pair = pair_key(opp)
            keys += [self.keys.alert_sent(pair, opened_ns(opp)), self.keys.alert_cooldown(pair)]
            args.append("1" if opened_ns(opp) > 0 else "0")
        flags = self._claim(keys=keys, args=args)
        return [opp for opp, ok in zip(candidates, flags, strict=True) if int(ok)]

    def record(self, delivery: Mapping[str, Any], keep: int = MAX_DELIVERIES) -> None:
        """Prepend one delivery attempt's outcome and trim the list to `keep` entries."""
        pipe = self.client.pipeline(transaction=True)
        pipe.lpush(self.keys.alert_deliveries, json.dumps(delivery))
        pipe.ltrim(self.keys.alert_deliveries, 0, keep - 1)
        pipe.execute()

    def deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        """Recorded delivery attempts, newest first."""
        raw = self.client.lrange(self.keys.alert_deliveries, 0, max(limit, 1) - 1)
        return [json.loads(item) for item in raw]
