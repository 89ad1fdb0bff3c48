"""Book depth from real recorded traffic: every Depth an adapter emits equals the best levels of
a book kept independently in this test, exactly when those levels change, and nothing changes
about the quotes (tests/fixtures/recorded/)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal

import pytest

from core.types import Depth, Market, Quote
from tests.support.adapter_events import on_message, seed_diff_book, take_depth
from tests.support.recorded import RECORDED_DIR, received, rest_body, rest_responses, ws_events
from workers.exchanges.base import Adapter
from workers.exchanges.bitstamp import BitstampAdapter
from workers.exchanges.coinbase import CoinbaseAdapter
from workers.exchanges.gemini import GeminiAdapter
from workers.exchanges.okx import OkxAdapter

pytestmark = pytest.mark.unit

N = 10
Levels = tuple[tuple[float, float], ...]


class DictBook:
    """The test's own book: Decimal price → size text per side, best levels found by sorting."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, str] = {}
        self.asks: dict[Decimal, str] = {}

    def set(self, is_bid: bool, price: str, size: str) -> None:
        side = self.bids if is_bid else self.asks
        if Decimal(size) == 0:
            side.pop(Decimal(price), None)
        else:
            side[Decimal(price)] = size

    def load(self, bids: Iterable[list[str]], asks: Iterable[list[str]]) -> None:
        self.bids, self.asks = {}, {}
        for price, size, *_ in bids:
            self.set(True, price, size)
        for price, size, *_ in asks:
            self.set(False, price, size)

    def best(self) -> tuple[Levels, Levels] | None:
        """The best N levels per side, or None when the book is one-sided or crossed."""
        if not self.bids or not self.asks or max(self.bids) >= min(self.asks):
            return None
        bids = sorted(self.bids, reverse=True)[:N]
        asks = sorted(self.asks)[:N]
        return (tuple((float(p), float(self.bids[p])) for p in bids),
                tuple((float(p), float(self.asks[p])) for p in asks))


