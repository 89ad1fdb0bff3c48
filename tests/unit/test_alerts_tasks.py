"""tasks.alerts run in-process: `consider` on fakeredis, `deliver_alert` eagerly against a local
HTTP receiver (retries run at once in eager mode), so every outcome branch is exercised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import fakeredis
import pytest

import tasks.alerts as ta
from core.config import Settings
from core.state import RedisState
from tests.support.procs import free_port
from tests.support.serving import serving
from tests.unit.test_alerts import opp

pytestmark = pytest.mark.unit

PREFIX = "ctunit:"


class Receiver(ThreadingHTTPServer):
    """Records POSTs; answers each with the next status in `statuses` (then 204)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.posts: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.headers_sent: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hook/T0K3N-secret"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append({"body": json.loads(body), "type": self.headers["Content-Type"]})
        status = self.server.statuses.pop(0) if self.server.statuses else 204
        self.send_response(status)
        for name, value in self.server.headers_sent.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serving(Receiver())


@pytest.fixture
def state() -> RedisState:
    return RedisState(fakeredis.FakeRedis(decode_responses=True), PREFIX)


def configure(monkeypatch: pytest.MonkeyPatch, state: RedisState, **settings: Any) -> Settings:
    """Point the task module at these settings and this fakeredis state."""
    s = Settings(**settings)
    monkeypatch.setattr(ta, "current_settings", lambda: s)
    monkeypatch.setattr(ta, "current_state", lambda: state)
    return s


def deliveries(state: RedisState) -> list[dict[str, Any]]:
    return state.alerts.deliveries(100)


# --- consider ---

def test_consider_is_a_no_op_without_a_webhook_url(monkeypatch: pytest.MonkeyPatch,
                                                  state: RedisState) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(ta.deliver_alert, "apply_async", lambda **kw: sent.append(kw))
    configure(monkeypatch, state, alert_webhook_url="")
    assert ta.consider([opp(5.0)]) == 0
    assert sent == [] and state.redis.keys("*") == []


def test_consider_below_threshold_touches_no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    class Unreachable:
        @property
        def redis(self) -> Any:
            raise AssertionError("Redis was used although nothing qualified")

    s = Settings(alert_webhook_url="http://127.0.0.1:9/x", alert_min_net_pct=0.5)
    assert ta.consider([opp(0.49), opp(9.0, action="close")], settings=s,
                       state=Unreachable()) == 0  # type: ignore[arg-type]


def test_consider_queues_each_opportunity_once(monkeypatch: pytest.MonkeyPatch,
                                               state: RedisState) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(ta.deliver_alert, "apply_async", lambda **kw: sent.append(kw))
    configure(monkeypatch, state, alert_webhook_url="http://127.0.0.1:9/x",
              alert_min_net_pct=0.5, alert_cooldown_s=300)
    assert ta.consider([opp(0.6), opp(0.3, sell="okx")]) == 1
    assert ta.consider([opp(0.9, action="update")]) == 0
    assert len(sent) == 1
    assert sent[0]["args"][0]["buy_exchange"] == "kraken"
    assert sent[0]["expires"] == ta.EXPIRES_S


# --- deliver_alert ---

def test_delivered_first_time_in_json(monkeypatch: pytest.MonkeyPatch, state: RedisState,
                                      receiver: Receiver) -> None:
    configure(monkeypatch, state, alert_webhook_url=receiver.url)
    payload = {k: v for k, v in opp().items() if k != "action"}
    assert ta.deliver_alert.apply(args=[payload]).get() is True
    assert [p["body"] for p in receiver.posts] == [payload]
    assert receiver.posts[0]["type"] == "application/json"
    [entry] = deliveries(state)
    assert entry["key"] == "BTC-USD|kraken|binance" and entry["opened_ns"] == payload["opened_ns"]
    assert (entry["attempt"], entry["status_code"], entry["delivered"], entry["error"]) == (
        1, 204, True, None)


def test_slack_format_posts_text_and_blocks(monkeypatch: pytest.MonkeyPatch, state: RedisState,
                                            receiver: Receiver) -> None:
    configure(monkeypatch, state, alert_webhook_url=receiver.url, alert_format="slack")
    assert ta.deliver_alert.apply(args=[opp()]).get() is True
    body = receiver.posts[0]["body"]
    assert set(body) == {"text", "blocks"} and "BTC-USD" in body["text"]


def test_5xx_and_429_are_retried_until_delivered(monkeypatch: pytest.MonkeyPatch,
                                                 state: RedisState, receiver: Receiver) -> None:
    configure(monkeypatch, state, alert_webhook_url=receiver.url)
    receiver.statuses = [500, 429, 503]
    ta.deliver_alert.apply(args=[opp()])
    assert len(receiver.posts) == 4
    record = deliveries(state)
    assert [(d["attempt"], d["status_code"], d["delivered"], d["will_retry"]) for d in record] == [
        (4, 204, True, False), (3, 503, False, True), (2, 429, False, True), (1, 500, False, True)]
    assert record[1]["error"] == "HTTP 503"


def test_other_4xx_fails_without_retry(monkeypatch: pytest.MonkeyPatch, state: RedisState,
                                       receiver: Receiver) -> None:
    configure(monkeypatch, state, alert_webhook_url=receiver.url)
    receiver.statuses = [404, 500]
    assert ta.deliver_alert.apply(args=[opp()]).get() is False
    assert len(receiver.posts) == 1
    assert [(d["status_code"], d["delivered"], d["will_retry"]) for d in deliveries(state)] == [
        (404, False, False)]


def test_connection_errors_retry_up_to_the_attempt_limit_and_never_leak_the_url(
        monkeypatch: pytest.MonkeyPatch, state: RedisState,
        caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook/T0K3N-secret"  # nothing listens there
    configure(monkeypatch, state, alert_webhook_url=url)
    with caplog.at_level("INFO", logger="tasks.alerts"):
        ta.deliver_alert.apply(args=[opp()])
    record = deliveries(state)
    assert [d["attempt"] for d in record] == list(range(ta.MAX_ATTEMPTS, 0, -1))
    assert all(d["error"] == "ConnectionError" and d["status_code"] is None for d in record)
    assert [d["will_retry"] for d in record] == [False] + [True] * (ta.MAX_ATTEMPTS - 1)
    assert "giving up" in caplog.text and "127.0.0.1" in caplog.text
    stored = json.dumps(record)
    assert "T0K3N" not in caplog.text and "T0K3N" not in stored


def test_an_unusable_url_fails_at_once(monkeypatch: pytest.MonkeyPatch,
                                       state: RedisState) -> None:
    configure(monkeypatch, state, alert_webhook_url="nota://url")
    assert ta.deliver_alert.apply(args=[opp()]).get() is False
    [entry] = deliveries(state)
    assert entry["error"] == "InvalidSchema" and entry["will_retry"] is False


def test_retry_base_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                               state: RedisState) -> None:
    assert Settings.from_env({}).alert_retry_base_s == 1.0
    assert Settings.from_env({"ALERT_RETRY_BASE_S": "0.05"}).alert_retry_base_s == 0.05
    assert Settings.from_env({"ALERT_RETRY_BASE_S": "soon"}).alert_retry_base_s == 1.0
    assert Settings.from_env({"ALERT_RETRY_BASE_S": "-2"}).alert_retry_base_s == 1.0
    configure(monkeypatch, state, alert_retry_base_s=0.05)
    assert ta.retry_base_s() == 0.05
