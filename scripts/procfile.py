"""Print the Procfile for the configured exchanges: `--demo` points feeds at the simulator."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.config import DEFAULT_SYMBOLS, get_settings  # noqa: E402
from tasks.queues import WORKER_OPTIONS  # noqa: E402
from workers.grouping import DEFAULT_PROCESSES, feed_groups  # noqa: E402

SIM_HOST = "127.0.0.1"
SIM_PORT = 8765


def procfile(exchanges: list[str], demo: bool, groups: str = "",
             processes: int = DEFAULT_PROCESSES) -> str:
    """The Procfile text: Celery workers, beat, web, the feeds (grouped by `groups`, else split
    into `processes` feed processes, see `feed_groups`) and the simulator."""
    # alerts has its own worker: a webhook slow to answer must not wait behind a report.
    lines = [
        f"{role}: celery -A tasks worker -Q ${{QUEUE_PREFIX}}{role} -n {role}@%h "
        f"{' '.join(options)} --loglevel ${{LOG_LEVEL:-INFO}}"
        for role, options in WORKER_OPTIONS.items()
    ]
    lines += [
        "beat: celery -A tasks beat --schedule var/celerybeat-schedule "
        "--loglevel ${LOG_LEVEL:-INFO}",
        # Flower on 127.0.0.1:5555 behind FLOWER_BASIC_AUTH (generated and printed when unset).
        "flower: python scripts/flower.py",
        # One gevent worker (idle /ws sockets cost little), one log format: web/gunicorn_conf.py.
        "web: gunicorn -c web/gunicorn_conf.py 'web:create_app()' "
        "--bind ${WEB_HOST:-127.0.0.1}:${WEB_PORT:-5000}",
    ]
    if demo:
        names = ",".join(exchanges)
        lines.append(
            f"simulator: python -m simulator --host {SIM_HOST} --port {SIM_PORT} "
            f"--exchanges {names} --symbols ${{SYMBOLS:-{DEFAULT_SYMBOLS}}} "
            # 100 changes/s per venue: busy like a real feed, and the whole stack (eight feeds,
            # workers, web and simulator) still fits on two cores with room to spare.
            f"--rate ${{SIM_RATE:-100}}"
        )
    for group in feed_groups(exchanges, groups, processes):
        # One venue keeps its plain URL; a group names each venue's with {exchange}.
        name = group[0] if len(group) == 1 else "{exchange}"
        urls = ""
        if demo:
            urls = (f" --ws-url ws://{SIM_HOST}:{SIM_PORT}/{name}"
                    f" --rest-url http://{SIM_HOST}:{SIM_PORT}/{name}")
        lines.append(f"feed_{'_'.join(group)}: python -m workers {','.join(group)}{urls}")
    lines.append("announce: bash scripts/announce.sh")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Write the Procfile to stdout."""
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", action="store_true", help="feed from the local simulator")
    parser.add_argument("--exchanges", default=",".join(settings.exchanges))
    parser.add_argument("--groups", default=settings.feed_groups,
                        help="feed processes, e.g. 'binance,bybit;kraken,okx' (FEED_GROUPS)")
    parser.add_argument("--processes", type=int, default=settings.feed_processes,
                        help="without groups, split the exchanges into this many feed processes"
                             f" (FEED_PROCESSES, default {DEFAULT_PROCESSES}; 0: one each)")
    args = parser.parse_args()
    exchanges = [e.strip().lower() for e in args.exchanges.split(",") if e.strip()]
    print(procfile(exchanges, args.demo, args.groups, args.processes), end="")


if __name__ == "__main__":
    main()
