"""KuCoin adapter: the bullet bootstrap, level1 and match in their documented shapes, acks and
errors, the level2 books seeded through `on_rest`, and a replay of the real 2021 recording
(level2 increments + REST snapshots, tickers, matches) against an independent dict book."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.frames import by_name, replaced
from tests.support.recorded import RECORDED_DIR, rest_body, rest_responses, ws_events
from workers.exchanges.events import RestRequest, split_events
from workers.exchanges.kucoin import KucoinAdapter

pytestmark = pytest.mark.unit

BTC_USDT = Market(symbol="BTC-USDT", native="BTC-USDT", base="BTC", quote="USDT")
ETH_BTC = Market(symbol="ETH-BTC", native="ETH-BTC", base="ETH", quote="BTC")
MS = 1_767_225_600_123
SNAPSHOT_URL = "https://api.kucoin.com/api/v1/market/orderbook/level2_100?symbol=BTC-USDT"


def level1(bid: Any = ("64010.1", "0.25"), ask: Any = ("64012.4", "0.05"), ms: Any = MS,
           native: str = "BTC-USDT") -> str:
    """A `/spotMarket/level1` push (made-up values)."""
    return json.dumps({"type": "message", "topic": f"/spotMarket/level1:{native}",
                       "subject": "level1", "data": {"asks": list(ask), "bids": list(bid),
                                                     "timestamp": ms}})


def match(price: str = "64011.0", native: str = "BTC-USDT") -> str:
    """A `/market/match` push (made-up values)."""
    return json.dumps({"type": "message", "topic": f"/market/match:{native}",
                       "subject": "trade.l3match", "data": {
                           "symbol": native, "sequence": "1", "side": "buy", "size": "0.01",
                           "price": price, "tradeId": "t1", "time": "1767225600123456789",
                           "type": "match"}})


def l2(first: int, last: int | None = None, bids: Any = (), asks: Any = (),
       native: str = "BTC-USDT") -> str:
    """A `/market/level2` increment; levels are (price, size) with the increment's sequence."""
    last = first if last is None else last
    return json.dumps({"type": "message", "topic": f"/market/level2:{native}",
                       "subject": "trade.l2update", "data": {
                           "sequenceStart": first, "sequenceEnd": last, "symbol": native,
                           "time": MS, "changes": {
                               "bids": [[p, s, str(last)] for p, s in bids],
                               "asks": [[p, s, str(last)] for p, s in asks]}}})


def snapshot(sequence: Any = "100", bids: Any = (("64010.1", "0.25"), ("64009.0", "1.1")),
             asks: Any = (("64012.4", "0.05"), ("64015.0", "0.8")), code: str = "200000") -> str:
    """A REST level2 snapshot body (made-up values)."""
    return json.dumps({"code": code, "data": {
        "time": MS, "sequence": sequence, "bids": [list(x) for x in bids],
        "asks": [list(x) for x in asks]}})


def quote(bid: float = 64010.1, bid_size: float = 0.25, ask: float = 64012.4,
          ask_size: float = 0.05, last: float | None = None, ts: int | None = MS * 1_000_000,
          received_ns: int = 1) -> Quote:
    return Quote("kucoin", "BTC-USDT", bid, bid_size, ask, ask_size, last, ts, received_ns)


@pytest.fixture()
def adapter() -> KucoinAdapter:
    return KucoinAdapter([BTC_USDT, ETH_BTC])


# --- surface -------------------------------------------------------------------------------


def test_bootstrap_gives_the_endpoint_with_token_and_connect_id(adapter: KucoinAdapter) -> None:
    body = {"code": "200000", "data": {"token": "tok=en+1", "instanceServers": [
        {"endpoint": "wss://ws-api-spot.kucoin.com/", "encrypt": True, "protocol": "websocket",
         "pingInterval": 18000, "pingTimeout": 10000}]}}
    url = adapter.ws_url_from_bootstrap(json.dumps(body))
    parts = urlsplit(url)
    assert url.startswith("wss://ws-api-spot.kucoin.com/?")
    query = parse_qs(parts.query)
    assert query["token"] == ["tok=en+1"] and len(query["connectId"][0]) >= 8
    # Each connect gets its own connectId.
    assert parse_qs(urlsplit(adapter.ws_url_from_bootstrap(json.dumps(body))).query)[
        "connectId"] != query["connectId"]


