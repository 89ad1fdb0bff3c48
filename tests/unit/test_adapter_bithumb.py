"""Bithumb's current public websocket: what differs from Upbit's wire (which
test_adapter_upbit.py runs for both venues). No recording exists: the frames here follow the
shapes Bithumb documents (DEFAULT keys, `level` 1, no `stream_type`), values made up."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.types import Market, Quote
from tests.support.adapter_events import on_message
from workers.exchanges.bithumb import BithumbAdapter

pytestmark = pytest.mark.unit

BTC_KRW = Market(symbol="BTC-KRW", native="KRW-BTC", base="BTC", quote="KRW")
ETH_BTC = Market(symbol="ETH-BTC", native="BTC-ETH", base="ETH", quote="BTC")
LISTING = [
    {"market": "KRW-BTC", "korean_name": "비트코인", "english_name": "Bitcoin",
     "market_warning": "NONE"},
    {"market": "KRW-ETH", "korean_name": "이더리움", "english_name": "Ethereum",
     "market_warning": "NONE"},
    {"market": "BTC-ETH", "korean_name": "이더리움", "english_name": "Ethereum",
     "market_warning": "CAUTION"},
]


def documented_book(units: list[dict[str, Any]], tms: int, code: str = "KRW-BTC") -> str:
    """An `orderbook` frame in Bithumb's documented DEFAULT shape."""
    return json.dumps({
        "type": "orderbook", "code": code, "timestamp": tms,
        "total_ask_size": sum(u["ask_size"] for u in units),
        "total_bid_size": sum(u["bid_size"] for u in units),
        "orderbook_units": units, "level": 1})


def unit(ask: float, ask_size: float, bid: float, bid_size: float) -> dict[str, float]:
    return {"ask_price": ask, "bid_price": bid, "ask_size": ask_size, "bid_size": bid_size}


def test_endpoints_and_keepalive() -> None:
    assert BithumbAdapter.ws_url == "wss://ws-api.bithumb.com/websocket/v1"
    assert BithumbAdapter.markets_url() == "https://api.bithumb.com/v1/market/all"
    adapter = BithumbAdapter([BTC_KRW])
    # Nothing app-level is documented for this endpoint: protocol pings only.
    assert adapter.ping_message() is None
    assert not BithumbAdapter.delta_books


def test_the_listing_is_quote_first_with_warnings_ignored() -> None:
    markets = BithumbAdapter.parse_markets(LISTING)
    assert [m.symbol for m in markets] == ["BTC-KRW", "ETH-KRW", "ETH-BTC"]
    assert markets[2] == ETH_BTC  # a market under a caution is still followed


def test_a_documented_session_quotes_each_change() -> None:
    adapter = BithumbAdapter([BTC_KRW, ETH_BTC])
    frames = [
        documented_book([unit(137_002_000.0, 0.0345, 137_000_000.0, 0.5),
                         unit(137_003_000.0, 1.2, 136_999_000.0, 0.04)], 1_767_225_600_100),
        json.dumps({"type": "trade", "code": "KRW-BTC", "trade_price": 137_001_000.0,
                    "trade_volume": 0.002, "ask_bid": "BID", "timestamp": 1_767_225_600_150}),
        # The best ask is taken: the next level is the top.
        documented_book([unit(137_003_000.0, 1.2, 137_000_000.0, 0.5)], 1_767_225_600_200),
        documented_book([unit(0.0312, 4.0, 0.0311, 2.5)], 1_767_225_600_210, code="BTC-ETH"),
    ]
    quotes = [q for i, f in enumerate(frames) for q in on_message(adapter, f, i)]
    assert quotes == [
        Quote("bithumb", "BTC-KRW", 137_000_000.0, 0.5, 137_002_000.0, 0.0345, None,
              1_767_225_600_100_000_000, 0),
        Quote("bithumb", "BTC-KRW", 137_000_000.0, 0.5, 137_003_000.0, 1.2, 137_001_000.0,
              1_767_225_600_200_000_000, 2),
        Quote("bithumb", "ETH-BTC", 0.0311, 2.5, 0.0312, 4.0, None,
              1_767_225_600_210_000_000, 3),
    ]
    assert not adapter.errors


def test_the_request_uses_bithumb_market_codes() -> None:
    (frame,) = BithumbAdapter([BTC_KRW, ETH_BTC]).subscribe_messages()
    books = json.loads(frame)[1]
    assert books == {"type": "orderbook", "codes": ["KRW-BTC.15", "BTC-ETH.15"]}
    assert "_KRW" not in frame  # not the legacy API's `BTC_KRW` spelling
