"""Bitfinex v2 adapter: made-up frames in every documented shape, bad input, markets, requests,
and a replay of the real recorded session checked against an independent little book."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import last_error, on_connect, on_message, reconnect_reason
from tests.support.frames import by_name
from tests.support.recorded import RECORDED_DIR, received, rest_body, rest_responses, ws_events
from workers.exchanges.bitfinex import (
    CONF_FLAGS,
    BitfinexAdapter,
    book_checksum,
    js_number,
)

pytestmark = pytest.mark.unit

BTC_USD = Market(symbol="BTC-USD", native="tBTCUSD", base="BTC", quote="USD")
BTC_USDT = Market(symbol="BTC-USDT", native="tBTCUST", base="BTC", quote="USDT")
RECEIVED_NS = 1_767_225_601_300_000_000
BOOK, DEEP, TRADES, TICKER = 17, 18, 19, 20  # channel ids the fixture's acks hand out


class Session:
    """An adapter after the greeting, `conf` and four acks, plus a sequence-numbered sender."""

    def __init__(self) -> None:
        self.adapter = BitfinexAdapter([BTC_USD, BTC_USDT])
        self.seq = 0
        for event in (
            {"event": "info", "version": 2, "serverId": "5b0c8d3e-1f2a-4c3b-9d8e-7a6b5c4d3e2f",
             "platform": {"status": 1}},
            {"event": "conf", "status": "OK", "flags": CONF_FLAGS},
            ack("book", BOOK, "tBTCUSD", length="1"),
            ack("book", DEEP, "tBTCUST", length="25"),
            ack("trades", TRADES, "tBTCUSD"),
            ack("ticker", TICKER, "tBTCUSD"),
        ):
            assert on_message(self.adapter, json.dumps(event), 1) == []
        assert not self.adapter.errors

    def send(self, chan: int, *body: Any, received_ns: int = RECEIVED_NS) -> list[Quote]:
        """`[chan, *body, seq]` with the next sequence number."""
        self.seq += 1
        return on_message(self.adapter, json.dumps([chan, *body, self.seq]), received_ns)

    def text(self, chan: int, *body: Any) -> str:
        """The next frame's text without sending it."""
        self.seq += 1
        return json.dumps([chan, *body, self.seq])


def ack(channel: str, chan_id: int, symbol: str, length: str | None = None) -> dict[str, Any]:
    """A `subscribed` ack in the documented shape."""
    body: dict[str, Any] = {"event": "subscribed", "channel": channel, "chanId": chan_id,
                            "symbol": symbol}
    if channel == "book":
        body.update({"prec": "P0", "freq": "F0", "len": length or "25"})
    body["pair"] = symbol[1:]
    return body


SNAPSHOT = [[64010.0, 2, 0.5], [64011.5, 1, -1.25]]


def quote(bid: float = 64010.0, bid_size: float = 0.5, ask: float = 64011.5,
          ask_size: float = 1.25, last: float | None = None, symbol: str = "BTC-USD",
          received_ns: int = RECEIVED_NS) -> Quote:
    return Quote("bitfinex", symbol, bid, bid_size, ask, ask_size, last, None, received_ns)


@pytest.fixture()
def session() -> Session:
    return Session()


def test_subscribe_messages_conf_first_then_one_book_per_market() -> None:
    frames = [json.loads(f) for f in BitfinexAdapter([BTC_USD, BTC_USDT]).subscribe_messages()]
    assert frames == [
        {"event": "conf", "flags": 196608},
        {"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "prec": "P0",
         "freq": "F0", "len": "1"},
        {"event": "subscribe", "channel": "book", "symbol": "tBTCUST", "prec": "P0",
         "freq": "F0", "len": "1"},
    ]
    assert CONF_FLAGS == 65536 | 131072
    markets = [Market(f"C{i}-USD", f"tC{i}:USD", f"C{i}", "USD") for i in range(25)]
    frames = BitfinexAdapter(markets).subscribe_messages()
    # One channel per market: 25 markets are 25 subscriptions, the per-connection cap.
    assert len(frames) == 1 + 25 and all(len(f) < 200 for f in frames)
    assert BitfinexAdapter([]).subscribe_messages() == ['{"event":"conf","flags":196608}']


