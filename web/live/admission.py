"""Who may hold a `/ws` socket: the Origin check and the caps on open sockets per web process.

A browser sends `Origin` with every websocket handshake; one that names a foreign site is refused
(HTTP 403 before the upgrade) so another page cannot read the stream with the visitor's browser.
Clients that send none (scripts, the benchmarks) are not browsers and are let in. Caps are counted
here, in the process: a socket over `WS_MAX_CLIENTS` or `WS_MAX_PER_ADDRESS` is accepted and
closed at once with 1013 (Try Again Later) and a reason, which a page's `onclose` can read (a
refused upgrade only shows it a bare 1006).
"""

from __future__ import annotations

import ipaddress
import threading
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.config import Settings, normalize_origin

TRY_AGAIN_LATER = 1013  # RFC 6455 close code registered for "server overloaded, retry later"
REFUSAL_REASONS = ("origin", "max_clients", "max_per_address")  # label values in /metrics

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _host_port(netloc: str) -> tuple[str, int | None] | None:
    """`host[:port]` split (IPv6 without brackets, lowercased), or None when unreadable."""
    try:
        parts = urlsplit(f"//{netloc}")
        return (parts.hostname or "", parts.port)
    except ValueError:
        return None


def origin_allowed(origin: str | None, host: str, allowed: Collection[str]) -> bool:
    """Whether a handshake with this `Origin` header may open a socket on `host` (the request's
    Host header): no header, one of `allowed` (normalized origins), or the same host and port
    whatever the scheme (a page served over https behind a proxy still opens its own `/ws`)."""
    if origin is None:
        return True
    try:
        normalized = normalize_origin(origin)
    except ValueError:  # "null" (sandboxed frames, file: pages) and anything unreadable
        return False
    if normalized in allowed:
        return True
    scheme, _, netloc = normalized.partition("://")
    theirs, ours = _host_port(netloc), _host_port(host)
    if theirs is None or ours is None or not ours[0] or theirs[0] != ours[0]:
        return False
    default = 443 if scheme == "https" else 80  # normalize_origin drops the scheme's default
    return (theirs[1] or default) == (ours[1] or default)


def _in(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The address a socket counts against: the TCP peer, unless the peer is a trusted proxy;
    then the nearest `X-Forwarded-For` hop that is not one (hops further left are the client's
    to write, so they are never believed)."""
    if not forwarded_for or not _in(peer, trusted):
        return peer
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        try:
            client = str(ipaddress.ip_address(hop.strip()))
        except ValueError:  # garbage: keep the last hop a trusted proxy vouched for
            break
        if not _in(client, trusted):
            break
    return client


@dataclass
class WsLimits:
    """This process's open `/ws` sockets against the caps, and how many were refused why."""

    max_clients: int
    max_per_address: int
    allowed_origins: frozenset[str] = frozenset()
    trusted_proxies: tuple[Network, ...] = ()
    _open: Counter[str] = field(default_factory=Counter)
    _total: int = 0
    _refused: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> WsLimits:
        """The limits `settings` name (WS_MAX_CLIENTS, WS_MAX_PER_ADDRESS, WS_ALLOWED_ORIGINS,
        WS_TRUSTED_PROXIES)."""
        return cls(settings.ws_max_clients, settings.ws_max_per_address,
                   frozenset(settings.ws_allowed_origins),
                   tuple(ipaddress.ip_network(n) for n in settings.ws_trusted_proxies))

    def check_origin(self, origin: str | None, host: str) -> bool:
        """`origin_allowed` with this process's list; a refusal is counted."""
        if origin_allowed(origin, host, self.allowed_origins):
            return True
        with self._lock:
            self._refused["origin"] += 1
        return False

    def address(self, peer: str, forwarded_for: str | None) -> str:
        """`client_address` with this process's trusted proxies."""
        return client_address(peer, forwarded_for, self.trusted_proxies)

    def acquire(self, address: str) -> str | None:
        """Take a slot for a socket from `address`; None when admitted (then `release` it),
        else why not, as the close reason the client gets."""
        with self._lock:
            if self._total >= self.max_clients:
                reason, why = "max_clients", (f"server full: {self.max_clients} live "
                                              "connections (WS_MAX_CLIENTS); try again later")
            elif self._open[address] >= self.max_per_address:
                reason, why = "max_per_address", (
                    f"too many live connections from your address: {self.max_per_address} "
                    "(WS_MAX_PER_ADDRESS); try again later")
            else:
                self._open[address] += 1
                self._total += 1
                return None
            self._refused[reason] += 1
            return why

    def release(self, address: str) -> None:
        """Give back the slot `acquire` took for `address`."""
        with self._lock:
            self._total -= 1
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def counts(self) -> tuple[int, dict[str, int]]:
        """Sockets open now, and refusals so far by reason (every reason, zeros included)."""
        with self._lock:
            return self._total, {r: self._refused[r] for r in REFUSAL_REASONS}
