"""Newest quotes and books per symbol: the newer-wins update, snapshots, housekeeping."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import redis

from core.keys import Keys
from core.stores.packed import LazyBooks, pack_depth, pack_quote, received_ns, unpack_quote
from core.stores.scripts import Scripts
from core.types import Depth, Quote

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

# Delete a hash field only if it still holds the value we judged stale: a newer quote written
# between our read and the delete must survive.
_HDEL_IF_SAME = """
if redis.call("HGET", KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call("HDEL", KEYS[1], ARGV[1])
end
return 0
"""


class Snapshot(NamedTuple):
    """One symbol's state read atomically: version, quotes and books by exchange, open members."""

    version: int
    quotes: dict[str, Quote]
    books: Mapping[str, Depth]
    open_members: set[str]


class QuoteStore:
    """`quote:{symbol}` and `book:{symbol}` hashes, the `symbols` set and the `versions` hash."""

    def __init__(self, client: redis.Redis, keys: Keys, scripts: Scripts) -> None:
        self.client = client
        self.keys = keys
        self._scripts = scripts
        self._update_latest = scripts.register(_UPDATE_LATEST)
        self._hdel_if_same = client.register_script(_HDEL_IF_SAME)
        # Symbols only ever join the set: it is written when a symbol is new to this process.
        self._known_symbols: set[str] = set()
        scripts.on_reset(self._known_symbols.clear)
        # The last decoded quote per series, by its packed text: a snapshot mostly repeats
        # unchanged quotes of other venues. One entry per series, so it never grows with time.
        self._parsed: dict[tuple[str, str], tuple[str, Quote]] = {}

    def _store(
        self, quotes: list[Quote], books: list[Depth], symbols: list[str]
    ) -> tuple[list[Quote], list[Depth], dict[str, Snapshot]]:
        """Run the newer-wins script: store items, then snapshot those of `symbols` it changed
        (every one of `symbols` when there are no items)."""
        keys = [self.keys.versions]
        args: list[str] = [str(len(quotes) + len(books))]
        for q in quotes:
            keys.append(self.keys.quote(q.symbol))
            args += [q.exchange, pack_quote(q), q.symbol]
        for b in books:
            keys.append(self.keys.book(b.symbol))
            args += [b.exchange, pack_depth(b), b.symbol]
        for symbol in symbols:
            keys += [self.keys.quote(symbol), self.keys.book(symbol),
                     self.keys.symbol_opps(symbol)]
        args += symbols
        applied, raw = self._scripts.run([(self._update_latest, keys, args)])[0]
        n = len(quotes)
        return (
            [q for q, ok in zip(quotes, applied[:n], strict=True) if ok],
            [b for b, ok in zip(books, applied[n:], strict=True) if ok],
            self._snapshots(raw),
        )

    def _remember_symbols(self, symbols: set[str]) -> None:
        if not symbols <= self._known_symbols:
            self.client.sadd(self.keys.symbols, *symbols)
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
        raw = self.client.hgetall(self.keys.quote(symbol))
        return {ex: unpack_quote(ex, symbol, packed) for ex, packed in raw.items()}

    def symbols(self) -> list[str]:
        """Every symbol a quote has been stored for, sorted."""
        return sorted(self.client.smembers(self.keys.symbols))

    def all_quotes(self, symbols: Iterable[str] | None = None) -> list[Quote]:
        """The newest quote per exchange for each of `symbols` (default: all known)."""
        wanted = list(symbols) if symbols is not None else self.symbols()
        pipe = self.client.pipeline(transaction=False)
        for symbol in wanted:
            pipe.hgetall(self.keys.quote(symbol))
        quotes: list[Quote] = []
        for symbol, raw in zip(wanted, pipe.execute(), strict=True):
            quotes.extend(unpack_quote(ex, symbol, packed) for ex, packed in sorted(raw.items()))
        return quotes

    def remove_stale(self, cutoff_ns: int) -> int:
        """Drop quotes received before `cutoff_ns`; symbols left with none are forgotten."""
        removed = 0
        for symbol in self.symbols():
            key = self.keys.quote(symbol)
            for exchange, packed in self.client.hgetall(key).items():
                # An unreadable quote counts as received at 0: nothing can use it.
                if received_ns(packed) < cutoff_ns:
                    removed += int(self._hdel_if_same(keys=[key], args=[exchange, packed]))
            if not self.client.exists(key):
                self.client.srem(self.keys.symbols, symbol)
        return removed
