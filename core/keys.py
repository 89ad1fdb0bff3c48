"""Every Redis key and channel of the product, under one deployment prefix.

Other processes (workers, web, tasks, tests, operators' scripts) read these exact names, so a
format here is a wire format: change one only together with everything that reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "ct:"


@dataclass(frozen=True, slots=True)
class Keys:
    """The names of one deployment's keys: `prefix` keeps deployments and tests apart."""

    prefix: str = DEFAULT_PREFIX

    # quotes and books: hash per symbol, field = exchange, value = packed quote/book
    def quote(self, symbol: str) -> str:
        return f"{self.prefix}quote:{symbol}"

    def book(self, symbol: str) -> str:
        return f"{self.prefix}book:{symbol}"

    @property
    def symbols(self) -> str:
        """Set of every symbol a quote was stored for."""
        return f"{self.prefix}symbols"

    @property
    def versions(self) -> str:
        """Hash symbol → version of its last change."""
        return f"{self.prefix}versions"

    # opportunities
    def opp(self, member: str) -> str:
        return f"{self.prefix}opp:{member}"

    @property
    def opps(self) -> str:
        """Sorted set of open members by net %."""
        return f"{self.prefix}opps"

    def symbol_opps(self, symbol: str) -> str:
        return f"{self.prefix}opps:{symbol}"

    def decisions(self, symbol: str) -> str:
        """Hash member → version of the snapshot that last decided it."""
        return f"{self.prefix}oppver:{symbol}"

    # feeds and the live bus
    def feed(self, exchange: str) -> str:
        return f"{self.prefix}feed:{exchange}"

    @property
    def feed_pattern(self) -> str:
        """SCAN pattern of every feed status hash."""
        return f"{self.prefix}feed:*"

    @property
    def live(self) -> str:
        """What every live-event channel starts with (core/stores/bus.py names the rest)."""
        return f"{self.prefix}live"

    # derived data
    @property
    def triangles(self) -> str:
        return f"{self.prefix}triangles"

    @property
    def task_metrics(self) -> str:
        """Hash of task counters summed by every worker (see core/stores/task_metrics.py)."""
        return f"{self.prefix}task_metrics"

    def deliveries(self, task_id: str) -> str:
        """Redelivery count of one task message."""
        return f"{self.prefix}deliveries:{task_id}"

    def report_latest(self, period: str) -> str:
        return f"{self.prefix}report:latest:{period}"

    def report(self, rid: str) -> str:
        return f"{self.prefix}report:{rid}"

    @property
    def report_ids(self) -> str:
        return f"{self.prefix}report:ids"

    @property
    def rollup_watermark(self) -> str:
        return f"{self.prefix}rollup:watermark"

    # alerts
    def alert_sent(self, pair: str, opened_ns: int) -> str:
        return f"{self.prefix}alerts:sent:{pair}|{opened_ns}"

    def alert_cooldown(self, pair: str) -> str:
        return f"{self.prefix}alerts:cooldown:{pair}"

    @property
    def alert_deliveries(self) -> str:
        return f"{self.prefix}alerts:deliveries"

    @property
    def everything(self) -> str:
        """SCAN pattern of every key of this deployment."""
        return f"{self.prefix}*"
