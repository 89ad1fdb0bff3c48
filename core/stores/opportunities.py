"""Open opportunities: their hashes, the ranking, and the version that last decided each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import redis

from core.keys import Keys
from core.stores.scripts import Scripts
from core.types import Opportunity

# Open or update one opportunity unless a newer snapshot already decided it. Tracks opened_ns,
# peak and mean net %, max size and profit. KEYS: hash, sorted set, per-symbol set, decisions
# hash. ARGV: member, net_pct, event_ns, version, size, net_profit, JSON of every field.
# Returns {1 new | 0 updated | -1 its snapshot was older, opened_ns, peak_net_pct}.
_UPSERT_OPPORTUNITY = """
local member, net, now, version = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local decided = tonumber(redis.call("HGET", KEYS[4], member) or "0")
if decided > version then return {-1, "0", "0"} end
redis.call("HSET", KEYS[4], member, ARGV[4])
local size, profit = ARGV[5], ARGV[6]
local kept = redis.call("HMGET", KEYS[1], "opened_ns", "peak_net_pct", "max_size", "max_profit")
local is_new = kept[1] == false
if is_new then
  kept = {now, ARGV[2]}
  redis.call("HSET", KEYS[1], "data", ARGV[7], "opened_ns", now, "peak_net_pct", ARGV[2],
             "sum_net_pct", ARGV[2], "samples", 1, "max_size", size, "max_profit", profit,
             "updated_ns", now)
else
  redis.call("HSET", KEYS[1], "data", ARGV[7], "updated_ns", now)
  if net > tonumber(kept[2]) then
    redis.call("HSET", KEYS[1], "peak_net_pct", ARGV[2])
    kept[2] = ARGV[2]
  end
  redis.call("HINCRBYFLOAT", KEYS[1], "sum_net_pct", ARGV[2])
  redis.call("HINCRBY", KEYS[1], "samples", 1)
  if tonumber(size) > tonumber(kept[3]) then redis.call("HSET", KEYS[1], "max_size", size) end
  if tonumber(profit) > tonumber(kept[4]) then
    redis.call("HSET", KEYS[1], "max_profit", profit)
  end
end
redis.call("ZADD", KEYS[2], net, member)
redis.call("SADD", KEYS[3], member)
if is_new then return {1, kept[1], kept[2]} else return {0, kept[1], kept[2]} end
"""

# Close one opportunity atomically unless a newer snapshot decided it: whoever closes it gets
# its record, everyone else gets nil, so exactly one worker writes the closing point.
# KEYS: hash, sorted set, per-symbol set, decisions hash.
# ARGV: member, version ("" = forced close), closed_ns.
_CLOSE_OPPORTUNITY = """
if ARGV[2] ~= "" then
  local decided = tonumber(redis.call("HGET", KEYS[4], ARGV[1]) or "0")
  if decided > tonumber(ARGV[2]) then return false end
  redis.call("HSET", KEYS[4], ARGV[1], ARGV[2])
