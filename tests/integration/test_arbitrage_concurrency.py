"""Four arbitrage workers on real RabbitMQ and Redis, fed out of order, end where order would."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue

from core.arbitrage import Rules
from core.config import Settings
from core.engine import ingest
from core.state import RedisState
from core.types import Quote
from tasks.arbitrage import ingest_quotes
from tests.support.procs import Proc, celery_worker, wait_for

pytestmark = pytest.mark.integration

FEES = {"va": 0.001, "vb": 0.002, "vc": 0.0005, "vd": 0.0}
SYMBOLS = ("AAA-USD", "BBB-USD", "CCC-USD")
WORKERS = 4


def make_stream(seed: int, t0: int) -> list[list[Quote]]:
    """Batches of quotes whose venues keep crossing each other, so pairs open and close."""
    rng = random.Random(seed)
    batches: list[list[Quote]] = []
    tick = 0
    for _ in range(150):
        batch = []
        for _ in range(rng.randint(1, 6)):
            tick += 1
            venue, symbol = rng.choice(tuple(FEES)), rng.choice(SYMBOLS)
            mid = 100.0 * (1.0 + rng.uniform(-0.01, 0.01))
            bid, ask = round(mid * 0.9999, 4), round(mid * 1.0001, 4)
            batch.append(Quote(venue, symbol, bid, rng.uniform(0.1, 3), ask,
                               rng.uniform(0.1, 3), None, t0 + tick * 1000, t0 + tick))
        batches.append(batch)
    return batches


def comparable(state: RedisState, symbols: list[str]) -> dict[str, Any]:
    """Final quotes and open opportunities, without per-pass counters (versions, samples)."""
    quotes = {s: state.quotes_for(s) for s in symbols}
    opps = {
        (o["symbol"], o["buy_exchange"], o["sell_exchange"]): tuple(
            round(o[k], 9) for k in ("buy_price", "sell_price", "size", "net_pct", "net_profit")
        )
        for o in state.opportunities(limit=1000)
        if o["symbol"] in symbols
    }
    return {"quotes": quotes, "opportunities": opps}


@pytest.fixture
def conc_env(settings: Settings) -> Iterator[dict[str, str]]:
    """A queue prefix and key prefix of this test's own, and four workers consuming them."""
    tag = uuid.uuid4().hex[:6]
    env = {
        "QUEUE_PREFIX": f"{settings.queue_prefix}conc{tag}.",
        "KEY_PREFIX": f"{settings.key_prefix}conc{tag}:",
        "TAKER_FEES": ",".join(f"{v}:{f}" for v, f in FEES.items()),
        "MAX_QUOTE_AGE_S": "600",
        "MIN_NET_PCT": "0",
        "ALERT_WEBHOOK_URL": "",
    }
    procs: list[Proc] = []
    try:
        for i in range(WORKERS):
            procs.append(celery_worker([f"{env['QUEUE_PREFIX']}arbitrage"],
                                       f"conc{tag}-{i}", env, concurrency=1))
        yield env
    finally:
        for proc in procs:
            proc.stop()
        with Connection(settings.broker_url) as conn:
            for name in ("arbitrage", "storage", "reports", "alerts"):
                try:
                    conn.channel().queue_delete(f"{env['QUEUE_PREFIX']}{name}")
                except Exception:  # noqa: BLE001  (never declared)
                    pass
        RedisState.from_url(settings.redis_url, env["KEY_PREFIX"]).clear()


