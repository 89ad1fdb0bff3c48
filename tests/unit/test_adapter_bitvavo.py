"""Bitvavo v2 adapter: frames written from the documented shapes (made-up values; no recording
exists): the listing, `ticker` quotes, errors, and the `book` path seeded from REST snapshots
with consecutive nonces, replayed against an independent little book."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from core.types import Market, Quote
from workers.exchanges.bitvavo import BitvavoAdapter
from workers.exchanges.events import Reconnect, RestRequest, VenueError

pytestmark = pytest.mark.unit

BTC = Market("BTC-EUR", "BTC-EUR", "BTC", "EUR")
ETH = Market("ETH-EUR", "ETH-EUR", "ETH", "EUR")
BOOK_URL = "https://api.bitvavo.com/v2/BTC-EUR/book?depth=1000"


def ticker(market: str = "BTC-EUR", **fields: Any) -> str:
    body = {"event": "ticker", "market": market, "bestBid": "64010.15", "bestBidSize": "0.25",
            "bestAsk": "64012.40", "bestAskSize": "0.05", "lastPrice": "64011"}
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not ...})


def book(nonce: Any, bids: list[list[str]], asks: list[list[str]], market: str = "BTC-EUR"
         ) -> str:
    return json.dumps({"event": "book", "market": market, "nonce": nonce, "bids": bids,
                       "asks": asks, "timestamp": 1767225600482})


def snapshot(nonce: int, bids: list[list[str]], asks: list[list[str]],
             market: str = "BTC-EUR") -> str:
    return json.dumps({"market": market, "nonce": nonce, "bids": bids, "asks": asks,
                       "timestamp": 1767225600482})


def quotes(events: list[Any]) -> list[Quote]:
    return [e for e in events if type(e) is Quote]


def tops(events: list[Any]) -> list[tuple[float, float, float, float]]:
    return [(q.bid, q.bid_size, q.ask, q.ask_size) for q in quotes(events)]


@pytest.fixture()
def adapter() -> BitvavoAdapter:
    return BitvavoAdapter([BTC, ETH])


@pytest.fixture()
def books() -> BitvavoAdapter:
    """The book path, subscribed: BTC-EUR's snapshot has been asked for."""
    adapter = BitvavoAdapter([BTC, ETH], book=True)
    confirm = '{"event": "subscribed", "subscriptions": {"book": ["BTC-EUR"]}}'
    assert adapter.on_message(confirm, 1) == [RestRequest(BOOK_URL)]
    return adapter


SNAP_BIDS, SNAP_ASKS = [["64010.15", "0.25"], ["64009", "1.1"]], [["64012.4", "0.05"]]


# --- the class, subscribing --------------------------------------------------------------


def test_subscribe_frames_name_one_channel(adapter: BitvavoAdapter) -> None:
    assert [json.loads(f) for f in adapter.subscribe_messages()] == [{
        "action": "subscribe", "channels": [{"name": "ticker", "markets": ["BTC-EUR",
                                                                           "ETH-EUR"]}]}]
    (frame,) = BitvavoAdapter([BTC], book=True).subscribe_messages()
    assert json.loads(frame)["channels"] == [{"name": "book", "markets": ["BTC-EUR"]}]


def test_subscribe_frames_chunk_at_100_markets() -> None:
    markets = [Market(f"C{i}-EUR", f"C{i}-EUR", f"C{i}", "EUR") for i in range(201)]
    frames = [json.loads(f) for f in BitvavoAdapter(markets).subscribe_messages()]
    assert [len(f["channels"][0]["markets"]) for f in frames] == [100, 100, 1]


# --- the listing -----------------------------------------------------------------------------


def test_listing_keeps_trading_markets() -> None:
    def row(market: str, base: Any, quote: Any, status: str = "trading") -> dict[str, Any]:
        return {"market": market, "status": status, "base": base, "quote": quote,
                "minOrderInQuoteAsset": "5"}
    payload = [row("BTC-EUR", "BTC", "EUR"), row("LUNA-EUR", "LUNA", "EUR", "halted"),
               row("ETH-EUR", "ETH", "EUR"), row("XRP-EUR", "XRP", "USDC"),
               row("ADA-EUR", None, "EUR"), {"market": "DOT-EUR"}, "not an object",
               row("BTC-EUR", "BTC", "EUR")]
    assert BitvavoAdapter.parse_markets(payload) == [BTC, ETH]


