"""Faults mid-stream, with real processes and services: each test ends with exactly the quotes the
simulator emitted (`--count` per exchange) in InfluxDB, no fewer and no more, and every process
still running. Services a test stops or restarts are private instances on their own ports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection

from core.influx import quote_literal
from tests.support.own_services import InfluxServer, RedisServer
from tests.support.pipeline import Pipeline
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration

EXCHANGES = ["bitstamp", "kraken"]
RATE = 300  # changes per second per exchange: modest, the faults are the load here


@pytest.fixture
def pipelines() -> Iterator[list[Pipeline]]:
    """Pipelines a test starts, closed (processes, queues, keys, database) at the end."""
    started: list[Pipeline] = []
    yield started
    for pipe in started:
        pipe.close()


def start(pipelines: list[Pipeline], tag: str, count: int, exchanges: list[str] = EXCHANGES,
          **urls: str) -> Pipeline:
    """Workers, simulator and one feed per exchange, returned once each has points stored."""
    pipe = Pipeline(tag, **urls)
    pipelines.append(pipe)
    pipe.start_celery("storage", "arbitrage")
    pipe.start_simulator(exchanges, count, RATE)
    for exchange in exchanges:
        pipe.start_feed(exchange)
    wait_for(lambda: all(pipe.stored().get(e, 0) > 0 for e in exchanges), 60,
             "first points of every exchange in InfluxDB", every_s=0.25)
    return pipe


def latest_quote_ns(pipe: Pipeline) -> dict[tuple[str, str], int]:
    """The newest quote per (exchange, symbol) in Redis, by exchange timestamp."""
    return {(q.exchange, q.symbol): q.ts_ns for q in pipe.state().all_quotes()}


def test_influxdb_down_30_s_then_up_keeps_every_quote(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    count = 36 * RATE  # 36 s of emission: the outage sits inside the stream
    influx = InfluxServer(tmp_path)
    influx.start()
    try:
        pipe = start(pipelines, "influx", count, influx_url=influx.url)
        influx.stop()
        emitted_at_stop = pipe.emitted()
        pipe.procs["celery-storage"].wait_for_line(r"InfluxDB unavailable", timeout_s=15)
        time.sleep(30)
        assert all(pipe.emitted()[e] > emitted_at_stop[e] + 20 * RATE for e in EXCHANGES), \
            "the stream must go on while InfluxDB is down"
        emitted_while_down = {e: n - emitted_at_stop[e] for e, n in pipe.emitted().items()}
        influx.start()
        up = time.monotonic()
        pipe.wait_emitted({e: count for e in EXCHANGES}, 60)
        # Held batches retry every 5 s at most, and the rest wait in the queue: all land soon.
        pipe.assert_exactly_stored({e: count for e in EXCHANGES}, 60)
        pipe.assert_alive()
        print(f"\ninfluxdb outage: 30 s down, {emitted_while_down} emitted meanwhile; all "
              f"{count} per exchange stored {time.monotonic() - up - 1.5:.0f} s after restart")
    finally:
        influx.stop()


def test_redis_restart_rebuilds_state_and_keeps_every_quote(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    count = 12 * RATE
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    try:
        pipe = start(pipelines, "redis", count, redis_url=redis_server.url)
        wait_for(lambda: len(latest_quote_ns(pipe)) == 4, 30, "4 latest quotes in Redis")
        redis_server.stop()  # no persistence: it comes back empty, as after a crash
        time.sleep(3)
        restarted_ns = time.time_ns()
        redis_server.start()
        # State rebuilds from the next quotes: every (exchange, symbol) newer than the restart.
        pipe.wait(lambda: len(latest_quote_ns(pipe)) == 4
                  and min(latest_quote_ns(pipe).values()) > restarted_ns, 30,
                  "latest quotes rebuilt in Redis from quotes after the restart")
        pipe.wait(lambda: all(int(pipe.state().feed_status(e).get("updated_ns", 0)) > restarted_ns
                              for e in EXCHANGES), 10, "feed status hashes written again")
        pipe.wait_emitted({e: count for e in EXCHANGES}, 60)
        pipe.assert_exactly_stored({e: count for e in EXCHANGES}, 60)
        pipe.assert_alive()
    finally:
        redis_server.stop()


def test_celery_workers_killed_mid_batch_then_restarted_keep_every_quote(
    pipelines: list[Pipeline]
) -> None:
    count = 12 * RATE
    pipe = start(pipelines, "celerykill", count)
    wait_for(lambda: len(latest_quote_ns(pipe)) == 4, 30, "4 latest quotes in Redis")
    time.sleep(1.0)  # well into the stream: batches are in flight on both queues
    pipe.kill("celery-storage")
    pipe.kill("celery-arbitrage")
    time.sleep(0.5)  # a write the dead worker had already sent may still be applied
    stored_at_kill = pipe.stored()
    time.sleep(1.5)
    # Unacknowledged batches went back to the queue; new ones wait there too.
    with Connection(pipe.broker_url) as conn:
        channel = conn.channel()
        depth = {role: channel.queue_declare(f"{pipe.queue_prefix}{role}",
                                             passive=True).message_count
                 for role in ("storage", "arbitrage")}
    assert depth["storage"] > 0 and depth["arbitrage"] > 0, depth
    assert pipe.stored() == stored_at_kill, "nothing is written while no worker runs"
    restarted_ns = time.time_ns()
    pipe.start_celery("storage", "arbitrage")
    pipe.wait_emitted({e: count for e in EXCHANGES}, 60)
    pipe.assert_exactly_stored({e: count for e in EXCHANGES}, 60)
    assert min(latest_quote_ns(pipe).values()) > restarted_ns
    pipe.assert_alive()
    print(f"\ncelery kill: queue depth while dead {depth}; stored {pipe.stored()} of {count}")


def test_feed_worker_killed_and_restarted_resubscribes_and_records_the_gap(
    pipelines: list[Pipeline]
) -> None:
    """The simulator counts a change when it sends it to subscribers and sends nothing while
    nobody subscribes, so with the kraken worker dead nothing is emitted (or lost) for kraken.
    What the killed process had read but not yet published dies with it (at most a batch
    interval plus socket buffers): accounted separately, from what it stored before the kill.
    Everything emitted after the restart must be stored exactly; bitstamp, untouched, exactly.
    On resubscribing, kraken's snapshot repeats each symbol's current top, stamped with its last
    change before the kill: it restores that point if it was in flight (same time and tags: an
    overwrite, never a duplicate), so up to one point per symbol comes back of those lost."""
    count = 12 * RATE
    pipe = start(pipelines, "feedkill", count)
    wait_for(lambda: pipe.stored().get("kraken", 0) > RATE, 30, "a second of kraken stored")
    old_pid = pipe.state().feed_status("kraken").get("pid")
    killed_ns = time.time_ns()
    pipe.kill("feed-kraken")
    emitted_at_kill = pipe.emitted()["kraken"]
    wait_for(lambda: pipe.emitted()["kraken"] == emitted_at_kill, 5, "kraken emission to stop")
    emitted_at_kill = pipe.emitted()["kraken"]
    time.sleep(2.0)
    assert pipe.emitted()["kraken"] == emitted_at_kill, "nothing is sent to nobody"
    restarted_ns = time.time_ns()
    before, after = f"WHERE time < {restarted_ns}", f"WHERE time >= {restarted_ns}"
    stored_before = pipe.stored(before).get("kraken", 0)
    lost_in_flight = emitted_at_kill - stored_before
    assert 0 <= lost_in_flight <= RATE, (emitted_at_kill, stored_before)

    pipe.start_feed("kraken")
    pipe.wait_emitted({e: count for e in EXCHANGES}, 90)
    wait_for(lambda: pipe.stored(after).get("kraken") == count - emitted_at_kill, 60,
             f"exactly the {count - emitted_at_kill} changes sent after the restart")
    restored = pipe.stored(before)["kraken"] - stored_before
    assert 0 <= restored <= min(2, lost_in_flight), restored
    pipe.assert_exactly_stored({"bitstamp": count, "kraken": count - lost_in_flight + restored},
                               30)
    # The gap is on record: a second `connect` event after the kill, and a new process.
    events = pipe.influx.query_points(
        "SELECT reason FROM feed_events WHERE exchange = "
        f"{quote_literal('kraken')} AND event = {quote_literal('connect')}")
    assert len(events) == 2 and events[1]["time"] > killed_ns, events
    status = pipe.state().feed_status("kraken")
    assert status["pid"] != old_pid and status["state"] == "connected"
    pipe.assert_alive()
    print(f"\nfeed kill: kraken emitted {count}, {emitted_at_kill} before the kill, of which "
          f"{lost_in_flight} were in flight in the killed process ({restored} restored by the "
          f"resubscription snapshot); stored {stored_before} + {restored} + "
          f"{count - emitted_at_kill}; bitstamp {count}/{count}")


def test_endpoint_closes_stalls_and_sends_garbage_and_every_sent_quote_is_stored(
    pipelines: list[Pipeline]
) -> None:
    count = 12 * RATE
    pipe = start(pipelines, "endpoint", count)
    pipe.control("kraken", "close")
    pipe.control("bitstamp", "garbage")
    time.sleep(1.0)
    pipe.control("bitstamp", "silence", seconds="3")
    pipe.control("kraken", "garbage")
    time.sleep(1.0)
    pipe.control("bitstamp", "close")
    time.sleep(4.0)
    pipe.control("kraken", "close")
    pipe.wait_emitted({e: count for e in EXCHANGES}, 90)
    pipe.assert_exactly_stored({e: count for e in EXCHANGES}, 60)
    for exchange in EXCHANGES:
        status = pipe.state().feed_status(exchange)
        assert int(status["reconnects"]) >= 1 and int(status["parse_errors"]) >= 1, status
        assert status["state"] == "connected"
    disconnects = pipe.influx.query_points(
        "SELECT count(reason) AS n FROM feed_events WHERE event = 'disconnect' GROUP BY exchange")
    assert {row["exchange"]: row["n"] for row in disconnects} == {"bitstamp": 1, "kraken": 2}
    pipe.assert_alive()
