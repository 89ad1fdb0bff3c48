"""Start and stop the project's real processes from tests, and wait for them to be ready."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate(popen: subprocess.Popen[bytes] | None, timeout_s: float = 10.0) -> None:
    """SIGTERM a private server, SIGKILL it if it lingers, and reap it."""
    if popen is None or popen.poll() is not None:
        return
    popen.terminate()
    try:
        popen.wait(timeout_s)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(5)


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.1) -> None:
    """Poll `check` until it is true; fail with `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001  (not ready yet)
            pass
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class Proc:
    """A child process whose combined output is kept for assertions and failure reports."""

    def __init__(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        full_env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
                    "PYTHONUNBUFFERED": "1", **(env or {})}
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout_s: float = 30.0) -> None:
        """Wait until a line matching `pattern` appears (or the process dies)."""
        regex = re.compile(pattern)

        def seen() -> bool:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.output[-3000:]}")
            return any(regex.search(line) for line in list(self.lines))

        try:
            wait_for(seen, timeout_s, f"{self.name} to print {pattern!r}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n--- {self.name} output ---\n{self.output[-3000:]}") from exc

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signum)

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM the process group, then SIGKILL what is left; returns the exit code."""
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(5)
        self._reader.join(timeout=2)
        return self.popen.returncode


def celery_worker(queues: list[str], name: str, env: dict[str, str] | None = None,
                  concurrency: int = 2, pool: str = "prefork") -> Proc:
    """A real Celery worker on `queues`, waited for until it says it is ready."""
    proc = Proc(
        f"celery-{name}",
        [str(VENV_BIN / "celery"), "-A", "tasks", "worker", "-Q", ",".join(queues),
         "-n", f"{name}@%h", "--pool", pool, "--concurrency", str(concurrency),
         "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
        env,
    )
    proc.wait_for_line(r"ready\.", timeout_s=60)
    return proc
