"""InfluxDB accounts as docker compose runs them, against a real password-protected influxd: the
admin's init script makes the schema; a real storage worker writes with a WRITE-only user; a
user with ALL on the database but no admin rights rolls quotes up (the reports worker)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings
from core.influx import InfluxDB, InfluxForbidden
from core.rollup import MINUTE_NS, ensure_policies, roll_range, rollup_points
from core.types import Quote
from tasks.storage import store_quotes
from tests.support.auth_services import AuthInflux, new_secret
from tests.support.procs import celery_worker, wait_for
from tests.support.queues import delete_queues

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DB = "ctleast"


class Accounts:
    """The private server and the users compose's influxdb service would create."""

    def __init__(self, server: AuthInflux) -> None:
        self.server = server
        self.writer, self.writer_password = "ctwrite", new_secret()
        self.app, self.app_password = "ctapp", new_secret()

    def admin_client(self, database: str = DB) -> InfluxDB:
        return InfluxDB(self.server.url, database, self.server.admin_user,
                        self.server.admin_password)


def run_init(server: AuthInflux, cwd: Path, user: str, password: str, database: str = DB,
             retention: str = "7d") -> subprocess.CompletedProcess[str]:
    """scripts/influxdb_init.py with compose's settings (from a folder without a .env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}
    env.update(INFLUXDB_URL=server.url, INFLUXDB_DB=database, INFLUXDB_USER=user,
               INFLUXDB_PASSWORD=password, INFLUXDB_RETENTION=retention)
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "influxdb_init.py")], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=60)


def policies(client: InfluxDB) -> dict[str, tuple[str, bool]]:
    """Retention policies of the client's database: name -> (duration, default)."""
    rows = client.query_points(f'SHOW RETENTION POLICIES ON "{client.database}"')
    return {row["name"]: (row["duration"], row["default"]) for row in rows}


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Accounts]:
    """A private influxd with auth on, the schema made by the init script, and the users."""
    server = AuthInflux(tmp_path_factory.mktemp("influx"))
    server.start()
    try:
        done = run_init(server, tmp_path_factory.mktemp("cwd"), server.admin_user,
                        server.admin_password)
        assert done.returncode == 0, done.stderr
        acc = Accounts(server)
        server.admin_query(f"CREATE USER {acc.writer} WITH PASSWORD '{acc.writer_password}'")
        server.admin_query(f'GRANT WRITE ON "{DB}" TO {acc.writer}')
        server.admin_query(f"CREATE USER {acc.app} WITH PASSWORD '{acc.app_password}'")
        server.admin_query(f'GRANT ALL ON "{DB}" TO {acc.app}')
        yield acc
    finally:
        server.stop()


def test_init_script_makes_the_schema_and_reapplies_the_retention(
        accounts: Accounts, tmp_path: Path) -> None:
    """As the admin: the database, `raw` (default, INFLUXDB_RETENTION) and `long` (forever);
    run again with another retention, `raw` follows it."""
    server = accounts.server
    assert policies(accounts.admin_client())["raw"] == ("168h0m0s", True)
    assert policies(accounts.admin_client())["long"][0] == "0s"
    done = run_init(server, tmp_path, server.admin_user, server.admin_password, "ctleast_rp", "2d")
    assert done.returncode == 0, done.stderr
    assert "ctleast_rp" in done.stdout
    done = run_init(server, tmp_path, server.admin_user, server.admin_password, "ctleast_rp", "3d")
    assert done.returncode == 0, done.stderr
    assert policies(accounts.admin_client("ctleast_rp"))["raw"] == ("72h0m0s", True)


def test_init_script_refuses_a_user_without_admin_rights(accounts: Accounts,
                                                         tmp_path: Path) -> None:
    """A non-admin INFLUXDB_USER: exit 1 saying an admin is needed, the password not echoed."""
    done = run_init(accounts.server, tmp_path, accounts.app, accounts.app_password)
    assert done.returncode == 1
    assert "must be an InfluxDB admin" in done.stderr
    assert accounts.app_password not in done.stdout + done.stderr


def test_storage_worker_writes_with_a_write_only_user(accounts: Accounts,
                                                      settings: Settings) -> None:
    """A real storage worker whose InfluxDB user may only WRITE stores a batch; the user really
    cannot read (so nothing here ran with more rights)."""
    with pytest.raises(InfluxForbidden):
        InfluxDB(accounts.server.url, DB, accounts.writer, accounts.writer_password).query(
            "SELECT * FROM quotes LIMIT 1")
    queue_prefix = f"least.{uuid.uuid4().hex[:6]}."
    env = {"INFLUXDB_URL": accounts.server.url, "INFLUXDB_DB": DB,
           "INFLUXDB_USER": accounts.writer, "INFLUXDB_PASSWORD": accounts.writer_password,
           "QUEUE_PREFIX": queue_prefix}
    worker = celery_worker([f"{queue_prefix}storage"], f"least-{queue_prefix}", env)
    admin = accounts.admin_client()
    try:
        t0 = time.time_ns()
        rows = [tuple(Quote("kraken", "BTC-USD", 100.0 + i, 1.0, 101.0 + i, 1.0, None, t0 + i,
                            t0)) for i in range(50)]
        store_quotes.apply_async(args=[rows], queue=f"{queue_prefix}storage",
                                 routing_key=f"{queue_prefix}storage")

        def count() -> int:
            points = admin.query_points('SELECT count(bid) AS n FROM "raw"."quotes"')
            return int(points[0]["n"]) if points else 0

        wait_for(lambda: count() == 50, 30, "50 quotes stored")
        assert "403" not in worker.output
    finally:
        worker.stop()
        delete_queues(settings.broker_url, queue_prefix)


def test_a_user_without_admin_rights_rolls_up_and_leaves_the_policies(
        accounts: Accounts) -> None:
    """The reports worker's account (ALL on the database, not admin): housekeeping's and the
    rollup's ensure_policies pass without changing anything, and SELECT ... INTO writes."""
    app = InfluxDB(accounts.server.url, DB, accounts.app, accounts.app_password, "1d")
    start = (time.time_ns() // MINUTE_NS - 10) * MINUTE_NS
    lines = [f"quotes,exchange=bitstamp,symbol=ETH-USD bid={10 + i},ask={11 + i} "
             f"{start + i * 1_000_000_000}" for i in range(30)]
    assert app.write_lines(lines) == 30
    ensure_policies(app, "1d")
    assert policies(accounts.admin_client())["raw"] == ("168h0m0s", True)  # not altered
    assert roll_range(app, start, start + MINUTE_NS) == 1
    [point] = rollup_points(app, start, start + MINUTE_NS)
    assert point["count"] == 30 and point["open"] == 10.5 and point["close"] == 39.5
