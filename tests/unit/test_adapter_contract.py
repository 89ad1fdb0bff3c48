"""The adapter contract, for every venue in the registry: what any new venue must also pass.

Each venue is exercised through a session the simulator's own venue class serves (markets from
its listing, frames as one subscribed client receives them), so the suite needs nothing per
venue. Venue-specific behaviour lives in tests/unit/test_adapter_<venue>.py; random text and
mutations of recorded traffic in test_fuzz_adapters.py.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import re
from collections import Counter
from functools import cache
from typing import Any

import pytest

from core.types import Depth, Market, Quote
from tests.support.sessions import simulated
from workers.exchanges import get_adapter, known_exchanges
from workers.exchanges.base import Adapter
from workers.exchanges.events import Reconnect, RestRequest, Send, VenueError, split_events

pytestmark = pytest.mark.unit

VENUES = known_exchanges()
RECEIVED_NS = 1_767_225_600_123_456_789
FRAMES = 200
# What a field is swapped for: every JSON type, and the numbers venues get wrong.
REPLACEMENTS = [None, "abc", "", [], {}, True, -1, 0, 1e308, "NaN", ["x"], {"k": 1}, 2**70]


@cache
def session(venue: str) -> tuple[list[Market], list[str]]:
    """The venue's simulated session: its markets and the frames one client receives."""
    markets, frames = simulated(venue, FRAMES)
    return markets, frames


def fresh(venue: str, depth_levels: int = 0) -> Adapter:
    """A new adapter for the session's markets, as the feed worker sets it up."""
    adapter = get_adapter(venue)(session(venue)[0])
    adapter.depth_levels = depth_levels
    return adapter


def quoting_frame(venue: str) -> str:
    """The first JSON frame of the session that yields a quote on a replayed adapter."""
    adapter = fresh(venue)
    for text in session(venue)[1]:
        events = adapter.on_message(text, RECEIVED_NS)
        if any(type(event) is Quote for event in events) and text[:1] in "[{":
            return text
    raise AssertionError(f"{venue}: no frame of the session quotes")


def check_events(adapter: Adapter, events: Any) -> None:
    """Only the event types of the contract, each well formed for this adapter."""
    assert type(events) is list
    symbols = {m.symbol for m in adapter.markets.values()}
    for event in events:
        kind = type(event)
        assert kind in (Quote, Depth, Reconnect, VenueError, RestRequest, Send), event
        if kind is Reconnect:
            assert type(event.reason) is str and event.reason
            continue
        if kind is RestRequest:
            assert event.url.startswith(adapter.rest_base.rstrip("/") + "/"), event
            continue
        if kind is Send:
            assert type(event.frame) is str and event.frame, event
            continue
        if kind is VenueError:
            assert type(event.text) is str
            continue
        assert event.exchange == adapter.name and event.symbol in symbols, event
        if kind is Quote:
            values = (event.bid, event.bid_size, event.ask, event.ask_size)
            assert all(0.0 < v < math.inf for v in values), event
            assert event.bid < event.ask, event
            assert event.ts_received_ns == RECEIVED_NS


# --- the class -------------------------------------------------------------------------------

@pytest.mark.parametrize("venue", VENUES)
def test_the_registry_holds_the_class_under_its_name(venue: str) -> None:
    cls = get_adapter(venue)
    assert issubclass(cls, Adapter) and cls.name == venue
    assert cls.ws_url.startswith("wss://") and cls.rest_url.startswith("https://")
    assert cls.markets_path.startswith("/")
    assert cls.markets_url("http://sim:1/") == "http://sim:1" + cls.markets_path
    assert cls.watchdog_s > 0 and cls.ping_interval_s > 0
    limit = cls.max_markets_per_connection
    assert limit is None or limit > 0


@pytest.mark.parametrize("venue", VENUES)
def test_parsers_document_a_sample_frame(venue: str) -> None:
    """Every frame reader says in its docstring what it reads: a frame (or listing) in JSON."""
    cls = get_adapter(venue)
    readers = [fn for name, fn in inspect.getmembers(cls, inspect.isfunction)
               if name.startswith("_on_") and name != "_on_response"]
    readers.append(cls.market_entries)
    missing = [reader.__name__ for reader in readers
               if not re.search(r"[\[{]", inspect.getdoc(reader) or "")]
    assert not missing, f"{venue}: no sample frame in the docstrings of {missing}"


# --- the market listing ------------------------------------------------------------------------

@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("payload", [None, "BTCUSD", 42, 1.5, True])
def test_a_listing_of_the_wrong_shape_is_a_value_error(venue: str, payload: Any) -> None:
    with pytest.raises(ValueError):
        get_adapter(venue).parse_markets(payload)


@pytest.mark.parametrize("venue", VENUES)
def test_listed_markets_are_normalized_and_unique(venue: str) -> None:
    markets = session(venue)[0]
    assert markets, venue
    assert len({m.native for m in markets}) == len(markets)
    for market in markets:
        assert type(market) is Market and market.symbol == f"{market.base}-{market.quote}"
        assert market.base.isalnum() and market.base.isupper(), market
        assert market.quote.isalnum() and market.quote.isupper(), market


