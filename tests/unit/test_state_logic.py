"""Redis state logic (Lua scripts, packing, lifecycle) on fakeredis: no server needed."""

from __future__ import annotations

import json

import fakeredis
import pytest

from core import engine
from core.arbitrage import Rules
from core.state import RedisState
from core.stores.feeds import FeedStatus
from core.stores.packed import pack_quote, unpack_quote
from core.types import Quote
from tests.support.stores import close_opportunity

pytestmark = pytest.mark.unit

T0 = 1_767_225_600_000_000_000


@pytest.fixture
def state() -> RedisState:
    return RedisState(fakeredis.FakeRedis(decode_responses=True), prefix="unit:")


def q(exchange: str, bid: float, ask: float, ts: int, symbol: str = "BTC-USD",
      exchange_ts: bool = True) -> Quote:
    return Quote(exchange, symbol, bid, 2.0, ask, 3.0, None, ts if exchange_ts else None, ts)


def test_pack_roundtrip_keeps_every_field() -> None:
    quote = Quote("kraken", "BTC-USD", 64010.1, 0.5, 64010.2, 1.25, 64010.0, T0 + 1, T0 + 7)
    assert unpack_quote("kraken", "BTC-USD", pack_quote(quote)) == quote
    bare = Quote("binance", "BTC-USDT", 1.0, 2.0, 3.0, 4.0, None, None, T0)
    assert unpack_quote("binance", "BTC-USDT", pack_quote(bare)) == bare


def test_newer_wins_and_older_is_refused(state: RedisState) -> None:
    assert state.update_quotes([q("kraken", 100, 101, T0 + 10)])
    assert state.update_quotes([q("kraken", 90, 91, T0 + 5)]) == []
    assert state.quotes_for("BTC-USD")["kraken"].bid == 100
    assert state.update_quotes([q("kraken", 102, 103, T0 + 11)])
    assert state.quotes_for("BTC-USD")["kraken"].bid == 102


def test_newer_wins_at_nanosecond_resolution(state: RedisState) -> None:
    # 1 ns apart at 1.7e18: Lua doubles could not tell these apart; string compare can.
    state.update_quotes([q("kraken", 100, 101, T0 + 2)])
    assert state.update_quotes([q("kraken", 99, 100, T0 + 1)]) == []
    assert state.update_quotes([q("kraken", 98, 99, T0 + 3)])
    assert state.quotes_for("BTC-USD")["kraken"].bid == 98


def test_keys_carry_the_prefix(state: RedisState) -> None:
    state.update_quotes([q("kraken", 100, 101, T0)])
    assert set(state.redis.keys("*")) == {"unit:quote:BTC-USD", "unit:symbols", "unit:versions"}
    assert state.symbols() == ["BTC-USD"]


def test_engine_opens_updates_and_closes(state: RedisState) -> None:
    fee = lambda ex: 0.0  # noqa: E731
    res = engine.ingest(state, [q("a", 99, 100, T0), q("b", 102, 103, T0)], Rules(fee), T0)
    opened = [d for kind, d in res.events if kind == "opportunity"]
    assert [(o["action"], o["buy_exchange"], o["sell_exchange"]) for o in opened] == [
        ("open", "a", "b")
    ]
    assert [o["symbol"] for o in state.opportunities()] == ["BTC-USD"]

    # The gap widens: same opportunity, updated, peak follows.
    res = engine.ingest(state, [q("b", 104, 105, T0 + 1)], Rules(fee), T0 + 10**9)
    [update] = [d for kind, d in res.events if kind == "opportunity"]
    assert update["action"] == "update"
    [open_opp] = state.opportunities()
    assert open_opp["net_pct"] == pytest.approx(4.0)
    assert open_opp["peak_net_pct"] == pytest.approx(4.0)
    assert open_opp["mean_net_pct"] == pytest.approx(3.0)  # (2 % + 4 %) / 2
    assert open_opp["opened_ns"] == T0

    # The gap closes: removed from Redis, handed over once as a closed record.
    res = engine.ingest(state, [q("b", 99.5, 100.5, T0 + 2)], Rules(fee), T0 + 3 * 10**9)
    assert state.opportunities() == []
    [closed] = res.closed
    assert closed["peak_net_pct"] == pytest.approx(4.0)
    assert closed["closed_ns"] == T0 + 2  # the newer quote of the pair, not the pass's clock
    assert closed["max_size"] == 2.0
    assert state.open_members("BTC-USD") == set()
    assert not any(k.startswith("unit:opp:") for k in state.redis.keys("*"))


