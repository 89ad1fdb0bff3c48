"""The feed's lean task sender: Celery's own message on the wire, run by real Celery workers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import msgpack
import pytest
from kombu import Connection, Exchange, Queue

from core.config import Settings
from core.influx import InfluxDB
from core.state import RedisState
from core.types import Quote
from tests.support.procs import Proc, wait_for
from workers.publisher import celery_sender, depth_row
from workers.task_sender import TaskSender

pytestmark = pytest.mark.integration


NOW_NS = time.time_ns()


def quote(i: int, symbol: str) -> Quote:
    return Quote("kraken", symbol, 100.0 + i, 1.0, 100.5 + i, 2.0, NOW_NS + i, None, NOW_NS + i)


@pytest.fixture
def private_queue(settings: Settings) -> Iterator[Queue]:
    """A durable queue of this test's own on its own exchange (deleted afterwards)."""
    name = f"{settings.queue_prefix}sender-{uuid.uuid4().hex[:6]}"
    queue = Queue(name, Exchange(name, type="direct", durable=True), routing_key=name,
                  durable=True)
    yield queue
    with Connection(settings.broker_url) as conn:
        queue.bind(conn.channel()).delete()
        queue.exchange.bind(conn.channel()).delete()


def test_message_is_celery_protocol_2_persistent_msgpack(settings: Settings,
                                                         private_queue: Queue) -> None:
    rows = [tuple(quote(1, "BTC-USD")), tuple(quote(2, "ETH-USD"))]
    from core.types import Depth
    books = [depth_row(Depth("kraken", "BTC-USD", ((100.0, 1.0),), ((100.5, 2.0),), 7))]
    with Connection(settings.broker_url) as conn:
        sender = TaskSender(conn, {"arbitrage": ("tasks.arbitrage.ingest_quotes",
                                                 private_queue)})
        before = time.time_ns()
        sender("arbitrage", rows, books)  # the queue need not exist: the sender declares it
        sender("arbitrage", rows, [])
        after = time.time_ns()
        bound = private_queue.bind(conn.channel())
        messages = [bound.get(accept=["msgpack"]) for _ in range(2)]
        for message in messages:
            message.ack()
    first, second = messages
    assert first.headers["task"] == "tasks.arbitrage.ingest_quotes"
    assert first.headers["id"] == first.properties["correlation_id"] != second.headers["id"]
    assert first.headers["argsrepr"] == "[<2 quotes>]"
    assert first.headers["kwargsrepr"] == "{'books': <1 books>}"
    assert second.headers["kwargsrepr"] == "{}"
    # The publish stamp (latency hop by hop), taken as each batch is handed to the broker.
    assert before <= first.headers["published_ns"] <= second.headers["published_ns"] <= after
    assert first.content_type == "application/x-msgpack"
    assert first.properties["delivery_mode"] == 2  # persistent: survives a broker restart
    args, kwargs, links = msgpack.unpackb(first.body)
    assert [[tuple(r) for r in args[0]]] == [rows] and kwargs == {"books": books}
    assert links == {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    assert msgpack.unpackb(second.body)[1] == {}  # no books: no keyword at all


def test_real_workers_run_what_the_feed_sends(settings: Settings, influx: InfluxDB,
                                              state: RedisState, worker: Proc) -> None:
    symbol = f"S{uuid.uuid4().hex[:5].upper()}-USD"
    rows = [tuple(quote(i, symbol)) for i in range(50)]
    send = celery_sender()
    send("storage", rows, [])
    send("arbitrage", rows[-1:], [])
    wait_for(lambda: len(influx.query_points(
        f"SELECT bid FROM quotes WHERE symbol = '{symbol}'")) == 50, 30, "50 points stored")
    wait_for(lambda: any(q.symbol == symbol for q in state.all_quotes()), 30, "the quote in Redis")
    held = next(q for q in state.all_quotes() if q.symbol == symbol)
    assert held.bid == rows[-1][2]
    time.sleep(0.5)
    assert "Traceback" not in worker.output
