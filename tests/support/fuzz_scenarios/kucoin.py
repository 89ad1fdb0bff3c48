"""KuCoin's known session for the fuzz suite: a level1 push (T1), then the next one (T2)."""

from __future__ import annotations

from typing import Any

TS = 1_767_225_600_000  # ms


def frames(m: str, sym: str, T1: tuple, T2: tuple) -> tuple[list, dict | list, dict | list,
                                                            tuple, list]:
    """(setup, full, change, t2, control) for market native `m` (`sym` is the same spelling)."""
    def level1(top: tuple, ms: int) -> dict:
        return {"type": "message", "topic": f"/spotMarket/level1:{m}", "subject": "level1",
                "data": {"asks": [repr(top[2]), repr(top[3])],
                         "bids": [repr(top[0]), repr(top[1])], "timestamp": ms}}

    control: list[Any] = [
        {"id": "hQvf8jkno", "type": "welcome"},
        {"id": "1", "type": "ack"},
        {"id": "2", "type": "pong"},
        {"id": "3", "type": "error", "code": 404,
         "data": f"topic /market/nothing:{m} is not found"},
        {"type": "message", "topic": f"/market/match:{m}", "subject": "trade.l3match",
         "data": {"symbol": m, "sequence": "5", "side": "buy", "size": "0.1", "price": "101.5",
                  "tradeId": "a1", "time": "1767225600000000000", "type": "match"}},
        {"type": "message", "topic": f"/market/candles:{m}_1min", "subject": "trade.candles.add",
         "data": {"symbol": m, "candles": ["1767225600", "101", "101", "101", "101", "0", "0"],
                  "time": 1767225600000000000}},
    ]
    return [], level1(T1, TS), level1(T2, TS + 1), T2, control


def recognised(text: str, msg: Any) -> bool:
    """The adapter reads `message` pushes of its topics and welcome/ack/pong/error frames."""
    if type(msg) is not dict:
        return False
    kind = msg.get("type")
    if kind == "message":
        topic = msg.get("topic")
        return type(topic) is str and topic.startswith((
            "/spotMarket/level1:", "/market/level2:", "/market/match:", "/market/ticker:",
            "/market/candles:"))
    return kind in ("welcome", "ack", "pong", "error")
