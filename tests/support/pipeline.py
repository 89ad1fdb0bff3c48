"""The whole quote pipeline as real processes, on one fault test's own names and services:
simulator → feed workers → RabbitMQ → Celery storage/arbitrage workers → InfluxDB and Redis."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable

import requests
from kombu import Connection

from core.influx import InfluxDB
from core.state import RedisState
from tasks.queues import WORKER_OPTIONS
from tests.support.procs import VENV_BIN, Proc, free_port, wait_for
from tests.support.queues import ROLES

SYMBOLS = "BTC-USD,ETH-USD"


class Pipeline:
    """Processes of one test, with queue names, Redis keys and a database nobody else uses."""

    def __init__(self, tag: str, broker_url: str | None = None, redis_url: str | None = None,
                 influx_url: str | None = None) -> None:
        unique = f"{tag}{uuid.uuid4().hex[:6]}"
        self.queue_prefix = f"{os.environ['QUEUE_PREFIX']}{unique}."
        self.key_prefix = f"{os.environ['KEY_PREFIX']}{unique}:"
        self.database = f"{os.environ['INFLUXDB_DB']}_{unique}"
        self.broker_url = broker_url or os.environ.get(
            "BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
        self.redis_url = redis_url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.influx_url = influx_url or os.environ.get("INFLUXDB_URL", "http://127.0.0.1:8086")
        self.env = {"QUEUE_PREFIX": self.queue_prefix, "KEY_PREFIX": self.key_prefix,
                    "INFLUXDB_DB": self.database, "BROKER_URL": self.broker_url,
                    "REDIS_URL": self.redis_url, "INFLUXDB_URL": self.influx_url,
                    "LOG_LEVEL": "INFO"}
        self.procs: dict[str, Proc] = {}
        self.sim_url = ""
        self.influx = InfluxDB(self.influx_url, self.database)

    # --- processes -----------------------------------------------------------------------

    def start_simulator(self, exchanges: list[str], count: int, rate: float) -> None:
        """`python -m simulator --count`: exactly `count` changes per exchange, then idle."""
        port = free_port()
        self.procs["simulator"] = Proc("simulator", [
            str(VENV_BIN / "python"), "-m", "simulator", "--port", str(port), "--exchanges",
            ",".join(exchanges), "--symbols", SYMBOLS, "--count", str(count), "--rate", str(rate),
            "--dislocations", "off"])
        self.sim_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: requests.get(self.sim_url + "/stats", timeout=1).ok, 30, "simulator")

    def start_feed(self, exchange: str, **env: str) -> Proc:
        """`python -m workers <exchange>` against the simulator (replaces a dead one)."""
        ws_url = self.sim_url.replace("http://", "ws://") + f"/{exchange}"
        proc = Proc(f"feed-{exchange}", [
            str(VENV_BIN / "python"), "-m", "workers", exchange, "--symbols", SYMBOLS,
            "--ws-url", ws_url, "--rest-url", f"{self.sim_url}/{exchange}"], {**self.env, **env})
        self.procs[f"feed-{exchange}"] = proc
        return proc

    def start_celery(self, *roles: str) -> list[Proc]:
        """One Celery worker per role (`storage`, `arbitrage`) with its production pool options,
        started together and each waited for until ready."""
        started = []
        for role in roles:
            name = f"{role}-{self.queue_prefix}{uuid.uuid4().hex[:4]}"
            proc = Proc(f"celery-{role}", [
                str(VENV_BIN / "celery"), "-A", "tasks", "worker", "-Q",
                f"{self.queue_prefix}{role}", "-n", f"{name}@%h", *WORKER_OPTIONS[role],
                "--loglevel", "INFO", "--without-gossip", "--without-mingle"], self.env)
            self.procs[f"celery-{role}"] = proc
            started.append(proc)
        for proc in started:
            proc.wait_for_line(r"ready\.", timeout_s=60)
        return started

    def kill(self, name: str) -> None:
        """SIGKILL a process and all its children (a crash: nothing runs on the way out)."""
        proc = self.procs[name]
        proc.signal(signal.SIGKILL)
        proc.popen.wait(10)

    def assert_alive(self) -> None:
        """Every process this test started is still running."""
        dead = {name: p.output[-1500:] for name, p in self.procs.items()
                if p.popen.poll() is not None}
        assert not dead, f"processes died: {dead}"

    def close(self) -> None:
        """Stop everything (newest first), then drop this test's queues, keys and database."""
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        try:
            with Connection(self.broker_url, connect_timeout=5) as conn:
                channel = conn.channel()
                for role in ROLES:
                    channel.queue_delete(f"{self.queue_prefix}{role}")
                channel.exchange_delete(f"{self.queue_prefix}cryptotracker")
        except Exception:  # noqa: BLE001  (a private broker may be gone already)
            pass
        try:
            RedisState.from_url(self.redis_url, self.key_prefix).clear()
            self.influx.drop_database()
        except Exception:  # noqa: BLE001  (a private service may be gone already)
            pass

    # --- what the simulator sent and what was stored -------------------------------------

    def emitted(self) -> dict[str, int]:
        """Changes the simulator sent to subscribers so far, per exchange."""
        stats = requests.get(self.sim_url + "/stats", timeout=5).json()["emitted"]
        return {name: sum(per_symbol.values()) for name, per_symbol in stats.items()}

    def control(self, exchange: str, action: str, **params: str) -> None:
        """A simulator fault (`close`, `silence`, `garbage`...) for `exchange`."""
        response = requests.post(f"{self.sim_url}/control/{exchange}/{action}", params=params,
                                 timeout=10)
        assert response.ok, response.text

    def stored(self, where: str = "") -> dict[str, int]:
        """Points in `quotes` per exchange (an absent database counts as empty)."""
        rows = self.influx.query_points_if_any(
            f"SELECT count(bid) AS n FROM quotes {where} GROUP BY exchange")
        return {row["exchange"]: int(row["n"]) for row in rows}

    def state(self) -> RedisState:
        return RedisState.from_url(self.redis_url, self.key_prefix)

    def wait_emitted(self, expected: dict[str, int], timeout_s: float) -> None:
        """Until the simulator has sent every counted change."""
        wait_for(lambda: self.emitted() == expected, timeout_s,
                 f"the simulator to emit {expected}", every_s=0.5)

    def assert_exactly_stored(self, expected: dict[str, int], timeout_s: float) -> None:
        """InfluxDB reaches exactly `expected` points per exchange and stays there."""
        last: dict[str, int] = {}

        def reached() -> bool:
            last.update(self.stored())
            return last == expected

        try:
            wait_for(reached, timeout_s, f"exactly {expected} points in InfluxDB", every_s=0.5)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; stored {last}; {self.diagnose()}") from exc
        time.sleep(1.5)  # exactly, not at least: nothing more may arrive
        assert self.stored() == expected

    def wait(self, check: Callable[[], bool], timeout_s: float, what: str) -> None:
        """`wait_for`, failing with the tail of every process's output."""
        try:
            wait_for(check, timeout_s, what, every_s=0.25)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{self.diagnose()}") from exc

    def diagnose(self) -> str:
        """The tail of every process's output, for a failure message."""
        return "\n".join(f"--- {name} (exit {p.popen.poll()}) ---\n{p.output[-1200:]}"
                         for name, p in self.procs.items())