def test_ping_ids_increment() -> None:
    adapter = BitfinexAdapter([BTC_USD])
    first = json.loads(adapter.ping_message() or "")
    second = json.loads(adapter.ping_message() or "")
    assert first == {"event": "ping", "cid": first["cid"]}
    assert second["cid"] == first["cid"] + 1


# --- parse_markets -------------------------------------------------------------------------


def test_parse_markets_on_the_recorded_pair_list() -> None:
    listing = rest_body("bitfinex", "pair:exchange")
    markets = BitfinexAdapter.parse_markets(listing)
    by_native = {m.native: m for m in markets}
    # Every recorded entry is a clean pair: none is dropped.
    assert len(markets) == len(by_native) == len(listing[0]) == 293
    assert by_native["tBTCUST"] == Market("BTC-USDT", "tBTCUST", "BTC", "USDT")
    assert by_native["tBTCUSD"] == Market("BTC-USD", "tBTCUSD", "BTC", "USD")
    assert by_native["tETHBTC"] == Market("ETH-BTC", "tETHBTC", "ETH", "BTC")
    assert by_native["tAAVE:UST"] == Market("AAVE-USDT", "tAAVE:UST", "AAVE", "USDT")
    assert by_native["tUST:CNHT"] == Market("USDT-CNHT", "tUST:CNHT", "USDT", "CNHT")
    assert by_native["tBCHN:USD"] == Market("BCH-USD", "tBCHN:USD", "BCH", "USD")
    assert by_native["tTESTBTC:TESTUSD"].symbol == "TESTBTC-TESTUSD"
    # `DOG` is not Dogecoin on Bitfinex (its 2021 price was ~280,000 USD): no alias.
    assert by_native["tDOGUSD"].symbol == "DOG-USD"
    # UST never survives into a symbol; USD and USDT stay apart.
    assert not [m for m in markets if "UST" in (m.base, m.quote)]
    assert by_native["tETHUSD"].symbol != by_native["tETHUST"].symbol


def test_parse_markets_on_the_other_recorded_lists() -> None:
    # The currency list and the futures list are lists of lists too; they parse without error.
    for response in rest_responses("bitfinex"):
        assert isinstance(BitfinexAdapter.parse_markets(response.body), list)


def test_parse_markets_skips_odd_entries() -> None:
    payload = [["BTCUSD", "BTCUST", "AVAX:UST", "btcusd", "BTCUS", "A:B:C", "BTC:", ":USD",
                "BT-USD", 7, None, ["BTCUSD"], "ÄÖÜUSD", "BTCUSD"]]
    assert BitfinexAdapter.parse_markets(payload) == [
        Market("BTC-USD", "tBTCUSD", "BTC", "USD"),
        Market("BTC-USDT", "tBTCUST", "BTC", "USDT"),
        Market("AVAX-USDT", "tAVAX:UST", "AVAX", "USDT"),
    ]


@pytest.mark.parametrize(
    "payload", [None, {}, "BTCUSD", [], ["BTCUSD"], [["BTCUSD"], ["ETHUSD"]],
                ["error", 10020, "symbol: invalid"]])
def test_parse_markets_rejects_a_malformed_payload(payload: Any) -> None:
    with pytest.raises(ValueError):
        BitfinexAdapter.parse_markets(payload)


# --- number text and checksum --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(64010.0, "64010"), (60400, "60400"), (0.5, "0.5"), (2.516e-05, "0.00002516"),
     (1e-06, "0.000001"), (1e-07, "1e-7"), (1.5e-07, "1.5e-7"), (-0.00426663, "-0.00426663"),
     (1.7023900800000002, "1.7023900800000002"), (1e21, "1e+21"), (1.5e21, "1.5e+21"),
     (1e20, "100000000000000000000"), (1.2345678901234568e20, "123456789012345680000"),
     (0.0, "0"), (-1.0, "-1")],
)
def test_js_number_spells_numbers_as_javascript_does(value: float, text: str) -> None:
    assert js_number(float(value)) == text


def signed_crc(text: str) -> int:
    crc = zlib.crc32(text.encode())
    return crc - 2**32 if crc >= 2**31 else crc


