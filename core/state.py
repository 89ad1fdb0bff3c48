"""Current state in Redis: newest quotes, open opportunities, feed status and live events."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from core.types import Opportunity, Quote

# Newer-wins update of many `quote:{symbol}` hash fields in one round trip. A packed quote starts
# with its 19-digit ns timestamp; comparing as strings (length first) keeps full ns precision,
# which Lua's doubles would not. Returns, per quote, 1 when stored and 0 when it was older.
_UPDATE_QUOTES = """
local applied = {}
for i = 1, #KEYS do
  local field = ARGV[2 * i - 1]
  local packed = ARGV[2 * i]
  local new_ts = string.match(packed, "^(%d+)|")
  local old = redis.call("HGET", KEYS[i], field)
  local newer = true
  if old then
    local old_ts = string.match(old, "^(%d+)|")
    if old_ts then
      if #old_ts ~= #new_ts then newer = #new_ts > #old_ts else newer = new_ts > old_ts end
    end
  end
  if newer then
    redis.call("HSET", KEYS[i], field, packed)
    applied[i] = 1
  else
    applied[i] = 0
  end
end
return applied
"""

# Open or update one opportunity: keeps opened_ns, tracks peak/mean net %, max size and profit.
# KEYS: hash, sorted set, per-symbol set. ARGV: member, net_pct, now_ns, then field/value pairs.
# Returns 1 when the opportunity is new.
_UPSERT_OPPORTUNITY = """
local member, net, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local is_new = redis.call("EXISTS", KEYS[1]) == 0
for i = 4, #ARGV, 2 do redis.call("HSET", KEYS[1], ARGV[i], ARGV[i + 1]) end
if is_new then
  redis.call("HSET", KEYS[1], "opened_ns", now, "peak_net_pct", ARGV[2], "sum_net_pct", ARGV[2],
             "samples", 1, "max_size", redis.call("HGET", KEYS[1], "size"),
             "max_profit", redis.call("HGET", KEYS[1], "net_profit"))
else
  local peak = tonumber(redis.call("HGET", KEYS[1], "peak_net_pct"))
  if net > peak then redis.call("HSET", KEYS[1], "peak_net_pct", ARGV[2]) end
  redis.call("HINCRBYFLOAT", KEYS[1], "sum_net_pct", ARGV[2])
  redis.call("HINCRBY", KEYS[1], "samples", 1)
  local size = tonumber(redis.call("HGET", KEYS[1], "size"))
  if size > tonumber(redis.call("HGET", KEYS[1], "max_size")) then
    redis.call("HSET", KEYS[1], "max_size", tostring(size))
  end
  local profit = tonumber(redis.call("HGET", KEYS[1], "net_profit"))
  if profit > tonumber(redis.call("HGET", KEYS[1], "max_profit")) then
    redis.call("HSET", KEYS[1], "max_profit", tostring(profit))
  end
