"""HTX adapter: gzip binary frames, ping → pong, bbo and trades in their documented shapes, acks
and errors, both listings, and a replay of the real 2021 recording (gzip `depth.step0` books
and trades) against an independent reading of the same frames."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.frames import replaced
from tests.support.recorded import received_frames, rest_body
from workers.exchanges.events import Send
from workers.exchanges.htx import MAX_INFLATED_BYTES, HtxAdapter

pytestmark = pytest.mark.unit

BTC_USDT = Market(symbol="BTC-USDT", native="btcusdt", base="BTC", quote="USDT")
ETH_BTC = Market(symbol="ETH-BTC", native="ethbtc", base="ETH", quote="BTC")
MS = 1_767_225_600_123


def bbo(bid: Any = 64010.1, bid_size: Any = 0.25, ask: Any = 64012.4, ask_size: Any = 0.05,
        seq: Any = 100, ms: Any = MS, native: str = "btcusdt") -> str:
    """A `market.$symbol.bbo` push (made-up values)."""
    return json.dumps({"ch": f"market.{native}.bbo", "ts": MS + 2, "tick": {
        "seqId": seq, "ask": ask, "askSize": ask_size, "bid": bid, "bidSize": bid_size,
        "quoteTime": ms, "symbol": native}})


def trades(*prices: float, native: str = "btcusdt") -> str:
    """A `trade.detail` push, newest first as HTX sends them (made-up values)."""
    data = [{"id": 10 + i, "ts": MS - i, "tradeId": 500 - i, "amount": 0.01, "price": p,
             "direction": "buy"} for i, p in enumerate(prices)]
    return json.dumps({"ch": f"market.{native}.trade.detail", "ts": MS,
                       "tick": {"id": 1, "ts": MS, "data": data}})


def quote(bid: float = 64010.1, bid_size: float = 0.25, ask: float = 64012.4,
          ask_size: float = 0.05, last: float | None = None, received_ns: int = 1) -> Quote:
    return Quote("htx", "BTC-USDT", bid, bid_size, ask, ask_size, last, MS * 1_000_000,
                 received_ns)


# --- surface -------------------------------------------------------------------------------


def test_urls_and_keepalive() -> None:
    assert (HtxAdapter.ws_url, HtxAdapter.markets_url()) == (
        "wss://api.huobi.pro/ws", "https://api.huobi.pro/v2/settings/common/symbols")
    # The server pings every 5 s; the client has no ping of its own.
    assert HtxAdapter.watchdog_s >= 10 and HtxAdapter([]).ping_message() is None


@pytest.fixture()
def adapter() -> HtxAdapter:
    return HtxAdapter([BTC_USDT, ETH_BTC])


def test_subscribe_one_topic_a_frame(adapter: HtxAdapter) -> None:
    frames = [json.loads(f) for f in adapter.subscribe_messages()]
    assert [f["sub"] for f in frames] == [
        "market.btcusdt.bbo", "market.ethbtc.bbo", "market.btcusdt.trade.detail",
        "market.ethbtc.trade.detail"]
    assert len({f["id"] for f in frames}) == 4


def test_frames_arrive_gzip_compressed(adapter: HtxAdapter) -> None:
    assert adapter.on_binary(gzip.compress(bbo().encode()), 1) == [quote()]
    assert HtxAdapter.decode_binary(gzip.compress(b'{"a":1}')) == '{"a":1}'


@pytest.mark.parametrize("data", [
    b"", b"{}", b"\x1f\x8b\x08\x00junk", gzip.compress(b'{"ping":1}')[:-6],
    gzip.compress(b"\xff\xfe"), gzip.compress(b" " * (MAX_INFLATED_BYTES + 1)),
])
def test_what_is_not_gzip_text_is_bad_binary(adapter: HtxAdapter, data: bytes) -> None:
    assert adapter.on_binary(data, 1) == []
    assert adapter.errors == Counter({"bad_binary": 1})


def test_server_pings_are_answered_with_pongs(adapter: HtxAdapter) -> None:
    ping = gzip.compress(b'{"ping":1767225600000}')
    assert adapter.on_binary(ping, 1) == [Send('{"pong":1767225600000}')]
    assert adapter.on_message('{"ping":"soon"}', 2) == []
    assert adapter.errors == Counter({"bad_field": 1})


def test_acks_and_errors(adapter: HtxAdapter) -> None:
    ack = {"id": "1", "status": "ok", "subbed": "market.btcusdt.bbo", "ts": MS}
    assert on_message(adapter, json.dumps(ack), 1) == []
    error = {"status": "error", "ts": MS, "id": "2", "err-code": "bad-request",
             "err-msg": "invalid topic market.foousdt.bbo"}
    assert on_message(adapter, json.dumps(error), 2) == []
    assert last_error(adapter) == "bad-request: invalid topic market.foousdt.bbo"
    assert on_message(adapter, json.dumps({"what": 1}), 3) == []
    assert adapter.errors == Counter({"venue_error": 1, "unknown_event": 1})


# --- listings ------------------------------------------------------------------------------


def test_parse_markets_on_the_recorded_v1_listing() -> None:
    markets = {m.native: m for m in HtxAdapter.parse_markets(rest_body("htx", "symbols"))}
    assert markets["ethbtc"] == ETH_BTC and markets["btcusdt"] == BTC_USDT
    assert len(markets) > 500


def test_parse_markets_on_the_v2_listing() -> None:
    def row(sc: str, bc: str, qc: str, state: str = "online", te: bool = True) -> dict[str, Any]:
        return {"sc": sc, "dn": f"{bc.upper()}/{qc.upper()}", "bc": bc, "qc": qc,
                "state": state, "te": te, "tpp": 2, "tap": 6}

    body = {"status": "ok", "data": [row("btcusdt", "btc", "usdt"), row("ethbtc", "eth", "btc"),
                                     row("xusdt", "x", "usdt", state="offline"),
                                     row("yusdt", "y", "usdt", te=False),
                                     row("z.usdt", "z", "usdt")], "full": 1}
    assert HtxAdapter.parse_markets(body) == [BTC_USDT, ETH_BTC]
    with pytest.raises(ValueError):
        HtxAdapter.parse_markets({"status": "error", "err-msg": "x"})


# --- bbo and trades ------------------------------------------------------------------------


def test_bbo_quotes_on_change_with_last_from_trades(adapter: HtxAdapter) -> None:
    assert on_message(adapter, bbo(), 1) == [quote()]
    assert on_message(adapter, bbo(seq=101), 2) == []
    assert on_message(adapter, trades(64011.0, 64000.0), 3) == []
    (moved,) = on_message(adapter, bbo(bid=64011.0, bid_size="2", seq=102), 4)
    assert moved == quote(bid=64011.0, bid_size=2.0, last=64011.0, received_ns=4)
    assert not adapter.errors


def test_an_older_bbo_is_stale_until_a_new_connection(adapter: HtxAdapter) -> None:
    on_message(adapter, bbo(seq=100), 1)
    assert on_message(adapter, bbo(bid=64011.0, seq=99), 2) == []
    assert adapter.errors == Counter({"stale_update": 1})
    on_connect(adapter)
    assert on_message(adapter, bbo(seq=5), 3) == [quote(received_ns=3)]


BAD = [
    ("crossed", bbo(bid=64013.0), "crossed_book"),
    ("zero size", bbo(bid_size=0), "bad_field"),
    ("bool price", bbo(bid=True), "bad_field"),
    ("no seq", replaced(bbo(), ("tick", "seqId"), ...), "bad_field"),
    ("other symbol", replaced(bbo(), ("tick", "symbol"), "ethbtc"), "bad_field"),
    ("unknown market", bbo(native="dogeusdt"), "unknown_market"),
    ("unknown kind", replaced(bbo(), ("ch",), "market.btcusdt.kline.1min"), "unknown_channel"),
    ("not market", replaced(bbo(), ("ch",), "auth"), "unknown_channel"),
    ("tick list", replaced(bbo(), ("tick",), []), "bad_field"),
    ("no trades", replaced(trades(1.0), ("tick", "data"), []), "bad_field"),
    ("not json", "{oops", "bad_json"),
]


def test_each_bad_frame_is_counted_under_its_reason() -> None:
    for name, text, reason in BAD:
        fresh = HtxAdapter([BTC_USDT, ETH_BTC])
        assert (name, on_message(fresh, text, 1), fresh.errors) == (name, [], {reason: 1})


def test_depth_snapshots_give_the_top_and_depth(adapter: HtxAdapter) -> None:
    adapter.depth_levels = 2
    frame = {"ch": "market.btcusdt.depth.step0", "ts": MS + 2, "tick": {
        "bids": [[64010.1, 0.25], [64009.0, 1.1]], "asks": [[64012.4, 0.05], [64015.0, 0.8]],
        "version": 7, "ts": MS}}
    assert on_message(adapter, json.dumps(frame), 1) == [quote()]
    frame["tick"]["asks"] = []
    assert on_message(adapter, json.dumps(frame), 2) == []
    assert adapter.errors == Counter({"empty_book": 1})
    assert reconnect_reason(adapter) is None


# --- the recorded session ------------------------------------------------------------------


def test_recorded_session_replays_against_an_independent_reading() -> None:
    markets = HtxAdapter.parse_markets(rest_body("htx", "symbols"))
    symbol_of = {m.native: m.symbol for m in markets}
    adapter = HtxAdapter(markets)
    frames = list(received_frames("htx"))
    assert frames and all(type(f) is bytes for f in frames)

    quotes: list[Quote] = []
    expected: list[Quote] = []
    pongs: list[Send] = []
    tops: dict[str, tuple[float, float, float, float]] = {}
    lasts: dict[str, float] = {}
    for i, data in enumerate(frames, start=1):
        events = adapter.on_binary(data, i)
        quotes += [e for e in events if type(e) is Quote]
        pongs += [e for e in events if type(e) is Send]
        msg = json.loads(gzip.decompress(data))
        if "ping" in msg:
            assert events == [Send(json.dumps({"pong": msg["ping"]}).replace(" ", ""))]
            continue
        channel = msg.get("ch", "")
        native = channel.split(".")[1] if channel else ""
        if channel.endswith(".trade.detail"):
            newest = max(msg["tick"]["data"], key=lambda t: (t["ts"], t["tradeId"]))
            lasts[native] = float(newest["price"])
        elif channel.endswith(".depth.step0"):
            tick = msg["tick"]
            bid = max(tick["bids"], key=lambda level: level[0])
            ask = min(tick["asks"], key=lambda level: level[0])
            top = (float(bid[0]), float(bid[1]), float(ask[0]), float(ask[1]))
            assert top[0] < top[2]
            if tops.get(native) != top:
                tops[native] = top
                expected.append(Quote("htx", symbol_of[native], *top, lasts.get(native),
                                      tick["ts"] * 1_000_000, i))

    assert quotes == expected
    assert len(tops) == 10 and len(quotes) > 100 and len(pongs) == 3
    assert any(q.last is not None for q in quotes)
    assert not adapter.errors