def test_close_is_handed_to_one_caller_only(state: RedisState) -> None:
    engine.ingest(state, [q("a", 99, 100, T0), q("b", 102, 103, T0)], Rules(lambda ex: 0.0), T0)
    member = next(iter(state.open_members("BTC-USD")))
    assert close_opportunity(state, "BTC-USD", member) is not None
    assert close_opportunity(state, "BTC-USD", member) is None


def test_expire_stale_closes_when_quotes_age(state: RedisState) -> None:
    fee = lambda ex: 0.0  # noqa: E731
    engine.ingest(state, [q("a", 99, 100, T0), q("b", 102, 103, T0)], Rules(fee), T0)
    assert engine.expire_stale(state, Rules(fee), T0 + 4 * 10**9).closed == []
    res = engine.expire_stale(state, Rules(fee), T0 + 6 * 10**9)
    assert len(res.closed) == 1 and state.opportunities() == []


def test_ingest_stores_only_the_newest_of_a_batch(state: RedisState) -> None:
    batch = [q("a", 100 + i, 101 + i, T0 + i) for i in range(5)]
    res = engine.ingest(state, list(reversed(batch)), Rules(lambda ex: 0.0), T0)
    assert res.stored_quotes == 1
    assert state.quotes_for("BTC-USD")["a"].bid == 104


def test_publish_sends_typed_json(state: RedisState) -> None:
    pubsub = state.redis.pubsub()
    pubsub.psubscribe(state.live.pattern)
    pubsub.get_message(timeout=1)
    state.publish("feed", {"exchange": "kraken"})
    message = pubsub.get_message(timeout=1)
    assert json.loads(message["data"]) == {"type": "feed", "data": {"exchange": "kraken"}}


def test_feed_status_replaces_the_hash(state: RedisState) -> None:
    state.set_feed_status("kraken", {"state": "connected", "messages": 3, "old": 1})
    state.set_feed_status("kraken", {"state": "disconnected", "messages": 4})
    assert state.feed_status("kraken") == {"state": "disconnected", "messages": "4"}


def test_feed_status_round_trips_through_its_hash(state: RedisState) -> None:
    status = FeedStatus(exchange="kraken", state="connected", connections=2, messages=7,
                        errors={"bad_json": 1}, symbols=("BTC-USD", "ETH-USD"), lag_ms=12.5,
                        behind=True, updated_ns=T0)
    state.set_feed_status("kraken", status)
    assert state.feeds.get("kraken") == status
    assert state.feeds.get("okx") is None
    raw = state.feed_status("kraken")
    assert raw["errors"] == '{"bad_json": 1}' and raw["symbols"] == "BTC-USD,ETH-USD"
    assert raw["lag_ms"] == "12.5" and raw["behind"] == "1" and raw["updated_ns"] == str(T0)
    assert FeedStatus(exchange="okx").to_event()["lag_ms"] == ""
    partial = FeedStatus.from_hash({"state": "connected", "messages": "x"}, "okx")
    assert (partial.exchange, partial.messages, partial.lag_ms) == ("okx", 0, None)


def test_clear_removes_only_this_prefix(state: RedisState) -> None:
    state.redis.set("other:key", "1")
    state.update_quotes([q("a", 100, 101, T0)])
    state.clear()
    assert state.redis.keys("*") == ["other:key"]


def test_decoded_quotes_are_cached_per_series_not_per_quote(state: RedisState) -> None:
    """The snapshot decoder keeps one quote per series: memory stays flat however long it runs."""
    for i in range(300):
        state.apply_and_snapshot([q("kraken", 100 + i, 101 + i, T0 + i),
                                  q("bitstamp", 99 + i, 100 + i, T0 + i, symbol="ETH-USD")])
    assert len(state.quotes._parsed) == 2
    snapshots = state.snapshot(["BTC-USD", "ETH-USD"])
    assert snapshots["BTC-USD"].quotes["kraken"].bid == 399  # the cached entry is the newest
    assert snapshots["ETH-USD"].quotes["bitstamp"].bid == 398
