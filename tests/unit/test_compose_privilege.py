"""docker-compose.yml holds least privilege: each service sees only the variables and secrets it
needs, InfluxDB accounts per job, Flower without per-task events, pinned images, a stop grace
longer than the feed's flush, memory limits. Static: the file is parsed, no Docker engine.
(Ports on 127.0.0.1 only: test_compose.py and test_secrets_and_binds.py.)"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.test_compose import env_example, variables_read_by_code
from tests.unit.test_secrets_and_binds import load_flower
from workers.exchanges import known_exchanges
from workers.publisher import STOP_FLUSH_S

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
APP_SERVICES = {name for name, s in SERVICES.items() if s.get("build")}

# --- The table: what each service's environment may hold ---------------------------------------

BROKER = {"BROKER_URL", "QUEUE_PREFIX", "LOG_LEVEL"}
REDIS = {"REDIS_URL", "KEY_PREFIX", "REDIS_TIMEOUT_S"}
INFLUX = {"INFLUXDB_URL", "INFLUXDB_DB", "INFLUXDB_RETENTION", "INFLUXDB_USER", "INFLUXDB_PASSWORD"}
PRICING = {"FEES_FILE", "TAKER_FEES", "FEE_VOLUME_30D", "MAX_QUOTE_AGE_S", "MIN_NET_PCT",
           "TRADE_NOTIONAL", "MIN_SIZE", "MIN_NOTIONAL"}
ALERT_RULES = {"ALERT_MIN_NET_PCT", "ALERT_COOLDOWN_S", "ALERT_FORMAT"}
FEED = {"EXCHANGES", "SYMBOLS", "FEED_GROUPS", "FEED_PROCESSES", "BOOK_DEPTH",
        "FEED_BUFFER_BATCHES", "FEED_BEHIND_S", "MAX_CLOCK_SKEW_S", "FEED_MAX_FRAME_BYTES"}
WEB = {"EXCHANGES", "SYMBOLS", "WS_MAX_CLIENTS", "WS_MAX_PER_ADDRESS", "WS_ALLOWED_ORIGINS",
       "WS_TRUSTED_PROXIES"}
# The official influxdb image's settings and first-start users.
INFLUXDB_IMAGE = {"INFLUXDB_REPORTING_DISABLED", "INFLUXDB_HTTP_LOG_ENABLED",
                  "INFLUXDB_HTTP_AUTH_ENABLED", "INFLUXDB_DATA_MAX_VALUES_PER_TAG", "INFLUXDB_DB",
                  "INFLUXDB_ADMIN_USER", "INFLUXDB_ADMIN_PASSWORD", "INFLUXDB_USER",
                  "INFLUXDB_USER_PASSWORD", "INFLUXDB_WRITE_USER", "INFLUXDB_WRITE_USER_PASSWORD",
                  "INFLUXDB_READ_USER", "INFLUXDB_READ_USER_PASSWORD"}

ALLOWED: dict[str, set[str]] = {
    "rabbitmq": {"RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS",
                 "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"},
    "redis": {"REDISCLI_AUTH"},
    "influxdb": INFLUXDB_IMAGE,
    "influxdb-init": INFLUX | {"LOG_LEVEL"},
    "web": BROKER | REDIS | INFLUX | PRICING | ALERT_RULES | WEB | {"ALERT_WEBHOOK_URL"},
    # Data tasks: dead-lettered after MAX_DELIVERIES runs; storage holds a message while
    # InfluxDB is down, within the broker's consumer timeout.
    "storage": BROKER | REDIS | INFLUX | {"MAX_DELIVERIES", "BROKER_CONSUMER_TIMEOUT_S"},
    "arbitrage": BROKER | REDIS | PRICING | ALERT_RULES | {"ALERT_WEBHOOK_URL", "MAX_DELIVERIES"},
    # Triangle scans run on the reports queue, hence the pricing rules.
    "reports": BROKER | REDIS | INFLUX | PRICING | {"EXCHANGES", "REPORT_WEBHOOK_URL"},
    "alerts": BROKER | REDIS | ALERT_RULES | {"ALERT_WEBHOOK_URL", "ALERT_RETRY_BASE_S"},
    "beat": BROKER,
    "flower": BROKER | {"FLOWER_BASIC_AUTH"},
    **{f"feed-{name}": BROKER | REDIS | FEED for name in known_exchanges()},
}


def holding(variable: str) -> set[str]:
    """The services whose table row includes `variable`."""
    return {name for name, allowed in ALLOWED.items() if variable in allowed}


# Each secret of .env and the services that may see its value (in their environment or command).
SECRET_HOLDERS: dict[str, set[str]] = {
    "RABBITMQ_PASSWORD": {"rabbitmq"} | holding("BROKER_URL"),
    "REDIS_PASSWORD": {"redis"} | holding("REDIS_URL"),
    "INFLUXDB_ADMIN_PASSWORD": {"influxdb", "influxdb-init"},
    "INFLUXDB_PASSWORD": {"influxdb", "reports"},
    "INFLUXDB_WRITE_PASSWORD": {"influxdb", "storage"},
    "INFLUXDB_READ_PASSWORD": {"influxdb", "web"},
    "FLOWER_BASIC_AUTH": {"flower"},
    # The arbitrage worker and the web app only learn whether it is set (${X:+set}).
    "ALERT_WEBHOOK_URL": {"alerts"},
    "REPORT_WEBHOOK_URL": {"reports"},
}
SECRET_NAME = re.compile(r"PASSWORD|BASIC_AUTH|WEBHOOK_URL|SECRET|TOKEN")

# The InfluxDB account (.env user and password variables) each InfluxDB client runs as.
INFLUX_ACCOUNTS: dict[str, tuple[str, str]] = {
    "influxdb-init": ("INFLUXDB_ADMIN_USER", "INFLUXDB_ADMIN_PASSWORD"),
    "reports": ("INFLUXDB_USER", "INFLUXDB_PASSWORD"),
    "storage": ("INFLUXDB_WRITE_USER", "INFLUXDB_WRITE_PASSWORD"),
    "web": ("INFLUXDB_READ_USER", "INFLUXDB_READ_PASSWORD"),
}
# How the influxdb image names the account each pair above creates on first start.
IMAGE_ACCOUNTS: dict[tuple[str, str], tuple[str, str]] = {
    ("INFLUXDB_ADMIN_USER", "INFLUXDB_ADMIN_PASSWORD"):
        ("INFLUXDB_ADMIN_USER", "INFLUXDB_ADMIN_PASSWORD"),
    ("INFLUXDB_USER", "INFLUXDB_PASSWORD"): ("INFLUXDB_USER", "INFLUXDB_USER_PASSWORD"),
    ("INFLUXDB_WRITE_USER", "INFLUXDB_WRITE_PASSWORD"):
        ("INFLUXDB_WRITE_USER", "INFLUXDB_WRITE_USER_PASSWORD"),
    ("INFLUXDB_READ_USER", "INFLUXDB_READ_PASSWORD"):
        ("INFLUXDB_READ_USER", "INFLUXDB_READ_USER_PASSWORD"),
}

# .env.example variables no compose service needs: local runs, the demo and benchmarks only.
# WEB_PORT is interpolated (the host port), not passed; in the container gunicorn binds 5000.
NOT_FOR_CONTAINERS = {"WEB_HOST", "SIM_RATE", "BENCH_LOG_DIR", "CT_INFLUXDB_DIR"}

# Beyond the flush, a stopping feed ends its reads (a join of up to 5 s per venue) and writes
# its final status.
FEED_STOP_MARGIN_S = 15.0

# ${NAME}, ${NAME:-x}, ${NAME:?x}, ${NAME:+x} ... : the name and the operator.
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?[^}]*\}")


def environment(name: str) -> dict[str, Any]:
    """A service's environment as a mapping (compose allows a list too; we write mappings)."""
    env = SERVICES[name].get("environment") or {}
    assert isinstance(env, dict), f"{name}: environment as a mapping, please"
    return env


