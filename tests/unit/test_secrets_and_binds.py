"""Listeners default to 127.0.0.1; Flower's launcher keeps credentials off the command line;
compose keeps every secret in required variables. Static checks, no services needed."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from core.config import Settings, reset_settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
CODE_DIRS = ("core", "tasks", "web", "workers", "simulator", "scripts")
# Binding every interface, in the spellings Python servers, gunicorn and shells use.
ALL_INTERFACES = re.compile(r"0\.0\.0\.0|\[::\]|(?:host|bind|address)\s*=\s*['\"]['\"]")
SECRET_NAME = re.compile(r"PASSWORD|PASS$|SECRET|TOKEN|BASIC_AUTH")


def load_flower() -> ModuleType:
    """scripts/flower.py as a module (it is a script, not a package member)."""
    spec = importlib.util.spec_from_file_location("flower_launcher", ROOT / "scripts" / "flower.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gunicorn_binds_loopback_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """web/gunicorn_conf.py: WEB_HOST unset or empty means 127.0.0.1, never all interfaces."""
    import runpy

    conf = ROOT / "web" / "gunicorn_conf.py"
    monkeypatch.delenv("WEB_HOST", raising=False)
    monkeypatch.delenv("WEB_PORT", raising=False)
    reset_settings()
    assert runpy.run_path(str(conf))["bind"] == "127.0.0.1:5000"
    monkeypatch.setenv("WEB_HOST", "")
    monkeypatch.setenv("WEB_PORT", "5123")
    reset_settings()
    assert runpy.run_path(str(conf))["bind"] == "127.0.0.1:5123"
    reset_settings()


def test_settings_default_to_loopback_everywhere() -> None:
    """The web bind and every service URL default to 127.0.0.1."""
    settings = Settings.from_env({})
    assert settings.web_host == LOOPBACK
    for url in (settings.broker_url, settings.redis_url, settings.influxdb_url):
        assert f"@{LOOPBACK}:" in url or f"//{LOOPBACK}:" in url, url


@pytest.mark.parametrize("path", ["Procfile", "scripts/procfile.py"])
def test_procfile_web_and_flower_bind_loopback_by_default(path: str) -> None:
    """The Procfile binds the web app to ${WEB_HOST:-127.0.0.1}; Flower keeps its own default."""
    text = (ROOT / path).read_text()
    assert "--bind ${WEB_HOST:-127.0.0.1}:${WEB_PORT:-5000}" in text
    flower = next(line for line in text.splitlines() if "flower" in line and "scripts/" in line)
    assert "--address" not in flower and "FLOWER_BASIC_AUTH" not in flower.split("#")[0]


def test_procfile_demo_simulator_binds_loopback() -> None:
    """`make demo`'s Procfile starts the simulator with --host 127.0.0.1."""
    spec = importlib.util.spec_from_file_location("procfile", ROOT / "scripts" / "procfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    line = next(li for li in module.procfile(["kraken"], demo=True).splitlines()
                if li.startswith("simulator:"))
    assert shlex.split(line)[shlex.split(line).index("--host") + 1] == LOOPBACK


def test_simulator_listens_on_loopback_by_default() -> None:
    from simulator.__main__ import parse_args
    from simulator.config import DEFAULT_HOST, SimConfig

    assert DEFAULT_HOST == LOOPBACK == SimConfig().host == parse_args([]).host


def test_local_services_bind_loopback() -> None:
    """`make services` starts Redis, RabbitMQ and InfluxDB on 127.0.0.1 only."""
    script = (ROOT / "scripts" / "services.sh").read_text()
    assert re.search(r"redis-server [^\n]*--bind 127\.0\.0\.1(\s|$)", script)
    assert "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1" in script
    conf = (ROOT / "deploy" / "influxdb.conf").read_text()
    binds = re.findall(r'^\s*bind-address\s*=\s*"([^"]*)"', conf, re.MULTILINE)
    assert len(binds) == 2 and all(b.startswith(f"{LOOPBACK}:") for b in binds), binds