def test_checksum_interleaves_bids_and_asks_with_negative_ask_amounts(session: Session) -> None:
    session.send(DEEP, [[64010, 1, 0.5], [64009.5, 2, 1.25], [64008, 1, 2.516e-05],
                        [64012, 3, -0.75], [64013.5, 1, -3]])
    book = session.adapter.books["tBTCUST"]
    text = "64010:0.5:64012:-0.75:64009.5:1.25:64013.5:-3:64008:0.00002516"
    assert book_checksum(book) == signed_crc(text)
    assert session.send(DEEP, "cs", signed_crc(text)) == []
    assert not session.adapter.errors and reconnect_reason(session.adapter) is None


def test_checksum_covers_at_most_25_levels(session: Session) -> None:
    bids = [[64000 - i, 1, 1] for i in range(30)]
    asks = [[64100 + i, 1, -2] for i in range(30)]
    session.send(DEEP, bids + asks)
    parts = []
    for i in range(25):
        parts += [str(64000 - i), "1", str(64100 + i), "-2"]
    assert session.send(DEEP, "cs", signed_crc(":".join(parts))) == []
    assert not session.adapter.errors


def test_checksum_mismatch_asks_for_reconnect(session: Session) -> None:
    session.send(BOOK, SNAPSHOT)
    good = signed_crc("64010:0.5:64011.5:-1.25")
    assert session.send(BOOK, "cs", good) == []
    assert reconnect_reason(session.adapter) is None
    assert session.send(BOOK, "cs", good + 1) == []
    assert reconnect_reason(session.adapter) == "checksum_mismatch"
    assert session.adapter.errors == Counter({"checksum_mismatch": 1})


def test_checksum_of_an_empty_book_is_zero(session: Session) -> None:
    assert session.send(BOOK, []) == []
    assert session.send(BOOK, "cs", 0) == []
    assert not session.adapter.errors and reconnect_reason(session.adapter) is None


# --- book ----------------------------------------------------------------------------------


def test_snapshot_gives_exact_quote(session: Session) -> None:
    assert session.send(BOOK, SNAPSHOT) == [quote()]
    assert not session.adapter.errors


def test_updates_emit_only_when_the_top_changes(session: Session) -> None:
    assert session.send(BOOK, SNAPSHOT, received_ns=1) == [quote(received_ns=1)]
    assert session.send(BOOK, [64010.0, 3, 0.5], received_ns=2) == []  # count only
    assert session.send(BOOK, [64010.0, 3, 0.75], received_ns=3) == [
        quote(bid_size=0.75, received_ns=3)]
    # Delete the best ask: one side empty, nothing to report.
    assert session.send(BOOK, [64011.5, 0, -1], received_ns=4) == []
    assert session.send(BOOK, [64011.0, 1, -2], received_ns=5) == [
        quote(bid_size=0.75, ask=64011.0, ask_size=2.0, received_ns=5)]
    # The deeper book of another market: a level behind the top changes nothing there.
    assert session.send(DEEP, [[100.0, 1, 1.0], [99.0, 1, 1.0], [101.0, 1, -1.0]],
                        received_ns=6) == [quote(100.0, 1.0, 101.0, 1.0, symbol="BTC-USDT",
                                                 received_ns=6)]
    assert session.send(DEEP, [99.0, 2, 4.0], received_ns=7) == []
    assert session.send(DEEP, [100.0, 0, 1], received_ns=8) == [
        quote(99.0, 4.0, 101.0, 1.0, symbol="BTC-USDT", received_ns=8)]
    assert not session.adapter.errors


def test_len_1_book_drops_the_level_pushed_out_of_it(session: Session) -> None:
    session.send(BOOK, SNAPSHOT)
    # A better bid arrives; the venue keeps one level, so the old best bid is gone for us too.
    assert session.send(BOOK, [64010.5, 1, 0.1]) == [quote(bid=64010.5, bid_size=0.1)]
    # When that bid goes, the side is empty: never the stale 64010 level.
    assert session.send(BOOK, [64010.5, 0, 1]) == []
    assert session.adapter.books["tBTCUSD"].bids.best() is None
    assert session.send(BOOK, "cs", signed_crc("64011.5:-1.25")) == []
    assert not session.adapter.errors


def test_empty_snapshot_then_levels(session: Session) -> None:
    assert session.send(BOOK, []) == []
    assert session.send(BOOK, [64010.0, 2, 0.5]) == []  # no ask yet
    assert session.send(BOOK, [64011.5, 1, -1.25]) == [quote()]