def interpolated(text: str) -> set[str]:
    """Variables whose value `text` takes in; `${X:+alt}` only tells whether X is set."""
    text = text.replace("$$", "")  # an escaped dollar is the container's, not compose's
    return {m.group(1) for m in INTERPOLATION.finditer(text) if m.group(2) not in (":+", "+")}


def visible(name: str) -> set[str]:
    """The .env variables whose values a service's container can see."""
    service = SERVICES[name]
    seen = set()
    for key, value in environment(name).items():
        # No value: compose passes the variable of the same name from .env when it is set.
        seen |= {key} if value is None else interpolated(str(value))
    rest = {k: v for k, v in service.items() if k != "environment"}
    return seen | interpolated(json.dumps(rest))


def seconds(duration: str) -> float:
    """A compose duration (`1m30s`, `45s`, `2m`) in seconds."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", str(duration))
    assert match and any(match.groups()), f"not a compose duration: {duration!r}"
    h, m, s = (float(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


def size_bytes(size: str) -> int:
    """A compose byte size (`256m`, `1g`, `512mb`) in bytes."""
    match = re.fullmatch(r"(\d+)([bkmg])b?", str(size).lower())
    assert match, f"not a compose size: {size!r}"
    return int(match.group(1)) * 1024 ** "bkmg".index(match.group(2))


def words(name: str) -> list[str]:
    """A service's command as a list of words."""
    cmd = SERVICES[name]["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


# --- Environment and secrets ---------------------------------------------------------------------


def test_the_table_covers_exactly_the_services() -> None:
    """A row per service, no row for a service that is gone."""
    assert set(ALLOWED) == set(SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_service_holds_only_the_variables_it_may(name: str) -> None:
    """Its environment is within its row of the table."""
    extra = set(environment(name)) - ALLOWED[name]
    assert not extra, f"{name} holds {sorted(extra)}, which its row does not allow"


def test_no_service_reads_the_whole_env_file() -> None:
    """No `env_file` anywhere (it would hand every secret in .env to the container)."""
    for name, service in SERVICES.items():
        assert "env_file" not in service, name
    assert not re.search(r"^\s*env_file\s*:", (ROOT / "docker-compose.yml").read_text(),
                         re.MULTILINE)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_secrets_reach_only_their_holders(name: str) -> None:
    """Each secret's value is visible only in the services allowed to hold it."""
    for secret in visible(name) & set(SECRET_HOLDERS):
        assert name in SECRET_HOLDERS[secret], f"{name} can see {secret}"


def test_each_holder_really_holds_its_secret() -> None:
    """The table is not wider than the file: every holder it names does see the secret; and
    every secret of .env.example has its holders here (a new one must be given some)."""
    secrets = {n for n in env_example() if SECRET_NAME.search(n)}
    assert secrets <= set(SECRET_HOLDERS), sorted(secrets - set(SECRET_HOLDERS))
    for secret, holders in SECRET_HOLDERS.items():
        for name in holders:
            assert secret in visible(name), f"{name} is listed for {secret} but never sees it"


def test_alert_webhook_reaches_the_others_only_as_a_flag() -> None:
    """The arbitrage worker (which enqueues alerts) and the web app (which says whether alerts
    are on) get `set` or nothing in ALERT_WEBHOOK_URL, never the URL."""
    for name in ("arbitrage", "web"):
        assert environment(name)["ALERT_WEBHOOK_URL"] == "${ALERT_WEBHOOK_URL:+set}"
    assert environment("alerts")["ALERT_WEBHOOK_URL"] is None  # the URL itself, from .env


def test_influxdb_clients_use_their_own_account() -> None:
    """Admin only for the init job, WRITE for storage, ALL-on-the-database for reports, READ
    for web; each account is one the influxdb service creates."""
    clients = {name for name in SERVICES if "INFLUXDB_URL" in environment(name)}
    assert clients == set(INFLUX_ACCOUNTS)
    image = environment("influxdb")
    for name, (user, password) in INFLUX_ACCOUNTS.items():
        env = environment(name)
        assert env["INFLUXDB_USER"] == f"${{{user}:?set {user}}}", name
        assert env["INFLUXDB_PASSWORD"] == f"${{{password}:?set {password}}}", name
        image_user, image_password = IMAGE_ACCOUNTS[(user, password)]
        assert image[image_user] == env["INFLUXDB_USER"], name
        assert image[image_password] == env["INFLUXDB_PASSWORD"], name
    assert environment("influxdb")["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"


def test_the_init_job_runs_the_schema_script_before_the_writers() -> None:
    """influxdb-init runs once (restart "no") and storage and reports wait for it to succeed."""
    init = SERVICES["influxdb-init"]
    assert init["restart"] == "no"
    script = words("influxdb-init")[1]
    assert words("influxdb-init")[0] == "python" and (ROOT / script).is_file()
    assert init["depends_on"]["influxdb"]["condition"] == "service_healthy"
    for name in ("storage", "reports"):
        assert SERVICES[name]["depends_on"]["influxdb-init"] == {
            "condition": "service_completed_successfully"}


def test_passed_variables_are_ones_the_code_reads() -> None:
    """Every variable an app container gets is read by the code (a typo would pass nothing)."""
    read = set(variables_read_by_code())
    for name in APP_SERVICES:
        unknown = set(environment(name)) - read
        assert not unknown, f"{name}: {sorted(unknown)} read by no code"


def test_every_setting_reaches_some_container() -> None:
    """Each .env.example variable is passed or interpolated somewhere, or is local-only: a new
    setting must be routed to the services that read it (or listed as not for containers)."""
    text = (ROOT / "docker-compose.yml").read_text()
    used = {m.group(1) for m in INTERPOLATION.finditer(text)}
    for name in SERVICES:
        used |= set(environment(name))
    missing = set(env_example()) - used - NOT_FOR_CONTAINERS
    assert not missing, f"no compose service gets {sorted(missing)}"
    assert not NOT_FOR_CONTAINERS & used, sorted(NOT_FOR_CONTAINERS & used)


# --- Flower, images, stopping, memory -------------------------------------------------------------


def test_flower_runs_the_launcher_with_per_task_events_off() -> None:
    """Flower starts through scripts/flower.py, as in `make run`, which turns off the events
    Flower would otherwise switch on in every worker; no worker sends task events itself."""
    argv = words("flower")
    assert argv[:2] == ["python", "scripts/flower.py"]
    assert "--enable_events=False" in load_flower().flower_command("0.0.0.0", 5555)
    for name in APP_SERVICES:
        cmd = words(name)
        assert not {"-E", "--task-events", "--events"} & set(cmd), name
    assert "worker_send_task_events" not in (ROOT / "celeryconfig.py").read_text()


def test_images_are_pinned_to_releases() -> None:
    """Every image names an exact version (no `latest`, no bare major); ours is the project's."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in SERVICES.items():
        repo, _, tag = service["image"].rpartition(":")
        assert repo and "latest" not in tag, (name, service["image"])
        assert re.match(r"\d+\.\d+\.\d+(-[a-z]+)?$", tag), (name, service["image"])
        if service.get("build"):
            assert service["image"] == f"cryptotracker:{version}", name


def test_feeds_get_longer_to_stop_than_their_flush() -> None:
    """Docker waits stop_grace_period after SIGTERM before SIGKILL: longer than a feed spends
    handing its held batches to the broker (workers.publisher.STOP_FLUSH_S) and ending reads."""
    feeds = [name for name in SERVICES if name.startswith("feed-")]
    assert len(feeds) == len(known_exchanges())
    for name in feeds:
        assert seconds(SERVICES[name]["stop_grace_period"]) >= STOP_FLUSH_S + FEED_STOP_MARGIN_S


def test_every_service_has_a_memory_limit() -> None:
    """mem_limit (which `docker compose up` honours without swarm) on every service; one way
    of saying it, so there are no two limits to disagree."""
    for name, service in SERVICES.items():
        assert size_bytes(service["mem_limit"]) >= 128 * 1024**2, name
        assert "resources" not in (service.get("deploy") or {}), name


def test_rabbitmq_blocks_publishers_before_its_memory_limit() -> None:
    """RabbitMQ's memory alarm is absolute and below the container's limit."""
    args = environment("rabbitmq")["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
    match = re.fullmatch(r"-rabbit vm_memory_high_watermark \{absolute,(\d+)\}", args)
    assert match, args
    assert int(match.group(1)) < size_bytes(SERVICES["rabbitmq"]["mem_limit"])
