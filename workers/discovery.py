"""Market discovery over REST: which of the wanted symbols a venue lists, and their spelling."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import requests

from core.backoff import Backoff
from core.types import Market
from workers.exchanges.base import Adapter

log = logging.getLogger(__name__)


class DiscoveryError(RuntimeError):
    """The venue's listing could not be fetched or read."""


def fetch_markets(
    adapter: type[Adapter], rest_url: str | None, session: requests.Session, timeout_s: float = 10.0
) -> list[Market]:
    """GET the venue's listing once and parse it."""
    url = adapter.markets_url(rest_url)
    try:
        response = session.get(url, timeout=timeout_s)
        response.raise_for_status()
        return adapter.parse_markets(response.json())
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise DiscoveryError(f"{adapter.name}: market listing {url} failed: {exc}") from exc


def select_markets(markets: Iterable[Market], symbols: Iterable[str]) -> list[Market]:
    """The listed markets whose normalized symbol is wanted, in the order wanted."""
    by_symbol = {m.symbol: m for m in markets}
    return [by_symbol[s] for s in symbols if s in by_symbol]


def discover(
    adapter: type[Adapter],
    rest_url: str | None,
    symbols: list[str],
    stop: threading.Event,
    session: requests.Session | None = None,
    max_delay_s: float = 60.0,
) -> list[Market]:
    """Fetch the listing, retrying with capped backoff until it works or `stop` is set."""
    session = session or requests.Session()
    backoff = Backoff(base_s=1.0, cap_s=max_delay_s)
    while not stop.is_set():
        try:
            listed = fetch_markets(adapter, rest_url, session)
        except DiscoveryError as exc:
            delay = backoff.next_delay()
            log.warning("%s; retrying in %.1f s", exc, delay)
            stop.wait(delay)
            continue
        chosen = select_markets(listed, symbols)
        missing = sorted(set(symbols) - {m.symbol for m in chosen})
        if missing:
            log.warning("%s does not list %s; following the rest", adapter.name, ", ".join(missing))
        return chosen
    return []
