"""docker-compose.yml, Dockerfile and .env.example, checked statically (no Docker engine needed)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
APP_SERVICES = {name for name, s in SERVICES.items() if s.get("build")}
WORKER_QUEUES = {"storage", "arbitrage", "reports", "alerts"}
PUBLISHED = {"web", "flower"}
# Jobs that run once and exit (`restart: "no"`).
ONE_SHOT = {name for name, s in SERVICES.items() if s.get("restart") == "no"}

# Reads of the environment in Python: os.environ.get("X"), os.environ["X"], os.getenv("X"),
# env.get("X"), environ.setdefault("X"), and helpers called as read_float(env, "X", ...).
PY_ENV_READ = re.compile(
    r"""(?:\bos\.environ\.get|\bos\.environ\.setdefault|\bos\.getenv|\benviron\.get"""
    r"""|\benv\.get|\bos\.environ\[|\benv\[|\b(?:_|read_)\w+\(\s*env\s*,)\s*\(?\s*["']([A-Z][A-Z0-9_]*)["']"""
)
# Reads in shell (scripts, the generated Procfile, compose): ${X}, ${X:-default}, ${{X (f-string).
SHELL_ENV_READ = re.compile(r"\$\{\{?([A-Z][A-Z0-9_]*)")
# Provided by the operating system or the container runtime, not settings of ours.
OS_VARIABLES = {"PATH", "HOME", "HOSTNAME", "PWD", "USER"}
CODE_DIRS = ("core", "tasks", "web", "workers", "simulator", "scripts", "bench")


def env_example() -> dict[str, str]:
    """The variables `.env.example` defines, with their values."""
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example line is not NAME=value: {line!r}"
            pairs[name.strip()] = value.strip()
    return pairs


def variables_read_by_code() -> dict[str, set[str]]:
    """Every environment variable the code reads, found by scanning it: name -> files."""
    found: dict[str, set[str]] = {}
    files = [ROOT / "celeryconfig.py"]
    for folder in CODE_DIRS:
        files += sorted((ROOT / folder).rglob("*.py")) + sorted((ROOT / folder).rglob("*.sh"))
    for path in files:
        text = path.read_text()
        names = set(PY_ENV_READ.findall(text)) if path.suffix == ".py" else set()
        if path.suffix == ".sh" or path.name == "procfile.py":
            names |= set(SHELL_ENV_READ.findall(text))
        for name in names - OS_VARIABLES:
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def command(service: str) -> list[str]:
    """A service's command as a list of words."""
    cmd = SERVICES[service]["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def option(words: list[str], *names: str) -> str | None:
    """The value of `-Q x` / `--queues=x` style options in `words`."""
    for i, word in enumerate(words):
        for name in names:
            if word == name and i + 1 < len(words):
                return words[i + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def compose_queue_names() -> set[str]:
    """celeryconfig's queue names with QUEUE_PREFIX empty, as compose runs it (fresh process)."""
    env = {**os.environ, "QUEUE_PREFIX": ""}
    out = subprocess.run(
        [sys.executable, "-c", "import json, celeryconfig as c; "
         "print(json.dumps([q.name for q in c.task_queues]))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    return set(json.loads(out))


def test_compose_parses_with_the_expected_services() -> None:
    """Every process of the stack has a service; feeds cover every known exchange."""
    from workers.exchanges import known_exchanges

    expected = {"rabbitmq", "redis", "influxdb", "web", "beat", "flower", *WORKER_QUEUES}
    expected |= {f"feed-{name}" for name in known_exchanges()}
    assert expected <= set(SERVICES), sorted(expected - set(SERVICES))
    # Pinned to exact releases (tests/unit/test_compose_privilege.py checks every image).
    assert SERVICES["rabbitmq"]["image"] == "rabbitmq:3.13.7-management"
    assert SERVICES["redis"]["image"] == "redis:7.4.7"
    assert SERVICES["influxdb"]["image"] == "influxdb:1.8.10"


def test_python_m_commands_name_importable_modules() -> None:
    """`python -m X args` services: X imports, and a feed's exchange is a known one."""
    from workers.exchanges import known_exchanges

    checked = 0
    for name in APP_SERVICES:
        words = command(name)
        if words[:2] != ["python", "-m"]:
            continue
        assert importlib.util.find_spec(words[2]) is not None, f"{name}: no module {words[2]}"
        if words[2] == "workers":
            assert words[3] in known_exchanges(), f"{name}: unknown exchange {words[3]}"
            assert name == f"feed-{words[3]}"
        checked += 1
    assert checked == len(known_exchanges())


def test_celery_commands_name_the_app_and_existing_queues() -> None:
    """`celery -A tasks <sub>`: the app imports, the subcommand exists, queues exist unprefixed."""
    from celery.bin.celery import celery as celery_cli

    import tasks

    assert hasattr(tasks, "app")
    queues = compose_queue_names()
    seen_queues = set()
    for name in APP_SERVICES:
        words = command(name)
        if words[0] != "celery":
            continue
        assert option(words, "-A", "--app") == "tasks", name
        sub = words[3]
        assert sub in celery_cli.commands, f"{name}: celery has no {sub!r} command"
        if sub == "worker":
            queue = option(words, "-Q", "--queues")
            assert queue in queues, f"{name}: queue {queue!r} not in celeryconfig {queues}"
            # Scaling gives each container its own hostname; %h keeps node names unique.
            assert option(words, "-n", "--hostname") == f"{queue}@%h"
            assert name == queue
            seen_queues.add(queue)
    assert seen_queues == WORKER_QUEUES == queues


def test_web_command_is_gunicorn_on_the_app_factory_with_the_config_file() -> None:
    """gunicorn -c web/gunicorn_conf.py 'web:create_app()': the config file alone decides the
    worker model, connections and timeouts (as for `make run`); compose only sets the bind."""
    words = command("web")
    assert words[0] == "gunicorn"
    conf = option(words, "-c", "--config")
    assert conf and (ROOT / conf).is_file()
    settings = runpy.run_path(str(ROOT / conf))
    assert settings["worker_class"] and settings["graceful_timeout"] and settings["logconfig_dict"]
    module, _, factory = words[-1].partition(":")
    assert factory == "create_app()"
    assert callable(importlib.import_module(module).create_app)
    assert option(words, "--bind", "-b") == "0.0.0.0:5000"
    overrides = ("-k", "--worker-class", "--threads", "--workers", "-w", "--worker-connections",
                 "--graceful-timeout", "--timeout")
    assert not [w for w in words if w.split("=")[0] in overrides], words


def test_only_web_and_flower_publish_ports_and_only_on_loopback() -> None:
    """No other service publishes a port; web and Flower bind 127.0.0.1."""
    publishing = {name for name, s in SERVICES.items() if s.get("ports")}
    assert publishing == PUBLISHED
    for name in PUBLISHED:
        for port in SERVICES[name]["ports"]:
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
    assert SERVICES["web"]["ports"] == ["127.0.0.1:${WEB_PORT:-5000}:5000"]
    assert SERVICES["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    assert option(command("flower"), "--address") == "0.0.0.0"
    assert option(command("flower"), "--port") == "5555"


def test_every_service_has_a_healthcheck_that_can_run() -> None:
    """A healthcheck per service; its python snippets compile; worker pings name their node."""
    for name, service in SERVICES.items():
        if name in ONE_SHOT:
            continue  # exits when done; dependants wait for service_completed_successfully
        test = (service.get("healthcheck") or {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        if test[0] == "CMD" and test[1:3] == ["python", "-c"]:
            compile(test[3], f"{name} healthcheck", "exec")
        assert "curl" not in " ".join(test) or name == "influxdb", f"{name}: no curl in image"
    for queue in WORKER_QUEUES:
        test = SERVICES[queue]["healthcheck"]["test"]
        assert test[1].startswith(f"celery -A tasks inspect ping -d {queue}@$$HOSTNAME")


def test_scalable_services_have_no_fixed_names() -> None:
    """`--scale` needs services without container_name or hostname."""
    for name, service in SERVICES.items():
        assert "container_name" not in service, name
        assert "hostname" not in service, name


def test_credentials_come_from_the_environment_and_are_required() -> None:
    """No guest account; every password is a required variable; auth on Redis and InfluxDB."""
    env = SERVICES["web"]["environment"]
    brokered = 0
    for service in APP_SERVICES:
        senv = SERVICES[service]["environment"]
        if "BROKER_URL" in senv:
            assert senv["BROKER_URL"] == (
                "amqp://${RABBITMQ_USER:?set RABBITMQ_USER}:"
                "${RABBITMQ_PASSWORD:?set RABBITMQ_PASSWORD}@rabbitmq:5672//"
            )
            assert senv["QUEUE_PREFIX"] == ""
            brokered += 1
        if "REDIS_URL" in senv:
            assert senv["REDIS_URL"] == (
                "redis://:${REDIS_PASSWORD:?set REDIS_PASSWORD}@redis:6379/0")
        assert "guest" not in json.dumps(senv)
    assert brokered == len(APP_SERVICES - ONE_SHOT)
    # The web app reads with the READ-only user the influxdb service creates.
    assert env["INFLUXDB_USER"].startswith("${INFLUXDB_READ_USER:?")
    assert env["INFLUXDB_PASSWORD"].startswith("${INFLUXDB_READ_PASSWORD:?")
    rabbit = SERVICES["rabbitmq"]["environment"]
    assert rabbit["RABBITMQ_DEFAULT_PASS"].startswith("${RABBITMQ_PASSWORD:?")
    assert "--requirepass" in command("redis")
    influx = SERVICES["influxdb"]["environment"]
    assert influx["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"
    assert influx["INFLUXDB_ADMIN_PASSWORD"].startswith("${INFLUXDB_ADMIN_PASSWORD:?")
    assert influx["INFLUXDB_READ_USER"] == env["INFLUXDB_USER"]
    assert influx["INFLUXDB_READ_USER_PASSWORD"] == env["INFLUXDB_PASSWORD"]
    assert SERVICES["flower"]["environment"]["FLOWER_BASIC_AUTH"].startswith(
        "${FLOWER_BASIC_AUTH:?"
    )


def test_one_network_named_volumes_and_healthy_dependencies() -> None:
    """Every service on the one network; volumes are named; apps wait for healthy services."""
    assert list(COMPOSE["networks"]) == ["internal"]
    for name, service in SERVICES.items():
        assert service["networks"] == ["internal"], name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in COMPOSE["volumes"], f"{name}: {source} is not a named volume"
    for name in APP_SERVICES:
        deps = SERVICES[name]["depends_on"]
        assert deps, name
        for dep, spec in deps.items():
            wanted = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert spec["condition"] == wanted, (name, dep)
        # Whatever a service connects to is up before it starts.
        env = SERVICES[name]["environment"]
        for variable, service in (("BROKER_URL", "rabbitmq"), ("REDIS_URL", "redis")):
            assert (variable in env) <= (service in deps), (name, service)
        if "INFLUXDB_URL" in env:
            assert {"influxdb", "influxdb-init"} & set(deps), name


def test_every_variable_the_code_reads_is_in_env_example() -> None:
    """Scan the code for environment reads; each variable is documented in .env.example."""
    read = variables_read_by_code()
    # The scan must find the settings we know of, or it is not scanning anything.
    assert {"BROKER_URL", "LOG_LEVEL", "MAX_QUOTE_AGE_S", "QUEUE_PREFIX"} <= set(read)
    missing = {name: sorted(files) for name, files in read.items() if name not in env_example()}
    assert not missing, f"read by the code but not in .env.example: {missing}"


def test_every_compose_variable_is_in_env_example() -> None:
    """Each ${X} docker-compose.yml interpolates is in .env.example (escaped $$X excluded)."""
    text = (ROOT / "docker-compose.yml").read_text().replace("$$", "")
    names = set(SHELL_ENV_READ.findall(text))
    assert {"RABBITMQ_PASSWORD", "REDIS_PASSWORD", "FLOWER_BASIC_AUTH"} <= names
    assert names <= set(env_example()), sorted(names - set(env_example()))


def test_env_example_holds_no_secret_values() -> None:
    """Secret variables are empty in the example: nobody deploys a published password."""
    for name, value in env_example().items():
        if re.search(r"PASSWORD|BASIC_AUTH|WEBHOOK", name):
            assert value == "", name


def test_env_example_documents_each_variable() -> None:
    """A comment line precedes every block of variables."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            block_start = i
            while block_start > 0 and lines[block_start - 1] and \
                    not lines[block_start - 1].startswith("#"):
                block_start -= 1
            assert block_start > 0 and lines[block_start - 1].startswith("#"), line


def test_dockerfile_slim_non_root_pinned() -> None:
    """python:3.11.x-slim (pinned), requirements pinned and installed without cache, non-root."""
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert re.fullmatch(r"FROM python:3\.11\.\d+-slim-\w+", lines[0]), lines[0]
    assert "RUN pip install --no-cache-dir -r requirements.txt" in lines
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), users
    assert "EXPOSE 5000" in lines
    for req in (ROOT / "requirements.txt").read_text().splitlines():
        req = req.split("#")[0].strip()
        if req:
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", req), f"not pinned: {req}"


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    """The build context excludes .env, the virtualenv, var/ and git, and what only
    development runs (tests, benchmarks: their packages are not in the image)."""
    entries = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "var", ".git", "tests", "bench", "requirements-dev.txt"} <= entries


def test_workers_use_the_same_pool_options_everywhere() -> None:
    """Compose and the Procfile start each worker with WORKER_OPTIONS."""
    from tasks.queues import WORKER_OPTIONS

    procfile = {line.split(":", 1)[0]: line.split(":", 1)[1]
                for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line}
    for role, options in WORKER_OPTIONS.items():
        command = SERVICES[role]["command"]
        assert command[-len(options):] == list(options), role
        assert f"-n {role}@%h {' '.join(options)} --loglevel" in procfile[role], role
    assert WORKER_OPTIONS["arbitrage"][:2] == ("--pool", "threads")


def test_feed_services_take_their_grouping_from_feed_groups() -> None:
    """Each feed service runs `--grouped`: FEED_GROUPS (documented) decides who runs what."""
    from workers.__main__ import build_parser

    for name in known_exchanges_services():
        words = command(name)
        assert "--grouped" in words, name
        assert build_parser().parse_args(words[3:]).grouped
    assert "FEED_GROUPS" in env_example()


def known_exchanges_services() -> list[str]:
    from workers.exchanges import known_exchanges

    return [f"feed-{name}" for name in known_exchanges()]
