"""`python -m workers <exchange>[,<exchange>...] [--symbols BTC-USD,ETH-USD] [--ws-url URL]
[--rest-url URL] [--io loop|threads]`.

Several venues share one process (one read loop) yet keep their own connections, status hash,
backoff and buffer. With several venues, `--ws-url` and `--rest-url` name each one's URL with
`{exchange}` (e.g. `ws://127.0.0.1:8765/{exchange}`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from core.config import ConfigError, get_settings
from core.logs import setup_logging
from core.symbols import parse_symbol_list
from workers.exchanges import get_adapter, known_exchanges
from workers.feed_events import celery_event_sender, celery_stats_sender
from workers.grouping import group_of
from workers.loop import FeedLoop
from workers.publisher import celery_sender
from workers.shared_path import shared_arbitrage_publisher
from workers.venue import BackgroundSender, Venue

log = logging.getLogger("workers")


def build_parser() -> argparse.ArgumentParser:
    """The command line of a feed worker."""
    parser = argparse.ArgumentParser(
        prog="python -m workers",
        description="Stream exchanges' top of book into Celery (several: one process).",
    )
    parser.add_argument("exchange", help=f"comma-separated, from: {', '.join(known_exchanges())}")
    parser.add_argument("--symbols", help="comma-separated BASE-QUOTE symbols (default: SYMBOLS)")
    parser.add_argument("--ws-url", help="websocket URL (default: the exchange's own); "
                        "{exchange} stands for each venue's name")
    parser.add_argument("--rest-url", help="REST base URL for market discovery ({exchange} "
                        "as in --ws-url)")
    parser.add_argument("--grouped", action="store_true",
                        help="run the group this venue leads (FEED_GROUPS, else FEED_PROCESSES;"
                        " compose: one service per venue); idle when another venue's process"
                        " runs its group")
    parser.add_argument("--io", choices=("loop", "threads"), default="loop",
                        help="one read loop for all connections (default), or a thread each")
    return parser


def venue_names(text: str) -> list[str]:
    """The comma-separated venue names, lower-cased, without duplicates, in order."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    return list(dict.fromkeys(names))


def url_for(template: str | None, name: str, several: bool) -> str | None:
    """A venue's URL from `--ws-url`/`--rest-url`; raises ValueError when it is ambiguous."""
    if template is None or "{exchange}" in template:
        return template.replace("{exchange}", name) if template else None
    if several:
        raise ValueError(f"with several exchanges the URL needs {{exchange}}: {template}")
    return template


def idle(name: str, group: list[str]) -> int:
    """Wait for a signal: `name` is fed by the process of its group's first venue."""
    print(f"{name} is fed by the {','.join(group)} process (FEED_GROUPS, FEED_PROCESSES); "
          "idling",
          file=sys.stderr)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the feed worker until SIGINT/SIGTERM; returns the exit status."""
    args = build_parser().parse_args(argv)
    names = venue_names(args.exchange)
    unknown = [n for n in names if n not in known_exchanges()]
    if unknown or not names:
        print(f"unknown exchange {args.exchange!r}; known exchanges: "
              f"{', '.join(known_exchanges())}", file=sys.stderr)
        return 2
    try:
        settings = get_settings()
        if args.grouped:
            group = group_of(names[0], list(settings.exchanges), settings)
            if group[0] != names[0]:
                return idle(names[0], group)
            names = group
        symbols = parse_symbol_list(args.symbols) if args.symbols else list(settings.symbols)
        several = len(names) > 1
        urls = {n: (url_for(args.ws_url, n, several) or get_adapter(n).ws_url,
                    url_for(args.rest_url, n, several)) for n in names}
    except (ConfigError, ValueError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging()
    label = ",".join(names)
    stop = threading.Event()
    loop = FeedLoop() if args.io == "loop" else None
    events = BackgroundSender(celery_event_sender())
    # Venues sharing a read loop share one arbitrage batch (workers.shared_path).
    arbitrage = (shared_arbitrage_publisher(celery_sender(), settings.feed_buffer_batches)
                 if loop is not None and len(names) > 1 else None)
    venues = [Venue(n, urls[n][0], urls[n][1], symbols, settings, stop, loop, celery_sender,
                    events, celery_stats_sender(), arbitrage) for n in names]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: signal %d, shutting down", label, signum)
        stop.set()
        if loop is not None:
            loop.stop()
        for venue in venues:
            venue.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    events.start()
    if arbitrage is not None:
        arbitrage.start()
    if loop is not None:
        loop.start()
    for venue in venues:
        venue.start()
    stop.wait()
    if loop is not None:
        loop.join()
    for venue in venues:
        venue.thread.join(timeout=5)
        venue.stop()  # connections made after the signal
        venue.stop_publishing()
    if arbitrage is not None:
        arbitrage.stop()
        arbitrage.join(timeout=30)
    for venue in venues:
        venue.finish()
        log.info("%s: stopped after %d quotes in %d batches", venue.name, venue.quotes,
                 venue.publisher.published_batches)
    events.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