# --- subscribing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("venue", VENUES)
def test_subscribe_frames_are_text_naming_every_market(venue: str) -> None:
    adapter = fresh(venue)
    frames = adapter.subscribe_messages()
    assert frames and all(type(frame) is str and frame for frame in frames)
    for frame in frames:
        json.loads(frame)  # every venue subscribes in JSON
    sent = "".join(frames)
    for native in adapter.markets:
        assert native in sent, f"{venue}: {native} is not subscribed"
    ping = adapter.ping_message()
    assert ping is None or (type(ping) is str and ping)


@pytest.mark.parametrize("venue", VENUES)
def test_no_markets_no_quotes(venue: str) -> None:
    """An adapter following nothing reads any frame without raising and quotes nothing."""
    adapter = get_adapter(venue)([])
    for text in session(venue)[1][:50]:
        # The session's own error frames (a pair this venue does not list) may still come out.
        events = adapter.on_message(text, RECEIVED_NS)
        assert not [e for e in events if type(e) not in (Reconnect, VenueError)]


# --- frames in, events out --------------------------------------------------------------------

@pytest.mark.parametrize("depth_levels", [0, 5])
@pytest.mark.parametrize("venue", VENUES)
def test_a_session_yields_only_contract_events(venue: str, depth_levels: int) -> None:
    adapter = fresh(venue, depth_levels)
    quotes = 0
    for text in session(venue)[1]:
        events = adapter.on_message(text, RECEIVED_NS)
        check_events(adapter, events)
        quoted, depths, reason = split_events(events)[:3]
        quotes += len(quoted)
        assert reason is None, f"{venue}: the simulator's session asked for {reason}"
        assert len({d.symbol for d in depths}) == len(depths)  # one Depth per market a frame
        if depth_levels == 0:
            assert not depths
    assert quotes > 0, adapter.errors


@pytest.mark.parametrize("venue", VENUES)
def test_an_unchanged_top_is_not_quoted_again_until_a_reconnect(venue: str) -> None:
    adapter = fresh(venue)
    text = quoting_frame(venue)
    for earlier in session(venue)[1]:
        if earlier == text:
            break
        adapter.on_message(earlier, RECEIVED_NS)
    assert [type(e) for e in adapter.on_message(text, RECEIVED_NS)].count(Quote) >= 1
    adapter.on_connect()
    replay = fresh(venue)
    for earlier in session(venue)[1]:
        adapter.on_message(earlier, RECEIVED_NS)
        replay.on_message(earlier, RECEIVED_NS)
        if earlier == text:
            break
    # After on_connect the same frames read as on a fresh adapter: tops are sent again.
    assert adapter.on_message(text, RECEIVED_NS) == replay.on_message(text, RECEIVED_NS)


@pytest.mark.parametrize("venue", VENUES)
def test_every_truncation_of_a_frame_is_bad_json(venue: str) -> None:
    adapter = fresh(venue)
    text = quoting_frame(venue)
    for end in range(len(text)):
        assert adapter.on_message(text[:end], end) == []
    assert adapter.errors == Counter({"bad_json": len(text)})


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a decoded JSON document."""
    paths = [path] if path else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            paths += _paths(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            paths += _paths(value, (*path, index))
    return paths


@pytest.mark.parametrize("venue", VENUES)
def test_any_value_swapped_for_any_type_never_raises(venue: str) -> None:
    """A quoting frame with any one value replaced: only contract events, or a counted error."""
    markets, frames = session(venue)
    text = quoting_frame(venue)
    setup = frames[:frames.index(text)]
    doc = json.loads(text)
    for path in _paths(doc):
        for value in REPLACEMENTS:
            adapter = get_adapter(venue)(markets)
            for earlier in setup:
                adapter.on_message(earlier, RECEIVED_NS)
            adapter.errors.clear()
            mutated = copy.deepcopy(doc)
            node = mutated
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            events = adapter.on_message(json.dumps(mutated), RECEIVED_NS)
            check_events(adapter, events)
            if adapter.errors:
                # A counted frame is a refused frame: nothing of it is quoted.
                assert not [e for e in events if type(e) is Quote], (path, value, events)


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("text", ["hello", "", "{", "nul", "[" * 100_000 + "]" * 100_000],
                         ids=["word", "empty", "brace", "cut", "deep"])
def test_text_that_is_not_json_is_counted_as_bad_json(venue: str, text: str) -> None:
    adapter = fresh(venue)
    assert adapter.on_message(text, RECEIVED_NS) == []
    assert adapter.errors == Counter({"bad_json": 1})


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("text", ["null", "7", '"hb"', "true"])
def test_json_that_is_no_frame_is_counted_as_not_object(venue: str, text: str) -> None:
    adapter = fresh(venue)
    assert adapter.on_message(text, RECEIVED_NS) == []
    assert adapter.errors == Counter({"not_object": 1})