def test_a_new_snapshot_replaces_the_book(session: Session) -> None:
    session.send(BOOK, SNAPSHOT)
    (q,) = session.send(BOOK, [[63000.0, 1, 1.0], [63001.0, 1, -1.0]])
    assert (q.bid, q.ask) == (63000.0, 63001.0)
    assert len(session.adapter.books["tBTCUSD"].bids) == 1


def test_crossed_book_is_counted_not_emitted(session: Session) -> None:
    session.send(BOOK, SNAPSHOT)
    assert session.send(BOOK, [64012.0, 1, 0.3]) == []  # bid above the ask
    assert session.adapter.errors == Counter({"crossed_book": 1})
    assert reconnect_reason(session.adapter) is None


def test_last_comes_from_trades_and_ticker(session: Session) -> None:
    # Trades snapshot: newest first; the newest by time (then id) is the last.
    session.send(TRADES, [[1002, 1767225600500, 0.1, 64011.0], [1001, 1767225600400, -0.2,
                                                                  64009.0]])
    assert session.send(BOOK, SNAPSHOT) == [quote(last=64011.0)]
    session.send(TRADES, "te", [1003, 1767225600600, -0.05, 64010.0])
    (q,) = session.send(BOOK, [64010.0, 2, 0.45])
    assert q.last == 64010.0
    # A late `tu` of an older trade never moves `last` back.
    session.send(TRADES, "tu", [1002, 1767225600500, 0.1, 64011.0])
    session.send(TRADES, "tu", [1003, 1767225600600, -0.05, 64010.0])
    (q,) = session.send(BOOK, [64010.0, 2, 0.4])
    assert q.last == 64010.0
    # A ticker moves `last` but is never a quote of its own (sizes are 25-level sums).
    ticker = [64010.0, 12.84739201, 64011.5, 9.51230045, 712.0, 0.0112, 64011.25,
              2512.44129876, 64550.0, 63100.0]
    assert session.send(TICKER, ticker) == []
    (q,) = session.send(BOOK, [64010.0, 2, 0.35])
    assert (q.last, q.bid_size) == (64011.25, 0.35)
    assert not session.adapter.errors


def test_ticker_with_appended_fields_is_read(session: Session) -> None:
    ticker = [64010.0, 12.8, 64011.5, 9.5, 712.0, 0.0112, 64011.0, 2512.4, 64550.0, 63100.0,
              None]
    assert session.send(TICKER, ticker) == []
    assert not session.adapter.errors and session.adapter._last["tBTCUSD"] == 64011.0


# --- sequence numbers ----------------------------------------------------------------------


def test_every_array_frame_carries_the_next_sequence_number(session: Session) -> None:
    session.send(BOOK, SNAPSHOT)
    session.send(BOOK, "hb")
    session.send(TRADES, "hb")
    session.send(BOOK, [64010.0, 2, 0.4])
    session.send(BOOK, "cs", signed_crc("64010:0.4:64011.5:-1.25"))
    assert not session.adapter.errors and reconnect_reason(session.adapter) is None


def test_sequence_gap_asks_for_reconnect(session: Session) -> None:
    session.send(BOOK, SNAPSHOT)
    session.seq += 1  # one frame lost
    assert session.send(BOOK, [64010.0, 2, 0.4]) == []
    assert reconnect_reason(session.adapter) == "sequence_gap"
    assert session.adapter.errors == Counter({"sequence_gap": 1})


def test_repeated_sequence_number_is_a_gap_too(session: Session) -> None:
    session.send(BOOK, SNAPSHOT)
    session.seq -= 1
    assert session.send(BOOK, "hb") == []
    assert reconnect_reason(session.adapter) == "sequence_gap"


def test_heartbeat_of_a_channel_not_acked_yet_still_counts_in_the_sequence(
    session: Session,
) -> None:
    # As recorded: `hb` for a channel whose ack comes later. Not an error, but sequenced.
    assert session.send(999, "hb") == []
    session.seq += 1
    session.send(BOOK, "hb")
    assert reconnect_reason(session.adapter) == "sequence_gap"


