"""`python -m simulator`: run the fake exchanges until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from aiohttp import web

from simulator.config import (
    DEFAULT_EXCHANGES,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_RATE,
    DEFAULT_SEED,
    DEFAULT_SYMBOLS,
    SimConfig,
    parse_exchanges,
    parse_symbols,
)
from simulator.server import Simulator
from simulator.venues import VENUES


def parse_args(argv: list[str] | None = None) -> SimConfig:
    """Command line → SimConfig (exits with a usage message on bad input)."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Local fake exchanges speaking the real websocket and REST protocols.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="listen address (default %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument(
        "--exchanges",
        default=DEFAULT_EXCHANGES,
        help=f"comma-separated, from {','.join(VENUES)} (default %(default)s)",
    )
    parser.add_argument(
        "--symbols", default=DEFAULT_SYMBOLS, help="BASE-QUOTE list (default %(default)s)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help="top-of-book changes per second per exchange; 0 = as fast as possible",
    )
    parser.add_argument(
        "--count", type=int, default=None, help="emit exactly N changes per exchange, then idle"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--dislocations",
        choices=("on", "off"),
        default="on",
        help="random dislocation schedule (default %(default)s); off leaves only those requested "
        "with POST /control/<exchange>/dislocate",
    )
    parser.add_argument(
        "--pregenerate",
        action="store_true",
        help="render all --count changes per exchange once subscriptions settle, then send "
        "them (benchmarks: the load generator then costs little more than its writes)",
    )
    args = parser.parse_args(argv)
    try:
        exchanges = parse_exchanges(args.exchanges, list(VENUES))
        symbols = parse_symbols(args.symbols)
    except ValueError as exc:
        parser.error(str(exc))
    if args.rate < 0:
        parser.error("--rate must be >= 0")
    if args.count is not None and args.count < 0:
        parser.error("--count must be >= 0")
    if args.pregenerate and args.count is None:
        parser.error("--pregenerate needs --count (the changes to render up front)")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be in 0..65535")
    return SimConfig(
        host=args.host,
        port=args.port,
        exchanges=exchanges,
        symbols=symbols,
        rate=args.rate,
        count=args.count,
        seed=args.seed,
        dislocations=args.dislocations == "on",
        pregenerate=args.pregenerate,
    )


async def serve(config: SimConfig) -> None:
    """Serve until a termination signal arrives, then close every socket and exit."""
    sim = Simulator(config)
    runner = web.AppRunner(sim.build_app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    port = config.port
    for address in runner.addresses:  # the real port when --port 0 was given
        if isinstance(address, tuple) and len(address) >= 2:
            port = address[1]
            break
    rate = "unthrottled" if config.rate <= 0 else f"{config.rate:g}/s per exchange"
    count = "" if config.count is None else f", count {config.count} per exchange"
    random_off = "" if config.dislocations else ", random dislocations off"
    random_off += ", pre-generated" if config.pregenerate else ""
    print(f"simulator: {','.join(config.symbols)} at {rate}{count}, seed {config.seed}"
          f"{random_off}", flush=True)
    for line in sim.endpoints(config.host, port):
        print(f"simulator: {line}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("simulator: stopping", flush=True)
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="simulator: %(message)s", stream=sys.stdout)
    try:
        asyncio.run(serve(config))
    except OSError as exc:  # e.g. the port is taken
        print(f"simulator: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