@pytest.mark.parametrize("payload", [{}, {"markets": []}, None, "BTC-EUR"])
def test_a_payload_that_is_no_listing_is_a_value_error(payload: Any) -> None:
    with pytest.raises(ValueError):
        BitvavoAdapter.parse_markets(payload)


# --- the ticker path -------------------------------------------------------------------------


def test_ticker_gives_a_quote_when_the_top_changes(adapter: BitvavoAdapter) -> None:
    (q,) = quotes(adapter.on_message(ticker(), 7))
    assert q == Quote("bitvavo", "BTC-EUR", 64010.15, 0.25, 64012.4, 0.05, 64011.0, None, 7)
    assert adapter.on_message(ticker(lastPrice="64012"), 8) == []
    assert tops(adapter.on_message(ticker(bestAskSize="0.5"), 9)) == [
        (64010.15, 0.25, 64012.4, 0.5)]
    assert not adapter.errors


def test_a_partial_ticker_updates_the_fields_it_names(adapter: BitvavoAdapter) -> None:
    assert adapter.on_message(ticker(bestAsk=..., bestAskSize=...), 1) == []  # no ask yet
    (q,) = quotes(adapter.on_message(ticker(bestBid=..., bestBidSize=..., lastPrice=...), 2))
    assert (q.bid, q.ask, q.last) == (64010.15, 64012.4, 64011.0)
    assert tops(adapter.on_message(json.dumps(
        {"event": "ticker", "market": "BTC-EUR", "bestBid": "64011"}), 3)) == [
        (64011.0, 0.25, 64012.4, 0.05)]


@pytest.mark.parametrize(("text", "reason"), [
    (ticker(bestBid="64013"), "crossed_book"),
    (ticker(market="DOGE-EUR"), "unknown_market"),
    (ticker(bestBid=64010.15), "bad_field"),
    (ticker(bestAskSize="0"), "bad_field"),
    (book(5, [], []), "unknown_channel"),
    ('{"event": "candle", "market": "BTC-EUR"}', "unknown_event"),
    ('{"event": "subscribed", "subscriptions": []}', "bad_field"),
    ("[]", "not_object"),
    ("}", "bad_json"),
])
def test_unusable_frames_are_counted(adapter: BitvavoAdapter, text: str, reason: str) -> None:
    events = adapter.on_message(text, 1)
    assert not events and dict(adapter.errors) == {reason: 1}


def test_errors_and_confirmations(adapter: BitvavoAdapter) -> None:
    error = '{"event": "error", "action": "subscribe", "errorCode": 205, "error": "bad market"}'
    assert adapter.on_message(error, 1) == [VenueError("205 bad market")]
    old_style = '{"action": "subscribe", "errorCode": 203, "error": "markets is required"}'
    assert adapter.on_message(old_style, 1) == [VenueError("203 markets is required")]
    assert adapter.errors == {"venue_error": 2}
    for event in ("subscribed", "unsubscribed"):
        text = json.dumps({"event": event, "subscriptions": {"ticker": ["BTC-EUR"]}})
        assert adapter.on_message(text, 1) == []


# --- the book path ---------------------------------------------------------------------------


def test_snapshot_joins_the_waiting_deltas(books: BitvavoAdapter) -> None:
    assert books.on_message(book(99, [["1", "1"]], []), 1) == []  # older than the snapshot
    assert books.on_message(book(101, [["64011", "0.3"]], []), 2) == []  # held
    (q,) = quotes(books.on_rest(BOOK_URL, snapshot(100, SNAP_BIDS, SNAP_ASKS), 3))
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.ts_exchange_ns) == (
        64011.0, 0.3, 64012.4, 0.05, None)
    assert tops(books.on_message(book(102, [], [["64012.4", "0"], ["64013", "2"]]), 4)) == [
        (64011.0, 0.3, 64013.0, 2.0)]
    assert not books.errors


