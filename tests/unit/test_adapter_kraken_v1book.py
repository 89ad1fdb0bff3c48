"""Kraken websocket v1 `book` replay: the real recording, its CRC32 checksums, edge cases."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.recorded import received, rest_body
from workers.exchanges import kraken_v1book
from workers.exchanges.kraken import KrakenAdapter

pytestmark = pytest.mark.unit

T = "1618678133.000000"  # a level's time, made up


class DictBook:
    """The test's own v1 book: price text → volume text per side, cut to the channel's depth."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.asks: dict[str, str] = {}
        self.bids: dict[str, str] = {}

    def sorted_side(self, side: str) -> list[tuple[str, str]]:
        levels = self.asks if side == "a" else self.bids
        return sorted(levels.items(), key=lambda kv: float(kv[0]), reverse=side == "b")

    def apply(self, side: str, levels: list[list[str]]) -> None:
        book = self.asks if side == "a" else self.bids
        for level in levels:
            if float(level[1]) == 0.0:
                book.pop(level[0], None)
            else:
                book[level[0]] = level[1]

    def cut(self) -> None:
        for side, book in (("a", self.asks), ("b", self.bids)):
            keep = dict(self.sorted_side(side)[:self.depth])
            book.clear()
            book.update(keep)

    def checksum(self) -> str:
        text = "".join(p.replace(".", "").lstrip("0") + v.replace(".", "").lstrip("0")
                       for side in "ab" for p, v in self.sorted_side(side)[:10])
        return str(zlib.crc32(text.encode()))

    def top(self) -> tuple[float, float, float, float] | None:
        if not self.asks or not self.bids:
            return None
        (bid, bid_size), (ask, ask_size) = self.sorted_side("b")[0], self.sorted_side("a")[0]
        return float(bid), float(bid_size), float(ask), float(ask_size)


def read_frame(books: dict[str, DictBook], frame: list[Any]) -> str | None:
    """Apply one v1 book frame to the test's books; the update's own checksum, if any."""
    pair, depth = frame[-1], int(frame[-2].split("-")[1])
    checksum = None
    for part in frame[1:-2]:
        if "as" in part:
            books[pair] = DictBook(depth)
        for key, levels in part.items():
            if key == "c":
                checksum = levels
            else:
                books[pair].apply(key[0], levels)
    books[pair].cut()
    return checksum


def symbol_of(pair: str) -> str:
    return pair.replace("XBT", "BTC").replace("/", "-")


@pytest.fixture(scope="module")
def markets() -> list[Market]:
    return KrakenAdapter.parse_markets(rest_body("kraken", "AssetPairs"))


@pytest.fixture(scope="module")
def frames() -> list[str]:
    return list(received("kraken"))


def book_frames(frames: list[str]) -> list[tuple[int, list[Any]]]:
    return [(i, json.loads(t)) for i, t in enumerate(frames) if t.startswith("[")]