def test_frames_without_sequence_numbers_are_read(session: Session) -> None:
    # Without SEQ_ALL (conf refused) frames carry no sequence number.
    adapter = session.adapter
    assert on_message(adapter, json.dumps([BOOK, SNAPSHOT]), RECEIVED_NS) == [quote()]
    assert on_message(adapter, json.dumps([BOOK, "hb"]), 1) == []
    assert on_message(adapter, json.dumps([BOOK, "cs", signed_crc("64010:0.5:64011.5:-1.25")]),
                              1) == []
    assert not adapter.errors and reconnect_reason(adapter) is None


def test_on_connect_resets_channels_books_sequence_and_tops(session: Session) -> None:
    session.send(BOOK, SNAPSHOT)
    on_message(session.adapter,
        json.dumps({"event": "info", "code": 20051, "msg": "Stopping"}), 1)
    on_connect(session.adapter)
    assert reconnect_reason(session.adapter) is None
    # The old channel id means nothing on the new connection (and data on it asks for a new
    # one, as it would mean a lost ack).
    assert on_message(session.adapter, json.dumps([BOOK, SNAPSHOT, 1]), 2) == []
    assert session.adapter.errors == Counter({"unknown_channel": 1})
    assert reconnect_reason(session.adapter) == "unknown_channel"
    on_connect(session.adapter)
    # A new connection numbers from 1 again; the same top goes out again (new connection).
    on_message(session.adapter, json.dumps(ack("book", 40, "tBTCUSD", length="1")), 3)
    assert on_message(session.adapter, json.dumps([40, SNAPSHOT, 2]), RECEIVED_NS) == [quote()]
    assert reconnect_reason(session.adapter) is None


# --- events --------------------------------------------------------------------------------


QUIET = {
    "greeting": {"event": "info", "version": 2, "serverId": "x", "platform": {"status": 1}},
    "conf ok": {"event": "conf", "status": "OK", "flags": 196608},
    "pong": {"event": "pong", "ts": 1767225600123, "cid": 1234},
    "subscribed": ack("book", 77, "tBTCUSD", length="1"),
    "subscribed other": ack("ticker", 78, "tETHUSD"),
    "unsubscribed": {"event": "unsubscribed", "status": "OK", "chanId": 77},
    "info other code": {"event": "info", "code": 20000, "msg": "something"},
}


@pytest.mark.parametrize("frame", list(QUIET.values()), ids=list(QUIET))
def test_quiet_events(frame: dict[str, Any]) -> None:
    adapter = BitfinexAdapter([BTC_USD])
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert not adapter.errors and reconnect_reason(adapter) is None


def test_unsubscribed_channel_is_forgotten(session: Session) -> None:
    on_message(session.adapter, json.dumps({"event": "unsubscribed", "status": "OK",
                                           "chanId": BOOK}), 1)
    assert session.send(BOOK, SNAPSHOT) == []
    assert session.adapter.errors == Counter({"unknown_channel": 1})
    assert reconnect_reason(session.adapter) == "unknown_channel"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [({"event": "info", "code": 20051, "msg": "Stopping. Please try to reconnect"}, "info_20051"),
     ({"event": "info", "code": 20061, "msg": "Maintenance ended"}, "info_20061"),
     ({"event": "info", "version": 2, "serverId": "x", "platform": {"status": 0}},
      "maintenance")],
)
def test_venue_asks_for_reconnect(frame: dict[str, Any], reason: str) -> None:
    adapter = BitfinexAdapter([BTC_USD])
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert reconnect_reason(adapter) == reason
    assert not adapter.errors


def test_maintenance_start_pauses_without_reconnect(session: Session) -> None:
    frame = {"event": "info", "code": 20060, "msg": "Entering maintenance mode"}
    assert on_message(session.adapter, json.dumps(frame), 1) == []
    assert session.adapter.maintenance and reconnect_reason(session.adapter) is None
    on_message(session.adapter, json.dumps({"event": "info", "code": 20061, "msg": "end"}), 2)
    assert not session.adapter.maintenance
    assert reconnect_reason(session.adapter) == "info_20061"


