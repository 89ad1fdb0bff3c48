"""What the fan-out bench watches besides the clients: the web process and `/api/quotes`."""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.publisher import percentiles


def cpu_ticks(pid: int) -> int:
    """User + system clock ticks of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` in KiB."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


class HttpProbe:
    """Times `GET /api/quotes` on a fresh connection every 50 ms on a thread, until stopped."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/api/quotes"
        self.times_ns: list[int] = []
        self.failed = 0  # errors, non-200s and answers slower than the 5 s timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="http-probe", daemon=True)

    def _run(self) -> None:
        import requests

        while not self._stop.is_set():
            t0 = time.perf_counter_ns()
            try:
                ok = requests.get(self.url, timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                self.times_ns.append(time.perf_counter_ns() - t0)
            else:
                self.failed += 1
            self._stop.wait(0.05)

    def __enter__(self) -> HttpProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def figures(self) -> dict[str, Any]:
        """Requests timed, failures, and the times' percentiles."""
        return {"requests": len(self.times_ns), "failed": self.failed,
                **percentiles(self.times_ns)}