def test_a_skipped_nonce_refetches_that_market(books: BitvavoAdapter) -> None:
    books.on_rest(BOOK_URL, snapshot(100, SNAP_BIDS, SNAP_ASKS), 1)
    assert quotes(books.on_message(book(101, [["64011", "1"]], []), 2))
    assert books.on_message(book(103, [["64011.5", "1"]], []), 3) == [RestRequest(BOOK_URL)]
    assert books.errors == {"sequence_gap": 1}
    # Held until the new snapshot; then the book is what the snapshot and deltas say.
    assert books.on_message(book(104, [], [["64012.4", "0.07"]]), 4) == []
    assert tops(books.on_rest(BOOK_URL, snapshot(103, [["64011.5", "1"]], SNAP_ASKS), 5)) == [
        (64011.5, 1.0, 64012.4, 0.07)]


def test_a_nonce_going_back_after_joining_resyncs(books: BitvavoAdapter) -> None:
    books.on_rest(BOOK_URL, snapshot(100, SNAP_BIDS, SNAP_ASKS), 1)
    books.on_message(book(101, [["64011", "1"]], []), 2)
    assert books.on_message(book(3, [["64011", "2"]], []), 3) == [RestRequest(BOOK_URL)]
    assert books.errors == {"sequence_gap": 1}


def test_a_snapshot_too_old_is_fetched_again_then_gives_up(books: BitvavoAdapter) -> None:
    for attempt in range(3):
        books.on_message(book(200 + attempt * 10, [["64011", "1"]], []), 1)
        events = books.on_rest(BOOK_URL, snapshot(100, SNAP_BIDS, SNAP_ASKS), 2)
        expected = [Reconnect("sequence_gap")] if attempt == 2 else [RestRequest(BOOK_URL)]
        assert events == expected
    assert books.errors == {"sequence_gap": 3}


def test_a_delta_for_an_unasked_market_starts_its_snapshot(books: BitvavoAdapter) -> None:
    eth = "https://api.bitvavo.com/v2/ETH-EUR/book?depth=1000"
    assert books.on_message(book(7, [["3200", "1"]], [], "ETH-EUR"), 1) == [RestRequest(eth)]
    assert books.on_message(book(8, [["3201", "1"]], [], "ETH-EUR"), 2) == []


@pytest.mark.parametrize(("url", "body", "reason"), [
    (BOOK_URL, snapshot(1, [["0", "1"]], SNAP_ASKS), "bad_snapshot"),
    (BOOK_URL, '{"market": "BTC-EUR", "nonce": "1", "bids": [], "asks": []}', "bad_snapshot"),
    (BOOK_URL, snapshot(1, SNAP_BIDS, SNAP_ASKS, market="ETH-EUR"), "unexpected_rest"),
    ("https://api.bitvavo.com/v2/ETH-EUR/book", snapshot(1, SNAP_BIDS, SNAP_ASKS),
     "unexpected_rest"),
    (BOOK_URL, "<html>", "bad_json"),
])
def test_unusable_snapshots_are_counted(books: BitvavoAdapter, url: str, body: str,
                                        reason: str) -> None:
    assert books.on_rest(url, body, 1) == []
    assert books.errors == {reason: 1}


def test_an_error_body_ends_the_connection(books: BitvavoAdapter) -> None:
    body = '{"errorCode": 105, "error": "Your IP or API key has been banned."}'
    assert books.on_rest(BOOK_URL, body, 1) == [
        VenueError("105 Your IP or API key has been banned."), Reconnect("rest_error")]


def test_on_the_book_path_the_ticker_only_gives_last(books: BitvavoAdapter) -> None:
    assert books.on_message(ticker(lastPrice="64000"), 1) == []
    (q,) = quotes(books.on_rest(BOOK_URL, snapshot(100, SNAP_BIDS, SNAP_ASKS), 2))
    assert q.last == 64000.0 and q.bid == 64010.15