def test_no_code_binds_all_interfaces() -> None:
    """No listener in the code or the Procfile is bound to 0.0.0.0, [::] or an empty host."""
    files = [ROOT / "Procfile"]
    for folder in CODE_DIRS:
        files += sorted((ROOT / folder).rglob("*.py")) + sorted((ROOT / folder).rglob("*.sh"))
    found = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if ALL_INTERFACES.search(code):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_flower_launcher_binds_loopback_and_keeps_credentials_off_the_command_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """scripts/flower.py with no options: --address=127.0.0.1, the password only in Flower's
    environment, and FLOWER_UNAUTHENTICATED_API dropped so the API needs credentials too."""
    flower = load_flower()
    password = "pw-unit-" + "x" * 16
    monkeypatch.setenv("FLOWER_BASIC_AUTH", f"admin:{password}")
    monkeypatch.setenv("FLOWER_UNAUTHENTICATED_API", "true")
    monkeypatch.setattr("sys.argv", ["flower.py"])
    captured: dict[str, Any] = {}

    class Execed(Exception):
        pass

    def fake_execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        captured.update(path=path, argv=argv, env=env)
        raise Execed

    monkeypatch.setattr(flower.os, "execve", fake_execve)
    monkeypatch.setattr(flower.os, "chdir", lambda path: None)
    reset_settings()
    try:
        with pytest.raises(Execed):
            flower.main()
    finally:
        reset_settings()
    argv = captured["argv"]
    assert "--address=127.0.0.1" in argv and "--port=5555" in argv
    assert not any(password in word for word in argv)
    assert not any("basic_auth" in word for word in argv)
    assert captured["env"]["FLOWER_BASIC_AUTH"] == f"admin:{password}"
    assert "FLOWER_UNAUTHENTICATED_API" not in captured["env"]


@pytest.mark.parametrize("configured", ["", "   "])
def test_flower_without_configured_credentials_generates_strong_ones(configured: str) -> None:
    """Flower never runs open: with FLOWER_BASIC_AUTH empty a long random password is made."""
    flower = load_flower()
    first, generated = flower.resolve_auth(configured)
    second, _ = flower.resolve_auth(configured)
    user, _, password = first.partition(":")
    assert generated and user and len(password) >= 20 and first != second
    assert flower.valid_basic_auth(first)


@pytest.mark.parametrize("value", ["nopassword", "user:", ":password", "a:b,c"])
def test_flower_refuses_malformed_credentials(value: str) -> None:
    assert not load_flower().valid_basic_auth(value)


# --- docker compose: published ports, secrets -------------------------------------------------

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def test_compose_publishes_nothing_beyond_loopback() -> None:
    """Every published port (short or long syntax) is bound to 127.0.0.1; no host networking."""
    published = 0
    for name, service in SERVICES.items():
        assert service.get("network_mode") != "host", name
        for port in service.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == LOOPBACK, (name, port)
            else:
                # host_ip:host_port:container_port (a variable counts as one part)
                parts = re.sub(r"\$\{[^}]*\}", "VAR", str(port)).split(":")
                assert len(parts) == 3 and parts[0] == LOOPBACK, (name, port)
            published += 1
    assert published >= 1


def test_compose_keeps_every_secret_in_a_required_variable() -> None:
    """A password-like setting in any service is `${VAR:?...}`: never a literal, never empty."""
    checked = 0
    for name, service in SERVICES.items():
        env = service.get("environment") or {}
        assert isinstance(env, dict), f"{name}: environment as a mapping, please"
        for key, value in env.items():
            if SECRET_NAME.search(key) and not key.endswith("_API"):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), (name, key, value)
                checked += 1
            for url in re.findall(r"\w+://[^\s]+", str(value)):
                # Credentials inside URLs come from required variables too.
                userinfo = url.split("://", 1)[1].rpartition("@")[0]
                assert not userinfo or re.fullmatch(r"(\$\{[A-Z_]+:\?[^}]+\})?:?"
                                                    r"(\$\{[A-Z_]+:\?[^}]+\})", userinfo), \
                    (name, key, url)
    assert checked >= 5


def test_compose_flower_api_needs_credentials() -> None:
    """Flower's API is not opened up without authentication in compose."""
    env = SERVICES["flower"]["environment"]
    assert str(env.get("FLOWER_UNAUTHENTICATED_API", "false")).lower() == "false"
    command = " ".join(SERVICES["flower"]["command"])
    assert "basic_auth" not in command and "FLOWER_BASIC_AUTH" not in command


def test_settings_repr_masks_every_secret() -> None:
    """A Settings printed or logged by accident shows no password, URL password or webhook."""
    from core.config import Settings

    settings = Settings.from_env({
        "BROKER_URL": "amqp://ct:brokerpass1@mq:5672/ct", "REDIS_URL": "redis://:redispass2@r:6379/0",
        "INFLUXDB_PASSWORD": "influxpass3", "FLOWER_BASIC_AUTH": "admin:flowerpass4",
        "ALERT_WEBHOOK_URL": "https://hooks.example/T0/secretpath5",
    })
    text = repr(settings)
    for secret in ("brokerpass1", "redispass2", "influxpass3", "flowerpass4", "secretpath5"):
        assert secret not in text
    assert "amqp://ct:***@mq:5672/ct" in text and "influxdb_db='cryptotracker'" in text