def test_bootstrap_endpoint_as_a_path_is_on_the_rest_host(adapter: KucoinAdapter) -> None:
    adapter.rest_base = "http://127.0.0.1:9/kucoin"
    body = {"code": "200000", "data": {"token": "t", "instanceServers": [
        {"endpoint": "/kucoin", "protocol": "websocket", "pingInterval": 18000}]}}
    assert adapter.ws_url_from_bootstrap(json.dumps(body)).startswith(
        "ws://127.0.0.1:9/kucoin?token=t&connectId=")


@pytest.mark.parametrize("text", [
    "", "nope", "[]", json.dumps({"code": "400100", "msg": "bad"}),
    json.dumps({"code": "200000", "data": {"token": "", "instanceServers": [
        {"endpoint": "wss://x/"}]}}),
    json.dumps({"code": "200000", "data": {"token": "t", "instanceServers": []}}),
    json.dumps({"code": "200000", "data": {"token": "t", "instanceServers": [{"endpoint": 5}]}}),
])
def test_an_unusable_bootstrap_is_a_value_error(adapter: KucoinAdapter, text: str) -> None:
    with pytest.raises(ValueError):
        adapter.ws_url_from_bootstrap(text)


def test_subscribe_level1_and_match_100_symbols_a_topic() -> None:
    markets = [Market(f"C{i}-USDT", f"C{i}-USDT", f"C{i}", "USDT") for i in range(150)]
    frames = [json.loads(f) for f in KucoinAdapter(markets).subscribe_messages()]
    assert [f["topic"].split(":")[0] for f in frames] == [
        "/spotMarket/level1", "/spotMarket/level1", "/market/match", "/market/match"]
    assert [len(f["topic"].split(":")[1].split(",")) for f in frames] == [100, 50, 100, 50]
    assert all(f["type"] == "subscribe" and f["response"] is True
               and f["privateChannel"] is False for f in frames)
    assert len({f["id"] for f in frames}) == 4


def test_ping_pong_welcome_and_ack(adapter: KucoinAdapter) -> None:
    ping = json.loads(adapter.ping_message() or "")
    assert ping["type"] == "ping" and ping["id"] != json.loads(adapter.ping_message() or "")["id"]
    for frame in ({"id": "hQvf8jkno", "type": "welcome"}, {"id": "1", "type": "ack"},
                  {"id": ping["id"], "type": "pong"}):
        assert on_message(adapter, json.dumps(frame), 1) == []
    assert not adapter.errors


def test_error_frames_are_venue_errors(adapter: KucoinAdapter) -> None:
    frame = {"id": "3", "type": "error", "code": 404,
             "data": "topic /spotMarket/level1:FOO-USDT is not found"}
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert last_error(adapter) == "404: topic /spotMarket/level1:FOO-USDT is not found"
    assert adapter.errors == Counter({"venue_error": 1})


# --- listing -------------------------------------------------------------------------------


def test_parse_markets_on_the_recorded_listing() -> None:
    markets = KucoinAdapter.parse_markets(rest_body("kucoin", "symbols"))
    by_native = {m.native: m for m in markets}
    assert by_native["ETH-BTC"] == ETH_BTC and by_native["BTC-USDT"] == BTC_USDT
    assert by_native["BCHSV-USDT"].symbol == "BSV-USDT"
    assert len(markets) > 500


def test_disabled_symbols_are_skipped() -> None:
    rows = [{"symbol": "BTC-USDT", "baseCurrency": "BTC", "quoteCurrency": "USDT",
             "enableTrading": True},
            {"symbol": "ETH-USDT", "baseCurrency": "ETH", "quoteCurrency": "USDT",
             "enableTrading": False},
            {"symbol": "A,B-USDT", "baseCurrency": "AB", "quoteCurrency": "USDT",
             "enableTrading": True}]
    assert KucoinAdapter.parse_markets({"code": "200000", "data": rows}) == [BTC_USDT]
    with pytest.raises(ValueError):
        KucoinAdapter.parse_markets({"code": "400001", "msg": "x"})


# --- level1 --------------------------------------------------------------------------------


def test_level1_quotes_on_change_with_last_from_matches(adapter: KucoinAdapter) -> None:
    assert on_message(adapter, level1(), 1) == [quote()]
    assert on_message(adapter, level1(ms=MS + 5), 2) == []  # same top
    assert on_message(adapter, match(), 3) == []
    (moved,) = on_message(adapter, level1(bid=("64011.0", "2"), ms=MS + 9), 4)
    assert moved == quote(bid=64011.0, bid_size=2.0, last=64011.0, ts=(MS + 9) * 1_000_000,
                          received_ns=4)
    assert not adapter.errors


