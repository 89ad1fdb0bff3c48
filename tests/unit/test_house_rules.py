"""The house rules issue 15 sets, read from the tree, so a change that breaks one fails CI."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 300
# Where Redis is spoken: the keys module, the stores, and the state that holds the client.
REDIS_OWNERS = ("core/keys.py", "core/state.py", "core/stores/")
PRODUCT = ("core/", "tasks/", "web/", "workers/", "scripts/")
# Methods of a redis-py client or pipeline that issue a command (a store's own API is named
# after what it keeps, never after a Redis command).
REDIS_COMMANDS = frozenset({
    "hget", "hset", "hgetall", "hmget", "hdel", "hincrby", "hincrbyfloat", "get", "set",
    "setex", "delete", "exists", "expire", "zadd", "zrange", "zrevrange", "zrem", "sadd",
    "srem", "smembers", "scan_iter", "eval", "evalsha", "script_load", "register_script",
    "pipeline", "pubsub", "ping", "incr", "lpush", "rpush", "lrange", "ltrim", "psubscribe",
})


def tracked(suffix: str) -> list[str]:
    """Files git tracks (or would track) ending in `suffix`."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", f"*{suffix}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    return [p for p in out.splitlines() if (ROOT / p).exists()]


def test_no_module_outside_tests_is_longer_than_300_lines() -> None:
    long = {
        path: n for path in tracked(".py") if not path.startswith("tests/")
        if (n := len((ROOT / path).read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_nothing_names_the_workplace_shared_folder() -> None:
    needle = "../" + "shared"  # split so this file does not name it either
    hits = [
        path for path in tracked("")
        if (ROOT / path).is_file() and (ROOT / path).stat().st_size < 5_000_000
        and needle in (ROOT / path).read_text(errors="replace")
    ]
    assert hits == []


def redis_calls(path: str) -> list[str]:
    """`line: receiver.command` for each call of a Redis command on a `redis` receiver."""
    tree = ast.parse((ROOT / path).read_text(), path)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = ast.unparse(node.func.value)
        # `x.redis.hget(...)`, `redis.Redis(...).get`, a pipeline or client named for it.
        if node.func.attr in REDIS_COMMANDS and (
            receiver.endswith("redis") or receiver.endswith("pipe") or "Redis" in receiver
        ):
            found.append(f"{path}:{node.lineno}: {receiver}.{node.func.attr}")
    return found


def test_redis_commands_come_only_from_the_stores() -> None:
    calls = [
        call for path in tracked(".py")
        if path.startswith(PRODUCT) and not path.startswith(REDIS_OWNERS)
        for call in redis_calls(path)
    ]
    assert calls == []


def test_no_raw_redis_client_attribute_outside_the_stores() -> None:
    reach_ins = []
    for path in tracked(".py"):
        if not path.startswith(PRODUCT) or path.startswith(REDIS_OWNERS):
            continue
        tree = ast.parse((ROOT / path).read_text(), path)
        reach_ins += [
            f"{path}:{node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "redis"
            and isinstance(node.value, ast.Name) and node.value.id != "redis"
        ]
    assert reach_ins == []


def test_tests_configure_the_app_with_a_settings() -> None:
    """Tests change settings through a `Settings` (tests/support/apps.py), never by handing
    create_app a mapping of setting names; only its own test covers that entry point."""
    mappings = []
    for path in tracked(".py"):
        if not path.startswith("tests/") or path == "tests/unit/test_config_app.py":
            continue
        tree = ast.parse((ROOT / path).read_text(), path)
        mappings += [
            f"{path}:{node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "create_app"
            and node.args and not isinstance(node.args[0], ast.Name)
            and not any(k.arg == "settings" for k in node.keywords)  # Flask keys beside one
        ]
    assert mappings == []
