"""`GET /healthz` against the real services, and with each one pointed at a closed port."""

from __future__ import annotations

import pytest

from core.config import Settings
from tests.support.apps import app_with
from tests.support.procs import free_port

pytestmark = pytest.mark.integration


def healthz(**overrides: str) -> tuple[int, dict]:
    response = app_with(testing=False, **overrides).test_client().get("/healthz")
    return response.status_code, response.get_json()


def test_all_services_up(settings: Settings) -> None:
    status, body = healthz()
    assert status == 200 and body["status"] == "ok"
    assert {name: s["ok"] for name, s in body["services"].items()} == {
        "redis": True, "rabbitmq": True, "influxdb": True}


@pytest.mark.parametrize(
    ("service", "key", "url"),
    [("redis", "REDIS_URL", "redis://127.0.0.1:{port}/0"),
     ("rabbitmq", "BROKER_URL", "amqp://guest:guest@127.0.0.1:{port}//"),
     ("influxdb", "INFLUXDB_URL", "http://127.0.0.1:{port}")],
)
def test_one_service_down_is_a_503_naming_it(service: str, key: str, url: str) -> None:
    status, body = healthz(**{key.lower(): url.format(port=free_port())})
    assert status == 503 and body["status"] == "degraded"
    down = {name for name, s in body["services"].items() if not s["ok"]}
    assert down == {service}
    assert body["services"][service]["error"]
