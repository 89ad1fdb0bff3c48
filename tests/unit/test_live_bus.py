"""The live bus: channel names carry each event's route, so hubs never read the JSON to route."""

from __future__ import annotations

import time

import fakeredis
import orjson
import pytest

from core.stores import bus

pytestmark = pytest.mark.unit


def _route(event_type: str, data: object) -> bus.Route | None:
    return bus.route("t:", bus.channel("t:", event_type, data).encode())


def test_quotes_route_by_symbol_and_coalesce_per_exchange() -> None:
    kraken = _route("quote", {"exchange": "kraken", "symbol": "BTC-USD", "bid": 1.0})
    again = _route("quote", {"exchange": "kraken", "symbol": "BTC-USD", "bid": 2.0})
    other = _route("quote", {"exchange": "okx", "symbol": "BTC-USD"})
    assert kraken is not None and other is not None
    assert kraken == again and kraken.symbol == "BTC-USD" and kraken.key is not None
    assert other.key != kraken.key


def test_opportunities_coalesce_per_pair_of_exchanges() -> None:
    ab = _route("opportunity", {"symbol": "X", "buy_exchange": "a", "sell_exchange": "b"})
    ba = _route("opportunity", {"symbol": "X", "buy_exchange": "b", "sell_exchange": "a"})
    assert ab is not None and ba is not None and ab.symbol == "X" and ab.key != ba.key


def test_feed_events_reach_every_client() -> None:
    route = _route("feed", {"exchange": "kraken", "symbol": "ignored"})
    assert route is not None and route.symbol is None and route.key is not None


def test_other_events_are_never_coalesced() -> None:
    assert _route("triangle", [1, 2]) == bus.Route(None, None)
    assert _route("custom", {"symbol": "ETH-USD"}) == bus.Route(None, "ETH-USD")
    assert _route("quote", {"symbol": 5}) == _route("quote", {"symbol": None})  # not a symbol


@pytest.mark.parametrize("symbol", ["BTC/USD", "a:b:c", "%", "%41", "", "ü 🚀", "*?[x]"])
def test_any_symbol_round_trips(symbol: str) -> None:
    route = _route("quote", {"exchange": "x:y", "symbol": symbol})
    assert route is not None and route.symbol == symbol


def test_foreign_channels_have_no_route() -> None:
    assert bus.route("t:", b"u:live:quote:X:y") is None
    assert bus.route("t:", b"t:live") is None
    assert bus.route("t:", b"t:live:quote") is None


def test_published_events_match_the_pattern_and_carry_the_trace_last() -> None:
    server = fakeredis.FakeServer()
    pubsub = fakeredis.FakeRedis(server=server).pubsub(ignore_subscribe_messages=True)
    live = bus.LiveBus(fakeredis.FakeRedis(server=server), "t[1]:")
    pubsub.psubscribe(live.pattern)
    pubsub.psubscribe("t[2]:live:*")  # a prefix that differs only inside the brackets
    live.publish("feed", {"exchange": "kraken"})
    live.publish_many([("quote", {"exchange": "k", "symbol": "S"})], {"task_ns": 1})
    got = []
    deadline = time.monotonic() + 5
    while len(got) < 2 and time.monotonic() < deadline:
        if (message := pubsub.get_message(timeout=0.1)) is not None:
            got.append(message)
    assert [m["type"] for m in got] == ["pmessage", "pmessage"]
    assert orjson.loads(got[0]["data"]) == {"type": "feed", "data": {"exchange": "kraken"}}
    traced = orjson.loads(got[1]["data"])
    assert list(traced) == ["type", "data", "trace"] and traced["trace"]["task_ns"] == 1
    assert "redis_ns" in traced["trace"]
    assert bus.route("t[1]:", got[1]["channel"]) == bus.Route(got[1]["channel"], "S")
    assert pubsub.get_message(timeout=0.1) is None


def test_pattern_is_the_one_a_prefix_confined_acl_user_is_granted() -> None:
    # Redis compares PSUBSCRIBE patterns literally with an ACL user's `&{prefix}*`.
    assert bus.pattern("ct:") == "ct:*"
    assert bus.pattern("a*b:") == "a\\*b:*"