@pytest.mark.parametrize(
    "frame",
    [{"event": "error", "msg": "symbol: invalid", "code": 10300, "channel": "book",
      "symbol": "tFOOUSD", "pair": "FOOUSD"},
     {"event": "error", "msg": "subscribe: dup", "code": 10301, "channel": "book",
      "chanId": 17, "symbol": "tBTCUSD", "pair": "BTCUSD"},
     {"event": "error", "msg": "subscribe: limit", "code": 10305},
     {"event": "error", "msg": "Unknown event", "code": 10000}],
)
def test_error_events_are_counted_with_their_text(frame: dict[str, Any]) -> None:
    adapter = BitfinexAdapter([BTC_USD])
    assert on_message(adapter, json.dumps(frame), 1) == []
    assert adapter.errors == Counter({"venue_error": 1})
    assert last_error(adapter) == f"{frame['code']} {frame['msg']}"
    assert reconnect_reason(adapter) is None


def test_failed_conf_is_counted() -> None:
    adapter = BitfinexAdapter([BTC_USD])
    assert on_message(adapter, '{"event":"conf","status":"FAILED","flags":196608}', 1) == []
    assert adapter.errors == Counter({"venue_error": 1})
    assert last_error(adapter) is not None and "FAILED" in last_error(adapter)


# --- bad input -----------------------------------------------------------------------------


def frame(*items: Any) -> str:
    return json.dumps(list(items))


BAD_FRAMES: list[tuple[str, str, str]] = [
    ("empty array", "[]", "bad_field"),
    ("only chan", frame(BOOK), "bad_field"),
    ("chan string", frame("17", SNAPSHOT, 1), "bad_field"),
    ("chan bool", frame(True, SNAPSHOT, 1), "bad_field"),
    ("unknown marker", frame(BOOK, "xx", 1), "unknown_event"),
    ("seq string", frame(BOOK, SNAPSHOT, "1"), "bad_field"),
    ("seq float", frame(BOOK, SNAPSHOT, 1.0), "bad_field"),
    ("unknown channel", frame(555, SNAPSHOT, 1), "unknown_channel"),
    ("unknown market", frame(21, SNAPSHOT, 1), "unknown_market"),
    ("raw book channel", frame(22, [[123456789, 64010.0, 0.5]], 1), "unknown_channel"),
    ("book body number", frame(BOOK, 5, 1), "bad_field"),
    ("book body object", frame(BOOK, {"a": 1}, 1), "bad_field"),
    ("level short", frame(BOOK, [64010.0, 1], 1), "bad_field"),
    ("level long", frame(BOOK, [64010.0, 1, 0.5, 9], 1), "bad_field"),
    ("snapshot level short", frame(BOOK, [[64010.0, 1, 0.5], [64011.0, 1]], 1), "bad_field"),
    ("price string", frame(BOOK, ["64010.0", 1, 0.5], 1), "bad_field"),
    ("price null", frame(BOOK, [None, 1, 0.5], 1), "bad_field"),
    ("price bool", frame(BOOK, [True, 1, 0.5], 1), "bad_field"),
    ("price NaN", "[17, [NaN, 1, 0.5], 1]", "bad_field"),
    ("price Infinity", "[17, [Infinity, 1, 0.5], 1]", "bad_field"),
    ("price negative", frame(BOOK, [-64010.0, 1, 0.5], 1), "bad_field"),
    ("price zero", frame(BOOK, [0, 1, 0.5], 1), "bad_field"),
    ("count negative", frame(BOOK, [64010.0, -1, 0.5], 1), "bad_field"),
    ("count float", frame(BOOK, [64010.0, 1.0, 0.5], 1), "bad_field"),
    ("amount zero", frame(BOOK, [64010.0, 1, 0], 1), "bad_field"),
    ("amount NaN", "[17, [64010.0, 1, NaN], 1]", "bad_field"),
    ("amount string", frame(BOOK, [64010.0, 1, "0.5"], 1), "bad_field"),
    ("trade on book", frame(BOOK, "te", [1, 1767225600000, 0.1, 64010.0], 1), "bad_field"),
    ("cs not int", frame(BOOK, "cs", "123", 1), "bad_field"),
    ("cs missing", frame(BOOK, "cs"), "bad_field"),
    ("cs on trades", frame(TRADES, "cs", 0, 1), "bad_field"),
    ("trade short", frame(TRADES, "te", [1, 1767225600000, 0.1], 1), "bad_field"),
    ("trade price string", frame(TRADES, "te", [1, 1767225600000, 0.1, "1"], 1), "bad_field"),
    ("trade mts float", frame(TRADES, "te", [1, 1767225600000.5, 0.1, 1.0], 1), "bad_field"),
    ("trades body number", frame(TRADES, 3, 1), "bad_field"),
    ("ticker short", frame(TICKER, [64010.0, 1.0, 64011.0, 1.0], 1), "bad_field"),
    ("ticker bid string", frame(TICKER, ["64010", 1, 64011, 1, 0, 0, 64010, 1, 1, 1], 1),
     "bad_field"),
    ("ticker last negative", frame(TICKER, [64010, 1, 64011, 1, 0, 0, -5, 1, 1, 1], 1),
     "bad_field"),
    ("ticker marker", frame(TICKER, "te", [1, 1, 1, 1], 1), "bad_field"),
    ("no event", '{"channel": "book"}', "unknown_event"),
    ("unknown event", '{"event": "frobnicate"}', "unknown_event"),
    ("subscribed no chanId", '{"event": "subscribed", "channel": "book", "symbol": "tBTCUSD"}',
     "bad_field"),
    ("subscribed chanId string",
     '{"event": "subscribed", "channel": "book", "chanId": "5", "symbol": "tBTCUSD"}',
     "bad_field"),
    ("subscribed symbol list",
     '{"event": "subscribed", "channel": "book", "chanId": 5, "symbol": ["tBTCUSD"]}',
     "bad_field"),
    ("subscribed len junk",
     '{"event": "subscribed", "channel": "book", "chanId": 5, "symbol": "tBTCUSD", "len": "x"}',
     "bad_field"),
    ("info code string", '{"event": "info", "code": "20051"}', "bad_field"),
    ("info platform junk", '{"event": "info", "version": 2, "platform": {"status": "1"}}',
     "bad_field"),
    ("unsubscribed chanId list", '{"event": "unsubscribed", "chanId": [1]}', "bad_field"),
]


