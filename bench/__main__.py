"""`python -m bench pipeline [--count N] [--rate R] [--json]`."""

from __future__ import annotations

import argparse
import json
import sys

from bench import pipeline


def main() -> int:
    """Run one benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=["pipeline"])
    parser.add_argument("--count", type=int, default=20000, help="changes per exchange")
    parser.add_argument("--rate", type=int, default=0, help="simulator rate (0 = max)")
    parser.add_argument("--exchanges", default="bitstamp,kraken")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = pipeline.run(args.count, args.exchanges.split(","), args.rate)
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
