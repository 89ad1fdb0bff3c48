"""The whole pipeline with authentication on every service, and no secret in any output.

RabbitMQ: a vhost and user of this test's own on the shared broker. Redis and InfluxDB: private
servers with a password (`requirepass`, `auth-enabled`). Every process of the stack runs with
those credentials; afterwards no password may appear in any log or HTTP answer, and every
listening socket of ours is on the loopback interface.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil
import pytest
import redis
import requests
import websocket
from kombu import Connection

from core.influx import InfluxDB
from core.state import RedisState
from tests.support.apps import app_with
from tests.support.auth_services import AuthInflux, AuthRedis, RabbitAccount, new_secret
from tests.support.procs import VENV_BIN, Proc, free_port, wait_for

pytestmark = pytest.mark.integration

COUNT = 400  # changes the simulator emits for kraken (2 s at 200/s)
SYMBOLS = "BTC-USD,ETH-USD"
LOOPBACK = {"127.0.0.1", "::1"}


@dataclass
class Stack:
    """The authenticated services, the processes using them, and everything they showed."""

    redis: AuthRedis
    influx: AuthInflux
    rabbit: RabbitAccount
    env: dict[str, str]
    web_password: str
    flower_password: str
    procs: dict[str, Proc] = field(default_factory=dict)
    web_url: str = ""
    flower_url: str = ""
    sim_url: str = ""
    answers: list[str] = field(default_factory=list)  # HTTP bodies to search for secrets

    @property
    def secrets(self) -> dict[str, str]:
        return {"rabbitmq": self.rabbit.password, "redis": self.redis.password,
                "redis app": self.redis.app_password,
                "influxdb admin": self.influx.admin_password, "influxdb web": self.web_password,
                "flower": self.flower_password}

    def get(self, url: str, **kwargs: object) -> requests.Response:
        """GET `url` and keep the body for the secrets check."""
        response = requests.get(url, timeout=10, **kwargs)  # type: ignore[arg-type]
        self.answers.append(f"{url} -> {response.status_code}\n{response.text}")
        return response


def start(stack: Stack, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
    proc = Proc(name, args, {**stack.env, **(env or {})})
    stack.procs[name] = proc
    return proc


def http_ok(proc: Proc, url: str) -> bool:
    if proc.popen.poll() is not None:
        raise RuntimeError(f"{proc.name} exited early:\n{proc.output[-3000:]}")
    return requests.get(url, timeout=2).status_code < 500


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Private Redis and InfluxDB with passwords, a RabbitMQ vhost, and the stack on them."""
    from celeryconfig import ARBITRAGE_QUEUE, STORAGE_QUEUE

    tag = uuid.uuid4().hex[:8]
    auth_redis = AuthRedis(tmp_path_factory.mktemp("redis"), os.environ["KEY_PREFIX"])
    auth_influx = AuthInflux(tmp_path_factory.mktemp("influx"))
    rabbit = RabbitAccount(tag)
    stack = Stack(auth_redis, auth_influx, rabbit, {}, new_secret(), new_secret())
    try:
        rabbit.create()
        auth_redis.start()
        auth_influx.start()
        db = f"ctauth_{tag}"
        # The workers write as the admin (they create the database and retention policy); the
        # web app only reads, as a user with READ on this one database (least privilege).
        InfluxDB(auth_influx.url, db, auth_influx.admin_user,
                 auth_influx.admin_password).ensure_database()
        auth_influx.admin_query(f"CREATE USER ctweb WITH PASSWORD '{stack.web_password}'")
        auth_influx.admin_query(f'GRANT READ ON "{db}" TO ctweb')
        stack.env = {
            # Redis as the ACL user confined to this run's KEY_PREFIX (keys and channels).
            "BROKER_URL": rabbit.url(), "REDIS_URL": auth_redis.app_url(),
            "INFLUXDB_URL": auth_influx.url, "INFLUXDB_DB": db,
            "INFLUXDB_USER": auth_influx.admin_user,
            "INFLUXDB_PASSWORD": auth_influx.admin_password,
            "FLOWER_BASIC_AUTH": f"ctflower:{stack.flower_password}",
            # DEBUG: the most a process ever logs is what must stay free of secrets.
            "LOG_LEVEL": "DEBUG", "WEB_HOST": "", "EXCHANGES": "kraken",
        }
        python = str(VENV_BIN / "python")
        worker_args = [str(VENV_BIN / "celery"), "-A", "tasks", "worker", "--loglevel", "DEBUG",
                       "--without-gossip", "--without-mingle", "--concurrency", "2"]
        # Everything starts at once (two cores, a few seconds each); then each is waited for.
        storage = start(stack, "storage", [*worker_args, "-Q", STORAGE_QUEUE,
                                           "-n", f"storage-{tag}@%h"])
        arbitrage = start(stack, "arbitrage", [*worker_args, "-Q", ARBITRAGE_QUEUE,
                                               "-n", f"arbitrage-{tag}@%h", "--pool", "threads"])
        web_port, flower_port, sim_port = free_port(), free_port(), free_port()
        # Default bind addresses throughout: no --bind, --address or --host.
        web = start(stack, "web", [str(VENV_BIN / "gunicorn"), "-c", "web/gunicorn_conf.py",
                                   "web:create_app()", "--threads", "16"],
                    {"WEB_PORT": str(web_port), "INFLUXDB_USER": "ctweb",
                     "INFLUXDB_PASSWORD": stack.web_password})
        flower = start(stack, "flower", [python, "scripts/flower.py", "--port", str(flower_port)])
        sim = start(stack, "simulator", [python, "-m", "simulator", "--port", str(sim_port),
                                         "--exchanges", "kraken", "--symbols", SYMBOLS,
                                         "--count", str(COUNT), "--rate", "200"])
        stack.web_url = f"http://127.0.0.1:{web_port}"
        stack.flower_url = f"http://127.0.0.1:{flower_port}"
        stack.sim_url = f"http://127.0.0.1:{sim_port}"
        storage.wait_for_line(r"ready\.", 60)
        arbitrage.wait_for_line(r"ready\.", 60)
        wait_for(lambda: http_ok(web, stack.web_url + "/healthz"), 30, "the web app")
        wait_for(lambda: http_ok(sim, stack.sim_url + "/stats"), 30, "the simulator")
        wait_for(lambda: http_ok(flower, stack.flower_url + "/healthcheck"), 60, "Flower",
                 every_s=0.3)
        yield stack
    finally:
        for proc in reversed(stack.procs.values()):
            proc.stop()
        auth_influx.stop()
        auth_redis.stop()
        rabbit.delete()