class Expect:
    """Which Depth the adapter owes after each frame: the book's levels when they changed."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.sent: dict[str, tuple[Levels, Levels]] = {}

    def after(self, key: str, symbol: str, book: DictBook, received_ns: int) -> list[Depth]:
        levels = book.best()
        if levels is None or self.sent.get(key) == levels:
            return []
        self.sent[key] = levels
        return [Depth(self.exchange, symbol, levels[0], levels[1], received_ns)]


def with_depth(cls: type[Adapter], markets: list[Market], levels: int) -> Adapter:
    adapter = cls(markets)
    adapter.depth_levels = levels
    return adapter


def replay(adapters: tuple[Adapter, Adapter], frames: Iterable[str],
           check: Callable[[int, str, list[Depth]], None]) -> tuple[list[Quote], list[Quote]]:
    """Feed every frame to an adapter without depth and one with it; `check` each frame's Depth.

    Returns both adapters' quotes, which must be the same: depth never changes a quote.
    """
    plain, deep = adapters
    quotes: tuple[list[Quote], list[Quote]] = ([], [])
    for number, text in enumerate(frames):
        quotes[0].extend(on_message(plain, text, number))
        assert take_depth(plain) == []
        quotes[1].extend(on_message(deep, text, number))
        check(number, text, take_depth(deep))
    return quotes


def test_coinbase_recorded_session_depth() -> None:
    markets = CoinbaseAdapter.parse_markets(rest_body("coinbase", "/products"))
    books: dict[str, DictBook] = {}
    expect = Expect("coinbase")
    emitted: list[Depth] = []

    def check(number: int, text: str, depths: list[Depth]) -> None:
        expected: list[Depth] = []
        if text.startswith("{"):
            msg = json.loads(text)
            product = msg.get("product_id")
            if msg["type"] == "snapshot":
                books[product] = DictBook()
                books[product].load(msg["bids"], msg["asks"])
            elif msg["type"] == "l2update":
                for side, price, size in msg["changes"]:
                    books[product].set(side == "buy", price, size)
            if msg["type"] in ("snapshot", "l2update"):
                expected = expect.after(product, product, books[product], number)
        assert depths == expected, (number, text[:200])
        emitted.extend(depths)

    frames = [event.payload for event in ws_events("coinbase")]
    plain, deep = replay((with_depth(CoinbaseAdapter, markets, 0),
                          with_depth(CoinbaseAdapter, markets, N)), frames, check)
    assert plain == deep and len(deep) > 900
    # Deeper levels move far more often than the top: many depths come without a quote.
    assert len(emitted) > len(deep) + 1000
    assert {len(d.bids) for d in emitted} == {N} and {len(d.asks) for d in emitted} == {N}
    # Each depth's best level is the top of book the quotes report.
    last_depth = {d.symbol: d for d in emitted}
    last_quote = {q.symbol: q for q in deep}
    for symbol, quote in last_quote.items():
        depth = last_depth[symbol]
        assert (depth.bids[0], depth.asks[0]) == ((quote.bid, quote.bid_size),
                                                  (quote.ask, quote.ask_size))


def test_gemini_recorded_session_depth() -> None:
    markets = GeminiAdapter.parse_markets(rest_body("gemini", "v1/symbols"))
    books: dict[str, DictBook] = {}
    expect = Expect("gemini")
    emitted: list[Depth] = []

    def check(number: int, text: str, depths: list[Depth]) -> None:
        expected: list[Depth] = []
        if text.startswith("{"):
            msg = json.loads(text)
            if msg["type"] == "l2_updates":
                symbol = msg["symbol"]
                if "trades" in msg:
                    books[symbol] = DictBook()
                for side, price, size in msg["changes"]:
                    books[symbol].set(side == "buy", price, size)
                normalized = f"{symbol[:-3]}-{symbol[-3:]}"  # every recorded quote is 3 letters
                expected = expect.after(symbol, normalized, books[symbol], number)
        assert depths == expected, (number, text[:200])
        emitted.extend(depths)

    frames = [event.payload for event in ws_events("gemini")]
    plain, deep = replay((with_depth(GeminiAdapter, markets, 0),
                          with_depth(GeminiAdapter, markets, N)), frames, check)
    assert plain == deep and len(deep) > 100
    assert len(emitted) > len(deep)
    assert max(len(d.bids) for d in emitted) == N


def test_bitstamp_recorded_diff_books_depth() -> None:
    markets = BitstampAdapter.parse_markets(rest_body("bitstamp", "trading-pairs-info"))
    symbol_of = {m.native: m.symbol for m in markets}
    snapshots = {r.url.rstrip("/").rsplit("/", 1)[1]: r.body
                 for r in rest_responses(RECORDED_DIR / "bitstamp.http.txt")}
    plain = with_depth(BitstampAdapter, markets, 0)
    deep = with_depth(BitstampAdapter, markets, N)
    books: dict[str, DictBook] = {}
    micros: dict[str, int] = {}
    expect = Expect("bitstamp")
    emitted: list[Depth] = []
    for native, body in snapshots.items():
        assert seed_diff_book(plain, native, body, 0) == seed_diff_book(deep, native, body, 0)
        books[native] = DictBook()
        books[native].load(body["bids"], body["asks"])
        micros[native] = int(body["microtimestamp"])
        expected = expect.after(native, symbol_of[native], books[native], 0)
        assert take_depth(deep) == expected and expected
        emitted += expected

    def check(number: int, text: str, depths: list[Depth]) -> None:
        msg = json.loads(text)
        expected: list[Depth] = []
        if msg["event"] == "data":
            native = msg["channel"].removeprefix("diff_order_book_")
            data = msg["data"]
            if int(data["microtimestamp"]) >= micros[native]:
                for price, size in data["bids"]:
                    books[native].set(True, price, size)
                for price, size in data["asks"]:
                    books[native].set(False, price, size)
                expected = expect.after(native, symbol_of[native], books[native], number)
        assert depths == expected, (number, text[:200])
        emitted.extend(depths)

    quotes = replay((plain, deep), list(received("bitstamp")), check)
    assert quotes[0] == quotes[1] and len(quotes[1]) == 77  # 87 with the 10 seed quotes
    assert len(emitted) > len(quotes[1]) + len(snapshots)


def test_bitstamp_recorded_snapshots_as_order_book_frames_depth() -> None:
    markets = BitstampAdapter.parse_markets(rest_body("bitstamp", "trading-pairs-info"))
    adapter = with_depth(BitstampAdapter, markets, N)
    seen = 0
    for number, response in enumerate(rest_responses(RECORDED_DIR / "bitstamp.http.txt")):
        native = response.url.rstrip("/").rsplit("/", 1)[1]
        frame = json.dumps({"data": response.body, "channel": f"order_book_{native}",
                            "event": "data"})
        book = DictBook()
        book.load(response.body["bids"], response.body["asks"])
        assert len(response.body["bids"]) > N  # the snapshot is deeper than what is kept
        (quote,) = on_message(adapter, frame, number)
        (depth,) = take_depth(adapter)
        assert (depth.bids, depth.asks) == book.best()
        assert (depth.exchange, depth.symbol, depth.ts_ns) == ("bitstamp", quote.symbol, number)
        # The same frame again: neither a quote nor a depth.
        assert on_message(adapter, frame, number + 100) == [] and take_depth(adapter) == []
        seen += 1
    assert seen == 10 and not adapter.errors


def test_okx_recorded_books_depth() -> None:
    markets = OkxAdapter.parse_markets(rest_body("okx", "instType=SPOT")) + [
        Market("BTC-USD-220527", "BTC-USD-220527", "BTC", "USD"),
        Market("UNI-USD-SWAP", "UNI-USD-SWAP", "UNI", "USD")]
    books: dict[str, DictBook] = {}
    expect = Expect("okx")
    emitted: list[Depth] = []

    def check(number: int, text: str, depths: list[Depth]) -> None:
        expected: list[Depth] = []
        try:
            msg = json.loads(text)
        except ValueError:
            msg = {}
        if msg.get("arg", {}).get("channel") == "books" and "data" in msg:
            inst = msg["arg"]["instId"]
            (item,) = msg["data"]
            if msg["action"] == "snapshot":
                books[inst] = DictBook()
            for side, levels in ((True, item["bids"]), (False, item["asks"])):
                for price, size, *_ in levels:
                    books[inst].set(side, price, size)
            expected = expect.after(inst, inst, books[inst], number)
        assert depths == expected, (number, text[:200])
        emitted.extend(depths)

    plain, deep = replay((with_depth(OkxAdapter, markets, 0), with_depth(OkxAdapter, markets, N)),
                         list(received("okx")), check)
    assert plain == deep
    assert {d.symbol for d in emitted} == {"BTC-USDT", "BTC-USD-220527", "UNI-USD-SWAP"}
    assert len(emitted) > 100
