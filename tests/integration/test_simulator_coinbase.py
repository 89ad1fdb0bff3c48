"""The simulator speaks the Coinbase Exchange feed: acks, errors, snapshots and l2updates,
tickers, matches, heartbeats, sequences, the 5 s subscribe rule, REST, and exact counts."""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
import websocket

from core.types import Market, Quote
from tests.support import simulator as sh
from workers.exchanges.coinbase import CoinbaseAdapter

pytestmark = pytest.mark.integration

ISO_US = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
DECIMAL = re.compile(r"^\d+\.\d+$")
PRODUCTS = ["BTC-USD", "ETH-USD"]
MARKETS = [Market(p, p, *p.split("-")) for p in PRODUCTS]


@pytest.fixture(scope="module")
def sim() -> Iterator[sh.SimProcess]:
    yield from sh.serve("--exchanges", "coinbase", "--symbols", "BTC-USD,ETH-USD,BTC-USDT",
                      "--rate", "100")


def subscribe(ws: websocket.WebSocket, products: list[str], channels: list[Any],
              kind: str = "subscribe") -> None:
    ws.send(json.dumps({"type": kind, "product_ids": products, "channels": channels}))


def of_type(kind: str, product: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f.get("type") == kind and (product is None or f.get("product_id") == product)


# --- protocol ------------------------------------------------------------------------------


def test_partial_failure_then_ack_snapshots_and_updates(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("coinbase")) as ws:
        subscribe(ws, ["BTC-USD", "FOO-USD"], ["level2_batch",
                                               {"name": "heartbeat", "product_ids": ["ETH-USD"]}])
        got = sh.collect(ws, 5, of_type("subscriptions"))
        assert got[0] == {"type": "error", "message": "Failed to subscribe",
                          "reason": "FOO-USD is not a valid product"}
        assert got[-1] == {"type": "subscriptions", "channels": [
            {"name": "level2_batch", "product_ids": ["BTC-USD"]},
            {"name": "heartbeat", "product_ids": ["ETH-USD"]}]}
        snap = sh.wait_frame(ws, of_type("snapshot"))
        assert list(snap) == ["type", "product_id", "asks", "bids"]  # as recorded, no time
        assert snap["product_id"] == "BTC-USD"
        update = sh.wait_frame(ws, of_type("l2update"))
        assert set(update) == {"type", "product_id", "changes", "time"}
        assert ISO_US.match(update["time"])
        for side, price, size in update["changes"]:
            assert side in ("buy", "sell") and DECIMAL.match(price) and DECIMAL.match(size)
        beat = sh.wait_frame(ws, of_type("heartbeat"), 3)
        assert beat["product_id"] == "ETH-USD" and set(beat) == {
            "type", "last_trade_id", "product_id", "sequence", "time"}
        assert isinstance(beat["sequence"], int) and isinstance(beat["last_trade_id"], int)
        # Only BTC-USD book updates and ETH-USD heartbeats: nothing else was asked for.
        kinds = {(f["type"], f.get("product_id")) for f in sh.collect(ws, 1.5)}
        assert kinds <= {("l2update", "BTC-USD"), ("heartbeat", "ETH-USD")}


@pytest.mark.parametrize(("request_text", "reason"), [
    ("not json", "malformed JSON"),
    ('{"type": "subscribed", "channels": ["ticker"]}',
     "type has to be either subscribe or unsubscribe"),
    ('["subscribe"]', "type has to be either subscribe or unsubscribe"),
    ('{"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["level2"]}',
     "level2, level3, and full channels now require authentication."),
    ('{"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["full"]}',
     "level2, level3, and full channels now require authentication."),
    ('{"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["candles"]}',
     "candles is not a valid channel"),
    ('{"type": "subscribe", "channels": ["ticker"]}', "No product ids provided for channel ticker"),
    ('{"type": "subscribe", "product_ids": ["BTC-USD"], "channels": []}',
     "malformed subscription request"),
    ('{"type": "subscribe", "product_ids": ["btc-usd"], "channels": ["ticker"]}',
     "btc-usd is not a valid product"),
])
def test_errors(sim: sh.SimProcess, request_text: str, reason: str) -> None:
    with sh.connected(sim.ws_url("coinbase")) as ws:
        ws.send(request_text)
        got = sh.collect(ws, 1.0)
        assert got == [{"type": "error", "message": "Failed to subscribe", "reason": reason}]


def test_a_connection_that_never_subscribes_is_closed_after_5_s(sim: sh.SimProcess) -> None:
    ws = sh.connect(sim.ws_url("coinbase"))
    started = time.monotonic()
    try:
        ws.settimeout(8)
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                if ws.recv() == "":  # the close frame
                    raise websocket.WebSocketConnectionClosedException()
        assert 4.5 <= time.monotonic() - started <= 7.5
    finally:
        ws.close()


def test_tickers_matches_and_pushes_on_subscribe(sim: sh.SimProcess) -> None:
    ws = sh.connect(sim.ws_url("coinbase"))
    late = None
    try:
        subscribe(ws, ["ETH-USD"], ["level2_batch", "ticker", "matches"])
        tick = sh.wait_frame(ws, of_type("ticker"), 10)
        assert set(tick) == {"type", "sequence", "product_id", "price", "open_24h", "volume_24h",
                             "low_24h", "high_24h", "volume_30d", "best_bid", "best_bid_size",
                             "best_ask", "best_ask_size", "side", "time", "trade_id",
                             "last_size"}
        assert tick["side"] in ("buy", "sell") and ISO_US.match(tick["time"])
        assert isinstance(tick["sequence"], int) and isinstance(tick["trade_id"], int)
        trade_price = tick["best_ask"] if tick["side"] == "buy" else tick["best_bid"]
        assert Decimal(tick["price"]) == Decimal(trade_price)
        match = sh.wait_frame(ws, lambda f: f.get("type") == "match"
                      and f["trade_id"] == tick["trade_id"])
        # The match's side is the maker's: the opposite of the ticker's taker side.
        assert {match["side"], tick["side"]} == {"buy", "sell"}
        assert (match["price"], match["sequence"]) == (tick["price"], tick["sequence"])
        # A new subscriber gets the latest trade at once: ticker and last_match.
        late = sh.connect(sim.ws_url("coinbase"))
        subscribe(late, ["ETH-USD"], ["ticker", "matches"])
        got = sh.collect(late, 2, of_type("last_match"))
        assert [f["type"] for f in got[:3]] == ["subscriptions", "ticker", "last_match"]
        assert got[1]["trade_id"] == got[2]["trade_id"] >= tick["trade_id"]
    finally:
        ws.close()
        if late is not None:
            late.close()


def test_unsubscribe_acks_the_rest(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("coinbase")) as ws:
        subscribe(ws, ["BTC-USD", "ETH-USD"], ["level2_batch"])
        sh.wait_frame(ws, of_type("l2update", "ETH-USD"))
        subscribe(ws, ["ETH-USD"], ["level2_batch"], kind="unsubscribe")
        ack = sh.wait_frame(ws, of_type("subscriptions"))
        assert ack["channels"] == [{"name": "level2_batch", "product_ids": ["BTC-USD"]}]
        sh.collect(ws, 0.3)  # what was already on its way
        assert {f["product_id"] for f in sh.collect(ws, 1.0)} == {"BTC-USD"}


def test_heartbeat_sequences_rise_and_the_gap_fault_moves_them_back(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("coinbase")) as ws:
        subscribe(ws, PRODUCTS, ["heartbeat", "level2_batch"])
        seen: dict[str, list[int]] = defaultdict(list)
        for frame in sh.collect(ws, 2.2):
            if frame["type"] == "heartbeat":
                seen[frame["product_id"]].append(frame["sequence"])
        assert set(seen) == set(PRODUCTS)
        for sequences in seen.values():
            assert len(sequences) >= 2 and sequences == sorted(sequences)
            assert sequences[-1] > sequences[0]  # changes moved them meanwhile
        assert sim.control("coinbase", "gap").json()["action"] == "gap"
        after: dict[str, int] = {}
        for frame in sh.collect(ws, 2.5):
            if frame["type"] == "heartbeat" and frame["product_id"] not in after:
                after[frame["product_id"]] = frame["sequence"]
        assert set(after) == set(PRODUCTS)
        assert all(after[p] < seen[p][-1] for p in PRODUCTS)
        assert sim.control("coinbase", "bad_checksum").status_code == 400


def test_reconnect_sends_the_slow_consumer_error_and_closes(sim: sh.SimProcess) -> None:
    with sh.connected(sim.ws_url("coinbase")) as ws:
        subscribe(ws, ["BTC-USD"], ["heartbeat"])
        sh.wait_frame(ws, of_type("subscriptions"))
        assert sim.control("coinbase", "reconnect").json()["notified"] >= 1
        sh.wait_frame(ws, lambda f: f == {"type": "error", "message": "ErrSlowConsume"})
        ws.settimeout(3)
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                if ws.recv() == "":
                    raise websocket.WebSocketConnectionClosedException()


def test_rest_products(sim: sh.SimProcess) -> None:
    body = requests.get(f"{sim.http}/coinbase/products", timeout=5).json()
    ids = [p["id"] for p in body]
    assert ids[:3] == ["BTC-USD", "ETH-USD", "BTC-USDT"] and len(ids) == 5  # + 2 extras
    btc = body[0]
    assert btc["base_currency"] == "BTC" and btc["quote_currency"] == "USD"
    assert btc["display_name"] == "BTC/USD" and btc["quote_increment"] == "0.01"
    assert btc["status"] == "online" and btc["trading_disabled"] is False
    # The recorded 2021 listing has these keys; the simulated one has them all.
    assert {"base_min_size", "base_increment", "min_market_funds", "post_only", "limit_only",
            "cancel_only", "status_message", "margin_enabled"} <= set(btc)
    markets = CoinbaseAdapter.parse_markets(body)
    assert [m.symbol for m in markets] == ids


# --- exact counts --------------------------------------------------------------------------


@pytest.mark.parametrize("rate", ["200", "0"])
def test_count_is_exact_and_the_adapter_quotes_each_change_once(rate: str) -> None:
    sim = sh.SimProcess("--exchanges", "coinbase", "--symbols", "BTC-USD,ETH-USD",
                     "--count", "300", "--rate", rate).start()
    ws = sh.connect(sim.ws_url("coinbase"))
    try:
        subscribe(ws, PRODUCTS, ["level2_batch", "ticker", "heartbeat"])
        updates = 0

        def enough(frame: dict[str, Any]) -> bool:
            nonlocal updates
            updates += frame["type"] == "l2update"
            return updates >= 300

        received = sh.collect_texts(ws, 10, lambda t: enough(json.loads(t)))
        # A ticker may follow the last change; after it, only heartbeats.
        received += sh.collect_texts(ws, 1.2)
        decoded = [json.loads(t) for t in received]
        kinds = Counter(f["type"] for f in decoded)
        assert kinds["l2update"] == 300 and kinds["snapshot"] == 2
        # A fresh simulator has no book before the first change: the snapshots are empty.
        assert [(f["bids"], f["asks"]) for f in decoded if f["type"] == "snapshot"] == [
            ([], []), ([], [])]
        stats = sim.stats()["emitted"]["coinbase"]
        per_product = Counter(f["product_id"] for f in decoded if f["type"] == "l2update")
        assert per_product == stats and sum(stats.values()) == 300
        # Independently: every update moves its product's top, and times strictly rise.
        books: dict[str, tuple[dict[Decimal, str], dict[Decimal, str]]] = {
            p: ({}, {}) for p in PRODUCTS}
        tops: dict[str, tuple[Any, ...]] = {}
        times: dict[str, str] = {}
        expected = []
        for frame in decoded:
            if frame["type"] != "l2update":
                continue
            product = frame["product_id"]
            for side, price, size in frame["changes"]:
                levels = books[product][0 if side == "buy" else 1]
                if Decimal(size) == 0:
                    del levels[Decimal(price)]
                else:
                    levels[Decimal(price)] = size
            bids, asks = books[product]
            top = (max(bids), Decimal(bids[max(bids)]), min(asks), Decimal(asks[min(asks)]))
            assert top[0] < top[2] and top != tops.get(product)
            assert frame["time"] > times.get(product, "")
            tops[product], times[product] = top, frame["time"]
            expected.append((product, *map(float, top)))
        # The adapter reads the same frames: exactly one quote per change, nothing unread.
        adapter = CoinbaseAdapter(MARKETS)
        quotes = [q for n, text in enumerate(received) for q in adapter.on_message(text, n)]
        assert len(quotes) == 300
        assert [(q.symbol, q.bid, q.bid_size, q.ask, q.ask_size) for q in quotes] == expected
        assert all(q.ts_exchange_ns is not None for q in quotes)
        for product in PRODUCTS:
            stamps = [q.ts_exchange_ns for q in quotes if q.symbol == product]
            assert stamps == sorted(set(stamps))  # strictly rising: distinct InfluxDB points
        assert not adapter.errors and all(type(q) is Quote for q in quotes)  # no Reconnect
        assert sim.stats()["emitted"]["coinbase"] == stats  # nothing more after the count
    finally:
        ws.close()
        assert sim.stop() == 0, sim.output()