def test_older_level1_is_stale_and_a_new_connection_forgets(adapter: KucoinAdapter) -> None:
    on_message(adapter, level1(), 1)
    assert on_message(adapter, level1(bid=("64011.0", "2"), ms=MS - 1), 2) == []
    assert adapter.errors == Counter({"stale_update": 1})
    on_connect(adapter)
    assert on_message(adapter, level1(ms=MS - 1), 3) == [quote(ts=(MS - 1) * 1_000_000,
                                                               received_ns=3)]


BAD_LEVEL1 = [
    ("empty side", level1(bid=()), "empty_book"),
    ("crossed", level1(bid=("64013", "1")), "crossed_book"),
    ("unknown market", level1(native="DOGE-USDT"), "unknown_market"),
    ("zero size", level1(bid=("64010.1", "0")), "bad_field"),
    ("number price", level1(bid=(64010.1, "1")), "bad_field"),
    ("no timestamp", replaced(level1(), ("data", "timestamp"), ...), "bad_field"),
    ("string side", replaced(level1(), ("data", "bids"), "64010.1"), "bad_field"),
    ("unknown topic", replaced(level1(), ("topic",), "/market/snapshot:BTC-USDT"),
     "unknown_channel"),
    ("unknown type", json.dumps({"type": "notice", "id": "1"}), "unknown_event"),
    ("no type", json.dumps({"id": "1"}), "bad_field"),
    ("not json", "{oops", "bad_json"),
]


@by_name(BAD_LEVEL1)
def test_bad_level1_frames_are_counted(adapter: KucoinAdapter, text: str, reason: str) -> None:
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})


# --- level2 seeded through on_rest ---------------------------------------------------------


def test_first_increment_asks_for_a_snapshot_then_the_book_joins(adapter: KucoinAdapter) -> None:
    events = adapter.on_message(l2(99, bids=(("64000", "1"),)), 1)
    assert events == [RestRequest(SNAPSHOT_URL)]
    assert adapter.on_message(l2(100), 2) == []  # buffered, no second request
    assert adapter.on_message(l2(101, asks=(("64012.4", "0"),)), 3) == []
    # 99 and 100 are in the snapshot; 101 removes the best ask.
    (seeded,) = split_events(adapter.on_rest(SNAPSHOT_URL, snapshot("100"), 4)).quotes
    assert seeded == quote(ask=64015.0, ask_size=0.8, received_ns=4)
    (moved,) = on_message(adapter, l2(102, bids=(("64011", "3"),)), 5)
    assert (moved.bid, moved.bid_size, moved.ask) == (64011.0, 3.0, 64015.0)
    assert on_message(adapter, l2(101), 6) == []
    assert adapter.errors == Counter({"stale_update": 1})


def test_a_hole_in_the_sequence_resyncs(adapter: KucoinAdapter) -> None:
    adapter.on_message(l2(101), 1)
    adapter.on_rest(SNAPSHOT_URL, snapshot("100"), 2)
    assert on_message(adapter, l2(103), 3) == []
    assert reconnect_reason(adapter) == "sequence_gap"
    assert adapter.errors == Counter({"sequence_gap": 1})


def test_a_snapshot_older_than_the_buffered_increments_resyncs(adapter: KucoinAdapter) -> None:
    adapter.on_message(l2(105), 1)
    assert split_events(adapter.on_rest(SNAPSHOT_URL, snapshot("100"), 2)).reconnect == (
        "sequence_gap")


def test_sequence_only_changes_at_price_zero_are_no_moves(adapter: KucoinAdapter) -> None:
    adapter.on_message(l2(100), 1)
    adapter.on_rest(SNAPSHOT_URL, snapshot("100"), 2)
    assert on_message(adapter, l2(101, asks=(("0", "0"),)), 3) == []
    assert not adapter.errors


@pytest.mark.parametrize("body", [
    "x", snapshot(code="400100"), snapshot(sequence="abc"), snapshot(sequence=None),
    snapshot(bids=(("64010.1", "0"),)), snapshot(asks=(("NaN", "1"),)),
])
def test_a_bad_snapshot_is_counted_and_asked_for_again(adapter: KucoinAdapter, body: str) -> None:
    adapter.on_message(l2(100), 1)
    assert adapter.on_rest(SNAPSHOT_URL, body, 2) == []
    assert adapter.errors == Counter({"bad_snapshot": 1})
    assert adapter.on_message(l2(101), 3) == [RestRequest(SNAPSHOT_URL)]


