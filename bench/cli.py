"""Command-line options several bench subcommands share: venues and feed process layout."""

from __future__ import annotations

import argparse
import os


def default_exchanges() -> tuple[str, ...]:
    """Every registered venue: the deployment a user gets without choosing."""
    from workers.exchanges import known_exchanges

    return tuple(known_exchanges())


def exchange_list(text: str) -> tuple[str, ...]:
    """`--exchanges a,b`: registered venue names, or an argparse error naming the known ones."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = sorted(set(names) - set(default_exchanges()))
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown exchange(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(default_exchanges())}")
    return names


def load_parser(command: str, seconds: float, seconds_help: str, rate: float,
                rate_help: str) -> argparse.ArgumentParser:
    """A parser for `python -m bench <command>` with the load options: `--seconds`, `--rate`."""
    # Each load command keeps its own defaults and wording; only the options' shape is shared.
    parser = argparse.ArgumentParser(prog=f"python -m bench {command}")
    parser.add_argument("--seconds", type=float, default=seconds, help=seconds_help)
    parser.add_argument("--rate", type=float, default=rate, help=rate_help)
    return parser


def add_feed_options(parser: argparse.ArgumentParser) -> None:
    """`--feed-groups` and `--feed-processes`: how the run's feeds are split into processes."""
    parser.add_argument("--feed-groups", metavar="SPEC",
                        help="feed processes as FEED_GROUPS spells them (default: $FEED_GROUPS)")
    parser.add_argument("--feed-processes", metavar="N",
                        help="without groups, this many feed processes (default: "
                             "$FEED_PROCESSES or 2; 0 = one per venue)")


def apply_feed_options(args: argparse.Namespace) -> None:
    """Hand the feed options to the feed commands through their environment variables."""
    if args.feed_groups is not None:
        os.environ["FEED_GROUPS"] = args.feed_groups
    if args.feed_processes is not None:
        os.environ["FEED_PROCESSES"] = args.feed_processes