def test_four_workers_out_of_order_match_in_order(
    settings: Settings, private_state: RedisState, conc_env: dict[str, str]
) -> None:
    t0 = time.time_ns()
    symbols = [f"{s[:3]}{uuid.uuid4().hex[:4].upper()}-USD" for s in SYMBOLS]
    rename = dict(zip(SYMBOLS, symbols, strict=True))
    batches = [[q._replace(symbol=rename[q.symbol]) for q in b] for b in make_stream(7, t0)]

    # Reference: one engine applying the batches in the order they happened.
    rules = Rules(lambda ex: FEES[ex], max_age_s=600.0)
    for batch in batches:
        ingest(private_state, batch, rules, time.time_ns())
    expected = comparable(private_state, symbols)
    assert expected["opportunities"], "the stream should leave some pairs open"

    # Four workers, batches interleaved out of order (each also sent twice: redelivery).
    shuffled = batches + batches[::3]
    random.Random(11).shuffle(shuffled)
    prefix = conc_env["QUEUE_PREFIX"]
    exchange = Exchange(f"{prefix}cryptotracker", type="direct", durable=True)
    queue = Queue(f"{prefix}arbitrage", exchange, routing_key=f"{prefix}arbitrage", durable=True)
    for batch in shuffled:
        ingest_quotes.apply_async(args=[[tuple(q) for q in batch]], queue=queue,
                                  routing_key=queue.routing_key, exchange=exchange)

    workers_state = RedisState.from_url(settings.redis_url, conc_env["KEY_PREFIX"])

    def drained() -> bool:
        with Connection(settings.broker_url) as conn:
            _, waiting, _ = conn.channel().queue_declare(queue.name, passive=True)
        return waiting == 0 and comparable(workers_state, symbols) == expected

    try:
        wait_for(drained, 60, "the workers' final state to equal the in-order state")
    except TimeoutError as exc:  # say what differs, and whether the queue ever drained
        with Connection(settings.broker_url) as conn:
            _, waiting, consumers = conn.channel().queue_declare(queue.name, passive=True)
        got = comparable(workers_state, symbols)
        diff = {part: {k: (expected[part].get(k), got[part].get(k))
                       for k in expected[part].keys() | got[part].keys()
                       if expected[part].get(k) != got[part].get(k)}
                for part in expected}
        raise AssertionError(f"{exc}: {waiting} waiting, {consumers} consumers; "
                             f"(in order, workers) where they differ: {diff}") from exc
    time.sleep(0.5)  # anything still in flight must not move the state afterwards
    assert comparable(workers_state, symbols) == expected


def test_a_decision_from_an_older_snapshot_never_overwrites_a_newer_one(
    private_state: RedisState,
) -> None:
    """Two workers interleaved by hand on the real Redis: the slow one's upsert is refused."""
    from core.engine import decide

    now = time.time_ns()
    rules = Rules(lambda ex: 0.0, max_age_s=600.0)
    symbol = f"VER{uuid.uuid4().hex[:4].upper()}-USD"
    first = [Quote("va", symbol, 99.0, 1.0, 100.0, 1.0, None, None, now),
             Quote("vb", symbol, 102.0, 1.0, 103.0, 1.0, None, None, now)]
    private_state.apply(first)
    slow_snapshot = private_state.snapshot([symbol])  # worker A reads, then stalls

    # Worker B applies a newer quote (the gap widens) and decides from the newer snapshot.
    private_state.apply([Quote("vb", symbol, 105.0, 1.0, 106.0, 1.0, None, None, now + 1)])
    upserts, _ = decide(private_state.snapshot([symbol]), rules, now)
    assert private_state.upsert_many(upserts) == [1]

    # Worker A wakes up and tries to write what it computed from the older snapshot.
    stale_upserts, _ = decide(slow_snapshot, rules, now)
    assert stale_upserts[0].version < upserts[0].version
    assert private_state.upsert_many(stale_upserts) == [-1]
    [held] = private_state.opportunities()
    assert held["sell_price"] == 105.0 and held["version"] == upserts[0].version

    # A close decided from the older snapshot is refused too; one from the newest is not.
    member = upserts[0].key
    assert private_state.close_many([(symbol, member, stale_upserts[0].version, now)]) == [None]
    assert private_state.opportunities() != []
    [record] = private_state.close_many([(symbol, member, upserts[0].version, now + 5)])
    assert record is not None and record["closed_ns"] == now + 5
    # ...and after the close, the old snapshot cannot reopen it either.
    assert private_state.upsert_many(stale_upserts) == [-1]
    assert private_state.opportunities() == []


def test_decisions_recorded_before_a_flush_never_block_later_snapshots(
    private_state: RedisState,
) -> None:
    """Versions follow the Redis clock, so keys flushed mid-flight cannot freeze a pair."""
    from core.engine import decide

    now = time.time_ns()
    rules = Rules(lambda ex: 0.0, max_age_s=600.0)
    symbol = f"FLU{uuid.uuid4().hex[:4].upper()}-USD"
    quotes = [Quote("va", symbol, 99.0, 1.0, 100.0, 1.0, None, None, now),
              Quote("vb", symbol, 102.0, 1.0, 103.0, 1.0, None, None, now)]
    private_state.apply(quotes)
    in_flight, _ = decide(private_state.snapshot([symbol]), rules, now)
    private_state.clear()  # a flush or restart while a worker still holds its decision
    assert private_state.upsert_many(in_flight) == [1]

    private_state.apply([q._replace(ts_received_ns=now + 1) for q in quotes])
    upserts, _ = decide(private_state.snapshot([symbol]), rules, now + 1)
    assert upserts[0].version > in_flight[0].version
    assert private_state.upsert_many(upserts) == [0]
