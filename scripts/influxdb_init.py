"""Create the InfluxDB database and its retention policies as the admin, then exit.

docker compose runs this once at every `up` (the `influxdb-init` service) before the workers that
write history start. InfluxDB 1.x lets only admins create databases and create or alter retention
policies, so this keeps the admin account out of the long-running workers: storage writes with a
WRITE user, reports with a user holding ALL on the one database, the web app with a READ user.
Settings as everywhere: INFLUXDB_URL, INFLUXDB_DB, INFLUXDB_USER/INFLUXDB_PASSWORD (the admin
here) and INFLUXDB_RETENTION (the `raw` policy's duration, applied again when it changes).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.config import ConfigError, get_settings  # noqa: E402
from core.influx import InfluxDB, InfluxError, InfluxForbidden  # noqa: E402
from core.measurements import LONG_RP, RAW_RP  # noqa: E402
from core.rollup import ensure_policies  # noqa: E402


def main() -> int:
    """Apply the schema; 0 when done, 1 when InfluxDB refused or failed, 2 on bad settings."""
    try:
        settings = get_settings()
        influx = InfluxDB(settings.influxdb_url, settings.influxdb_db, settings.influxdb_user,
                          settings.influxdb_password, settings.influxdb_retention)
    except (ConfigError, ValueError) as exc:
        print(f"influxdb-init: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        # Only an admin may list users: a clear error now, where ensure_policies (which leaves
        # the schema alone for non-admins) would report success without changing anything.
        influx.command("SHOW USERS")
        ensure_policies(influx, settings.influxdb_retention)
    except InfluxForbidden as exc:
        print(f"influxdb-init: INFLUXDB_USER must be an InfluxDB admin with the right password: "
              f"{exc}", file=sys.stderr)
        return 1
    except InfluxError as exc:
        print(f"influxdb-init: {exc}", file=sys.stderr)
        return 1
    finally:
        influx.close()
    print(f"influxdb-init: database {settings.influxdb_db} ready, retention policies {RAW_RP} "
          f"({settings.influxdb_retention}, default) and {LONG_RP}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
