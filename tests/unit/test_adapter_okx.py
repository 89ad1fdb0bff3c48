"""OKX v5 adapter: made-up frames in every documented shape, bad input, markets, requests, and a
replay of the real recorded session (tickers, 400-level books with checksums, trades) checked
against an independent little book."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.frames import by_name, edited
from tests.support.recorded import RECORDED_DIR, received, rest_body, rest_responses, ws_events
from workers.exchanges.okx import OkxAdapter

pytestmark = pytest.mark.unit

BTC_USDT = Market(symbol="BTC-USDT", native="BTC-USDT", base="BTC", quote="USDT")
ETH_USDC = Market(symbol="ETH-USDC", native="ETH-USDC", base="ETH", quote="USDC")
RECEIVED_NS = 1_767_225_601_300_000_000
TS_MS = "1767225600123"
TS_NS = 1_767_225_600_123_000_000


def entry(**changes: Any) -> dict[str, Any]:
    """One `tickers` data entry in the documented shape (made-up values); `...` removes."""
    item: dict[str, Any] = {
        "instType": "SPOT", "instId": "BTC-USDT", "last": "64011.2", "lastSz": "0.0021",
        "askPx": "64011.3", "askSz": "0.84", "bidPx": "64011.2", "bidSz": "1.07",
        "open24h": "63400.1", "high24h": "64550", "low24h": "63100", "volCcy24h": "581234567.89",
        "vol24h": "9123.4567", "sodUtc0": "63700", "sodUtc8": "63550.5", "ts": TS_MS,
    }
    return edited(item, changes)


def tickers(*entries: dict[str, Any], inst: str = "BTC-USDT") -> str:
    """A `tickers` push carrying `entries` (one default entry when none given)."""
    return json.dumps({"arg": {"channel": "tickers", "instId": inst},
                       "data": list(entries) or [entry()]})


def books(action: str | None, bids: list[list[str]], asks: list[list[str]],
          checksum: int | None = None, inst: str = "BTC-USDT", channel: str = "books",
          ts: str = TS_MS, **extra: Any) -> str:
    """A book push; levels are [px, sz, "0", count]."""
    data: dict[str, Any] = {"asks": asks, "bids": bids, "ts": ts, **extra}
    if checksum is not None:
        data["checksum"] = checksum
    msg: dict[str, Any] = {"arg": {"channel": channel, "instId": inst}}
    if action is not None:
        msg["action"] = action
    msg["data"] = [data]
    return json.dumps(msg)


def level(px: str, sz: str, count: str = "1") -> list[str]:
    return [px, sz, "0", count]


def signed_crc(text: str) -> int:
    crc = zlib.crc32(text.encode())
    return crc - 2**32 if crc >= 2**31 else crc


def quote(bid: float = 64011.2, bid_size: float = 1.07, ask: float = 64011.3,
          ask_size: float = 0.84, last: float | None = 64011.2, ts: int | None = TS_NS,
          received_ns: int = RECEIVED_NS, symbol: str = "BTC-USDT") -> Quote:
    return Quote("okx", symbol, bid, bid_size, ask, ask_size, last, ts, received_ns)


@pytest.fixture()
def adapter() -> OkxAdapter:
    return OkxAdapter([BTC_USDT, ETH_USDC])


def test_keepalive_is_plain_text(adapter: OkxAdapter) -> None:
    assert adapter.ping_message() == "ping"
    assert on_message(adapter, "pong", 1) == []
    assert not adapter.errors


def test_subscribe_message_content(adapter: OkxAdapter) -> None:
    (frame,) = adapter.subscribe_messages()
    assert json.loads(frame) == {"op": "subscribe", "args": [
        {"channel": "tickers", "instId": "BTC-USDT"},
        {"channel": "tickers", "instId": "ETH-USDC"},
    ]}


def test_subscribe_messages_chunk_at_100_args() -> None:
    markets = [Market(f"C{i}-USDT", f"C{i}-USDT", f"C{i}", "USDT") for i in range(250)]
    frames = [json.loads(f) for f in OkxAdapter(markets).subscribe_messages()]
    assert [len(f["args"]) for f in frames] == [100, 100, 50]
    assert [a["instId"] for f in frames for a in f["args"]] == [m.native for m in markets]
    assert all(len(json.dumps(f)) < 65536 for f in frames)
    assert OkxAdapter([]).subscribe_messages() == []


# --- parse_markets -------------------------------------------------------------------------


def test_parse_markets_on_the_recorded_spot_listing() -> None:
    listing = rest_body("okx", "instType=SPOT")
    markets = OkxAdapter.parse_markets(listing)
    by_native = {m.native: m for m in markets}
    assert len(markets) == len(by_native) == len(listing["data"]) == 513
    assert by_native["BTC-USDT"] == Market("BTC-USDT", "BTC-USDT", "BTC", "USDT")
    assert by_native["ETH-USDT"] == Market("ETH-USDT", "ETH-USDT", "ETH", "USDT")
    assert by_native["BTC-USDC"] == Market("BTC-USDC", "BTC-USDC", "BTC", "USDC")
    assert by_native["ETH-BTC"] == Market("ETH-BTC", "ETH-BTC", "ETH", "BTC")
    # The 2022 global listing has no USD-quoted spot pair.
    assert "BTC-USD" not in by_native and not [m for m in markets if m.quote == "USD"]


def test_parse_markets_on_every_recorded_listing_skips_derivatives() -> None:
    kinds = Counter()
    for response in rest_responses("okx"):
        markets = OkxAdapter.parse_markets(response.body)
        kind = response.body["data"][0]["instType"]
        kinds[kind] += 1
        assert (len(markets) == 513) if kind == "SPOT" else (markets == []), kind
    # Swaps, futures and options (two underlyings) were all read, five times each.
    assert kinds == Counter({"SPOT": 5, "SWAP": 5, "FUTURES": 5, "OPTION": 10})


def instrument(inst: str, base: Any, quote: Any, **extra: Any) -> dict[str, Any]:
    return {"instId": inst, "instType": "SPOT", "baseCcy": base, "quoteCcy": quote,
            "state": "live", "tickSz": "0.1", "lotSz": "0.00000001", **extra}


def test_parse_markets_skips_odd_entries() -> None:
    payload = {"code": "0", "msg": "", "data": [
        instrument("BTC-USDT", "BTC", "USDT"),
        instrument("ETH-USDT", "ETH", "USDT", state="suspend"),
        instrument("SOL-USDT", "SOL", "USDT", state="preopen"),
        instrument("BTC-USD-SWAP", "", "", instType="SWAP"),
        instrument("XRP-USDT", "XRP", "EUR"),  # instId disagrees with the currencies
        instrument("ADA-USDT", None, "USDT"),
        instrument("DOT-USDT", "DOT", ["USDT"]),
        {"instId": "LTC-USDT"},
        "not an object",
        instrument("ETH-USDC", "eth", "usdc"),
        instrument("BTC-USDT", "BTC", "USDT"),
    ]}
    assert OkxAdapter.parse_markets(payload) == [
        Market("BTC-USDT", "BTC-USDT", "BTC", "USDT"),
        Market("ETH-USDC", "ETH-USDC", "ETH", "USDC"),
    ]


def test_parse_markets_error_code_raises_with_its_text() -> None:
    with pytest.raises(ValueError, match="Instrument ID does not exist"):
        OkxAdapter.parse_markets({"code": "51001", "msg": "Instrument ID does not exist",
                                  "data": []})


@pytest.mark.parametrize("payload", [None, [], "x", {"code": "0"}, {"code": 0, "data": []},
                                     {"code": "0", "data": {}}])
def test_parse_markets_rejects_a_malformed_payload(payload: Any) -> None:
    with pytest.raises(ValueError):
        OkxAdapter.parse_markets(payload)


# --- tickers -------------------------------------------------------------------------------


def test_ticker_gives_exact_quote(adapter: OkxAdapter) -> None:
    assert on_message(adapter, tickers(), RECEIVED_NS) == [quote()]
    assert not adapter.errors


def test_ticker_timestamp_is_exact_ns(adapter: OkxAdapter) -> None:
    (q,) = on_message(adapter, tickers(entry(ts="1767225600999")), 1)
    assert q.ts_exchange_ns == 1_767_225_600_999_000_000


def test_only_a_changed_top_is_emitted(adapter: OkxAdapter) -> None:
    assert len(on_message(adapter, tickers(), 1)) == 1
    assert on_message(adapter, tickers(), 2) == []
    # last, 24 h stats and time moved, the top did not: nothing.
    assert on_message(adapter, tickers(entry(last="64000", vol24h="1", ts="1767225609000")),
                              3) == []
    (q,) = on_message(adapter, tickers(entry(askSz="2.5", last="64011.3")), 4)
    assert (q.ask_size, q.last, q.ts_received_ns) == (2.5, 64011.3, 4)
    # Per instrument: ETH-USDC's first ticker is new.
    eth = entry(instId="ETH-USDC", bidPx="3200.1", askPx="3200.2", last="3200.1")
    (q,) = on_message(adapter, tickers(eth, inst="ETH-USDC"), 5)
    assert (q.symbol, q.bid, q.ask) == ("ETH-USDC", 3200.1, 3200.2)
    assert not adapter.errors


def test_ticker_without_last(adapter: OkxAdapter) -> None:
    (q,) = on_message(adapter, tickers(entry(last="")), 1)
    assert q.last is None
    (q,) = on_message(adapter, tickers(entry(last=..., bidSz="2")), 1)
    assert q.last is None and q.bid_size == 2.0


def test_empty_side_is_counted_but_keeps_last(adapter: OkxAdapter) -> None:
    assert on_message(adapter, tickers(entry(bidPx="", bidSz="", last="64000")), 1) == []
    assert adapter.errors == Counter({"empty_book": 1})
    (q,) = on_message(adapter, tickers(entry(last=...)), 2)
    assert q.last == 64000.0


def test_crossed_ticker_is_counted(adapter: OkxAdapter) -> None:
    assert on_message(adapter, tickers(entry(bidPx="64011.3")), 1) == []
    assert adapter.errors == Counter({"crossed_book": 1})
    assert len(on_message(adapter, tickers(), 2)) == 1


def test_one_bad_entry_does_not_drop_the_good_ones(adapter: OkxAdapter) -> None:
    eth = entry(instId="ETH-USDC", bidPx="3200.1", askPx="3200.2")
    quotes = on_message(adapter, tickers(entry(bidPx="abc"), eth, entry(instId="FOO-USDT")), 1)
    assert [q.symbol for q in quotes] == ["ETH-USDC"]
    assert adapter.errors == Counter({"bad_field": 1, "unknown_market": 1})


# --- books ---------------------------------------------------------------------------------


def test_book_snapshot_and_updates_with_checksums(adapter: OkxAdapter) -> None:
    bids = [level("64011.2", "1.07", "3"), level("64011", "0.5")]
    asks = [level("64011.3", "0.84"), level("64012", "2")]
    crc = signed_crc("64011.2:1.07:64011.3:0.84:64011:0.5:64012:2")
    assert on_message(adapter, books("snapshot", bids, asks, crc), 1) == [
        quote(last=None, received_ns=1)]
    # A deeper level changes: the checksum changes, the top does not.
    crc = signed_crc("64011.2:1.07:64011.3:0.84:64011:0.75:64012:2")
    assert on_message(adapter, books("update", [level("64011", "0.75")], [], crc), 2) == []
    # The best bid goes ("0" deletes): the next one is the top.
    crc = signed_crc("64011:0.75:64011.3:0.84:64012:2")
    (q,) = on_message(adapter, books("update", [level("64011.2", "0", "0")], [], crc,
                                    ts="1767225600200"), 3)
    assert (q.bid, q.bid_size, q.ts_exchange_ns) == (64011.0, 0.75, 1_767_225_600_200_000_000)
    assert not adapter.errors and reconnect_reason(adapter) is None


def test_checksum_uses_the_strings_as_received(adapter: OkxAdapter) -> None:
    # "0.50" and "0.5" are the same size but not the same text: the checksum sees the text.
    bids, asks = [level("100.0", "0.50")], [level("101", "1")]
    assert len(on_message(adapter, books("snapshot", bids, asks,
                                        signed_crc("100.0:0.50:101:1")), 1)) == 1
    assert not adapter.errors


def test_checksum_covers_25_levels_per_side(adapter: OkxAdapter) -> None:
    bids = [level(str(100 - i), "1") for i in range(30)]
    asks = [level(str(200 + i), "2") for i in range(20)]
    parts = []
    for i in range(25):
        parts += [str(100 - i), "1"]
        if i < 20:
            parts += [str(200 + i), "2"]
    assert len(on_message(adapter, books("snapshot", bids, asks, signed_crc(":".join(parts))),
                                  1)) == 1
    assert not adapter.errors


def test_checksum_mismatch_asks_for_reconnect(adapter: OkxAdapter) -> None:
    assert on_message(adapter, books("snapshot", [level("1", "1")], [level("2", "1")], 12345),
                              1) == []
    assert reconnect_reason(adapter) == "checksum_mismatch"
    assert adapter.errors == Counter({"checksum_mismatch": 1})


def test_update_without_snapshot_is_counted(adapter: OkxAdapter) -> None:
    assert on_message(adapter, books("update", [level("1", "1")], []), 1) == []
    assert adapter.errors == Counter({"no_snapshot": 1})


def test_book_sequence_ids_must_chain(adapter: OkxAdapter) -> None:
    on_message(adapter, books("snapshot", [level("1", "1")], [level("2", "1")],
                             seqId=100, prevSeqId=-1), 1)
    (q,) = on_message(adapter, books("update", [level("1", "3")], [], seqId=105,
                                    prevSeqId=100), 2)
    assert q.bid_size == 3.0
    assert on_message(adapter, books("update", [level("1", "4")], [], seqId=110,
                                    prevSeqId=107), 3) == []
    assert reconnect_reason(adapter) == "sequence_gap"
    assert adapter.errors == Counter({"sequence_gap": 1})


def test_whole_book_channels(adapter: OkxAdapter) -> None:
    frame = books(None, [level("64011.2", "1.07", "5")], [level("64011.3", "0.84", "3")],
                  channel="bbo-tbt", seqId=987654321)
    assert on_message(adapter, frame, 1) == [quote(last=None, received_ns=1)]
    frame = books(None, [level("64011.1", "1")], [level("64011.3", "0.84")], channel="books5")
    (q,) = on_message(adapter, frame, 2)
    assert (q.bid, q.bid_size) == (64011.1, 1.0)
    assert not adapter.errors


def test_with_a_book_the_ticker_only_gives_last(adapter: OkxAdapter) -> None:
    on_message(adapter, books("snapshot", [level("64000", "1")], [level("64001", "1")],
                             signed_crc("64000:1:64001:1")), 1)
    assert on_message(adapter, tickers(entry(last="64000.5")), 2) == []
    (q,) = on_message(adapter, books("update", [level("64000", "2")], [],
                                    signed_crc("64000:2:64001:1")), 3)
    assert (q.bid, q.bid_size, q.last) == (64000.0, 2.0, 64000.5)
    # A new connection has no book until its snapshot: the ticker gives the top again.
    on_connect(adapter)
    assert len(on_message(adapter, tickers(), 4)) == 1


def test_trades_set_last(adapter: OkxAdapter) -> None:
    trade = {"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [
        {"instId": "BTC-USDT", "tradeId": "338476307", "px": "64011.25", "sz": "0.0002",
         "side": "buy", "ts": TS_MS}]}
    assert on_message(adapter, json.dumps(trade), 1) == []
    (q,) = on_message(adapter, tickers(entry(last=...)), 2)
    assert q.last == 64011.25
    assert not adapter.errors


# --- events --------------------------------------------------------------------------------


QUIET = {
    "subscribe ack": {"event": "subscribe", "arg": {"channel": "tickers", "instId": "BTC-USDT"},
                      "connId": "a1b2c3d4"},
    "subscribe ack id": {"id": "sub1", "event": "subscribe",
                         "arg": {"channel": "tickers", "instId": "BTC-USDT"}},
    "unsubscribe ack": {"event": "unsubscribe", "arg": {"channel": "tickers",
                                                        "instId": "BTC-USDT"}},
    "conn count": {"event": "channel-conn-count", "channel": "tickers", "connCount": "2",
                   "connId": "a1b2c3d4"},
}


@pytest.mark.parametrize("frame", list(QUIET.values()), ids=list(QUIET))
def test_quiet_events(adapter: OkxAdapter, frame: dict[str, Any]) -> None:
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert not adapter.errors and reconnect_reason(adapter) is None


def test_error_event_is_counted_with_its_text(adapter: OkxAdapter) -> None:
    message = ("Wrong URL or channel:tickers,instId:FOO-USDT doesn't exist. Please use the "
               "correct URL, channel and parameters referring to API document.")
    frame = {"event": "error", "code": "60018", "msg": message, "connId": "a1b2c3d4"}
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert adapter.errors == Counter({"venue_error": 1})
    assert last_error(adapter) == f"60018 {message}"
    assert reconnect_reason(adapter) is None


def test_notice_64008_asks_for_reconnect(adapter: OkxAdapter) -> None:
    frame = {"event": "notice", "code": "64008", "connId": "a1b2c3d4",
             "msg": "The connection will soon be closed for a service upgrade. Please reconnect."}
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert reconnect_reason(adapter) == "notice_64008"
    assert not adapter.errors


def test_other_notice_is_remembered_only(adapter: OkxAdapter) -> None:
    frame = {"event": "notice", "code": "64099", "msg": "Something else"}
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert reconnect_reason(adapter) is None and last_error(adapter) == "64099 Something else"


# --- bad input -----------------------------------------------------------------------------


def swap(**changes: Any) -> str:
    return tickers(entry(**changes))


BAD_FRAMES: list[tuple[str, str, str]] = [
    ("ping echoed", "ping", "bad_json"),
    ("array", "[1, 2]", "not_object"),
    ("login event", '{"event": "login", "code": "0"}', "unknown_event"),
    ("event number", '{"event": 5}', "unknown_event"),
    ("empty object", "{}", "bad_field"),
    ("no arg", '{"data": []}', "bad_field"),
    ("arg string", '{"arg": "tickers", "data": []}', "bad_field"),
    ("unknown channel", '{"arg": {"channel": "candle1m", "instId": "BTC-USDT"}, "data": []}',
     "unknown_channel"),
    ("channel list", '{"arg": {"channel": ["tickers"]}, "data": []}', "bad_field"),
    ("tickers no data", '{"arg": {"channel": "tickers", "instId": "BTC-USDT"}}', "bad_field"),
    ("tickers data object", json.dumps({"arg": {"channel": "tickers"}, "data": entry()}),
     "bad_field"),
    ("entry not object", '{"arg": {"channel": "tickers"}, "data": ["BTC-USDT"]}', "bad_field"),
    ("unknown market", swap(instId="FOO-USDT"), "unknown_market"),
    ("no instId", swap(instId=...), "bad_field"),
    ("instId list", swap(instId=["BTC-USDT"]), "bad_field"),
    ("bid number", swap(bidPx=64011.2), "bad_field"),
    ("bid abc", swap(bidPx="abc"), "bad_field"),
    ("bid null", swap(bidPx=None), "bad_field"),
    ("bid missing", swap(bidPx=...), "bad_field"),
    ("bid NaN", swap(bidPx="NaN"), "bad_field"),
    ("ask inf", swap(askPx="inf"), "bad_field"),
    ("bid negative", swap(bidPx="-1"), "bad_field"),
    ("ask zero", swap(askPx="0"), "bad_field"),
    ("size zero", swap(askSz="0"), "bad_field"),
    ("size negative", swap(bidSz="-0.1"), "bad_field"),
    ("last negative", swap(last="-5"), "bad_field"),
    ("last number", swap(last=64011.2), "bad_field"),
    ("ts number", swap(ts=1767225600123), "bad_field"),
    ("ts float text", swap(ts="1767225600123.5"), "bad_field"),
    ("ts garbage", swap(ts="yesterday"), "bad_field"),
    ("ts missing", swap(ts=...), "bad_field"),
    ("ts zero", swap(ts="0"), "bad_field"),
    ("book unknown market", books("snapshot", [], [], inst="FOO-USDT"), "unknown_market"),
    ("book odd action", books("partial", [level("1", "1")], [level("2", "1")]), "bad_field"),
    ("book no action", books(None, [level("1", "1")], [level("2", "1")]), "bad_field"),
    ("book level short", books("snapshot", [["1"]], []), "bad_field"),
    ("book level string", books("snapshot", ["1,1"], []), "bad_field"),  # type: ignore[list-item]
    ("book size number", books("snapshot", [["1", 1, "0", "1"]], []), "bad_field"),
    ("book size negative", books("snapshot", [level("1", "-1")], []), "bad_field"),
    ("book price zero", books("snapshot", [level("0", "1")], []), "bad_field"),
    ("book checksum string", books("snapshot", [], [], checksum="5"), "bad_field"),  # type: ignore[arg-type]
    ("book no ts", books("snapshot", [], [], ts=None), "bad_field"),  # type: ignore[arg-type]
    ("book two entries",
     '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{},{}]}',
     "bad_field"),
    ("book data empty",
     '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[]}',
     "bad_field"),
    ("book no instId", '{"arg":{"channel":"books"},"action":"snapshot","data":[{}]}',
     "bad_field"),
    ("trade unknown market", json.dumps({"arg": {"channel": "trades"}, "data": [
        {"instId": "FOO-USDT", "px": "1"}]}), "unknown_market"),
    ("trade px number", json.dumps({"arg": {"channel": "trades"}, "data": [
        {"instId": "BTC-USDT", "px": 1.0}]}), "bad_field"),
    ("trade data object", json.dumps({"arg": {"channel": "trades"}, "data": {}}), "bad_field"),
]


@by_name(BAD_FRAMES)
def test_bad_frames_are_counted_by_reason(adapter: OkxAdapter, text: str, reason: str) -> None:
    assert on_message(adapter, text, 1) == []
    assert adapter.errors == Counter({reason: 1})
    assert reconnect_reason(adapter) is None
    # The adapter is still usable and no half-parsed top was remembered.
    assert on_message(adapter, tickers(), RECEIVED_NS) == [quote()]


# --- the recorded session ------------------------------------------------------------------

DERIVATIVES = [Market("BTC-USD-220527", "BTC-USD-220527", "BTC", "USD"),
               Market("UNI-USD-SWAP", "UNI-USD-SWAP", "UNI", "USD")]


class IndependentReader:
    """The test's own reading of the recorded frames: plain dicts, sorted on demand."""

    def __init__(self) -> None:
        self.bids: dict[str, dict[str, str]] = {}
        self.asks: dict[str, dict[str, str]] = {}
        self.last: dict[str, float] = {}
        self.emitted: dict[str, tuple[float, float, float, float]] = {}
        self.checksums_ok = 0

    def top_of(self, inst: str) -> tuple[float, float, float, float]:
        bid = max(self.bids[inst], key=float)
        ask = min(self.asks[inst], key=float)
        return (float(bid), float(self.bids[inst][bid]), float(ask), float(self.asks[inst][ask]))

    def checksum(self, inst: str) -> int:
        bids = sorted(self.bids[inst].items(), key=lambda kv: -float(kv[0]))[:25]
        asks = sorted(self.asks[inst].items(), key=lambda kv: float(kv[0]))[:25]
        parts: list[str] = []
        for i in range(25):
            if i < len(bids):
                parts += bids[i]
            if i < len(asks):
                parts += asks[i]
        return signed_crc(":".join(parts))

    def read(self, msg: dict[str, Any]) -> list[tuple[str, tuple[float, ...], int]]:
        """(instId, top, ts ms) for each change of a top this frame makes."""
        if "event" in msg:
            return []
        channel, out = msg["arg"]["channel"], []
        for item in msg["data"]:
            if channel == "trades":
                self.last[item["instId"]] = float(item["px"])
            elif channel == "tickers":
                inst = item["instId"]
                self.last[inst] = float(item["last"])
                if inst not in self.bids:
                    top = (float(item["bidPx"]), float(item["bidSz"]), float(item["askPx"]),
                           float(item["askSz"]))
                    out.append((inst, top, int(item["ts"])))
            else:
                inst = msg["arg"]["instId"]
                if msg["action"] == "snapshot":
                    self.bids[inst], self.asks[inst] = {}, {}
                for side, levels in ((self.bids[inst], item["bids"]),
                                     (self.asks[inst], item["asks"])):
                    for px, sz, *_ in levels:
                        if float(sz) == 0:
                            side.pop(px, None)
                        else:
                            side[px] = sz
                assert self.checksum(inst) == item["checksum"]
                self.checksums_ok += 1
                out.append((inst, self.top_of(inst), int(item["ts"])))
        changes = []
        for inst, top, ts in out:
            if self.emitted.get(inst) != top:
                self.emitted[inst] = top
                changes.append((inst, top, ts))
        return changes


