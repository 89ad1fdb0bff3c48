"""Bitstamp and Kraken as a test client sees them from the simulator: subscribe frames, book
updates, their tops of book, and a client of each side by side."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import websocket

from tests.support.simulator import SimProcess, collect, connect


def bitstamp_subscribe(ws: websocket.WebSocket, channel: str) -> None:
    ws.send(json.dumps({"event": "bts:subscribe", "data": {"channel": channel}}))


def kraken_subscribe(
    ws: websocket.WebSocket, symbols: list[str], req_id: int = 1, trigger: str = "bbo"
) -> None:
    params = {"channel": "ticker", "symbol": symbols, "event_trigger": trigger, "snapshot": True}
    ws.send(json.dumps({"method": "subscribe", "params": params, "req_id": req_id}))


def is_bitstamp_book(frame: Any) -> bool:
    return (
        isinstance(frame, dict)
        and frame.get("event") == "data"
        and str(frame.get("channel", "")).startswith("order_book_")
    )


def is_kraken_update(frame: Any) -> bool:
    if not isinstance(frame, dict):
        return False
    return frame.get("channel") == "ticker" and frame.get("type") == "update"


def kraken_ts_us(stamp: str) -> int:
    """`2026-01-01T00:00:01.234567Z` → µs since the epoch (exact, no float rounding)."""
    from datetime import UTC, datetime

    head, frac = stamp.rstrip("Z").split(".")
    seconds = int(datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())
    return seconds * 1_000_000 + int(frac.ljust(6, "0")[:6])


Top = tuple[float, float, float, float]


def bitstamp_top(frame: dict[str, Any]) -> tuple[str, Top, int]:
    """(symbol like BTC-USD-less pair `btcusd`, (bid, bid_size, ask, ask_size), ts µs)."""
    data = frame["data"]
    bid, bid_size = data["bids"][0]
    ask, ask_size = data["asks"][0]
    pair = frame["channel"].removeprefix("order_book_")
    top = (float(bid), float(bid_size), float(ask), float(ask_size))
    return pair, top, int(data["microtimestamp"])


def kraken_top(frame: dict[str, Any]) -> tuple[str, Top, int]:
    """(v2 symbol like `BTC/USD`, (bid, bid_qty, ask, ask_qty), ts µs)."""
    data = frame["data"][0]
    top = (data["bid"], data["bid_qty"], data["ask"], data["ask_qty"])
    return data["symbol"], top, kraken_ts_us(data["timestamp"])


def normalized(exchange: str, native: str) -> str:
    """The test's own tiny mapping from venue spelling to BASE-QUOTE (BTC/USD, btcusd)."""
    if exchange == "kraken":
        return native.replace("/", "-")
    return f"{native[:-3]}-{native[-3:]}".upper()


# --- a Bitstamp and a Kraken client side by side ------------------------------------------

BOOK: dict[str, Callable[[Any], bool]] = {"bitstamp": is_bitstamp_book, "kraken": is_kraken_update}
TOP: dict[str, Callable[[dict[str, Any]], tuple[str, Top, int]]] = {
    "bitstamp": bitstamp_top, "kraken": kraken_top}


def subscribe_both(sim: SimProcess) -> dict[str, websocket.WebSocket]:
    """One client per exchange, each subscribed to BTC-USD and ETH-USD top of book."""
    bitstamp = connect(sim.ws_url("bitstamp"))
    for pair in ("btcusd", "ethusd"):
        bitstamp_subscribe(bitstamp, f"order_book_{pair}")
    kraken = connect(sim.ws_url("kraken"))
    kraken_subscribe(kraken, ["BTC/USD", "ETH/USD"])
    return {"bitstamp": bitstamp, "kraken": kraken}


def check_series(exchange: str, frames: list[dict[str, Any]]) -> dict[str, int]:
    """Per symbol: strictly rising timestamps, every frame moves the top, bid < ask."""
    last: dict[str, tuple[Top, int]] = {}
    counts: dict[str, int] = defaultdict(int)
    for frame in frames:
        native, top, ts = TOP[exchange](frame)
        symbol = normalized(exchange, native)
        counts[symbol] += 1
        assert top[0] < top[2], (exchange, symbol, top)
        if symbol in last:
            prev_top, prev_ts = last[symbol]
            assert ts > prev_ts, (exchange, symbol, prev_ts, ts)
            assert top != prev_top, (exchange, symbol, top)
        last[symbol] = (top, ts)
    return dict(counts)


def collect_books(clients: dict[str, websocket.WebSocket], count: int,
                  timeout_s: float) -> dict[str, list[dict[str, Any]]]:
    """Per exchange, its top-of-book frames until `count` came (or the timeout)."""
    received: dict[str, list[dict[str, Any]]] = {e: [] for e in clients}
    for exchange, ws in clients.items():
        books = received[exchange]

        def enough(frame: Any, exchange: str = exchange, books: list[Any] = books) -> bool:
            if BOOK[exchange](frame):
                books.append(frame)
            return len(books) >= count

        collect(ws, timeout_s, until=enough)
    return received
