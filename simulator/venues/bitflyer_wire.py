"""bitFlyer Lightning names, number spelling, JSON-RPC replies and `GET /v1/markets` (twin)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulator.venues.base import dumps, split_pair

# bitFlyer Japan's spot book: JPY pairs and these BTC-quoted ones (no USD, USDT, EUR or KRW).
BTC_PAIRS = frozenset({"ETH-BTC", "BCH-BTC"})
# Derivatives in the listing that a spot client must leave out (as `GET /v1/markets` has them).
DERIVATIVES = ({"product_code": "FX_BTC_JPY", "market_type": "FX"},
               {"product_code": "BTCJPY27MAR2026", "alias": "BTCJPY_MAT3M",
                "market_type": "Futures"})
EXTRA_PAIRS = ("XRP-JPY", "MONA-JPY")  # spot, listed but not configured
PARSE_ERROR, INVALID_REQUEST, NO_METHOD, INVALID_PARAMS = -32700, -32600, -32601, -32602
CHANNEL_KINDS = ("lightning_board_snapshot_", "lightning_board_", "lightning_ticker_",
                 "lightning_executions_")


def listed(symbol: str) -> bool:
    """The pairs bitFlyer Japan trades spot: quoted in JPY, or ETH and BCH against BTC."""
    return split_pair(symbol)[1] == "JPY" or symbol in BTC_PAIRS


def native_of(symbol: str) -> str:
    """`BTC-JPY` → `BTC_JPY` (the product code)."""
    base, quote = split_pair(symbol)
    return f"{base}_{quote}"


def number(text: str) -> str:
    """A decimal text as bitFlyer writes its JSON numbers: always with a fraction (`471328.0`)."""
    if "." not in text:
        return text + ".0"
    text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text


def size_text(value: float) -> str:
    """A size to 8 decimals as a JSON number (`5.763`, `0.0` deletes)."""
    return number(f"{value:.8f}")


def board(mid: str, bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> str:
    """The `message` of a board snapshot or delta: `mid_price`, then the levels as objects."""
    def side(levels: Sequence[tuple[str, str]]) -> str:
        return ",".join(f'{{"price":{number(p)},"size":{s}}}' for p, s in levels)

    return f'{{"mid_price":{number(mid)},"bids":[{side(bids)}],"asks":[{side(asks)}]}}'


def channel_message(channel: str, message: str) -> str:
    """A `channelMessage` notification carrying `message` (already JSON)."""
    return (f'{{"jsonrpc":"2.0","method":"channelMessage","params":{{"channel":"{channel}",'
            f'"message":{message}}}}}')


def reply(req_id: Any, result: Any = True, error: tuple[int, str] | None = None) -> str:
    """A JSON-RPC 2.0 response: `result`, or an error (code, message)."""
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": req_id}
    if error is None:
        body["result"] = result
    else:
        body["error"] = {"code": error[0], "message": error[1]}
    return dumps(body)


def markets(symbols: list[str]) -> list[object]:
    """The `GET /v1/markets` body: the spot products, then the derivatives."""
    extras = [s for s in EXTRA_PAIRS if s not in symbols][:2]
    rows: list[object] = [{"product_code": native_of(s), "market_type": "Spot"}
                          for s in [*symbols, *extras]]
    return [*rows, *DERIVATIVES]


def product_of(channel: Any) -> tuple[str, str] | None:
    """(kind prefix, product code) of a public channel name, or None when it is no such name."""
    if not isinstance(channel, str):
        return None
    for kind in CHANNEL_KINDS:
        if channel.startswith(kind):
            return kind, channel[len(kind):]
    return None