end
redis.call("HSET", KEYS[1], "updated_ns", now)
redis.call("ZADD", KEYS[2], net, member)
redis.call("SADD", KEYS[3], member)
if is_new then return 1 else return 0 end
"""

# Close one opportunity atomically: whoever closes it gets its record, everyone else gets nil,
# so exactly one worker writes the closing point to InfluxDB.
_CLOSE_OPPORTUNITY = """
local record = redis.call("HGETALL", KEYS[1])
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("SREM", KEYS[3], ARGV[1])
if #record == 0 then return false end
return record
"""

_OPP_FIELDS_FLOAT = (
    "buy_price", "sell_price", "size", "gross_pct", "net_pct", "net_profit",
    "peak_net_pct", "sum_net_pct", "max_size", "max_profit",
)
_OPP_FIELDS_INT = ("opened_ns", "updated_ns", "samples")


def pack_quote(quote: Quote) -> str:
    """Encode a quote for its hash field, time first so the Lua script can compare it."""
    last = "" if quote.last is None else repr(float(quote.last))
    ts_exchange = "" if quote.ts_exchange_ns is None else str(quote.ts_exchange_ns)
    return (
        f"{quote.ts_ns}|{float(quote.bid)!r}|{float(quote.bid_size)!r}|{float(quote.ask)!r}|"
        f"{float(quote.ask_size)!r}|{last}|{ts_exchange}|{quote.ts_received_ns}"
    )


def unpack_quote(exchange: str, symbol: str, packed: str) -> Quote:
    """Decode a packed quote back into a Quote."""
    _, bid, bid_size, ask, ask_size, last, ts_exchange, ts_received = packed.split("|")
    return Quote(
        exchange, symbol, float(bid), float(bid_size), float(ask), float(ask_size),
        float(last) if last else None, int(ts_exchange) if ts_exchange else None, int(ts_received),
    )


def decode_opportunity(record: Mapping[str, str]) -> dict[str, Any]:
    """Turn an opportunity hash into typed values, with the mean net % derived."""
    out: dict[str, Any] = {k: record[k] for k in ("symbol", "buy_exchange", "sell_exchange")}
    for name in _OPP_FIELDS_FLOAT:
        out[name] = float(record.get(name, 0.0))
    for name in _OPP_FIELDS_INT:
        out[name] = int(record.get(name, 0))  # int(), not float(): ns need all 19 digits
    samples = max(out.pop("samples"), 1)
    out["mean_net_pct"] = out.pop("sum_net_pct") / samples
    out["samples"] = samples
    return out


class RedisState:
    """All Redis access, every key under one prefix so deployments and tests can share a server."""

    def __init__(self, client: redis.Redis, prefix: str = "ct:") -> None:
        self.redis = client
        self.prefix = prefix
        self.channel = f"{prefix}live"
        self._update_quotes = client.register_script(_UPDATE_QUOTES)
        self._upsert_opportunity = client.register_script(_UPSERT_OPPORTUNITY)
        self._close_opportunity = client.register_script(_CLOSE_OPPORTUNITY)

    @classmethod
    def from_url(cls, url: str, prefix: str = "ct:") -> RedisState:
        """Connect with a pooled client that returns str."""
        return cls(redis.Redis.from_url(url, decode_responses=True), prefix)

    # keys
    def quote_key(self, symbol: str) -> str:
        return f"{self.prefix}quote:{symbol}"

    def opp_key(self, member: str) -> str:
        return f"{self.prefix}opp:{member}"

    def feed_key(self, exchange: str) -> str:
        return f"{self.prefix}feed:{exchange}"

    @property
    def opps_key(self) -> str:
        return f"{self.prefix}opps"

    @property
    def symbols_key(self) -> str:
        return f"{self.prefix}symbols"

    def symbol_opps_key(self, symbol: str) -> str:
        return f"{self.prefix}opps:{symbol}"

    # quotes
    def update_quotes(self, quotes: Iterable[Quote]) -> list[Quote]:
        """Store quotes newer-wins; returns the ones that were newer than what Redis held."""
        quotes = list(quotes)
        if not quotes:
            return []
        keys = [self.quote_key(q.symbol) for q in quotes]
        args: list[str] = []
        for q in quotes:
            args.append(q.exchange)
            args.append(pack_quote(q))
        pipe = self.redis.pipeline(transaction=False)
        self._update_quotes(keys=keys, args=args, client=pipe)
        pipe.sadd(self.symbols_key, *{q.symbol for q in quotes})
        applied = pipe.execute()[0]
        return [q for q, ok in zip(quotes, applied, strict=True) if ok]

    def quotes_for(self, symbol: str) -> dict[str, Quote]:
        """The newest quote per exchange for one symbol."""
        raw = self.redis.hgetall(self.quote_key(symbol))
        return {ex: unpack_quote(ex, symbol, packed) for ex, packed in raw.items()}

    def symbols(self) -> list[str]:
        """Every symbol a quote has been stored for, sorted."""
        return sorted(self.redis.smembers(self.symbols_key))

    def all_quotes(self, symbols: Iterable[str] | None = None) -> list[Quote]:
        """The newest quote per exchange for each of `symbols` (default: all known)."""
        wanted = list(symbols) if symbols is not None else self.symbols()
        pipe = self.redis.pipeline(transaction=False)
        for symbol in wanted:
            pipe.hgetall(self.quote_key(symbol))
        quotes: list[Quote] = []
        for symbol, raw in zip(wanted, pipe.execute(), strict=True):
            quotes.extend(unpack_quote(ex, symbol, packed) for ex, packed in sorted(raw.items()))
        return quotes

    # opportunities
    def upsert_opportunity(self, opp: Opportunity, now_ns: int) -> bool:
        """Open or refresh an opportunity; True when it just opened."""
        fields = {
            "symbol": opp.symbol, "buy_exchange": opp.buy_exchange,
            "sell_exchange": opp.sell_exchange, "buy_price": repr(opp.buy_price),
            "sell_price": repr(opp.sell_price), "size": repr(opp.size),
            "gross_pct": repr(opp.gross_pct), "net_pct": repr(opp.net_pct),
            "net_profit": repr(opp.net_profit),
        }
        args: list[str] = [opp.key, repr(opp.net_pct), str(now_ns)]
        for name, value in fields.items():
            args += [name, value]
        keys = [self.opp_key(opp.key), self.opps_key, self.symbol_opps_key(opp.symbol)]
        return bool(self._upsert_opportunity(keys=keys, args=args))

    def close_opportunity(self, symbol: str, member: str) -> dict[str, Any] | None:
        """Remove an open opportunity; returns its record to the one caller that closed it."""
        keys = [self.opp_key(member), self.opps_key, self.symbol_opps_key(symbol)]
        flat = self._close_opportunity(keys=keys, args=[member])
        if not flat:
            return None
        record = dict(zip(flat[::2], flat[1::2], strict=True))
        return decode_opportunity(record)

    def open_members(self, symbol: str) -> set[str]:
        """Keys (`symbol|buy|sell`) of the open opportunities of one symbol."""
        return set(self.redis.smembers(self.symbol_opps_key(symbol)))

    def open_symbols(self) -> set[str]:
        """Symbols that have at least one open opportunity."""
        return {member.split("|", 1)[0] for member in self.redis.zrange(self.opps_key, 0, -1)}

    def opportunities(self, limit: int = 100) -> list[dict[str, Any]]:
        """Open opportunities, best net % first."""
        members = self.redis.zrevrange(self.opps_key, 0, max(limit, 1) - 1)
        pipe = self.redis.pipeline(transaction=False)
        for member in members:
            pipe.hgetall(self.opp_key(member))
        return [decode_opportunity(rec) for rec in pipe.execute() if rec]

    # feeds
    def set_feed_status(self, exchange: str, status: Mapping[str, str | int | float]) -> None:
        """Replace the feed status hash of one exchange."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.feed_key(exchange))
        pipe.hset(self.feed_key(exchange), mapping={k: str(v) for k, v in status.items()})
        pipe.execute()

    def feed_status(self, exchange: str) -> dict[str, str]:
        """The feed status hash of one exchange (empty when its worker never reported)."""
        return self.redis.hgetall(self.feed_key(exchange))

    # live events
    def publish(self, event_type: str, data: Mapping[str, Any] | list[Any]) -> None:
        """Publish a live event (`quote`, `opportunity`, `feed`) to the web processes."""
        self.redis.publish(self.channel, json.dumps({"type": event_type, "data": data}))

    def publish_many(self, events: Iterable[tuple[str, Any]]) -> None:
        """Publish several live events in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for event_type, data in events:
            pipe.publish(self.channel, json.dumps({"type": event_type, "data": data}))
        pipe.execute()

    def clear(self) -> None:
        """Delete every key under this prefix (tests and resets)."""
        batch = list(self.redis.scan_iter(match=f"{self.prefix}*", count=1000))
        for start in range(0, len(batch), 500):
            self.redis.delete(*batch[start : start + 500])