def test_services_refuse_missing_or_wrong_credentials(stack: Stack) -> None:
    """Each service takes only the right password; the web app's InfluxDB user cannot write."""
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(stack.redis.anonymous_url).get("ct:anything")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(stack.redis.url("wrong" + stack.redis.password)).ping()
    assert redis.Redis.from_url(stack.redis.url()).ping()
    app = redis.Redis.from_url(stack.redis.app_url())
    assert app.ping()
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.get("other-deployment:quote")  # outside KEY_PREFIX
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(stack.redis.app_url("wrong")).ping()

    query = {"q": "SHOW DATABASES"}
    assert requests.get(stack.influx.url + "/query", params=query, timeout=5).status_code == 401
    wrong = (stack.influx.admin_user, "wrong")
    assert requests.get(stack.influx.url + "/query", params=query, auth=wrong,
                        timeout=5).status_code == 401
    write = requests.post(stack.influx.url + "/write", params={"db": stack.env["INFLUXDB_DB"]},
                          data=b"quotes,exchange=x bid=1", auth=("ctweb", stack.web_password),
                          timeout=5)
    assert write.status_code == 403, write.text

    for url in (stack.rabbit.url("guest", "guest"), stack.rabbit.url(password="wrong")):
        with Connection(url, connect_timeout=3) as conn, pytest.raises(Exception) as refused:
            conn.ensure_connection(max_retries=1, timeout=3)
        assert "ACCESS_REFUSED" in str(refused.value) or "NOT_ALLOWED" in str(refused.value) \
            or "refused" in str(refused.value).lower(), refused.value
    with Connection(stack.rabbit.url(), connect_timeout=3) as conn:
        conn.ensure_connection(max_retries=1, timeout=3)


