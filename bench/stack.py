"""Start the project's processes for a benchmark, isolated by their own prefixes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def isolate() -> str:
    """Give this benchmark run its own Redis prefix, queues and InfluxDB database."""
    run = uuid.uuid4().hex[:8]
    os.environ["KEY_PREFIX"] = f"ctbench:{run}:"
    os.environ["QUEUE_PREFIX"] = f"ctbench.{run}."
    os.environ["INFLUXDB_DB"] = f"ctbench_{run}"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    return run


def worker_options(queue: str) -> tuple[str, ...]:
    """The Procfile's pool options for the worker of `queue` (prefixed or not)."""
    from tasks.queues import WORKER_OPTIONS

    return next(opts for role, opts in WORKER_OPTIONS.items() if queue.endswith(role))


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll until `check()`; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return time.monotonic()
        except Exception:  # noqa: BLE001  (not ready yet)
            pass
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def print_figures(figures: dict[str, object], as_json: bool) -> None:
    """Print a benchmark's figures: one JSON object, or aligned `name  value` lines."""
    if as_json:
        print(json.dumps(figures))
        return
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")


class Stack:
    """The processes started so far; stops them all on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a process of the stack; its output goes to BENCH_LOG_DIR when that is set."""
        env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
        log_dir = os.environ.get("BENCH_LOG_DIR")
        out: Any = subprocess.DEVNULL
        if log_dir:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            name = "-".join(a.rsplit("/", 1)[-1] for a in args[1:4] if not a.startswith("-"))
            out = open(Path(log_dir) / f"{len(self.procs):02d}-{name[:60]}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(list(args), cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT if log_dir else subprocess.DEVNULL,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def feed_commands(bases: dict[str, tuple[str, str]]) -> list[list[str]]:
    """The feed processes of the default deployment for venues served at `bases` (venue →
    (ws base, http base)): grouped as the Procfile groups them (FEED_GROUPS, FEED_PROCESSES),
    a group split where its venues sit on different simulators (a group shares one URL).
    """
    from workers.grouping import configured_groups

    groups = configured_groups(list(bases))
    commands: list[list[str]] = []
    for group in groups:
        by_base: dict[tuple[str, str], list[str]] = {}
        for name in group:
            by_base.setdefault(bases[name], []).append(name)
        for (ws, http), names in by_base.items():
            venue = names[0] if len(names) == 1 else "{exchange}"
            commands.append([str(BIN / "python"), "-m", "workers", ",".join(names),
                             "--ws-url", f"{ws}/{venue}", "--rest-url", f"{http}/{venue}"])
    return commands
