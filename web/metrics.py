"""`GET /metrics` in Prometheus text format: feeds, queues, ingest lag, opportunities, tasks.

Every scrape builds a fresh registry around one collector that reads Redis and RabbitMQ, so the
numbers are the whole deployment's (every worker writes there), not this web process's. A
backing service that cannot be read drops its metric families and sets
`cryptotracker_scrape_errors{source=...}` to 1; the endpoint itself always answers 200.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from flask import Blueprint, Response, current_app
from kombu import Connection
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.utils import floatToGoString

from core.state import RedisState
from core.stores.feeds import FeedStatus
from tasks.queues import DEAD_ROLE, QUEUE_ROLES
from web.extensions import services
from web.live import get_limits
from web.live.admission import WsLimits

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

# The dead queue too: messages the data tasks gave up on, kept for inspection.
QUEUE_NAMES = (*QUEUE_ROLES, DEAD_ROLE)
BROKER_TIMEOUT_S = 2.0


def _num(raw: Any) -> float | None:
    """A number from a Redis string, or None when absent or unreadable."""
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


# A feed family's value for one venue's status at scrape time (ns); None leaves it out.
FeedValue = Callable[[FeedStatus, int], float | None]


def _field(name: str) -> FeedValue:
    """The status field `name` as it stands (a counter, or a count gauge)."""
    return lambda status, _now_ns: float(getattr(status, name))


def _connected(status: FeedStatus, _now_ns: int) -> float | None:
    """1 when the feed state is connected."""
    return 1 if status.state == "connected" else 0


def _message_age_s(status: FeedStatus, now_ns: int) -> float | None:
    """Seconds since the last message; None before any message came."""
    last_ns = status.last_message_ns
    return max(0.0, (now_ns - last_ns) / 1e9) if last_ns else None


def _lag_s(status: FeedStatus, _now_ns: int) -> float | None:
    """The venue-clock lag in seconds; None for a venue whose frames carry no time."""
    return status.lag_ms / 1000.0 if status.lag_ms is not None else None


def _behind(status: FeedStatus, _now_ns: int) -> float | None:
    """1 while the worker is falling behind."""
    return 1 if status.behind else 0


_GAUGE, _COUNTER = GaugeMetricFamily, CounterMetricFamily  # short names for the table rows
# The per-venue feed families in exposition order: (value, metric name, help, kind).
FEED_FAMILIES: tuple[tuple[FeedValue, str, str, Callable[..., Metric]], ...] = (
    (_field("messages"), "cryptotracker_feed_messages",
     "Websocket messages received per venue (rate() gives the message rate)", _COUNTER),
    (_field("quotes"), "cryptotracker_feed_quotes", "Quotes produced per venue", _COUNTER),
    (_field("reconnects"), "cryptotracker_feed_reconnects", "Websocket reconnects per venue",
     _COUNTER),
    (_field("parse_errors"), "cryptotracker_feed_parse_errors",
     "Messages a venue's adapter could not read", _COUNTER),
    (_field("connections"), "cryptotracker_feed_connections", "Websocket connections per venue",
     _GAUGE),
    (_connected, "cryptotracker_feed_connected", "1 when the venue's feed state is connected",
     _GAUGE),
    (_message_age_s, "cryptotracker_feed_quote_age_seconds",
     "Seconds since the venue's last websocket message", _GAUGE),
    (_field("buffer_batches"), "cryptotracker_feed_buffer_batches",
     "Batches a feed worker holds while RabbitMQ is unreachable", _GAUGE),
    (_field("buffer_dropped_quotes"), "cryptotracker_feed_buffer_dropped_quotes",
     "Quotes dropped from a full feed buffer", _COUNTER),
    (_lag_s, "cryptotracker_feed_lag_seconds",
     "How late the venue's newest frames arrived against its own clock", _GAUGE),
    (_behind, "cryptotracker_feed_behind", "1 while a feed worker is falling behind its venue",
     _GAUGE),
    (_field("resyncs"), "cryptotracker_feed_resyncs",
     "Resyncs forced by frames the venue dropped (sequence gaps, checksum mismatches, "
     "slow-consumer disconnects)", _COUNTER),
    (_field("clock_skew"), "cryptotracker_feed_clock_skew",
     "Quotes whose venue time was more than MAX_CLOCK_SKEW_S from receipt (stored at "
     "receipt time instead)", _COUNTER),
)


class ScrapeCollector:
    """Reads the backing services once per scrape and yields the metric families."""

    def __init__(self, state: RedisState, broker_url: str, queue_prefix: str,
                 exchanges: Sequence[str], now_ns: int) -> None:
        self.state = state
        self.broker_url = broker_url
        self.queue_prefix = queue_prefix
        self.exchanges = list(exchanges)
        self.now_ns = now_ns

    def collect(self) -> Iterator[Metric]:
        """Each source on its own: one that fails is left out and counted as a scrape error."""
        errors = GaugeMetricFamily(
            "cryptotracker_scrape_errors",
            "1 when a backing service could not be read in this scrape (its metrics are omitted)",
            labels=["source"],
        )
        sources = (("redis", self._redis_families), ("rabbitmq", self._queue_families))
        for source, read in sources:
            try:
                families = list(read())
            except Exception as exc:  # noqa: BLE001  (a down service must not fail the scrape)
                log.warning("metrics: %s not readable: %s", source, type(exc).__name__)
                errors.add_metric([source], 1)
                continue
            errors.add_metric([source], 0)
            yield from families
        yield errors

    # Redis: feed status hashes, newest quotes, open opportunities, task metrics
    def _redis_families(self) -> list[Metric]:
        feeds = self.state.feeds.get_many(self.exchanges)
        open_opps = self.state.opps.open_count()
        task_hash = self.state.task_metrics.read()
        quotes = self.state.all_quotes()
        return [
            *self._feed_families(feeds),
            self._ingest_lag(quotes),
            GaugeMetricFamily("cryptotracker_open_opportunities",
                              "Arbitrage opportunities open now", value=int(open_opps)),
            *self._task_families(task_hash),
        ]

    def _feed_families(self, feeds: dict[str, FeedStatus | None]) -> list[Metric]:
        families = [(read, kind(name, help_text, labels=["exchange"]))
                    for read, name, help_text, kind in FEED_FAMILIES]
        for exchange, status in sorted(feeds.items()):
            if status is None:  # this venue's feed worker never reported
                continue
            for read, family in families:
                value = read(status, self.now_ns)
                if value is not None:
                    family.add_metric([exchange], value)
        return [family for _, family in families]

    def _ingest_lag(self, quotes: Sequence[Any]) -> Metric:
        newest: dict[str, int] = {}
        for quote in quotes:
            newest[quote.exchange] = max(newest.get(quote.exchange, 0), quote.ts_received_ns)
        lag = GaugeMetricFamily(
            "cryptotracker_ingest_lag_seconds",
            "Seconds since the newest quote of the venue in Redis was received by its feed "
            "(batching + queue + arbitrage task latency while quotes flow)",
            labels=["exchange"])
        for exchange, ts_ns in sorted(newest.items()):
            lag.add_metric([exchange], max(0.0, (self.now_ns - ts_ns) / 1e9))
        return lag

    @staticmethod
    def _task_families(task_hash: dict[str, str]) -> list[Metric]:
        counts: dict[str, float] = {}
        sums: dict[str, float] = {}
        failures: dict[str, float] = {}
        # Counters tasks/metrics.py keeps by task besides runs: field kind → its family.
        counters: dict[str, dict[str, float]] = {"bad_rows": {}, "dead_lettered": {}}
        buckets: dict[str, dict[float, float]] = defaultdict(dict)
        for field, raw in task_hash.items():
            kind, _, task = field.partition("|")
            value = _num(raw)
            if not task or value is None:
                continue
            if kind == "count":
                counts[task] = value
            elif kind == "seconds":
                sums[task] = value
            elif kind == "failures":
                failures[task] = value
            elif kind in counters:
                counters[kind][task] = value
            elif kind.startswith("le="):
                bound = _num(kind[3:])
                if bound is not None:
                    buckets[task][bound] = value
        duration = HistogramMetricFamily(
            "cryptotracker_task_duration_seconds", "Celery task run time (all workers)",
            labels=["task"])
        for task in sorted(counts):
            series = [(floatToGoString(b), v) for b, v in sorted(buckets[task].items())]
            series.append(("+Inf", counts[task]))
            duration.add_metric([task], series, sum_value=sums.get(task, 0.0))
        failed = CounterMetricFamily(
            "cryptotracker_task_failures", "Celery task runs that raised (all workers)",
            labels=["task"])
        for task in sorted(set(failures) | set(counts)):
            failed.add_metric([task], failures.get(task, 0.0))
        bad = CounterMetricFamily(
            "cryptotracker_task_bad_rows",
            "Rows a data task dropped on receipt as malformed, the rest of their batch kept",
            labels=["task"])
        dead = CounterMetricFamily(
            "cryptotracker_task_dead_lettered",
            "Messages a data task moved to the dead queue after MAX_DELIVERIES runs (or as "
            "not a batch at all)", labels=["task"])
        for family, kind in ((bad, "bad_rows"), (dead, "dead_lettered")):
            for task, value in sorted(counters[kind].items()):
                family.add_metric([task], value)
        return [duration, failed, bad, dead]

    # RabbitMQ: passive declares, which read a queue's depth without creating or changing it
    def _queue_families(self) -> list[Metric]:
        depth = GaugeMetricFamily(
            "cryptotracker_queue_messages", "Messages ready in the Celery queue", labels=["queue"])
        consumers = GaugeMetricFamily(
            "cryptotracker_queue_consumers", "Consumers (workers) of the Celery queue",
            labels=["queue"])
        with Connection(self.broker_url, connect_timeout=BROKER_TIMEOUT_S) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_S)
            for name in QUEUE_NAMES:
                channel = conn.channel()
                try:
                    _, messages, consumer_count = channel.queue_declare(
                        queue=f"{self.queue_prefix}{name}", passive=True)
                except conn.channel_errors:
                    continue  # not declared yet: no worker or publisher has used it
                finally:
                    try:
                        channel.close()
                    except Exception:  # noqa: BLE001,S110  (the broker closed it already)
                        pass
                depth.add_metric([name], messages)
                consumers.add_metric([name], consumer_count)
        return [depth, consumers]


class WsCollector:
    """This web process's own `/ws` sockets (not the deployment's: each process counts its own)."""

    def __init__(self, limits: WsLimits) -> None:
        self.limits = limits

    def collect(self) -> Iterator[Metric]:
        open_now, refused = self.limits.counts()
        yield GaugeMetricFamily("cryptotracker_ws_clients",
                                "Websocket /ws clients open in this web process", value=open_now)
        family = CounterMetricFamily(
            "cryptotracker_ws_refused",
            "/ws handshakes this web process refused, by reason (origin: HTTP 403; max_clients, "
            "max_per_address: closed with 1013)", labels=["reason"])
        for reason, count in refused.items():
            family.add_metric([reason], count)
        yield family


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition of this deployment's metrics (read-only, no auth)."""
    settings = current_app.config["SETTINGS"]
    collector = ScrapeCollector(
        services.state, settings.broker_url, settings.queue_prefix, list(settings.exchanges),
        time.time_ns(),
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]  (duck-typed collector)
    registry.register(WsCollector(get_limits(current_app)))  # type: ignore[arg-type]
    # The classic 0.0.4 text format: what generate_latest writes, read by every Prometheus.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