def test_whole_recording_replays_with_every_checksum_verified(
    markets: list[Market], frames: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    computed = []
    real = kraken_v1book.book_checksum
    monkeypatch.setattr(kraken_v1book, "book_checksum", lambda book: computed.append(1) or
                        real(book))
    adapter = KrakenAdapter(markets)
    books: dict[str, DictBook] = {}
    latest: dict[str, Quote] = {}
    verified = 0
    for text in frames:
        for quote in on_message(adapter, text, 1):
            latest[quote.symbol] = quote
        if not text.startswith("["):
            continue
        frame = json.loads(text)
        checksum = read_frame(books, frame)
        if checksum is not None:
            assert books[frame[-1]].checksum() == checksum  # the test's own book agrees too
            verified += 1
        quote = latest[symbol_of(frame[-1])]
        assert (quote.bid, quote.bid_size, quote.ask, quote.ask_size) == books[frame[-1]].top()
    assert verified > 2000 and len(computed) == verified
    assert adapter.errors == Counter()  # no mismatch, and every event frame recognised
    assert reconnect_reason(adapter) is None
    assert len(latest) == 10 and adapter.system_status == "online"


def replay_until(markets: list[Market], frames: list[str], stop: int) -> KrakenAdapter:
    adapter = KrakenAdapter(markets)
    for text in frames[:stop]:
        on_message(adapter, text, 1)
    assert not adapter.errors
    return adapter


def test_tampered_checksum_asks_for_a_resync(markets: list[Market], frames: list[str]) -> None:
    index, msg = next((i, f) for i, f in book_frames(frames) if "c" in f[-3])
    adapter = replay_until(markets, frames, index)
    msg[-3]["c"] = str((int(msg[-3]["c"]) + 1) % 2**32)
    assert on_message(adapter, json.dumps(msg), 2) == []
    assert reconnect_reason(adapter) == "checksum_mismatch"
    assert adapter.errors == Counter({"checksum_mismatch": 1})
    # The book is gone until a new snapshot: the pair's next update is not quoted.
    later = next(f for i, f in book_frames(frames) if i > index and f[-1] == msg[-1])
    assert on_message(adapter, json.dumps(later), 3) == []
    assert adapter.errors["no_snapshot"] == 1
    # A reconnect brings the recording's snapshots again, and they read as before.
    on_connect(adapter)
    assert all(on_message(adapter, frames[i], 4) for i, f in book_frames(frames) if "as" in f[1])


def checked_update(frames: list[str]) -> tuple[int, list[Any], list[str]]:
    """The first update whose first level ends up among the checksummed ones, and that level."""
    books: dict[str, DictBook] = {}
    for index, msg in book_frames(frames):
        read_frame(books, msg)
        level = next(iter(msg[1].get("a") or msg[1].get("b") or [[None, "0"]]))
        top10 = [p for side in "ab" for p, _ in books[msg[-1]].sorted_side(side)[:10]]
        if "c" in msg[-3] and level[0] in top10 and float(level[1]) > 0:
            return index, msg, level
    raise AssertionError("no update reaches the top 10")


def test_tampered_level_is_a_mismatch(markets: list[Market], frames: list[str]) -> None:
    index, msg, level = checked_update(frames)
    adapter = replay_until(markets, frames, index)
    level[1] = level[1][:-1] + ("1" if level[1][-1] != "1" else "2")  # the last digit changed
    assert on_message(adapter, json.dumps(msg), 2) == []
    assert reconnect_reason(adapter) == "checksum_mismatch"
    assert adapter.errors == Counter({"checksum_mismatch": 1})


def test_tampered_snapshot_level_fails_the_next_update(markets: list[Market],
                                                       frames: list[str]) -> None:
    index, snapshot = next((i, f) for i, f in book_frames(frames) if "as" in f[1])
    adapter = replay_until(markets, frames, index)
    snapshot[1]["bs"][0][1] = "0.00000001"  # the best bid's volume, never checked by itself
    (quote,) = on_message(adapter, json.dumps(snapshot), 2)
    assert quote.bid_size == 1e-8 and reconnect_reason(adapter) is None
    pair = snapshot[-1]
    nxt = next(i for i, f in book_frames(frames) if i > index and f[-1] == pair and "as" not in
               f[1])
    for text in frames[index + 1:nxt + 1]:
        on_message(adapter, text, 3)
    assert reconnect_reason(adapter) == "checksum_mismatch"


# --- made-up frames: depth cut, republished levels, both sides, events, bad input -------------

BTC_USD = Market("BTC-USD", "BTC/USD", "BTC", "USD")


def frame(*parts: dict[str, Any], name: str = "book-10", pair: str = "XBT/USD") -> str:
    return json.dumps([336, *parts, name, pair])


def levels(*pairs: tuple[str, str]) -> list[list[str]]:
    return [[px, sz, T] for px, sz in pairs]


def snapshot_of(depth: int) -> tuple[list[list[str]], list[list[str]]]:
    asks = levels(*[(f"{100 + i}.0", f"{i + 1}.00000000") for i in range(depth)])
    bids = levels(*[(f"{99 - i}.0", f"{i + 1}.50000000") for i in range(depth)])
    return asks, bids


def test_book_is_cut_to_the_subscribed_depth_and_republished_levels_apply() -> None:
    adapter = KrakenAdapter([BTC_USD])
    asks, bids = snapshot_of(10)
    mine: dict[str, DictBook] = {}
    snap = frame({"as": asks, "bs": bids})
    read_frame(mine, json.loads(snap))
    (quote,) = on_message(adapter, snap, 1)
    assert (quote.symbol, quote.bid, quote.ask) == ("BTC-USD", 99.0, 100.0)
    assert quote.ts_exchange_ns == 1_618_678_133_000_000_000
    # A better ask pushes 109.0 out of the 10, then a deletion lets 109.0 come back ("r").
    steps = [{"a": [["99.5", "0.25000000", T]]},
             {"a": [["100.0", "0.00000000", T], ["109.0", "10.00000000", T, "r"]]}]
    for step in steps:
        body = json.loads(frame(step))
        read_frame(mine, body)
        step["c"] = mine["XBT/USD"].checksum()
        on_message(adapter, frame(step), 2)
    assert reconnect_reason(adapter) is None and not adapter.errors
    assert len(adapter._v1_books["BTC/USD"].asks) == 10
    # Both sides in one update, as two objects; the checksum sits in the last one.
    body = [336, {"a": [["99.5", "0.00000000", T]]}, {"b": [["99.25", "2.00000000", T]]},
            "book-10", "XBT/USD"]
    read_frame(mine, body)
    body[2]["c"] = mine["XBT/USD"].checksum()
    (quote,) = on_message(adapter, json.dumps(body), 3)
    assert (quote.bid, quote.bid_size, quote.ask) == (99.25, 2.0, 101.0)
    assert not adapter.errors


def test_v1_events_are_recognised() -> None:
    adapter = KrakenAdapter([BTC_USD])
    quiet = [{"event": "heartbeat"}, {"event": "pong", "reqid": 1},
             {"connectionID": 1, "event": "systemStatus", "status": "online", "version": "1.8.3"},
             {"channelID": 336, "channelName": "book-10", "event": "subscriptionStatus",
              "pair": "XBT/USD", "status": "subscribed", "subscription": {"depth": 10,
                                                                          "name": "book"}}]
    for msg in quiet:
        assert on_message(adapter, json.dumps(msg), 1) == []
    assert not adapter.errors and reconnect_reason(adapter) is None
    error = {"errorMessage": "Currency pair not supported", "event": "subscriptionStatus",
             "pair": "FOO/USD", "status": "error"}
    on_message(adapter, json.dumps(error), 2)
    assert last_error(adapter) == "Currency pair not supported"
    on_message(adapter, json.dumps({"event": "systemStatus", "status": "maintenance"}), 3)
    assert reconnect_reason(adapter) == "status_maintenance"
    assert adapter.system_status == "maintenance"
    assert adapter.errors == Counter({"subscribe_error": 1})


ASKS, BIDS = snapshot_of(2)
BAD_V1: list[tuple[str, str]] = [
    (frame({"a": levels(("100.0", "1.0"))}, pair="ETH/USD"), "unknown_market"),
    (frame({"a": levels(("100.0", "1.0")), "c": "1"}), "no_snapshot"),
    (frame({"a": levels(("100.0", "1.0"))}), "bad_field"),  # no checksum
    (frame({"as": ASKS, "bs": BIDS}, name="ticker"), "unknown_channel"),
    (frame({"as": ASKS, "bs": BIDS}, name="book-x"), "bad_field"),
    (frame({"as": ASKS, "bs": [["99.0", "1_0", T]]}), "bad_field"),
    (frame({"as": ASKS, "bs": [["99.0", "０.5", T]]}), "bad_field"),
    (frame({"as": ASKS, "bs": [["99.0", "0.0", T]]}), "bad_field"),  # zero in a snapshot
    (frame({"as": ASKS, "bs": [["99.0", "1.0", "1e9"]]}), "bad_field"),
    (frame({"as": ASKS, "bs": [["99.0", "1.0", T, "x"]]}), "bad_field"),
    (frame({"as": ASKS, "bs": [["99.0", "1.0"]]}), "bad_field"),
    (frame({"as": ASKS, "bs": BIDS, "c": 5}), "bad_field"),
    (frame({"a": levels(("100.0", "1.0")), "c": "abc"}), "bad_field"),
    (json.dumps(["336", {"as": ASKS, "bs": BIDS}, "book-10", "XBT/USD"]), "bad_field"),
    (json.dumps([336, "hb"]), "bad_field"),
    ("[336, {", "bad_json"),
    ("[" * 100_000 + "]" * 100_000, "bad_json"),
    (json.dumps({"event": "frobnicate"}), "unknown_event"),
]


@pytest.mark.parametrize(("text", "reason"), BAD_V1)
def test_bad_v1_frames_are_counted(text: str, reason: str) -> None:
    adapter = KrakenAdapter([BTC_USD])
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1}) and reconnect_reason(adapter) is None
    # Nothing was half-applied: a good snapshot still reads.
    assert len(on_message(adapter, frame({"as": ASKS, "bs": BIDS}), 2)) == 1


def test_on_connect_forgets_v1_books() -> None:
    adapter = KrakenAdapter([BTC_USD])
    on_message(adapter, frame({"as": ASKS, "bs": BIDS}), 1)
    on_connect(adapter)
    assert on_message(adapter, frame({"a": levels(("100.0", "3.0")), "c": "1"}), 2) == []
    assert adapter.errors == Counter({"no_snapshot": 1})
