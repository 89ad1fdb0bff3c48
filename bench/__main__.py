"""`python -m bench <name> [--seconds S] [--json]`: one benchmark, its figures printed."""

from __future__ import annotations

import sys


def main() -> int:
    """Dispatch to the named benchmark's own command line."""
    names = {
        "pipeline": "bench.pipeline", "latency": "bench.latency", "adapters": "bench.adapters",
        "fanout": "bench.fanout", "engine": "bench.engine", "soak": "bench.soak",
        "cryptofeed": "bench.cryptofeed",
        "feedcpu": "bench.feedcpu",
        "outage": "bench.outage",
    }
    if len(sys.argv) < 2 or sys.argv[1] not in names:
        print(f"usage: python -m bench {{{'|'.join(names)}}} [options]", file=sys.stderr)
        return 2
    module = __import__(names[sys.argv[1]], fromlist=["main"])
    sys.argv = [f"python -m bench {sys.argv[1]}", *sys.argv[2:]]
    return module.main()


if __name__ == "__main__":
    sys.exit(main())
