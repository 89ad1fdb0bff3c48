"""Password-protected services for tests: a private Redis and InfluxDB, a RabbitMQ vhost and user.

Each secret is random per instance, so a test can search every log for it afterwards.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

import requests

from tests.support.influx_server import InfluxServer
from tests.support.procs import free_port, terminate, wait_for


def new_secret() -> str:
    """A URL-safe random password, long enough never to occur in a log by chance."""
    return "pw" + secrets.token_hex(12)


class AuthRedis:
    """redis-server with `requirepass`, on its own loopback port, data kept nowhere.

    With `key_prefix`, an ACL user `ctapp` may touch only keys and channels under that prefix:
    the least a CryptoTracker deployment sharing a Redis needs.
    """

    APP_USER = "ctapp"

    def __init__(self, root: Path, key_prefix: str = "") -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.password = new_secret()
        self.app_password = new_secret()
        self.config = root / "redis.conf"
        acl = (f"user {self.APP_USER} on >{self.app_password} ~{key_prefix}* &{key_prefix}* "
               "+@all\n" if key_prefix else "")
        # In a file, not on the command line, where `ps` would show the password.
        self.config.write_text(
            f"bind 127.0.0.1\nport {self.port}\nrequirepass {self.password}\n{acl}"
            f'save ""\nappendonly no\ndir {root}\nlogfile {root}/redis.log\n'
        )
        self.popen: subprocess.Popen[bytes] | None = None

    def url(self, password: str | None = None) -> str:
        """redis://:password@127.0.0.1:port/0 (this server's password unless another is given)."""
        return f"redis://:{self.password if password is None else password}@127.0.0.1:{self.port}/0"

    def app_url(self, password: str | None = None) -> str:
        """The URL of the prefix-restricted ACL user."""
        secret = self.app_password if password is None else password
        return f"redis://{self.APP_USER}:{secret}@127.0.0.1:{self.port}/0"

    @property
    def anonymous_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start redis-server and wait until it answers an authenticated PING."""
        import redis

        self.popen = subprocess.Popen(["redis-server", str(self.config)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url())
        wait_for(lambda: client.ping(), 15, "private redis-server to answer", every_s=0.05)
        client.close()

    def stop(self) -> None:
        terminate(self.popen, 10)
        self.popen = None


class AuthInflux(InfluxServer):
    """A private influxd with `[http] auth-enabled = true` and an admin user created first."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        text = self.config.read_text()
        self.config.write_text(text.replace("[http]\n", "[http]\n  auth-enabled = true\n", 1))
        self.admin_user = "ctadmin"
        self.admin_password = new_secret()

    def start(self) -> None:
        """Start influxd, then create the admin (allowed without auth while no user exists)."""
        super().start()
        response = requests.post(
            self.url + "/query", timeout=10,
            data={"q": f"CREATE USER {self.admin_user} WITH PASSWORD "
                       f"'{self.admin_password}' WITH ALL PRIVILEGES"},
        )
        response.raise_for_status()
        assert "error" not in response.text, response.text

    def admin_query(self, statement: str) -> requests.Response:
        """Run a statement as the admin; fails on an HTTP or InfluxQL error."""
        response = requests.post(self.url + "/query", data={"q": statement}, timeout=10,
                                 auth=(self.admin_user, self.admin_password))
        response.raise_for_status()
        assert "error" not in response.text, response.text
        return response


def rabbitmqctl(*args: str) -> None:
    """Run `rabbitmqctl args`; fails with its output when it fails."""
    done = subprocess.run(["rabbitmqctl", "--quiet", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"rabbitmqctl {args[0]} failed: {done.stdout}{done.stderr}"


class RabbitAccount:
    """A vhost on the shared RabbitMQ and a user with a random password allowed only there."""

    def __init__(self, tag: str) -> None:
        if shutil.which("rabbitmqctl") is None:
            raise RuntimeError("rabbitmqctl is not installed")
        self.vhost = f"ctauth_{tag}"
        self.user = f"ctauth_{tag}"
        self.password = new_secret()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """The BROKER_URL for this vhost (this account unless another user/password is given)."""
        return (f"amqp://{user or self.user}:{self.password if password is None else password}"
                f"@127.0.0.1:5672/{self.vhost}")

    def create(self) -> None:
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("add_user", self.user, self.password)
        rabbitmqctl("set_permissions", "-p", self.vhost, self.user, ".*", ".*", ".*")

    def delete(self) -> None:
        """Remove the user and the vhost (with every queue in it); ignores what is gone."""
        for args in (("delete_user", self.user), ("delete_vhost", self.vhost)):
            subprocess.run(["rabbitmqctl", "--quiet", *args], capture_output=True, timeout=60)