@pytest.fixture()
def fresh() -> BitfinexAdapter:
    """An adapter that knows channels 17-20 and 21 (not followed) and 22 (a raw book)."""
    adapter = Session().adapter
    on_message(adapter, json.dumps(ack("book", 21, "tETHUSD")), 1)
    raw = {**ack("book", 22, "tBTCUSD"), "prec": "R0"}
    on_message(adapter, json.dumps(raw), 1)
    assert not adapter.errors
    return adapter


@by_name(BAD_FRAMES)
def test_bad_frames_are_counted_by_reason(fresh: BitfinexAdapter, text: str,
                                          reason: str) -> None:
    assert on_message(fresh, text, 1) == []
    assert fresh.errors == Counter({reason: 1})
    # Data on a channel id never acked means the channel map is out of step: resubscribe.
    lost_ack = text == frame(555, SNAPSHOT, 1)
    assert reconnect_reason(fresh) == ("unknown_channel" if lost_ack else None)
    # The adapter is still usable and no half-parsed level was kept.
    on_connect(fresh)
    on_message(fresh, json.dumps(ack("book", BOOK, "tBTCUSD", length="1")), 2)
    assert on_message(fresh, frame(BOOK, SNAPSHOT), RECEIVED_NS) == [quote()]


def test_a_bad_level_in_a_snapshot_leaves_the_book_untouched(session: Session) -> None:
    session.send(BOOK, SNAPSHOT)
    assert session.send(BOOK, [[1.0, 1, 1.0], [2.0, 1, "x"]]) == []
    assert session.adapter.books["tBTCUSD"].top() == (64010.0, 0.5, 64011.5, 1.25)


# --- the recorded session ------------------------------------------------------------------


