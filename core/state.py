"""Current state in Redis: newest quotes, open opportunities, feed status and live events."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import orjson
import redis
from redis.commands.core import Script

from core.types import Depth, Opportunity, Quote

# Newer-wins update of many hash fields (quotes in `quote:{symbol}`, books in `book:{symbol}`),
# and the snapshot of every symbol that changed, in one atomic round trip. A packed value starts
# with its 19-digit ns timestamp; comparing as strings (length first) keeps full ns precision,
# which Lua's doubles would not. Every symbol a call changes gets a new version, so a reader can
# tell which snapshot it computed from. Versions are max(previous + 1, Redis clock in µs):
# strictly rising, and still rising after the keys were flushed or evicted, so decisions
# recorded before a reset can never outrank later snapshots.
# KEYS: versions hash, one hash key per item, then (quote, book, open set) per batch symbol.
# ARGV: item count, (field, packed, symbol) per item, then the batch's symbols.
# Returns {per item 1 stored / 0 not newer, {symbol, version, quotes, books, open} per change}.
_UPDATE_LATEST = """
local n_items = tonumber(ARGV[1])
local applied, bumped = {}, {}
for i = 1, n_items do
  local base = 3 * (i - 1) + 1
  local field, packed, symbol = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local new_ts = string.match(packed, "^(%d+)|")
  local old = redis.call("HGET", KEYS[i + 1], field)
  local newer = true
  if old then
    local old_ts = string.match(old, "^(%d+)|")
    if old_ts then
      if #old_ts ~= #new_ts then newer = #new_ts > #old_ts else newer = new_ts > old_ts end
    end
  end
  if newer then
    redis.call("HSET", KEYS[i + 1], field, packed)
    bumped[symbol] = true
    applied[i] = 1
  else
    applied[i] = 0
  end
end
local clock = redis.call("TIME")
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
for symbol in pairs(bumped) do
  local version = tonumber(redis.call("HGET", KEYS[1], symbol) or "0")
  if version < now_us then version = now_us else version = version + 1 end
  redis.call("HSET", KEYS[1], symbol, string.format("%.0f", version))
end
-- Then, in the same atomic step, the snapshot of every listed symbol this call changed (with
-- no items: of every listed symbol, which makes this the plain snapshot script too).
-- Remaining ARGV: the symbols; remaining KEYS: (quote, book, open set) per symbol.
local out = {}
local first_key = n_items + 2
for j = 3 * n_items + 2, #ARGV do
  local symbol = ARGV[j]
  if n_items == 0 or bumped[symbol] then
    local k = first_key + 3 * (j - 3 * n_items - 2)
    out[#out + 1] = {symbol, redis.call("HGET", KEYS[1], symbol) or "0",
                     redis.call("HGETALL", KEYS[k]), redis.call("HGETALL", KEYS[k + 1]),
                     redis.call("SMEMBERS", KEYS[k + 2])}
  end
end
return {applied, out}
"""

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


class LazyBooks(Mapping[str, Depth]):
    """A symbol's packed books by exchange, decoded only when the engine walks one."""

    def __init__(self, symbol: str, packed: dict[str, str]) -> None:
        self._symbol = symbol
        self._packed = packed
        self._decoded: dict[str, Depth] = {}

    def __getitem__(self, exchange: str) -> Depth:
        book = self._decoded.get(exchange)
        if book is None:
            book = unpack_depth(exchange, self._symbol, self._packed[exchange])
            self._decoded[exchange] = book
        return book

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)


class Snapshot(NamedTuple):
    """One symbol's state read atomically: version, quotes and books by exchange, open members."""

    version: int
    quotes: dict[str, Quote]
    books: Mapping[str, Depth]
    open_members: set[str]


def _jsonable(value: Any) -> Any:
    """What orjson cannot encode by itself: other mappings and sets."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot encode {type(value).__name__} in a live event")


def _event(event_type: str, data: Any, trace: Mapping[str, int] | None = None) -> bytes:
    """A live event as JSON bytes (orjson: several times faster than json, NaN → null)."""
    if trace is None:
        return orjson.dumps({"type": event_type, "data": data}, default=_jsonable)
    # `trace` goes last: the hub appends its send stamp to it without parsing the event again.
    return orjson.dumps({"type": event_type, "data": data, "trace": trace}, default=_jsonable)


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


def _pack_levels(levels: Iterable[tuple[float, float]]) -> str:
    return ",".join(f"{float(p)!r} {float(s)!r}" for p, s in levels)


def _unpack_levels(text: str) -> tuple[tuple[float, float], ...]:
    if not text:
        return ()
    out = []
    for item in text.split(","):
        price, size = item.split(" ")
        out.append((float(price), float(size)))
    return tuple(out)


def pack_depth(depth: Depth) -> str:
    """Encode a book's top levels, time first like a quote: `ts|p s,p s|p s,...`."""
    return f"{depth.ts_ns}|{_pack_levels(depth.bids)}|{_pack_levels(depth.asks)}"