def test_recorded_session_matches_an_independent_reading() -> None:
    markets = OkxAdapter.parse_markets(rest_body("okx", "instType=SPOT")) + DERIVATIVES
    adapter = OkxAdapter(markets)
    reader = IndependentReader()
    expected: list[Quote] = []
    got: list[Quote] = []
    unreadable = 0
    for index, text in enumerate(received("okx")):
        got += on_message(adapter, text, index)
        try:
            msg = json.loads(text)
        except ValueError:
            unreadable += 1
            continue
        for inst, top, ts_ms in reader.read(msg):
            expected.append(Quote("okx", inst, *top, reader.last.get(inst),
                                  ts_ms * 1_000_000, index))
    assert got == expected
    # Every recorded book frame (3 snapshots + 166 updates) passed its real checksum.
    assert reader.checksums_ok == 169
    assert Counter(q.symbol for q in got) == Counter(
        {"BTC-USD-220527": 48, "BTC-USDT": 44, "UNI-USD-SWAP": 28})
    assert sum(adapter.errors.values()) == unreadable == 0
    assert reconnect_reason(adapter) is None


def test_recorded_session_with_a_book_frame_dropped_fails_the_checksum() -> None:
    markets = OkxAdapter.parse_markets(rest_body("okx", "instType=SPOT"))
    adapter = OkxAdapter(markets)
    frames = list(received("okx"))
    updates = [i for i, t in enumerate(frames) if '"channel":"books","instId":"BTC-USDT"},'
               '"action":"update"' in t]
    del frames[updates[5]]
    for text in frames:
        on_message(adapter, text, 1)
        if reconnect_reason(adapter):
            break
    assert reconnect_reason(adapter) == "checksum_mismatch"
    assert adapter.errors["checksum_mismatch"] == 1