class IndependentBooks:
    """The test's own reading of the recorded frames: dicts, sorted on demand."""

    def __init__(self) -> None:
        self.channels: dict[int, tuple[str, str]] = {}
        self.bids: dict[int, dict[float, float]] = {}
        self.asks: dict[int, dict[float, float]] = {}
        self.last: dict[str, float] = {}
        self.newest_trade: dict[str, tuple[int, int]] = {}
        self.emitted: dict[str, tuple[float, float, float, float]] = {}

    def read(self, msg: Any) -> tuple[str, tuple[float, float, float, float]] | None:
        """(symbol, top) when this frame changes a book's top, else None."""
        if isinstance(msg, dict):
            if msg.get("event") == "subscribed":
                self.channels[msg["chanId"]] = (msg["channel"], msg["symbol"])
            return None
        chan, body = msg[0], msg[1]
        if body == "hb":
            return None
        kind, symbol = self.channels[chan]
        if kind == "ticker":
            self.last[symbol] = body[6]
        elif kind == "trades":
            trades = [body[2]] if body in ("te", "tu") else body
            for trade_id, mts, _, price in trades:
                if (mts, trade_id) >= self.newest_trade.get(symbol, (0, 0)):
                    self.newest_trade[symbol] = (mts, trade_id)
                    self.last[symbol] = price
        else:
            levels = body if not body or isinstance(body[0], list) else [body]
            if levels is body:
                self.bids[chan], self.asks[chan] = {}, {}
            for price, count, amount in levels:
                side = self.bids[chan] if amount > 0 else self.asks[chan]
                if count == 0:
                    side.pop(price, None)
                else:
                    side[price] = abs(amount)
            if self.bids[chan] and self.asks[chan]:
                bid = max(self.bids[chan])
                ask = min(self.asks[chan])
                top = (bid, self.bids[chan][bid], ask, self.asks[chan][ask])
                if bid < ask and self.emitted.get(symbol) != top:
                    self.emitted[symbol] = top
                    return symbol, top
        return None


def test_recorded_session_matches_an_independent_book() -> None:
    markets = BitfinexAdapter.parse_markets(rest_body("bitfinex", "pair:exchange"))
    by_native = {m.native: m for m in markets}
    adapter = BitfinexAdapter(markets)
    independent = IndependentBooks()
    expected: list[Quote] = []
    got: list[Quote] = []
    unreadable = 0
    frames = list(received("bitfinex"))
    for index, text in enumerate(frames):
        got += on_message(adapter, text, index)
        try:
            msg = json.loads(text)
        except ValueError:
            unreadable += 1
            continue
        change = independent.read(msg)
        if change is not None:
            native, top = change
            expected.append(Quote("bitfinex", by_native[native].symbol, *top,
                                  independent.last.get(native), None, index))
    assert got == expected
    assert len(got) == 284 and len({q.symbol for q in got}) == 7
    assert {q.symbol for q in got} >= {"DOG-USD", "IOT-ETH", "MNA-BTC", "TESTBTC-TESTUSD"}
    # Every sequence number followed the previous one (984 of them), nothing was unreadable.
    assert adapter._next_seq == 985
    assert sum(adapter.errors.values()) == unreadable == 0
    assert reconnect_reason(adapter) is None
    # Quotes carry the trade/ticker price seen last before them (a real one, not None).
    assert all(q.last is not None for q in got)


def test_recorded_session_with_a_frame_dropped_is_a_sequence_gap() -> None:
    markets = BitfinexAdapter.parse_markets(rest_body("bitfinex", "pair:exchange"))
    adapter = BitfinexAdapter(markets)
    frames = list(received("bitfinex"))
    del frames[500]
    for text in frames:
        on_message(adapter, text, 1)
        if reconnect_reason(adapter):
            break
    assert reconnect_reason(adapter) == "sequence_gap"
    assert adapter.errors == Counter({"sequence_gap": 1})


def test_every_recorded_line_never_raises_and_unreadable_ones_are_counted() -> None:
    adapter = BitfinexAdapter(BitfinexAdapter.parse_markets(rest_body("bitfinex",
                                                                      "pair:exchange")))
    events = list(ws_events("bitfinex"))
    assert Counter(e.kind for e in events) == Counter({"open": 1, "sent": 22, "recv": 1007})
    # The frames we sent (subscribe/conf requests) are not frames a venue sends back.
    for event in events:
        on_message(adapter, event.payload, 1)
    assert adapter.errors == Counter({"bad_json": 1, "unknown_event": 21, "venue_error": 1})
    # Whole lines (timestamp prefix included) are never JSON.
    lines = (RECORDED_DIR / "bitfinex.ws.txt").read_text(encoding="utf-8").splitlines()
    whole = BitfinexAdapter([])
    for line in lines:
        assert on_message(whole, line, 1) == []
    assert whole.errors == Counter({"bad_json": len(lines)}) and len(lines) == 1030