def test_a_new_connection_starts_the_books_over(books: BitvavoAdapter) -> None:
    books.on_rest(BOOK_URL, snapshot(100, SNAP_BIDS, SNAP_ASKS), 1)
    books.on_connect()
    assert books.on_rest(BOOK_URL, snapshot(100, SNAP_BIDS, SNAP_ASKS), 2) == []
    assert books.errors == {"unexpected_rest": 1}


# --- a twin session on the book path, against an independent book -----------------------


class IndependentBook:
    """The test's own reading of one market: a snapshot, then every later nonce in order."""

    def __init__(self) -> None:
        self.held: list[dict[str, Any]] = []
        self.sides: tuple[dict[float, float], dict[float, float]] | None = None
        self.nonce = 0
        self.tops: list[tuple[float, float, float, float]] = []

    def delta(self, msg: dict[str, Any]) -> None:
        if self.sides is None:
            self.held.append(msg)
            return
        if msg["nonce"] <= self.nonce:
            return
        assert msg["nonce"] == self.nonce + 1
        self.nonce = msg["nonce"]
        for side, key in zip(self.sides, ("bids", "asks"), strict=True):
            for price, size in msg[key]:
                if float(size) == 0:
                    side.pop(float(price), None)
                else:
                    side[float(price)] = float(size)
        self.note()

    def snapshot(self, body: dict[str, Any]) -> None:
        self.sides = ({float(p): float(s) for p, s in body["bids"]},
                      {float(p): float(s) for p, s in body["asks"]})
        self.nonce = body["nonce"]
        self.note()
        for msg in self.held:
            self.delta(msg)

    def note(self) -> None:
        assert self.sides is not None
        bids, asks = self.sides
        if bids and asks:
            top = (max(bids), bids[max(bids)], min(asks), asks[min(asks)])
            if not self.tops or self.tops[-1] != top:
                self.tops.append(top)


def test_twin_book_session_matches_an_independent_book() -> None:
    from simulator.client import Client
    from simulator.prices import Market as SimMarket
    from simulator.venues.bitvavo import BitvavoVenue

    symbols = ["BTC-EUR", "ETH-EUR"]
    venue = BitvavoVenue(symbols, SimMarket(["bitvavo"], symbols, 3), 3)
    frames: list[str] = []

    class Capture(Client):
        def push(self, text: str) -> None:  # type: ignore[override]
            frames.append(text)

    client = Capture(None)  # type: ignore[arg-type]
    adapter = BitvavoAdapter([BTC, ETH], book=True)
    routes = venue.query_routes()
    mine = {s: IndependentBook() for s in symbols}
    got: dict[str, list[tuple[float, float, float, float]]] = {s: [] for s in symbols}
    pending: list[str] = []

    def feed(events: list[Any]) -> None:
        for q in quotes(events):
            got[q.symbol].append((q.bid, q.bid_size, q.ask, q.ask_size))
        pending.extend(e.url for e in events if type(e) is RestRequest)

    async def subscribe() -> None:
        venue.attach(client)
        await venue.on_open(client)
        for text in adapter.subscribe_messages():
            await venue.on_text(client, text)

    asyncio.run(subscribe())
    now_us = 1_767_225_600_000_000
    for step in range(600):
        for text in frames:
            feed(adapter.on_message(text, 1))
            msg = json.loads(text)
            if msg.get("event") == "book":
                mine[msg["market"]].delta(msg)
        frames.clear()
        if step % 25 == 24:  # the snapshots answer a while after they were asked for
            for url in pending[:]:
                pending.remove(url)
                symbol = url.split("/")[-2]
                body = routes[f"/{symbol}/book"]({"depth": "1000"})
                mine[symbol].snapshot(body)  # type: ignore[arg-type]
                feed(adapter.on_rest(url, json.dumps(body), 1))
        now_us += 250
        symbol = symbols[step % 2]
        frames.extend(text for text, recipients in venue.emit(symbol, now_us)
                      if client in recipients)
    assert all(len(got[s]) > 200 for s in symbols)
    assert got == {s: mine[s].tops for s in symbols}
    assert not adapter.errors and not pending