def test_recorded_session_spot_only_counts_the_derivatives() -> None:
    adapter = OkxAdapter(OkxAdapter.parse_markets(rest_body("okx", "instType=SPOT")))
    quotes = [q for text in received("okx") for q in on_message(adapter, text, 1)]
    assert {q.symbol for q in quotes} == {"BTC-USDT"}
    # The futures and swap frames (tickers, trades, snapshots, updates) are not ours.
    assert adapter.errors == Counter({"unknown_market": 2 + 2 + 2 + 57 + 52})


def test_every_recorded_line_never_raises_and_unreadable_ones_are_counted() -> None:
    events = list(ws_events("okx"))
    assert Counter(e.kind for e in events) == Counter({"open": 1, "sent": 3, "recv": 244})
    adapter = OkxAdapter(OkxAdapter.parse_markets(rest_body("okx", "instType=SPOT")))
    for event in events:
        on_message(adapter, event.payload, 1)
    # Our own subscribe requests have no `arg`/`event`: counted as bad fields.
    assert adapter.errors["bad_json"] == 1 and adapter.errors["bad_field"] == 3
    lines = (RECORDED_DIR / "okx.ws.txt").read_text(encoding="utf-8").splitlines()
    whole = OkxAdapter([])
    for line in lines:
        assert on_message(whole, line, 1) == []
    assert whole.errors == Counter({"bad_json": len(lines)}) and len(lines) == 248
