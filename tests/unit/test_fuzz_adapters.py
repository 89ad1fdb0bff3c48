"""Every exchange adapter fuzzed with hypothesis: random text, truncated and mutated real frames.

Frames come from the real recordings in tests/fixtures/recorded/ (where a venue has one) and
from the simulator's own venue classes (every venue). Each property runs against an adapter in
the state the frame was received in (the session replayed up to it). What is venue-specific
(known frames, dispatch words, which kinds the adapter reads) is in tests/support/fuzz_scenarios.

What is proved, for every adapter:
- `on_message` never raises, whatever the text;
- every frame is accounted for: it yields sane quotes, or raises the error count, or is of a
  kind the adapter recognises (ack, heartbeat, trade, unchanged top...); a frame of no known
  kind is always counted, a truncated JSON frame always as `bad_json`;
- quotes are sane (listed symbol, finite positive prices and sizes, bid < ask, an exchange
  time InfluxDB can store) and Depth is best-first and positive;
- garbage does not poison the adapter: a valid frame afterwards parses, unless the adapter
  asked for a resync (sequence gap...) or a frame it accepted moved the book; after the
  reconnect the loop would make, the same session gives the same quotes as a fresh adapter.
"""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
from collections.abc import Iterator
from functools import cache
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.types import Market, Quote
from tests.support.adapter_events import (
    on_connect,
    on_message,
    reconnect_reason,
    seed_diff_book,
    take_depth,
)
from tests.support.fuzz_scenarios import NOT_JSON, scenario_module
from tests.support.recorded import RECORDED_DIR, rest_responses
from tests.support.sessions import recorded, simulated
from workers.exchanges import get_adapter, known_exchanges
from workers.exchanges.base import Adapter

pytestmark = pytest.mark.unit

VENUES = known_exchanges()
RECEIVED_NS = 1_767_225_600_123_456_789
DEPTH_LEVELS = 10  # the feed worker's BOOK_DEPTH default: the Depth paths run too
MAX_FRAMES = 1_500  # per source: enough of every recording's kinds, cheap to replay
INT64_MAX = 2**63 - 1  # the latest time InfluxDB (int64 ns) can store

# Examples per test: few enough for every CI run; FUZZ_EXAMPLES=2000 for a long local hunt.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


# --- corpora -----------------------------------------------------------------------------


class Source(NamedTuple):
    """One session of one venue: its markets and the frames received, in order."""

    markets: list[Market]
    frames: list[str]
    seed_diffs: bool  # Bitstamp's recording is diffs: seed their books from REST snapshots


@cache
def sources(venue: str) -> tuple[Source, ...]:
    """The venue's recorded session (when there is one) and a simulated one."""
    found: list[Source] = []
    rec = recorded(venue)
    if rec is not None:
        found.append(Source(rec[0], rec[1][:MAX_FRAMES], venue == "bitstamp"))
    markets, frames = simulated(venue, 400)
    found.append(Source(markets, frames, False))
    return tuple(found)


@cache
def bitstamp_snapshots() -> tuple[tuple[str, Any], ...]:
    """The recorded REST book snapshots that seed Bitstamp's diff books."""
    return tuple((r.url.rstrip("/").rsplit("/", 1)[1], r.body)
                 for r in rest_responses(RECORDED_DIR / "bitstamp.http.txt"))


def fresh(venue: str, source: Source) -> Adapter:
    """A new adapter for the session, set up as the feed worker sets it."""
    adapter = get_adapter(venue)(source.markets)
    adapter.depth_levels = DEPTH_LEVELS
    if source.seed_diffs:
        for native, body in bitstamp_snapshots():
            seed_diff_book(adapter, native, body, RECEIVED_NS)  # type: ignore[attr-defined]
    take_depth(adapter)
    return adapter


CHECKPOINT = 64  # replay from a pickled adapter every this many frames, not from the start


@cache
def _checkpoint(venue: str, which: int, upto: int) -> bytes:
    """The pickled adapter after the first `upto` frames (a multiple of CHECKPOINT)."""
    source = sources(venue)[which]
    if upto == 0:
        adapter = fresh(venue, source)
    else:
        adapter = pickle.loads(_checkpoint(venue, which, upto - CHECKPOINT))
        for text in source.frames[upto - CHECKPOINT:upto]:
            on_message(adapter, text, RECEIVED_NS)
        take_depth(adapter)
    return pickle.dumps(adapter)