def test_pipeline_with_auth_on_keeps_every_quote(stack: Stack) -> None:
    """Simulator → feed → RabbitMQ vhost → workers → InfluxDB and Redis → API, all with auth."""
    sim = stack.sim_url
    # A live client first: its quotes come through Redis pub/sub on the ACL user's channel.
    live = websocket.create_connection(stack.web_url.replace("http://", "ws://") + "/ws",
                                       timeout=5)
    start(stack, "feed", [str(VENV_BIN / "python"), "-m", "workers", "kraken", "--symbols",
                          SYMBOLS, "--ws-url", sim.replace("http://", "ws://") + "/kraken",
                          "--rest-url", f"{sim}/kraken"])
    admin = InfluxDB(stack.influx.url, stack.env["INFLUXDB_DB"], stack.influx.admin_user,
                     stack.influx.admin_password)

    def stored() -> int:
        rows = admin.query_points("SELECT count(bid) AS n FROM quotes WHERE exchange = 'kraken'")
        return int(rows[0]["n"]) if rows else 0

    def emitted() -> int:
        return sum(requests.get(sim + "/stats", timeout=2).json()["emitted"]["kraken"].values())

    wait_for(lambda: emitted() == COUNT, 30, f"the simulator to emit {COUNT} changes")
    wait_for(lambda: stored() == COUNT, 30, f"exactly {COUNT} quotes in InfluxDB", every_s=0.3)
    time.sleep(1.0)  # exactly COUNT: nothing more may arrive
    assert stored() == COUNT

    events = []
    while not any(e["type"] == "quote" for e in events) and len(events) < 1000:
        events.append(json.loads(live.recv()))
    live.close()
    assert any(e["type"] == "quote" for e in events), events[-5:]

    state = RedisState.from_url(stack.redis.app_url(), os.environ["KEY_PREFIX"])
    assert set(state.quotes_for("BTC-USD")) == {"kraken"}
    assert set(state.quotes_for("ETH-USD")) == {"kraken"}

    health = stack.get(stack.web_url + "/healthz")
    assert health.status_code == 200, health.text
    assert {name: s["ok"] for name, s in health.json()["services"].items()} == {
        "redis": True, "rabbitmq": True, "influxdb": True}
    quotes = stack.get(stack.web_url + "/api/quotes").json()["quotes"]
    assert {(q["exchange"], q["symbol"]) for q in quotes} == {
        ("kraken", "BTC-USD"), ("kraken", "ETH-USD")}
    exchanges = {row["name"]: row for row in stack.get(
        stack.web_url + "/api/exchanges").json()["exchanges"]}
    assert exchanges["kraken"]["quotes"] == COUNT
    for path in ("/api/opportunities", "/api/symbols", "/metrics", "/feeds"):
        response = stack.get(stack.web_url + path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    # Read from InfluxDB as the web app's READ-only user.
    history = stack.get(stack.web_url + "/api/history",
                        params={"symbol": "BTC-USD", "exchange": "kraken"})
    assert history.status_code == 200, history.text
    points = sum(len(s.get("points", s.get("values", []))) for s in history.json()["series"])
    assert points > 0, history.text


def test_flower_needs_credentials_and_sees_the_authenticated_workers(stack: Stack) -> None:
    """Flower on the password-protected vhost: 401 without or with wrong credentials."""
    api = stack.flower_url + "/api/workers"
    assert stack.get(api, params={"refresh": "1"}).status_code == 401
    assert stack.get(api, auth=("ctflower", "wrong")).status_code == 401
    assert stack.get(stack.flower_url + "/", auth=None).status_code == 401

    def listed() -> bool:
        response = stack.get(api, params={"refresh": "1"},
                             auth=("ctflower", stack.flower_password))
        assert response.status_code == 200
        return {"storage", "arbitrage"} <= {key.split("-")[0] for key in response.json()}

    wait_for(listed, 30, "Flower to list both workers through the vhost", every_s=0.5)


def listening(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket of `pid` and its children."""
    root = psutil.Process(pid)
    found = set()
    for proc in [root, *root.children(recursive=True)]:
        for conn in proc.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                found.add((conn.laddr.ip, conn.laddr.port))
    return found


def test_every_listener_is_on_loopback_with_default_settings(stack: Stack) -> None:
    """Web, Flower and the simulator, started without bind options, listen on 127.0.0.1 only;
    the feed and Celery workers listen on nothing."""
    ports = {"web": stack.web_url, "flower": stack.flower_url, "simulator": stack.sim_url}
    for name, url in ports.items():
        sockets = listening(stack.procs[name].popen.pid)
        assert ("127.0.0.1", int(url.rsplit(":", 1)[1])) in sockets, (name, sockets)
        assert {ip for ip, _ in sockets} <= LOOPBACK, (name, sockets)
    for name in ("storage", "arbitrage", "feed"):
        if name in stack.procs:
            assert listening(stack.procs[name].popen.pid) == set(), name


def test_wrong_credentials_are_reported_without_the_password(stack: Stack) -> None:
    """A web app and a feed worker given wrong passwords say so, and never show them."""

    wrong = {"rabbitmq": "wrongrabbit" + new_secret(), "redis": "wrongredis" + new_secret(),
             "influxdb": "wronginflux" + new_secret()}
    app = app_with(
        testing=False, broker_url=stack.rabbit.url(password=wrong["rabbitmq"]),
        redis_url=stack.redis.url(wrong["redis"]), influxdb_url=stack.influx.url,
        influxdb_db=stack.env["INFLUXDB_DB"], influxdb_user=stack.influx.admin_user,
        influxdb_password=wrong["influxdb"])
    client = app.test_client()
    health = client.get("/healthz")
    body = health.get_data(as_text=True)
    assert health.status_code == 503, body
    services = health.get_json()["services"]
    assert not services["redis"]["ok"] and not services["rabbitmq"]["ok"], body
    assert not services["influxdb"]["ok"], body  # /ping alone would not notice the password
    for path in ("/api/quotes", "/api/history?symbol=BTC-USD", "/metrics"):
        body += client.get(path).get_data(as_text=True)
    stack.answers.append(body)
    for name, password in wrong.items():
        assert password not in body, f"the wrong {name} password shows in an answer"

    sim = stack.sim_url
    feed = Proc("feed-wrong", [str(VENV_BIN / "python"), "-m", "workers", "kraken", "--symbols",
                               SYMBOLS, "--ws-url", sim.replace("http://", "ws://") + "/kraken",
                               "--rest-url", f"{sim}/kraken"],
                {**stack.env, "BROKER_URL": stack.rabbit.url(password=wrong["rabbitmq"]),
                 "REDIS_URL": stack.redis.url(wrong["redis"])})
    try:
        feed.wait_for_line(r"(?i)refused|auth|WRONGPASS|NOAUTH", 20)
        time.sleep(1.0)
    finally:
        # Killed: a graceful stop would wait for the held batches the broker keeps refusing.
        feed.signal(signal.SIGKILL)
        feed.stop()
    for name, password in wrong.items():
        assert password not in feed.output, f"the wrong {name} password is logged:\n" \
            + feed.output[-2000:]


def test_no_secret_in_any_log_or_answer(stack: Stack) -> None:
    """No password of any service shows in any process's output or any HTTP answer."""
    for path in ("/healthz", "/api/quotes", "/api/exchanges", "/feeds", "/metrics",
                 "/api/openapi.json", "/"):
        stack.get(stack.web_url + path)
    assert stack.procs["storage"].lines and stack.procs["web"].lines
    for name, proc in stack.procs.items():
        for secret_name, secret in stack.secrets.items():
            assert secret not in proc.output, f"the {secret_name} password is in {name}'s log"
    answers = "\n".join(stack.answers)
    assert "/healthz" in answers and "/metrics" in answers
    for secret_name, secret in stack.secrets.items():
        assert secret not in answers, f"the {secret_name} password is in an HTTP answer"
    # Where a process shows a URL with credentials, the password is masked.
    user = stack.rabbit.user
    shown = [li for p in stack.procs.values() for li in p.lines if f"{user}:" in li]
    assert shown, "no process showed its broker URL: nothing proved masked"
    assert all(re.search(rf"{user}:\*{{2,3}}@", li) for li in shown), shown
    print(f"\nauth-on: {sum(len(p.lines) for p in stack.procs.values())} log lines from "
          f"{len(stack.procs)} processes and {len(stack.answers)} HTTP answers, no secret in any")
