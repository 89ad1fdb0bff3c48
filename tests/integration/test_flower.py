"""Flower started by its launcher (as the Procfile does): basic auth and the workers API."""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator

import pytest
import requests

from core.config import Settings
from tests.support.procs import Proc, free_port, wait_for

pytestmark = pytest.mark.integration

PASSWORD = f"secret-{uuid.uuid4().hex[:8]}"


def start_flower(port: int, basic_auth: str) -> Proc:
    """`python scripts/flower.py` on `port`, waited for until it answers HTTP."""
    proc = Proc("flower", [sys.executable, "scripts/flower.py", "--port", str(port)],
                {"FLOWER_BASIC_AUTH": basic_auth})

    def answers() -> bool:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"flower exited early:\n{proc.output[-3000:]}")
        requests.get(f"http://127.0.0.1:{port}/healthcheck", timeout=2)
        return True

    try:
        wait_for(answers, 60, "Flower to answer HTTP", every_s=0.3)
    except TimeoutError:
        proc.stop()
        raise
    return proc


def workers(port: int, auth: tuple[str, str] | None) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}/api/workers", params={"refresh": "1"},
                        auth=auth, timeout=15)


@pytest.fixture(scope="module")
def flower() -> Iterator[int]:
    port = free_port()
    proc = start_flower(port, f"test:{PASSWORD}")
    yield port
    proc.stop()
    assert PASSWORD not in proc.output  # credentials from the environment are never printed


def test_api_lists_the_running_worker(flower: int, worker: Proc, settings: Settings) -> None:
    name = f"it-{settings.queue_prefix}@"

    def listed() -> bool:
        response = workers(flower, ("test", PASSWORD))
        assert response.status_code == 200
        return any(key.startswith(name) for key in response.json())

    wait_for(listed, 30, f"Flower to list worker {name}*", every_s=0.5)


@pytest.mark.parametrize(
    "auth", [None, ("test", "wrong"), ("nobody", PASSWORD)], ids=["none", "password", "user"]
)
def test_api_refuses_missing_or_wrong_credentials(
        flower: int, auth: tuple[str, str] | None) -> None:
    response = workers(flower, auth)
    assert response.status_code == 401
    assert "hostname" not in response.text


def test_generated_password_is_printed_once_and_works(worker: Proc) -> None:
    port = free_port()
    proc = start_flower(port, "")
    try:
        proc.wait_for_line(r"^Flower: http://127\.0\.0\.1:\d+ user flower password \S+$")
        line = next(li for li in proc.lines if li.startswith("Flower: "))
        match = re.fullmatch(rf"Flower: http://127\.0\.0\.1:{port} user (\w+) password (\S+)", line)
        assert match, line
        user, password = match.groups()
        assert len(password) >= 20
        assert workers(port, (user, password)).status_code == 200
        assert workers(port, (user, password + "x")).status_code == 401
        assert workers(port, None).status_code == 401
    finally:
        proc.stop()
    assert sum(password in li for li in proc.lines) == 1  # only the start-up line shows it


def test_malformed_basic_auth_stops_without_echoing_it() -> None:
    bad = f"no-colon-{uuid.uuid4().hex[:8]}"
    proc = Proc("flower-bad", [sys.executable, "scripts/flower.py", "--port", str(free_port())],
                {"FLOWER_BASIC_AUTH": bad})
    assert proc.popen.wait(30) != 0
    proc.stop()
    assert "FLOWER_BASIC_AUTH must be user:password" in proc.output
    assert bad not in proc.output