def replayed(venue: str, which: int, upto: int) -> Adapter:
    """An adapter that has read the first `upto` frames of the venue's source `which`."""
    start = upto // CHECKPOINT * CHECKPOINT
    adapter: Adapter = pickle.loads(_checkpoint(venue, which, start))
    for text in sources(venue)[which].frames[start:upto]:
        on_message(adapter, text, RECEIVED_NS)
    take_depth(adapter)
    return adapter


def _walk(value: Any) -> Iterator[Any]:
    """Every value inside a decoded frame, itself included."""
    yield value
    if type(value) is dict:
        for key, item in value.items():
            yield key
            yield from _walk(item)
    elif type(value) is list:
        for item in value:
            yield from _walk(item)


@cache
def vocabulary(venue: str) -> tuple[list[str], list[Any]]:
    """Keys and short scalar values seen in the venue's frames, so random JSON looks like them.

    The dispatch words, the scenario's values (market, channel id) and listed markets come
    first; the sessions' values fill the rest, up to 600.
    """
    keys: set[str] = set()
    first: list[Any] = list(getattr(scenario_module(venue), "WORDS", []))
    rest: set[Any] = set()
    known = scenario(venue)
    for text in known.setup + known.control + [known.full, known.change]:
        for value in _walk(json.loads(text)):
            if type(value) is dict:
                keys.update(value)
            elif type(value) in (str, int):
                first.append(value)
    for source in sources(venue):
        first += [m.native for m in source.markets[:20]]
        for text in source.frames:
            try:
                msg = json.loads(text)
            except ValueError:
                continue
            for value in _walk(msg):
                if type(value) is dict:
                    keys.update(value)
                elif type(value) is str and len(value) <= 40 or type(value) in (int, bool):
                    rest.add(value)
    scalars = list(dict.fromkeys(first + sorted(rest, key=repr)))  # ordered, no repeats
    return sorted(keys), scalars[:600]


# --- a known session per venue: setup, a full book (T1), then a change (T2) ---------------

# Words of each adapter's dispatch, so random frames reach past the first `if`.
T1 = (101.25, 1.5, 101.75, 2.5)
T2 = (101.375, 3.0, 101.625, 4.0)


class Scenario(NamedTuple):
    """Frames that must give known tops on a fresh connection, and documented control frames."""

    markets: list[Market]
    symbol: str  # market M, whose frames these are
    setup: list[str]  # acks the full book needs (Bitfinex's channel id)
    full: str  # a whole book (or ticker) of market M: top T1
    change: str  # the next frame for M: top `t2`
    t2: tuple[float, float, float, float]
    control: list[str]  # acks, errors, notices, trades: mutated as garbage too


def _frames(venue: str, m: str, sym: str) -> tuple[list[str], Any, Any, Any, list[Any]]:
    """(setup, full, change, t2, control) for market native `m` (venue spelling `sym`)."""
    return scenario_module(venue).frames(m, sym, T1, T2)