def test_unasked_or_late_snapshots_are_unexpected(adapter: KucoinAdapter) -> None:
    assert adapter.on_rest(SNAPSHOT_URL, snapshot(), 1) == []
    adapter.on_message(l2(100), 2)
    on_connect(adapter)  # the answer belongs to the old connection's book
    assert adapter.on_rest(SNAPSHOT_URL, snapshot(), 3) == []
    assert adapter.on_rest("https://api.kucoin.com/x", snapshot(), 4) == []
    assert adapter.errors == Counter({"unexpected_rest": 3})


# --- the recorded session ------------------------------------------------------------------


class DictBook:
    """The test's own book: price → size, best found by scanning."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.sequence = int(data["sequence"])
        self.sides = {side: {float(p): float(s) for p, s in data[side]}
                      for side in ("bids", "asks")}

    def apply(self, changes: dict[str, Any]) -> None:
        for side in ("bids", "asks"):
            for price, size, _ in changes[side]:
                if float(price) == 0.0:
                    continue
                if float(size) == 0.0:
                    self.sides[side].pop(float(price), None)
                else:
                    self.sides[side][float(price)] = float(size)

    def top(self) -> tuple[float, float, float, float]:
        bid, ask = max(self.sides["bids"]), min(self.sides["asks"])
        return bid, self.sides["bids"][bid], ask, self.sides["asks"][ask]


def test_recorded_session_replays_against_an_independent_book() -> None:
    markets = KucoinAdapter.parse_markets(rest_body("kucoin", "symbols"))
    symbol_of = {m.native: m.symbol for m in markets}
    adapter = KucoinAdapter(markets)
    # Frames and snapshot answers in the order they arrived.
    timeline: list[tuple[float, Any]] = [(e.time or 0.0, e.payload) for e in ws_events("kucoin")
                                         if e.kind == "recv"]
    timeline += [(r.time, r) for r in rest_responses(RECORDED_DIR / "kucoin.http.txt")]
    timeline.sort(key=lambda item: item[0])

    quotes: list[Quote] = []
    expected: list[Quote] = []
    asked: list[str] = []
    pending: dict[str, list[dict[str, Any]]] = {}
    books: dict[str, DictBook] = {}
    tops: dict[str, tuple[float, float, float, float]] = {}
    lasts: dict[str, float] = {}
    stale = 0

    def expect(native: str, top: tuple[float, float, float, float], ts_ms: int | None,
               i: int) -> None:
        if tops.get(native) != top:
            tops[native] = top
            expected.append(Quote("kucoin", symbol_of[native], *top, lasts.get(native),
                                  None if ts_ms is None else ts_ms * 1_000_000, i))

    for i, (_, item) in enumerate(timeline, start=1):
        if not isinstance(item, str):
            native = parse_qs(urlsplit(item.url).query)["symbol"][0]
            split = split_events(adapter.on_rest(item.url, json.dumps(item.body), i))
            quotes += split.quotes
            book = books[native] = DictBook(item.body["data"])
            for data in pending.pop(native):
                if data["sequenceEnd"] <= book.sequence:
                    continue
                book.apply(data["changes"])
            expect(native, book.top(), item.body["data"]["time"], i)
            continue
        split = split_events(adapter.on_message(item, i))
        quotes += split.quotes
        asked += split.fetches
        assert split.reconnect is None
        frame = json.loads(item)
        if frame["type"] != "message":
            continue
        native, data = frame["topic"].split(":")[1], frame["data"]
        subject = frame["subject"]
        if subject == "trade.l3match":
            lasts[native] = float(data["price"])
        elif subject == "trade.ticker":
            lasts[native] = float(data["price"])
            if native not in books:
                top = (float(data["bestBid"]), float(data["bestBidSize"]),
                       float(data["bestAsk"]), float(data["bestAskSize"]))
                expect(native, top, data["time"], i)
        elif subject == "trade.l2update":
            if native not in books:
                pending.setdefault(native, []).append(data)
            elif data["sequenceEnd"] <= books[native].sequence:
                stale += 1
            else:
                assert data["sequenceStart"] == books[native].sequence + 1  # no holes recorded
                books[native].sequence = data["sequenceEnd"]
                books[native].apply(data["changes"])
                top = books[native].top()
                assert top[0] < top[2]
                expect(native, top, data.get("time"), i)  # recorded increments have no time

    assert quotes == expected
    assert len(books) == 9 and len(quotes) > 300
    # One snapshot asked for per market with increments, on the public endpoint.
    assert sorted(parse_qs(urlsplit(u).query)["symbol"][0] for u in asked) == sorted(books)
    assert all("/api/v1/market/orderbook/level2_100?" in u for u in asked)
    assert adapter.errors == Counter({"stale_update": stale} if stale else {})
    assert reconnect_reason(adapter) is None
    assert any(q.last is not None for q in quotes)