def unpack_depth(exchange: str, symbol: str, packed: str) -> Depth:
    """Decode a packed book back into Depth."""
    ts, bids, asks = packed.split("|")
    return Depth(exchange, symbol, _unpack_levels(bids), _unpack_levels(asks), int(ts))


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


class RedisState:
    """All Redis access, every key under one prefix so deployments and tests can share a server."""

    def __init__(self, client: redis.Redis, prefix: str = "ct:") -> None:
        self.redis = client
        self.prefix = prefix
        self.channel = f"{prefix}live"
        self._known_symbols: set[str] = set()
        # Packed quote → Quote: most quotes of a snapshot were read (and parsed) last pass too.
        # The last decoded quote per series, by its packed text: a snapshot mostly repeats
        # unchanged quotes of other venues. One entry per series, so it never grows with time
        # (keyed by packed text it grew by one entry per quote: +3.5 MB/min in the soak).
        self._parsed: dict[tuple[str, str], tuple[str, Quote]] = {}
        self._update_latest = client.register_script(_UPDATE_LATEST)
        self._upsert_opportunity = client.register_script(_UPSERT_OPPORTUNITY)
        self._close_opportunity = client.register_script(_CLOSE_OPPORTUNITY)
        self._scripts = (
            self._update_latest, self._upsert_opportunity, self._close_opportunity,
        )

    def _pipeline(self, calls: list[tuple[Script, list[str], list[str]]]) -> list[Any]:
        """Run script calls in one pipeline by SHA, loading the scripts only when Redis lost them.

        redis-py's own script pipelining asks SCRIPT EXISTS on every execute: one more round
        trip per pass. A Redis restart empties the script cache; NOSCRIPT reloads and retries
        (every script here is safe to run again).
        """
        for attempt in (1, 2):
            pipe = self.redis.pipeline(transaction=False)
            for script, keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            try:
                return pipe.execute()
            except redis.exceptions.ConnectionError:
                # Redis may come back empty: write the symbols set again (state rebuilds).
                self._known_symbols.clear()
                raise
            except redis.exceptions.NoScriptError:
                self._known_symbols.clear()  # a restarted (emptied) Redis: as above
                if attempt == 2:
                    raise
                for script in self._scripts:
                    script.sha = self.redis.script_load(script.script)
        raise AssertionError("unreachable")

    @classmethod
    def from_url(cls, url: str, prefix: str = "ct:", timeout_s: float | None = None) -> RedisState:
        """Connect with a pooled client that returns str; connects and replies time out after
        `timeout_s` (default REDIS_TIMEOUT_S): a Redis that hangs fails a call, never a thread."""
        if timeout_s is None:
            from core.config import get_settings

            timeout_s = get_settings().redis_timeout_s
        return cls(redis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout_s,
                                        socket_connect_timeout=timeout_s), prefix)

    # keys
    def quote_key(self, symbol: str) -> str:
        return f"{self.prefix}quote:{symbol}"

    def book_key(self, symbol: str) -> str:
        return f"{self.prefix}book:{symbol}"

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

    @property
    def versions_key(self) -> str:
        return f"{self.prefix}versions"

    def symbol_opps_key(self, symbol: str) -> str:
        return f"{self.prefix}opps:{symbol}"

    def decisions_key(self, symbol: str) -> str:
        return f"{self.prefix}oppver:{symbol}"

    def _opp_keys(self, symbol: str, member: str) -> list[str]:
        return [
            self.opp_key(member), self.opps_key, self.symbol_opps_key(symbol),
            self.decisions_key(symbol),
        ]

    # quotes and books
    def _store(
        self, quotes: list[Quote], books: list[Depth], symbols: list[str]
    ) -> tuple[list[Quote], list[Depth], dict[str, Snapshot]]:
        """Run the newer-wins script: store items, then snapshot those of `symbols` it changed
        (every one of `symbols` when there are no items)."""
        keys = [self.versions_key]
        args: list[str] = [str(len(quotes) + len(books))]
        for q in quotes:
            keys.append(self.quote_key(q.symbol))
            args += [q.exchange, pack_quote(q), q.symbol]
        for b in books:
            keys.append(self.book_key(b.symbol))
            args += [b.exchange, pack_depth(b), b.symbol]
        for symbol in symbols:
            keys += [self.quote_key(symbol), self.book_key(symbol), self.symbol_opps_key(symbol)]
        args += symbols
        applied, raw = self._pipeline([(self._update_latest, keys, args)])[0]
        n = len(quotes)
        return (
            [q for q, ok in zip(quotes, applied[:n], strict=True) if ok],
            [b for b, ok in zip(books, applied[n:], strict=True) if ok],
            self._snapshots(raw),
        )

    def _remember_symbols(self, symbols: set[str]) -> None:
        """Symbols only ever join this set, so it is written when a symbol is new to us."""
        if not symbols <= self._known_symbols:
            self.redis.sadd(self.symbols_key, *symbols)
            self._known_symbols.update(symbols)

    def apply_and_snapshot(
        self, quotes: Iterable[Quote], books: Iterable[Depth] = ()
    ) -> tuple[list[Quote], list[Depth], dict[str, Snapshot]]:
        """Store quotes and books newer-wins, and read the symbols that changed, atomically.

        Returns the quotes and books that were newer than what Redis held, and a snapshot of
        each symbol they changed, taken right after this batch in the same script.
        """
        quotes, books = list(quotes), list(books)
        if not quotes and not books:
            return [], [], {}
        symbols = {q.symbol for q in quotes} | {b.symbol for b in books}
        result = self._store(quotes, books, sorted(symbols))
        self._remember_symbols(symbols)
        return result

    def apply(
        self, quotes: Iterable[Quote], books: Iterable[Depth] = ()
    ) -> tuple[list[Quote], list[Depth]]:
        """Store quotes and books newer-wins in one round trip; returns those that were newer."""
        quotes, books = list(quotes), list(books)
        if not quotes and not books:
            return [], []
        applied_quotes, applied_books, _ = self._store(quotes, books, [])
        self._remember_symbols({q.symbol for q in quotes} | {b.symbol for b in books})
        return applied_quotes, applied_books

    def update_quotes(self, quotes: Iterable[Quote]) -> list[Quote]:
        """Store quotes newer-wins; returns the ones that were newer than what Redis held."""
        return self.apply(quotes)[0]

    def snapshot(self, symbols: Iterable[str]) -> dict[str, Snapshot]:
        """Each symbol's version, quotes, books and open opportunities, read atomically."""
        wanted = list(symbols)
        if not wanted:
            return {}
        return self._store([], [], wanted)[2]

    def _snapshots(self, raw: list[Any]) -> dict[str, Snapshot]:
        """Decode script replies `[symbol, version, quotes, books, members]` into Snapshots."""
        out: dict[str, Snapshot] = {}
        cache = self._parsed
        for symbol, version, quotes, books, members in raw:
            parsed: dict[str, Quote] = {}
            for i in range(0, len(quotes), 2):
                exchange, packed = quotes[i], quotes[i + 1]
                held = cache.get((exchange, symbol))
                if held is not None and held[0] == packed:
                    quote = held[1]
                else:
                    quote = unpack_quote(exchange, symbol, packed)
                    cache[(exchange, symbol)] = (packed, quote)
                parsed[exchange] = quote
            out[symbol] = Snapshot(
                int(version or 0), parsed,
                LazyBooks(symbol, dict(zip(books[::2], books[1::2], strict=True))),
                set(members),
            )
        return out

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
            (self._upsert_opportunity, self._opp_keys(opp.symbol, opp.key),
             _opportunity_args(opp))
            for opp in opps
        ]
        outcomes: list[int] = []
        for opp, (outcome, opened_ns, peak) in zip(opps, self._pipeline(calls), strict=True):
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
            (self._close_opportunity, self._opp_keys(symbol, member),
             [member, "" if version is None else str(version), str(closed_ns)])
            for symbol, member, version, closed_ns in closes
        ]
        records: list[dict[str, Any] | None] = []
        for flat in self._pipeline(calls):
            if not flat:
                records.append(None)
                continue
            records.append(decode_opportunity(dict(zip(flat[::2], flat[1::2], strict=True))))
        return records

    def close_opportunity(
        self, symbol: str, member: str, version: int | None = None, closed_ns: int = 0
    ) -> dict[str, Any] | None:
        """Remove an open opportunity; returns its record to the one caller that closed it."""
        return self.close_many([(symbol, member, version, closed_ns)])[0]

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
        self.redis.publish(self.channel, _event(event_type, data))

    def publish_many(self, events: Iterable[tuple[str, Any]],
                     trace: Mapping[str, int] | None = None) -> None:
        """Publish several live events in one round trip; with `trace` (the path's stamps so
        far), each event carries them plus `redis_ns`, the wall time of this publish."""
        if trace is not None:
            trace = {**trace, "redis_ns": time.time_ns()}
        pipe = self.redis.pipeline(transaction=False)
        for event_type, data in events:
            pipe.publish(self.channel, _event(event_type, data, trace))
        pipe.execute()

    def clear(self) -> None:
        """Delete every key under this prefix (tests and resets)."""
        batch = list(self.redis.scan_iter(match=f"{self.prefix}*", count=1000))
        for start in range(0, len(batch), 500):
            self.redis.delete(*batch[start : start + 500])