@cache
def scenario(venue: str) -> Scenario:
    """The venue's known session, on its simulated markets plus its recorded listing."""
    simulated_markets = sources(venue)[-1].markets
    markets = {m.native: m for source in sources(venue) for m in source.markets}
    market = simulated_markets[0]
    spell = getattr(scenario_module(venue), "spelling", None)
    sym = market.native if spell is None else spell(market.native)
    setup, full, change, t2, control = _frames(venue, market.native, sym)

    def text(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    return Scenario(list(markets.values()), market.symbol, [text(v) for v in setup],
                    text(full), text(change), t2, [text(v) for v in control])


# --- values and frames -------------------------------------------------------------------


class Deep(NamedTuple):
    """A nested list or object this deep, spliced into the text after serializing."""

    depth: int
    kind: str  # "[" or "{"

    def text(self) -> str:
        if self.kind == "[":
            return "[" * self.depth + "]" * self.depth
        return '{"a":' * self.depth + "1" + "}" * self.depth


# Around the decoders' limits: orjson stops at 1024 levels, the json module near the
# interpreter's recursion limit (1000, less the frames already on the stack).
DEEP = st.builds(Deep, st.sampled_from([3, 100, 800, 900, 950, 980, 1000, 1010, 1020, 1023,
                                        1024, 1025, 5_000, 100_000]), st.sampled_from(["[", "{"]))
HOSTILE_STRINGS = [
    "", " ", "0", "-0", "0.00000000", "-1", "-5.5", "1e999", "-1e999", "1e-400", "nan", "NaN",
    "inf", "-Infinity", "Infinity", "1_000", " 12 ", "１２３.５", "١٢٣", "٣.٥", "0x10", "12abc",
    "1" * 5_000, "9" * 400, "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "BTC<b>USD</b>", "\u202eDSU/CTB", "\x00", "\ud800", "😀" * 8, "A" * 100_000,
    "9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z", "2262-04-12T00:00:00.000000Z",
    "1969-12-31T23:59:59Z", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00.1234567891234Z",
    "2026-01-01T00:00:00+25:00", "99999999999999999999999", "1767225600000000000000000",
]
HOSTILE_NUMBERS = [
    0, -1, 1, 0.0, -0.0, 2**31, 2**63, 2**64 + 1, -(2**63) - 1, 10**30, 10**400, -(10**400),
    1e308, -1e308, 5e-324, 1e-300, math.nan, math.inf, -math.inf, True, False,
]
HOSTILE_CONTAINERS = [None, [], {}, [[]], {"": None}, [None], [0, 0], ["x", "y", "z"]]


def leaves(venue: str) -> st.SearchStrategy[Any]:
    """Scalars: the venue's own vocabulary, hostile values, and anything hypothesis makes."""
    _, scalars = vocabulary(venue)
    return st.one_of(
        st.sampled_from(scalars),
        st.sampled_from(HOSTILE_STRINGS + HOSTILE_NUMBERS + HOSTILE_CONTAINERS),
        st.none(), st.booleans(), st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        st.text(st.characters(codec=None, categories=["Cs", "Co", "Cf", "Mn", "Nd"]),
                max_size=10),
    )


def json_values(venue: str) -> st.SearchStrategy[Any]:
    """Random JSON values whose object keys are mostly the venue's own."""
    keys, _ = vocabulary(venue)
    key = st.one_of(st.sampled_from(keys), st.text(max_size=8))
    return st.recursive(
        st.one_of(leaves(venue), DEEP),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(key, inner, max_size=6),
        max_leaves=15,
    )


def dumps(value: Any, ascii_only: bool = True) -> str:
    """JSON text of `value` (NaN and Infinity as Python writes them), Deep values spliced in."""
    deep: dict[str, str] = {}

    def swap(item: Any) -> Any:
        if isinstance(item, Deep):
            token = f"@@deep{len(deep)}@@"
            deep[f'"{token}"'] = item.text()
            return token
        if type(item) is dict:
            return {k: swap(v) for k, v in item.items()}
        if type(item) is list:
            return [swap(v) for v in item]
        return item

    text = json.dumps(swap(value), allow_nan=True, ensure_ascii=ascii_only,
                      separators=(",", ":"))
    for token, nested in deep.items():
        text = text.replace(token, nested)
    return text


def random_frames(venue: str) -> st.SearchStrategy[str]:
    """Arbitrary text, random JSON shaped like the venue's, deep nesting and huge numbers."""
    keys, _ = vocabulary(venue)
    value = json_values(venue)
    shaped = st.dictionaries(st.sampled_from(keys), value, min_size=1, max_size=8)
    arrays = st.lists(value, min_size=1, max_size=5)  # Bitfinex's channel frames are arrays
    return st.one_of(
        st.text(),
        st.text(st.characters(codec=None), max_size=50),
        st.sampled_from(["", " ", "null", "true", "0", "-1e999", "1" * 5_000, "[]", "{}", "pong",
                         "ping", '"text"', "[" * 3_000, "{" * 3_000, "\ufeff{}", "{}{}", "[1,]"]),
        DEEP.map(Deep.text),
        st.builds(dumps, value, st.booleans()),
        st.builds(dumps, shaped, st.booleans()),
        st.builds(dumps, arrays, st.booleans()),
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside a decoded frame (the root is `()`)."""
    yield prefix
    if type(value) is dict:
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif type(value) is list:
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def _leaf(msg: Any, path: tuple[Any, ...]) -> bool:
    """True when the value at `path` is a scalar (not a list or an object)."""
    for step in path:
        msg = msg[step]
    return type(msg) not in (dict, list)


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
# What any number on the wire may become: the other types, and values no venue sends.
_NUMBER_VARIANTS: list[Any] = [None, "", [], {}, True, 0, -1, 10**400, -(10**400), 2**64,
                               1e308, 5e-324, math.nan, math.inf, -math.inf]


def _variants(value: Any) -> list[Any]:
    """The same value as another type or out of range: str↔number, negated, scaled, empty."""
    out: list[Any] = []
    if type(value) is str:
        try:
            number = float(value)
        except (ValueError, OverflowError):
            number = None
        if number is not None:
            # A numeric string: as a number, out of range, or spelled as only float() reads it.
            out += _NUMBER_VARIANTS + [
                number, -number, str(-number), "1" + "0" * 400, "-" + value, "0", "nan", "inf",
                "1e999", value.translate(_FULLWIDTH), f" {value} ", value.replace(".", "_"),
                value + "x", "0" * 5_000 + value]
            if number.is_integer() and abs(number) < 1e18:
                out.append(int(number))
        out += [None, 0, 1.5, [value], {value: value}, value * 2, value.upper(), value[:-1],
                value + "\x00", "<script>" + value]
        if len(value) <= 100:
            # Long, but bounded: a draw may mutate an already-mutated value again.
            out.append(value * 10_000)
    elif type(value) in (int, float):
        out += _NUMBER_VARIANTS + [str(value), -value, [value], {"v": value}]
        if type(value) is int:
            out += [value * 10**400, value + 2**64, value * 10**12]
        elif math.isfinite(value):
            out += [value * 1e300, value * 1e-300, int(value)]
    return out


@st.composite
def mutated(draw: st.DrawFn, venue: str, text: str) -> str:
    """`text` (a JSON frame) with one to three values replaced, deleted, reordered or added."""
    msg = json.loads(text)
    value = json_values(venue)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(msg))
        shallow = [p for p in paths if len(p) <= 3]
        # Scalars near the top are where prices, sizes, ids and names live: aim there most.
        scalars = [p for p in paths if len(p) <= 5 and _leaf(msg, p)] or paths
        path = draw(st.sampled_from(scalars) | st.sampled_from(shallow)
                    | st.sampled_from(paths))
        parent: Any = None
        node = msg
        for step in path:
            parent, node = node, node[step]
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "reorder",
                                   "insert"]))
        if op == "reorder" and type(node) in (dict, list):
            items = list(node.items()) if type(node) is dict else list(node)
            items = draw(st.permutations(items))
            new: Any = dict(items) if type(node) is dict else items
        elif op == "insert" and type(node) is dict:
            new = dict(node)
            keys, _ = vocabulary(venue)
            new[draw(st.sampled_from(keys) | st.text(max_size=8))] = draw(value)
        elif op == "insert" and type(node) is list:
            new = list(node)
            new.insert(draw(st.integers(0, len(new))), draw(value))
        elif op == "delete" and parent is not None:
            del parent[path[-1]]
            continue
        else:
            # Weighted by hand: hypothesis's one_of draws each branch alike, and the variants
            # of the value itself are what reaches the number, id and time parsers.
            choices = _variants(node)
            kind = draw(st.sampled_from(["variant"] * 4 * bool(choices)
                                        + ["hostile", "hostile", "deep", "leaf", "json"]))
            if kind == "variant":
                new = draw(st.sampled_from(choices))
            elif kind == "hostile":
                new = draw(st.sampled_from(HOSTILE_STRINGS + HOSTILE_NUMBERS
                                           + HOSTILE_CONTAINERS))
            elif kind == "deep":
                new = draw(DEEP)
            else:
                new = draw(leaves(venue) if kind == "leaf" else value)
            new = copy.deepcopy(new)  # the pools' lists and objects must not be edited later
        if parent is None:
            msg = new
        else:
            parent[path[-1]] = new
    return dumps(msg, draw(st.booleans()))


# --- what every frame must satisfy -------------------------------------------------------


def recognised(venue: str, text: str) -> bool:
    """True when the frame is of a kind the adapter reads (which may rightly yield nothing).

    Each scenario module's `recognised(text, msg)` mirrors its adapter's dispatch on the
    message kind only: an ack, a heartbeat, a trade, a book push whose top did not move are
    all silent and correct; a frame of any other kind (not JSON, not an object, an unknown
    event or channel) must be counted.
    """
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        msg = NOT_JSON
    return bool(scenario_module(venue).recognised(text, msg))


def _positive(value: Any) -> bool:
    return type(value) is float and 0.0 < value < math.inf


def check_quote(venue: str, adapter: Adapter, quote: Quote) -> None:
    """A quote downstream can trust: listed symbol, sane numbers, storable exchange time."""
    assert type(quote) is Quote
    assert quote.exchange == venue
    assert quote.symbol in {m.symbol for m in adapter.markets.values()}, quote
    assert all(_positive(v) for v in (quote.bid, quote.bid_size, quote.ask, quote.ask_size)), quote
    assert quote.bid < quote.ask, quote  # every adapter refuses a crossed top (`crossed_book`)
    assert quote.last is None or _positive(quote.last), quote
    ts = quote.ts_exchange_ns
    assert ts is None or (type(ts) is int and 0 <= ts <= INT64_MAX), quote
    assert quote.ts_received_ns == RECEIVED_NS


def check_depth(adapter: Adapter) -> None:
    """Depth taken after a frame: known symbol, levels positive and strictly best first."""
    for depth in take_depth(adapter):
        assert depth.symbol in {m.symbol for m in adapter.markets.values()}
        for levels, better in ((depth.bids, float.__gt__), (depth.asks, float.__lt__)):
            assert all(_positive(p) and _positive(s) for p, s in levels), depth
            assert all(better(a[0], b[0]) for a, b in zip(levels, levels[1:], strict=False))
        if depth.bids and depth.asks:
            assert depth.bids[0][0] < depth.asks[0][0], depth


def feed(venue: str, adapter: Adapter, text: str) -> tuple[list[Quote], int]:
    """Feed one frame and check it is accounted for; returns its quotes and errors counted."""
    before = adapter.errors.total()
    quotes = on_message(adapter, text, RECEIVED_NS)  # must not raise, whatever `text` is
    counted = adapter.errors.total() - before
    assert type(quotes) is list
    for quote in quotes:
        check_quote(venue, adapter, quote)
    check_depth(adapter)
    assert counted >= 0
    if not recognised(venue, text):
        assert counted >= 1 and not quotes, f"unrecognised frame not counted: {text[:300]!r}"
    # Otherwise: quotes, or counted, or silently read (an ack, a trade, an unchanged top...).
    return quotes, counted


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


# --- 1. arbitrary text -------------------------------------------------------------------


@pytest.mark.parametrize("venue", VENUES)
@FUZZ
@given(data=st.data())
def test_arbitrary_text_never_raises_and_is_counted(venue: str, data: st.DataObject) -> None:
    which = data.draw(st.integers(0, len(sources(venue)) - 1))
    source = sources(venue)[which]
    adapter = replayed(venue, which, data.draw(st.integers(0, len(source.frames))))
    for text in data.draw(st.lists(random_frames(venue), min_size=1, max_size=5)):
        quotes, counted = feed(venue, adapter, text)
        if not is_json(text) and text != "pong":
            assert adapter.errors["bad_json"] >= 1 and counted == 1 and not quotes


# --- 2. truncated real frames ------------------------------------------------------------


@pytest.mark.parametrize("venue", VENUES)
@FUZZ
@given(data=st.data())
def test_truncated_frames_never_raise_and_count_bad_json(venue: str,
                                                         data: st.DataObject) -> None:
    which = data.draw(st.integers(0, len(sources(venue)) - 1))
    source = sources(venue)[which]
    index = data.draw(st.integers(0, len(source.frames) - 1))
    text = source.frames[index]
    adapter = replayed(venue, which, index)
    cut = data.draw(st.integers(0, max(0, len(text) - 1)))
    prefix = text[:cut]
    bad_json = adapter.errors["bad_json"]
    quotes, counted = feed(venue, adapter, prefix)
    if not is_json(prefix):
        assert (quotes, counted) == ([], 1)
        assert adapter.errors["bad_json"] == bad_json + 1
    # The frame itself still reads after its broken copy (nothing was half-applied).
    feed(venue, adapter, text)


# --- 3. mutated real frames --------------------------------------------------------------


def scenario_adapter(venue: str) -> Adapter:
    """A fresh adapter that has read the scenario's setup and its full book (top T1)."""
    known = scenario(venue)
    adapter = get_adapter(venue)(known.markets)
    adapter.depth_levels = DEPTH_LEVELS
    for text in known.setup:
        assert feed(venue, adapter, text) == ([], 0)
    quotes, _ = feed(venue, adapter, known.full)
    assert tops(quotes) == [top_of(known, T1)]
    return adapter


def tops(quotes: list[Quote]) -> list[tuple[str, float, float, float, float]]:
    return [(q.symbol, q.bid, q.bid_size, q.ask, q.ask_size) for q in quotes]


def top_of(known: Scenario, top: tuple[float, ...]) -> tuple[str, float, float, float, float]:
    """`top` as `tops` spells it, for the scenario's market."""
    return (known.symbol, top[0], top[1], top[2], top[3])


@pytest.mark.parametrize("venue", VENUES)
@FUZZ
@given(data=st.data())
def test_mutated_frames_never_raise_and_quotes_stay_sane(venue: str,
                                                         data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        # A recorded or simulated frame, read in the state its session had reached.
        which = data.draw(st.integers(0, len(sources(venue)) - 1))
        source = sources(venue)[which]
        index = data.draw(st.integers(0, len(source.frames) - 1))
        text = source.frames[index]
        if not is_json(text):
            text = "{}"  # the recordings' few non-JSON lines: mutate an empty object instead
        adapter = replayed(venue, which, index)
    else:
        # One of the scenario's frames or a documented control frame (acks, errors, trades).
        known = scenario(venue)
        text = data.draw(st.sampled_from(known.setup + known.control + [known.full,
                                                                        known.change]))
        adapter = scenario_adapter(venue)
    for _ in range(data.draw(st.integers(1, 3))):
        feed(venue, adapter, data.draw(mutated(venue, text)))


# --- 4. garbage does not poison ----------------------------------------------------------


@cache
def garbage_sources(venue: str) -> list[str]:
    """Frames to mutate or cut as garbage: the scenario's, and a spread of the sessions'."""
    known = scenario(venue)
    frames = [t for source in sources(venue) for t in source.frames[::25] if is_json(t)]
    return known.setup + known.control + [known.full, known.change] + frames


def garbage(venue: str) -> st.SearchStrategy[str]:
    """Random text, strict prefixes and mutations of real and scenario frames."""
    texts = garbage_sources(venue)
    prefix = st.sampled_from(texts).flatmap(
        lambda text: st.integers(0, len(text) - 1).map(lambda cut: text[:cut]))
    mutation = st.sampled_from(texts).flatmap(lambda text: mutated(venue, text))
    return st.one_of(random_frames(venue), prefix, mutation, mutation)


@pytest.mark.parametrize("venue", VENUES)
@FUZZ
@given(data=st.data())
def test_garbage_does_not_poison_the_adapter(venue: str, data: st.DataObject) -> None:
    known = scenario(venue)
    adapter = scenario_adapter(venue)
    # Did any garbage frame get read? Quotes, nothing counted, or counted only for what the
    # book it carried looks like (one-sided, crossed): such a frame was read, and its update
    # id or book rightly stand.
    accepted = False
    for text in data.draw(st.lists(garbage(venue), min_size=1, max_size=6)):
        before = adapter.errors.copy()
        quotes, counted = feed(venue, adapter, text)
        reasons = set(adapter.errors - before)
        accepted = (accepted or bool(quotes) or counted == 0
                    or reasons <= {"empty_book", "crossed_book"})
    stale = adapter.errors["stale_update"]
    quotes, _ = feed(venue, adapter, known.change)
    if not accepted:
        # Only rejected frames so far: the change applies, unless the adapter asked for a
        # resync (a gap, a dropped book, a checksum) or a rejected frame carried a later
        # update id (Binance/Bybit keep the highest id seen, even of a crossed top).
        assert (tops(quotes) == [top_of(known, known.t2)]
                or reconnect_reason(adapter) is not None
                or adapter.errors["stale_update"] > stale), (quotes, adapter.errors)
    # The reconnect the feed loop makes: the same session then reads as on a fresh adapter.
    on_connect(adapter)
    assert reconnect_reason(adapter) is None
    for text in known.setup:
        feed(venue, adapter, text)
    assert tops(feed(venue, adapter, known.full)[0]) == [top_of(known, T1)]
    assert tops(feed(venue, adapter, known.change)[0]) == [top_of(known, known.t2)]
    assert reconnect_reason(adapter) is None


# --- the frames the fuzz found -----------------------------------------------------------

# `{m}` is the scenario's market, `{deep}` a list nested 1,020 deep (orjson reads up to 1,024;
# formatting it recursed), `{zeros}` 400 zeros (an integer past float range).
@pytest.mark.parametrize(("venue", "frame", "reason"), [
    # OverflowError: a JSON integer past float range, read as a price.
    ("kraken", '{"channel":"ticker","type":"update","data":[{"symbol":"{m}","bid":1{zeros},'
               '"bid_qty":1,"ask":2,"ask_qty":1}]}', "bad_field"),
    # OverflowError: `len` Infinity in a subscribed ack, int(inf).
    ("bitfinex", '{"event":"subscribed","channel":"book","chanId":7,"symbol":"{m}",'
                 '"prec":"P0","len":1e999}', "bad_field"),
    # RecursionError: an error frame's text, re-encoded or formatted for last_error.
    ("bitstamp", '{"event":"bts:error","data":{deep}}', "bad_field"),
    ("kraken", '{"method":"subscribe","success":false,"error":{deep}}', "bad_field"),
    ("okx", '{"event":"error","code":"1","msg":{deep}}', "bad_field"),
    # Exchange times past int64 ns: the quote would fail the whole InfluxDB batch write.
    ("bitstamp", '{"event":"data","channel":"order_book_{m}","data":{"microtimestamp":'
                 '"1{zeros}","bids":[["1.0","1.0"]],"asks":[["2.0","1.0"]]}}', "bad_field"),
    ("kraken", '{"channel":"ticker","type":"update","data":[{"symbol":"{m}","bid":1.0,'
               '"bid_qty":1,"ask":2.0,"ask_qty":1,"timestamp":"9999-12-31T23:59:59.5Z"}]}',
     "bad_field"),
    ("bybit", '{"topic":"orderbook.1.{m}","ts":99999999999999999,"type":"snapshot","data":'
              '{"s":"{m}","b":[["1.0","1.0"]],"a":[["2.0","1.0"]],"u":9}}', "bad_field"),
])
def test_frames_the_fuzz_found_are_counted(venue: str, frame: str, reason: str) -> None:
    adapter = scenario_adapter(venue)
    symbol = scenario(venue).symbol
    native = next(m.native for m in adapter.markets.values() if m.symbol == symbol)
    text = frame.replace("{m}", native).replace("{zeros}", "0" * 400).replace(
        "{deep}", "[" * 1_020 + "]" * 1_020)
    before = adapter.errors[reason]
    assert feed(venue, adapter, text) == ([], 1)
    assert adapter.errors[reason] == before + 1


def test_okx_level_in_other_digits_leaves_the_book_readable() -> None:
    """`１００.５` is 100.5 to float(), but the checksum is over ASCII: the level was applied,
    then every later checksum of the book failed to compute (bad_field, no resync, forever)."""
    known = scenario("okx")
    adapter = scenario_adapter("okx")
    odd = known.change.replace('"101.375","3.0"', '"１００.５","1.0"')
    assert odd != known.change
    assert feed("okx", adapter, odd) == ([], 1) and adapter.errors["bad_field"] == 1
    assert tops(feed("okx", adapter, known.change)[0]) == [top_of(known, known.t2)]
    assert reconnect_reason(adapter) is None
