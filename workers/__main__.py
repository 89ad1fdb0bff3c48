"""`python -m workers <exchange> [--symbols BTC-USD,ETH-USD] [--ws-url URL] [--rest-url URL]`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from core.config import ConfigError, get_settings
from core.logs import setup_logging
from core.state import RedisState
from core.symbols import parse_symbol_list
from workers.discovery import discover
from workers.exchanges import get_adapter, known_exchanges
from workers.feed import celery_event_sender, celery_stats_sender
from workers.group import FeedGroup
from workers.publisher import Publisher, celery_sender
from workers.status import StatusReporter

log = logging.getLogger("workers")


def build_parser() -> argparse.ArgumentParser:
    """The command line of a feed worker."""
    parser = argparse.ArgumentParser(
        prog="python -m workers", description="Stream one exchange's top of book into Celery."
    )
    parser.add_argument("exchange", help=f"one of: {', '.join(known_exchanges())}")
    parser.add_argument("--symbols", help="comma-separated BASE-QUOTE symbols (default: SYMBOLS)")
    parser.add_argument("--ws-url", help="websocket URL (default: the exchange's own)")
    parser.add_argument("--rest-url", help="REST base URL for market discovery")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a feed worker until SIGINT/SIGTERM; returns the exit status."""
    args = build_parser().parse_args(argv)
    name = args.exchange.strip().lower()
    if name not in known_exchanges():
        print(f"unknown exchange {args.exchange!r}; known exchanges: "
              f"{', '.join(known_exchanges())}", file=sys.stderr)
        return 2
    try:
        settings = get_settings()
        symbols = parse_symbol_list(args.symbols) if args.symbols else list(settings.symbols)
    except (ConfigError, ValueError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging()
    adapter_cls = get_adapter(name)
    ws_url = args.ws_url or adapter_cls.ws_url
    stop = threading.Event()
    groups: list[FeedGroup] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: signal %d, shutting down", name, signum)
        stop.set()
        for group in groups:
            group.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    markets = discover(adapter_cls, args.rest_url, symbols, stop)
    publisher = Publisher(celery_sender(), capacity=settings.feed_buffer_batches)
    group = FeedGroup(adapter_cls, markets, ws_url, publisher,
                      send_events=celery_event_sender(), depth_levels=settings.book_depth)
    state = RedisState.from_url(settings.redis_url, settings.key_prefix)
    reporter = StatusReporter(name, group.workers, publisher, state, ws_url,
                              send_stats=celery_stats_sender())
    if not stop.is_set() and not markets:
        # Exiting would take a whole Procfile stack down with it: stay up, say so, and idle.
        log.error("%s lists none of %s; idling", name, ", ".join(symbols))
    elif markets:
        log.info("%s: following %s", name, ", ".join(m.symbol for m in markets))
    publisher.start()
    reporter.start()
    groups.append(group)
    if stop.is_set():
        group.stop()
    group.start()
    stop.wait()
    group.join()
    publisher.stop()
    publisher.join(timeout=30)
    reporter.stop()
    log.info("%s: stopped after %d quotes in %d batches", name, group.quotes,
             publisher.published_batches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
