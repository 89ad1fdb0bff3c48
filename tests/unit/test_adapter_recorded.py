"""Bitstamp and Kraken adapters against real recorded traffic (tests/fixtures/recorded/)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import on_message, reconnect_reason
from tests.support.recorded import (
    RECORDED_DIR,
    received,
    rest_body,
    rest_responses,
    ws_events,
    ws_files,
)
from workers.exchanges.base import Adapter
from workers.exchanges.bitstamp import BitstampAdapter
from workers.exchanges.kraken import KrakenAdapter

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def bitstamp_markets() -> list[Market]:
    return BitstampAdapter.parse_markets(rest_body("bitstamp", "trading-pairs-info"))


@pytest.fixture(scope="module")
def kraken_markets() -> list[Market]:
    return KrakenAdapter.parse_markets(rest_body("kraken", "AssetPairs"))


# --- the reader ----------------------------------------------------------------------------


def test_recordings_are_there_and_readable() -> None:
    names = {path.name for path in ws_files()}
    assert {"bitstamp.ws.txt", "coinbase.ws.txt", "okx.ws.txt"} <= names
    events = list(ws_events("bitstamp"))
    assert events[0].kind == "open" and events[0].time == 1641343690.598303
    assert events[1] == ("sent", 1641343691.067583,
                         '{"event":"bts:subscribe","data":{"channel":"diff_order_book_sgbeur"}}')
    assert Counter(e.kind for e in events) == Counter({"open": 1, "sent": 20, "recv": 439})
    # The recorder's own `configuration:` line is not a response.
    assert [r.url for r in rest_responses("kraken")] == [
        "https://api.kraken.com/0/public/AssetPairs"
    ]
    assert RECORDED_DIR.is_dir()


# --- parse_markets on the real listings ----------------------------------------------------


def test_bitstamp_markets_from_recorded_listing(bitstamp_markets: list[Market]) -> None:
    by_native = {m.native: m for m in bitstamp_markets}
    assert len(bitstamp_markets) == len(by_native) > 100
    assert by_native["btcusd"] == Market("BTC-USD", "btcusd", "BTC", "USD")
    assert by_native["ethusd"] == Market("ETH-USD", "ethusd", "ETH", "USD")
    assert by_native["usdteur"] == Market("USDT-EUR", "usdteur", "USDT", "EUR")
    assert all(m.native.islower() and m.native.isalnum() for m in bitstamp_markets)
    assert all(m.symbol == f"{m.base}-{m.quote}" for m in bitstamp_markets)


def test_bitstamp_disabled_pairs_are_excluded() -> None:
    listing = rest_body("bitstamp", "trading-pairs-info")
    enabled = len(BitstampAdapter.parse_markets(listing))
    # The 2022 recording has every pair enabled; disable two of them.
    for item in listing:
        if item["url_symbol"] in ("btcusd", "xrpeur"):
            item["trading"] = "Disabled"
    natives = {m.native for m in BitstampAdapter.parse_markets(listing)}
    assert len(natives) == enabled - 2
    assert "btcusd" not in natives and "xrpeur" not in natives and "btceur" in natives


def test_kraken_markets_from_recorded_listing(kraken_markets: list[Market]) -> None:
    by_native = {m.native: m for m in kraken_markets}
    assert len(kraken_markets) == len(by_native) > 250
    assert by_native["BTC/USD"] == Market("BTC-USD", "BTC/USD", "BTC", "USD")
    assert by_native["DOGE/USD"] == Market("DOGE-USD", "DOGE/USD", "DOGE", "USD")
    assert by_native["ETH/BTC"] == Market("ETH-BTC", "ETH/BTC", "ETH", "BTC")
    assert by_native["AAVE/AUD"].symbol == "AAVE-AUD"
    # v2 rejects v1 codes: none may survive into a native or a symbol.
    assert not [m for m in kraken_markets if "XBT" in m.native + m.symbol]
    assert not [m for m in kraken_markets if "XDG" in m.native + m.symbol]
    # Dark-pool `.d` pairs (no wsname) are excluded; the recording has 11 of them, one per
    # normal pair, so excluding them leaves no duplicates either.
    listing = rest_body("kraken", "AssetPairs")["result"]
    dark = [key for key in listing if key.endswith(".d")]
    assert len(dark) == 11 and all("wsname" not in listing[key] for key in dark)
    with_wsname = [v["wsname"] for v in listing.values() if "wsname" in v]
    # The one dropped wsname is not a clean BASE/QUOTE pair.
    assert len(kraken_markets) == len(with_wsname) - 1
    assert "ETH2.S/ETH" in with_wsname


# --- bitstamp recorded websocket session ---------------------------------------------------


def test_bitstamp_recorded_session(bitstamp_markets: list[Market]) -> None:
    adapter = BitstampAdapter(bitstamp_markets)
    frames = [json.loads(text) for text in received("bitstamp")]
    quotes = [q for text in received("bitstamp") for q in on_message(adapter, text, 1)]
    assert quotes == []  # diff books are not followed yet, and trades emit nothing
    diffs = sum(1 for f in frames
                if f["event"] == "data" and f["channel"].startswith("diff_order_book_"))
    acks = sum(1 for f in frames if f["event"] == "bts:subscription_succeeded")
    trades = sum(1 for f in frames if f["event"] == "trade")
    assert (acks, trades, len(frames)) == (20, 3, diffs + 23)
    assert diffs > 400
    assert adapter.errors == Counter({"unknown_channel": diffs})
    assert reconnect_reason(adapter) is None
    # The last recorded ethusd trade (price_str "3802.89") is now the market's last price.
    book = {"event": "data", "channel": "order_book_ethusd",
            "data": {"microtimestamp": "1641343710000000", "bids": [["3802.00", "1.0"]],
                     "asks": [["3803.00", "2.0"]]}}
    (quote,) = on_message(adapter, json.dumps(book), 2)
    assert (quote.symbol, quote.last) == ("ETH-USD", 3802.89)
    # No other market saw a trade.
    book["channel"] = "order_book_sgbeur"
    (quote,) = on_message(adapter, json.dumps(book), 3)
    assert (quote.symbol, quote.last) == ("SGB-EUR", None)


def test_bitstamp_recorded_book_snapshots_as_order_book_frames(
    bitstamp_markets: list[Market],
) -> None:
    """Real REST book snapshots, wrapped as `order_book_*` frames (same `data` shape)."""
    adapter = BitstampAdapter(bitstamp_markets)
    seen = 0
    for response in rest_responses(RECORDED_DIR / "bitstamp.http.txt"):
        native = response.url.rstrip("/").rsplit("/", 1)[1]
        frame = {"data": response.body, "channel": f"order_book_{native}", "event": "data"}
        (quote,) = on_message(adapter, json.dumps(frame), 5)
        body = response.body
        assert quote.bid == float(body["bids"][0][0]) and quote.ask == float(body["asks"][0][0])
        assert quote.bid_size == float(body["bids"][0][1])
        assert quote.ask_size == float(body["asks"][0][1])
        assert quote.ts_exchange_ns == int(body["microtimestamp"]) * 1000
        assert quote.bid < quote.ask
        seen += 1
    assert seen == 10
    assert not adapter.errors
    ethusd = next(r.body for r in rest_responses(RECORDED_DIR / "bitstamp.http.txt")
                  if r.url.endswith("ethusd"))
    assert ethusd["bids"][0] == ["3802.90", "0.60000000"]


# --- every recorded frame of every venue, through both adapters ----------------------------


def _adapters(bitstamp_markets: list[Market], kraken_markets: list[Market]) -> list[Adapter]:
    return [BitstampAdapter(bitstamp_markets), KrakenAdapter(kraken_markets)]


@pytest.mark.parametrize("path", ws_files(), ids=lambda p: p.name)
def test_every_recorded_frame_never_raises(
    path: Path, bitstamp_markets: list[Market], kraken_markets: list[Market]
) -> None:
    texts = [event.payload for event in ws_events(path)]
    assert len(texts) > 100
    for adapter in _adapters(bitstamp_markets, kraken_markets):
        quotes: list[Quote] = []
        for text in texts:
            quotes += on_message(adapter, text, 1)
        assert all(isinstance(q, Quote) for q in quotes)
        assert reconnect_reason(adapter) is None
        if path.name.split(".")[0] != adapter.name:
            # Another venue's traffic is never mistaken for ours: no quote, and its data frames
            # counted (a foreign control frame may read as an ack: bitFlyer's JSON-RPC
            # `{"method": "subscribe"}` looks like a Kraken one, and asks for nothing).
            assert quotes == []
            assert sum(adapter.errors.values()) > len(texts) // 2, adapter.errors
        # Foreign shapes land in the generic reasons (e.g. Bitfinex's `{"event": "subscribed",
        # "channel": "ticker"}` is a Kraken-looking ticker frame without `type`: bad_field).
        assert set(adapter.errors) <= {
            "bad_json", "not_object", "unknown_event", "unknown_channel", "bad_field"
        }


@pytest.mark.parametrize("path", ws_files(), ids=lambda p: p.name)
def test_every_whole_recorded_line_is_counted_as_bad_json(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    for adapter in (BitstampAdapter([]), KrakenAdapter([])):
        for line in lines:
            assert on_message(adapter, line, 1) == []
        # A timestamp prefix or URL makes no line valid JSON as a whole.
        assert adapter.errors == Counter({"bad_json": len(lines)})
