"""RabbitMQ restarted mid-stream (a private node; every process's BROKER_URL points at it): the
feed workers hold batches in their bounded buffer while it is down, flush them when it is back,
and InfluxDB ends with exactly the emitted quotes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.own_services import RabbitServer
from tests.support.pipeline import Pipeline
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration

EXCHANGES = ["bitstamp", "kraken"]
RATE = 300
DOWN_S = 8.0


@pytest.fixture
def rabbit(tmp_path: Path) -> Iterator[RabbitServer]:
    server = RabbitServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_rabbitmq_restart_mid_stream_keeps_every_quote(rabbit: RabbitServer) -> None:
    count = 18 * RATE
    pipe = Pipeline("rabbit", broker_url=rabbit.url)
    try:
        pipe.start_celery("storage", "arbitrage")
        pipe.start_simulator(EXCHANGES, count, RATE)
        for exchange in EXCHANGES:
            pipe.start_feed(exchange)
        pipe.wait(lambda: all(pipe.stored().get(e, 0) > RATE for e in EXCHANGES), 60,
                  "a second of every exchange in InfluxDB")
        state = pipe.state()

        def buffered() -> dict[str, int]:
            return {e: int(state.feed_status(e).get("buffer_batches", 0)) for e in EXCHANGES}

        # While the broker takes everything, at most the batch being sent is held.
        assert all(n <= 1 for n in buffered().values()), buffered()
        rabbit.stop()
        stopped = time.monotonic()
        emitted_at_stop = pipe.emitted()
        # The feed workers say how much they hold while the broker is away.
        # (4 storage batches a second per venue at this rate, plus one merged arbitrage batch.)
        pipe.wait(lambda: all(n >= 10 for n in buffered().values()), DOWN_S,
                  "buffer_batches >= 10 in every feed status while RabbitMQ is down")
        peak = buffered()
        time.sleep(max(0.0, DOWN_S - (time.monotonic() - stopped)))
        peak = {e: max(peak[e], n) for e, n in buffered().items()}
        assert all(pipe.emitted()[e] > emitted_at_stop[e] + RATE for e in EXCHANGES), \
            "the stream must go on while RabbitMQ is down"
        rabbit.start()
        pipe.wait_emitted({e: count for e in EXCHANGES}, 90)
        pipe.assert_exactly_stored({e: count for e in EXCHANGES}, 90)
        wait_for(lambda: buffered() == {e: 0 for e in EXCHANGES}, 10, "empty buffers")
        for exchange in EXCHANGES:
            status = state.feed_status(exchange)
            assert int(status["buffer_dropped"]) == 0, status
        pipe.assert_alive()
        print(f"\nrabbitmq restart: down {DOWN_S:.0f} s, peak buffer_batches {peak}; "
              f"stored {pipe.stored()} of {count} per exchange")
    finally:
        pipe.close()
