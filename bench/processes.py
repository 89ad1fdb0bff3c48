"""CPU seconds and peak RSS of a run's processes, by role, sampled in a background thread."""

from __future__ import annotations

import threading
import time

import psutil

SERVICES = {"beam.smp": "rabbitmq", "redis-server": "redis", "influxd": "influxdb"}
SAMPLE_S = 0.25


class ProcessSampler(threading.Thread):
    """CPU seconds and peak RSS per role, each role's processes and their children summed."""

    def __init__(self) -> None:
        super().__init__(name="sampler", daemon=True)
        self.roles: dict[str, list[int]] = {}
        self.cpu_start: dict[int, float] = {}
        self.cpu_last: dict[int, tuple[str, float]] = {}
        self.peak_rss: dict[str, int] = {}
        self.peak_proc_rss: dict[str, int] = {}
        self.services = {p.pid: SERVICES[p.info["name"]]
                         for p in psutil.process_iter(["name"]) if p.info["name"] in SERVICES}
        self.started = time.monotonic()
        self.stopped: float | None = None
        self.machine_busy_pct = 0.0
        self.history: dict[int, list[tuple[float, float]]] = {}  # pid → (time, cpu) samples
        self._halt = threading.Event()

    def add(self, role: str, pid: int) -> None:
        """Follow `pid` (and its children) under `role`."""
        self.roles.setdefault(role, []).append(pid)

    def _procs(self) -> list[tuple[str, psutil.Process]]:
        out: list[tuple[str, psutil.Process]] = []
        for role, pids in list(self.roles.items()):
            for pid in pids:
                try:
                    proc = psutil.Process(pid)
                    out.append((role, proc))
                    out.extend((role, child) for child in proc.children(recursive=True))
                except psutil.NoSuchProcess:
                    pass
        for pid, role in self.services.items():
            try:
                out.append((role, psutil.Process(pid)))
            except psutil.NoSuchProcess:
                pass
        return out

    def sample(self) -> None:
        """Take one sample of every followed process."""
        rss: dict[str, int] = {}
        for role, proc in self._procs():
            try:
                with proc.oneshot():
                    t = proc.cpu_times()
                    cpu = t.user + t.system + t.children_user + t.children_system
                    mem = proc.memory_info().rss
            except psutil.Error:
                continue
            self.cpu_start.setdefault(proc.pid, cpu if role in SERVICES.values() else 0.0)
            self.cpu_last[proc.pid] = (role, cpu)
            self.history.setdefault(proc.pid, []).append((time.monotonic(), cpu))
            rss[role] = rss.get(role, 0) + mem
            self.peak_proc_rss[role] = max(self.peak_proc_rss.get(role, 0), mem)
        for role, total in rss.items():
            self.peak_rss[role] = max(self.peak_rss.get(role, 0), total)

    def mark(self) -> None:
        """Count CPU from now on: the measured window starts (the first quote emitted)."""
        self.sample()
        self.cpu_start = {pid: cpu for pid, (_, cpu) in self.cpu_last.items()}
        self.started = time.monotonic()
        psutil.cpu_percent(None)  # the machine's busy % is measured from here

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_S):
            self.sample()

    def stop(self) -> None:
        """Take the last sample and end the thread."""
        self._halt.set()
        self.join(5)
        self.sample()
        self.stopped = time.monotonic()
        self.machine_busy_pct = psutil.cpu_percent(None)

    def figures(self) -> dict[str, dict[str, float]]:
        """Per role: CPU seconds in the window, % of one core, peak summed and per-process RSS."""
        window = (self.stopped or time.monotonic()) - self.started
        cpu: dict[str, float] = {}
        for pid, (role, last) in self.cpu_last.items():
            cpu[role] = cpu.get(role, 0.0) + max(0.0, last - self.cpu_start.get(pid, 0.0))
        busiest: dict[str, float] = {}  # role → its busiest process's peak over any 1 s
        for pid, samples in self.history.items():
            role = self.cpu_last[pid][0]
            for (t1, c1), (t2, c2) in zip(samples, samples[4:], strict=False):
                if t1 >= self.started and t2 > t1:
                    busiest[role] = max(busiest.get(role, 0.0), (c2 - c1) / (t2 - t1))
        out: dict[str, dict[str, float]] = {}
        for role in [*self.roles, *sorted(set(SERVICES.values()))]:
            if role not in cpu:
                continue
            out[role] = {"cpu_s": round(cpu[role], 2),
                         "cpu_pct": round(100 * cpu[role] / window, 1) if window > 0 else 0.0,
                         "peak_1s_proc_cpu_pct": round(100 * busiest.get(role, 0.0), 1),
                         "peak_rss_mb": round(self.peak_rss.get(role, 0) / 2**20, 1),
                         "peak_proc_rss_mb": round(self.peak_proc_rss.get(role, 0) / 2**20, 1)}
            if role in SERVICES.values():
                out[role]["shared"] = True  # other users of the service are counted too
        return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes (and their children: prefork pools,
    gunicorn's worker) so far."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            family = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for member in family:
            try:
                times = member.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


def role_cpu(roles: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far per role (`cpu_seconds` of each role's processes)."""
    return {role: cpu_seconds(pids) for role, pids in roles.items()}


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores."""
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    total = sum(times)
    return total - idle, total
