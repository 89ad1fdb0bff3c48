"""Private Redis, InfluxDB and RabbitMQ instances on their own ports, for tests that must stop,
kill or restart a service: the shared ones on the standard ports are never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.support.influx_server import InfluxServer
from tests.support.procs import free_port, terminate, wait_for

__all__ = ["InfluxServer", "RabbitServer", "RedisServer"]

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")  # the real scripts: the sbin wrappers `su rabbitmq`


class RedisServer:
    """redis-server without persistence: a restart comes back empty, like a lost cache."""

    def __init__(self, root: Path, password: str = "") -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed")
        self.root = root
        self.port = free_port()
        self.password = password
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def start(self) -> None:
        """Start redis-server on this instance's port and wait until it answers PING."""
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.root)]
        if self.password:
            args += ["--requirepass", self.password]
        log = open(self.root / f"redis-{self.port}.log", "ab")  # noqa: SIM115  (the child's)
        self.popen = subprocess.Popen(args, stdout=log, stderr=log)
        wait_for(lambda: self.client().ping(), 20, "private redis-server to answer PING")

    def stop(self) -> None:
        """Stop redis-server (nothing is saved) and wait for it to exit."""
        terminate(self.popen, 10)
        self.popen = None


RABBIT_CONF = """listeners.tcp.local = 127.0.0.1:{port}
loopback_users = none
"""


class RabbitServer:
    """A RabbitMQ node of its own (name, ports, data, Erlang cookie) under `root`.

    Data survives stop/start (durable queues and persistent messages come back, as after a real
    broker restart). Runs as the calling user (root in CI) through the scripts in RABBIT_BIN.
    """

    def __init__(self, root: Path) -> None:
        if not (RABBIT_BIN / "rabbitmq-server").exists():
            raise RuntimeError("rabbitmq-server is not installed")
        self.root = root
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"ct{self.port}@localhost"
        (root / "rabbitmq.conf").write_text(RABBIT_CONF.format(port=self.port))
        (root / "enabled_plugins").write_text("[].\n")
        (root / "rabbitmq-env.conf").write_text("")  # not /etc's: it names the shared node
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")},
            "HOME": str(root),  # a private Erlang cookie, created on first start
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(root / "log"),
            "RABBITMQ_PID_FILE": str(root / "rabbit.pid"),
            "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(root / "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(root / "advanced.config"),
            # Distribution on loopback only, like the shared node's configuration.
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _ctl(self, *args: str, timeout_s: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args],
                              env=self.env, capture_output=True, text=True, timeout=timeout_s)

    def start(self) -> None:
        """Start the node detached and wait until it has booted."""
        subprocess.run([str(RABBIT_BIN / "rabbitmq-server"), "-detached"], env=self.env,
                       check=True, capture_output=True, timeout=30)
        # await_startup fails at once while the node is not even registered yet: ask again.
        deadline = time.monotonic() + 60
        while (done := self._ctl("await_startup", "--timeout", "30")).returncode != 0:
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"private RabbitMQ did not start: {done.stdout}{done.stderr}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop the node and wait until its Erlang VM has exited (no-op when not running)."""
        pid_file = self.root / "rabbit.pid"
        self._ctl("stop", str(pid_file), timeout_s=60)
        pid_file.unlink(missing_ok=True)

    def queue_depth(self, name: str) -> int:
        """Messages ready plus unacknowledged in queue `name` (0 if it does not exist)."""
        done = self._ctl("list_queues", "-q", "--no-table-headers", "name", "messages",
                         timeout_s=30)
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return int(parts[1])
        return 0
