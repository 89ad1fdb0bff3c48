"""Webhook alerts end to end: `consider` on real Redis, `deliver_alert` through RabbitMQ and a real
Celery worker on the alerts queue, POSTing to a local HTTP receiver that can fail on request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kombu import Connection

from core.config import Settings
from core.state import RedisState
from core.types import Opportunity
from tasks.alerts import consider
from tests.support.apps import app_with
from tests.support.procs import Proc, celery_worker, free_port, wait_for
from tests.support.serving import serving

pytestmark = pytest.mark.integration

RETRY_BASE_S = 0.2
OPENED_NS = 1_700_000_000_000_000_000


class Receiver(ThreadingHTTPServer):
    """Records every POST; answers 500 to the first `fail_first`, else `status`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.lock = threading.Lock()
        self.posts: list[dict[str, Any]] = []
        self.fail_first = 0
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hooks/T0K3N"

    def reset(self) -> None:
        with self.lock:
            self.posts.clear()
            self.fail_first, self.status = 0, 200

    def count(self) -> int:
        with self.lock:
            return len(self.posts)


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            if self.server.fail_first > 0:
                self.server.fail_first -= 1
                status = 500
            else:
                status = self.server.status
            self.server.posts.append({"body": body, "status": status, "t": time.monotonic(),
                                      "path": self.path})
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    yield from serving(Receiver())


@pytest.fixture(scope="module")
def alerts_worker(settings: Settings, receiver: Receiver) -> Iterator[Proc]:
    """A real worker on this run's alerts queue, posting to the receiver with short backoff."""
    from celeryconfig import ALERTS_QUEUE

    # It also runs the arbitrage task, on a queue of its own (the session's arbitrage worker
    # has no webhook configured), so the engine's call into `consider` is covered too.
    proc = celery_worker(
        [ALERTS_QUEUE, arbitrage_queue(settings)], f"alerts-{settings.queue_prefix}",
        env={"ALERT_WEBHOOK_URL": receiver.url, "ALERT_FORMAT": "json",
             "ALERT_MIN_NET_PCT": "0.5", "ALERT_COOLDOWN_S": "300",
             "ALERT_RETRY_BASE_S": str(RETRY_BASE_S)},
    )
    yield proc
    proc.stop()
    with Connection(settings.broker_url) as conn:
        for queue in (ALERTS_QUEUE, arbitrage_queue(settings)):
            try:
                conn.channel().queue_delete(queue)
            except Exception:  # noqa: BLE001  (already gone)
                pass


def arbitrage_queue(settings: Settings) -> str:
    return f"{settings.queue_prefix}alerts-arbitrage"


@pytest.fixture
def hook(receiver: Receiver, alerts_worker: Proc, state: RedisState) -> Receiver:
    """The receiver, emptied, with the worker running and this run's Redis keys cleared."""
    receiver.reset()
    return receiver


def alert_settings(receiver: Receiver, cooldown_s: float = 300.0) -> Settings:
    return Settings(alert_webhook_url=receiver.url, alert_min_net_pct=0.5,
                    alert_cooldown_s=cooldown_s)


def event(net_pct: float = 0.8, opened_ns: int = OPENED_NS, action: str = "open",
          sell: str = "binance") -> dict[str, Any]:
    o = Opportunity("BTC-USD", "kraken", sell, buy_price=60_000.0, sell_price=60_600.0,
                    size=0.25, gross_pct=1.0, net_pct=net_pct, net_profit=120.0,
                    opened_ns=opened_ns, fee_buy=0.0026, fee_sell=0.001)
    return {"action": action, **o.to_dict()}


def deliveries(state: RedisState) -> list[dict[str, Any]]:
    return state.alerts.deliveries(1000)


def settle(receiver: Receiver, expected: int, quiet_s: float = 1.5) -> None:
    """Wait for `expected` POSTs, then make sure no more arrive for `quiet_s`."""
    wait_for(lambda: receiver.count() >= expected, 20, f"{expected} webhook POSTs")
    time.sleep(quiet_s)
    assert receiver.count() == expected, receiver.posts


def test_one_delivery_per_opportunity(hook: Receiver, state: RedisState) -> None:
    s = alert_settings(hook)
    sent = [consider([event(0.8)], s, state)]
    sent += [consider([event(n, action="update")], s, state) for n in (0.9, 1.4, 0.7)]
    sent.append(consider([event(0.6, sell="okx")], s, state))
    assert sent == [1, 0, 0, 0, 1]
    settle(hook, 2)
    bodies = sorted((p["body"] for p in hook.posts), key=lambda b: b["sell_exchange"])
    assert [(b["sell_exchange"], b["net_pct"], b["opened_ns"]) for b in bodies] == [
        ("binance", 0.8, OPENED_NS), ("okx", 0.6, OPENED_NS)]
    assert "action" not in bodies[0] and bodies[0]["size"] == 0.25
    assert {p["path"] for p in hook.posts} == {"/hooks/T0K3N"}
    record = deliveries(state)
    assert sorted((d["key"], d["attempt"], d["status_code"], d["delivered"]) for d in record) == [
        ("BTC-USD|kraken|binance", 1, 200, True), ("BTC-USD|kraken|okx", 1, 200, True)]


def test_concurrent_arbitrage_workers_send_once(hook: Receiver, state: RedisState,
                                                settings: Settings) -> None:
    s = alert_settings(hook)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        # Each "arbitrage worker" has its own connection, as separate processes would.
        own = RedisState.from_url(settings.redis_url, settings.key_prefix)
        barrier.wait()
        results.append(consider([event(1.0), event(1.2, action="update")], s, own))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [0, 0, 0, 1]
    settle(hook, 1)


