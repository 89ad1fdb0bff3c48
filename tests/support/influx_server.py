"""A private InfluxDB 1.x server on its own ports, for tests that must stop and start it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import requests

from tests.support.procs import free_port, terminate, wait_for

CONFIG = """reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
[logging]
  level = "error"
[monitor]
  store-enabled = false
"""


class InfluxServer:
    """influxd with data in a temporary folder; start() and stop() may be called repeatedly."""

    def __init__(self, root: Path) -> None:
        if shutil.which("influxd") is None:
            raise RuntimeError("influxd is not installed (apt-get install influxdb)")
        self.root = root
        self.http_port = free_port()
        self.rpc_port = free_port()
        self.config = root / "influxdb.conf"
        self.config.write_text(
            CONFIG.format(root=root, rpc_port=self.rpc_port, http_port=self.http_port)
        )
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        """Start influxd and wait until /ping answers."""
        log = open(self.root / "influxd.log", "ab")  # noqa: SIM115  (owned by the child)
        # influxd reads INFLUXDB_* variables as config overrides: start it without ours.
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}
        self.popen = subprocess.Popen(["influxd", "-config", str(self.config)], stdout=log,
                                      stderr=log, env=env)
        wait_for(lambda: requests.get(self.url + "/ping", timeout=1).status_code == 204, 60,
                 "private influxd to answer /ping", every_s=0.2)

    def stop(self) -> None:
        """Stop influxd and wait for it to exit."""
        terminate(self.popen, 20)
        self.popen = None
