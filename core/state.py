"""Current state in Redis: one client and key prefix, and the store of each concern on it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import redis

from core.keys import DEFAULT_PREFIX, Keys
from core.stores.alerts import AlertStore
from core.stores.bus import LiveBus
from core.stores.deliveries import DeliveryCounts
from core.stores.feeds import FeedStatus, FeedStore
from core.stores.opportunities import OpportunityStore
from core.stores.quotes import QuoteStore, Snapshot
from core.stores.reports import ReportStore
from core.stores.scripts import Scripts
from core.stores.task_metrics import TaskMetricsStore
from core.stores.triangles import TriangleStore
from core.stores.watermark import WatermarkStore
from core.types import Depth, Opportunity, Quote


class RedisState:
    """All Redis access, every key under one prefix so deployments and tests can share a server.

    Each concern has its store (`quotes`, `opps`, `feeds`, `live`, ...); the methods here are
    the ones most callers use, passed on to them.
    """

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = client
        self.prefix = prefix
        self.keys = Keys(prefix)
        self.live = LiveBus(client, prefix)
        scripts = Scripts(client)
        self.quotes = QuoteStore(client, self.keys, scripts)
        self.opps = OpportunityStore(client, self.keys, scripts)
        self.feeds = FeedStore(client, self.keys)
        self.reports = ReportStore(client, self.keys)
        self.triangles = TriangleStore(client, self.keys)
        self.task_metrics = TaskMetricsStore(client, self.keys)
        self.deliveries = DeliveryCounts(client, self.keys)
        self.alerts = AlertStore(client, self.keys)
        self.watermark = WatermarkStore(client, self.keys)

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX,
                 timeout_s: float | None = None) -> RedisState:
        """Connect with a pooled client that returns str; connects and replies time out after
        `timeout_s` (default REDIS_TIMEOUT_S): a Redis that hangs fails a call, never a thread."""
        if timeout_s is None:
            from core.config import get_settings

            timeout_s = get_settings().redis_timeout_s
        return cls(redis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout_s,
                                        socket_connect_timeout=timeout_s), prefix)

    def ping(self) -> None:
        """Raise unless Redis answers."""
        self.redis.ping()

    # quotes and books
    def apply_and_snapshot(
        self, quotes: Iterable[Quote], books: Iterable[Depth] = ()
    ) -> tuple[list[Quote], list[Depth], dict[str, Snapshot]]:
        """Store quotes and books newer-wins and snapshot the symbols they changed, atomically."""
        return self.quotes.apply_and_snapshot(quotes, books)

    def apply(
        self, quotes: Iterable[Quote], books: Iterable[Depth] = ()
    ) -> tuple[list[Quote], list[Depth]]:
        """Store quotes and books newer-wins in one round trip; returns those that were newer."""
        return self.quotes.apply(quotes, books)

    def update_quotes(self, quotes: Iterable[Quote]) -> list[Quote]:
        """Store quotes newer-wins; returns the ones that were newer than what Redis held."""
        return self.quotes.apply(quotes)[0]

    def snapshot(self, symbols: Iterable[str]) -> dict[str, Snapshot]:
        """Each symbol's version, quotes, books and open opportunities, read atomically."""
        return self.quotes.snapshot(symbols)

    def quotes_for(self, symbol: str) -> dict[str, Quote]:
        """The newest quote per exchange for one symbol."""
        return self.quotes.quotes_for(symbol)

    def symbols(self) -> list[str]:
        """Every symbol a quote has been stored for, sorted."""
        return self.quotes.symbols()

    def all_quotes(self, symbols: Iterable[str] | None = None) -> list[Quote]:
        """The newest quote per exchange for each of `symbols` (default: all known)."""
        return self.quotes.all_quotes(symbols)

    # opportunities
    def upsert_many(self, opps: Iterable[Opportunity]) -> list[int]:
        """Open or refresh opportunities: 1 opened, 0 updated, -1 superseded, per opportunity."""
        return self.opps.upsert_many(opps)

    def upsert_opportunity(self, opp: Opportunity, now_ns: int) -> bool:
        """Open or refresh one opportunity stamped `now_ns`; True when it just opened."""
        return self.opps.upsert_opportunity(opp, now_ns)

    def close_many(
        self, closes: Iterable[tuple[str, str, int | None, int]]
    ) -> list[dict[str, Any] | None]:
        """Close (symbol, member, version, closed_ns) entries; a record for each one we closed."""
        return self.opps.close_many(closes)

    def open_members(self, symbol: str) -> set[str]:
        """Keys (`symbol|buy|sell`) of the open opportunities of one symbol."""
        return self.opps.open_members(symbol)

    def open_symbols(self) -> set[str]:
        """Symbols that have at least one open opportunity."""
        return self.opps.open_symbols()

    def opportunities(self, limit: int = 100) -> list[dict[str, Any]]:
        """Open opportunities, best net % first."""
        return self.opps.opportunities(limit)

    # feeds
    def set_feed_status(self, exchange: str, status: FeedStatus | Mapping[str, Any]) -> None:
        """Replace the feed status hash of one exchange."""
        self.feeds.set(exchange, status)

    def feed_status(self, exchange: str) -> dict[str, str]:
        """The feed status hash of one exchange as stored (empty when its worker never reported;
        `feeds.get` decodes it)."""
        return self.feeds.raw(exchange)

    # live events
    def publish(self, event_type: str, data: Mapping[str, Any] | list[Any]) -> None:
        """Publish a live event (`quote`, `opportunity`, `feed`) to the web processes."""
        self.live.publish(event_type, data)

    def publish_many(self, events: Iterable[tuple[str, Any]],
                     trace: Mapping[str, int] | None = None) -> None:
        """Publish several live events in one round trip (see `LiveBus.publish_many`)."""
        self.live.publish_many(events, trace)

    def clear(self) -> None:
        """Delete every key under this prefix (tests and resets)."""
        batch = list(self.redis.scan_iter(match=self.keys.everything, count=1000))
        for start in range(0, len(batch), 500):
            self.redis.delete(*batch[start : start + 500])