def test_cooldown_is_honoured_then_expires(hook: Receiver, state: RedisState) -> None:
    s = alert_settings(hook, cooldown_s=1.0)
    assert consider([event(0.8, opened_ns=OPENED_NS)], s, state) == 1
    # It closes and the same pair reopens at once: a new opportunity, but inside the cooldown.
    assert consider([event(0.9, opened_ns=OPENED_NS + 1)], s, state) == 0
    settle(hook, 1, quiet_s=0.2)
    time.sleep(1.0)  # cooldown over (and settle already waited)
    assert consider([event(0.7, opened_ns=OPENED_NS + 2)], s, state) == 1
    # The first opening is never alerted again, cooldown or not.
    assert consider([event(0.8, opened_ns=OPENED_NS, action="update")], s, state) == 0
    settle(hook, 2)
    assert [p["body"]["opened_ns"] for p in hook.posts] == [OPENED_NS, OPENED_NS + 2]


def test_retries_with_backoff_until_the_receiver_accepts(hook: Receiver, state: RedisState,
                                                         alerts_worker: Proc) -> None:
    hook.fail_first = 3
    assert consider([event(2.0)], alert_settings(hook), state) == 1
    settle(hook, 4)
    assert [p["status"] for p in hook.posts] == [500, 500, 500, 200]
    assert all(p["body"]["net_pct"] == 2.0 for p in hook.posts)
    gaps = [b["t"] - a["t"] for a, b in zip(hook.posts, hook.posts[1:], strict=False)]
    # Countdowns of 0.2, 0.4 and 0.8 s: each wait at least its backoff, and they grow.
    for gap, backoff in zip(gaps, (0.2, 0.4, 0.8), strict=True):
        assert gap >= backoff * 0.9, gaps
    assert gaps[2] > gaps[0], gaps
    record = deliveries(state)  # newest first
    assert [(d["attempt"], d["status_code"], d["delivered"], d["will_retry"]) for d in record] == [
        (4, 200, True, False), (3, 500, False, True), (2, 500, False, True),
        (1, 500, False, True)]
    assert {d["opened_ns"] for d in record} == {OPENED_NS}
    # The worker said so in its log, naming the host only: the URL's path holds the token.
    wait_for(lambda: "delivered to 127.0.0.1" in alerts_worker.output, 5, "the delivery log")
    assert "retrying in" in alerts_worker.output
    assert "T0K3N" not in alerts_worker.output


def test_a_client_error_is_recorded_and_not_retried(hook: Receiver, state: RedisState) -> None:
    hook.status = 410
    assert consider([event(1.0)], alert_settings(hook), state) == 1
    settle(hook, 1, quiet_s=1.5)  # longer than the first backoffs: no retry came
    [entry] = deliveries(state)
    assert (entry["status_code"], entry["delivered"], entry["will_retry"], entry["error"]) == (
        410, False, False, "HTTP 410")


def test_nothing_is_sent_below_the_threshold(hook: Receiver, state: RedisState) -> None:
    s = alert_settings(hook)
    assert consider([event(0.49), event(0.1, sell="okx"), event(5.0, action="close")],
                    s, state) == 0
    time.sleep(1.5)
    assert hook.count() == 0
    assert deliveries(state) == []
    assert list(state.redis.scan_iter(match=f"{state.prefix}alerts:*")) == []


def test_api_lists_deliveries_newest_first(hook: Receiver, state: RedisState,
                                           settings: Settings) -> None:
    hook.fail_first = 1
    assert consider([event(1.0)], alert_settings(hook), state) == 1
    settle(hook, 2, quiet_s=0.3)
    client = app_with(key_prefix=settings.key_prefix).test_client()
    body = client.get("/api/alerts").get_json()
    assert [(d["attempt"], d["delivered"]) for d in body["deliveries"]] == [(2, True), (1, False)]
    assert set(body["settings"]) == {"enabled", "min_net_pct", "cooldown_s", "format"}
    assert "T0K3N" not in json.dumps(body)
    assert [d["attempt"] for d in client.get("/api/alerts?limit=1").get_json()["deliveries"]] \
        == [2]
    for bad in ("0", "abc", "1001"):
        response = client.get(f"/api/alerts?limit={bad}")
        assert response.status_code == 400 and "limit" in response.get_json()["error"]


def test_the_arbitrage_task_alerts_a_new_opportunity_once(hook: Receiver, state: RedisState,
                                                          settings: Settings) -> None:
    from tasks.arbitrage import ingest_quotes

    def batch() -> list[list[Any]]:
        now = time.time_ns()
        # Buy on kraken at 100 (0.4 % fee), sell on binance at 102 (0.1 %): about 1.5 % net.
        return [["kraken", "ALR-USD", 99.0, 1.0, 100.0, 2.0, None, None, now],
                ["binance", "ALR-USD", 102.0, 3.0, 103.0, 1.0, None, None, now]]

    for _ in range(3):
        ingest_quotes.apply_async(args=[batch()], queue=arbitrage_queue(settings))
        time.sleep(0.3)
    settle(hook, 1)
    [post] = hook.posts
    [opened] = [o for o in state.opportunities() if o["symbol"] == "ALR-USD"]
    assert (post["body"]["buy_exchange"], post["body"]["sell_exchange"]) == ("kraken", "binance")
    assert post["body"]["opened_ns"] == opened["opened_ns"] > 0
    assert post["body"]["net_pct"] >= 0.5
    [entry] = deliveries(state)
    assert entry["key"] == "ALR-USD|kraken|binance" and entry["delivered"] is True