end
local record = redis.call("HGETALL", KEYS[1])
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("SREM", KEYS[3], ARGV[1])
if #record == 0 then return false end
table.insert(record, "closed_ns")
table.insert(record, ARGV[3])
return record
"""

# Fields the upsert script keeps itself; everything else travels as one JSON `data` field.
_OPP_FIELDS_FLOAT = ("peak_net_pct", "sum_net_pct", "max_size", "max_profit")
_OPP_FIELDS_INT = ("opened_ns", "updated_ns", "samples")


def decode_opportunity(record: Mapping[str, str]) -> dict[str, Any]:
    """Turn an opportunity hash into typed values, with the mean net % derived."""
    out: dict[str, Any] = orjson.loads(record["data"])
    for name in _OPP_FIELDS_FLOAT:
        out[name] = float(record.get(name) or 0.0)
    for name in _OPP_FIELDS_INT:
        out[name] = int(record.get(name) or 0)  # int(), not float(): ns need all 19 digits
    if "closed_ns" in record:
        out["closed_ns"] = int(record["closed_ns"])
    samples = max(out.pop("samples"), 1)
    out["mean_net_pct"] = out.pop("sum_net_pct") / samples
    out["samples"] = samples
    return out


def _opportunity_args(opp: Opportunity) -> list[str]:
    """Arguments of the upsert script: what it tracks as numbers, the rest as one JSON blob."""
    return [
        opp.key, repr(opp.net_pct), str(opp.event_ns), str(opp.version),
        repr(float(opp.size)), repr(float(opp.net_profit)),
        orjson.dumps(opp.to_dict()).decode(),
    ]


class OpportunityStore:
    """`opp:{member}` hashes, the `opps` ranking, `opps:{symbol}` sets, `oppver:{symbol}`."""

    def __init__(self, client: redis.Redis, keys: Keys, scripts: Scripts) -> None:
        self.client = client
        self.keys = keys
        self._scripts = scripts
        self._upsert = scripts.register(_UPSERT_OPPORTUNITY)
        self._close = scripts.register(_CLOSE_OPPORTUNITY)

    def _opp_keys(self, symbol: str, member: str) -> list[str]:
        return [
            self.keys.opp(member), self.keys.opps, self.keys.symbol_opps(symbol),
            self.keys.decisions(symbol),
        ]

    def upsert_many(self, opps: Iterable[Opportunity]) -> list[int]:
        """Open or refresh opportunities in one round trip: 1 opened, 0 updated, -1 superseded.

        Opened or updated ones get the opened_ns and peak_net_pct that Redis holds for them.

        Each carries the version of the snapshot it came from; the script refuses one whose
        pair was already decided from a newer snapshot, so concurrent workers cannot regress.
        """
        opps = list(opps)
        if not opps:
            return []
        calls = [
            (self._upsert, self._opp_keys(opp.symbol, opp.key), _opportunity_args(opp))
            for opp in opps
        ]
        outcomes: list[int] = []
        for opp, (outcome, opened_ns, peak) in zip(opps, self._scripts.run(calls), strict=True):
            outcomes.append(int(outcome))
            if int(outcome) >= 0:  # what the script keeps, so published events carry it
                opp.opened_ns, opp.peak_net_pct = int(opened_ns), float(peak)
        return outcomes

    def upsert_opportunity(self, opp: Opportunity, now_ns: int) -> bool:
        """Open or refresh one opportunity stamped `now_ns`; True when it just opened."""
        if not opp.event_ns:
            opp.event_ns = now_ns
        return self.upsert_many([opp])[0] == 1

    def close_many(
        self, closes: Iterable[tuple[str, str, int | None, int]]
    ) -> list[dict[str, Any] | None]:
        """Close (symbol, member, version, closed_ns) entries; a record for each one we closed.

        A version of None forces the close whatever snapshot decided the pair last.
        """
        closes = list(closes)
        if not closes:
            return []
        calls = [
            (self._close, self._opp_keys(symbol, member),
             [member, "" if version is None else str(version), str(closed_ns)])
            for symbol, member, version, closed_ns in closes
        ]
        records: list[dict[str, Any] | None] = []
        for flat in self._scripts.run(calls):
            if not flat:
                records.append(None)
                continue
            records.append(decode_opportunity(dict(zip(flat[::2], flat[1::2], strict=True))))
        return records

    def open_members(self, symbol: str) -> set[str]:
        """Keys (`symbol|buy|sell`) of the open opportunities of one symbol."""
        return set(self.client.smembers(self.keys.symbol_opps(symbol)))

    def open_symbols(self) -> set[str]:
        """Symbols that have at least one open opportunity."""
        return {member.split("|", 1)[0] for member in self.client.zrange(self.keys.opps, 0, -1)}

    def open_count(self) -> int:
        """How many opportunities are open."""
        return int(self.client.zcard(self.keys.opps))

    def opportunities(self, limit: int = 100) -> list[dict[str, Any]]:
        """Open opportunities, best net % first."""
        members = self.client.zrevrange(self.keys.opps, 0, max(limit, 1) - 1)
        pipe = self.client.pipeline(transaction=False)
        for member in members:
            pipe.hgetall(self.keys.opp(member))
        return [decode_opportunity(rec) for rec in pipe.execute() if rec]
