"""The cryptocom fuzz scenario: a book snapshot (T1), a delta chained to it (T2), control frames."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["public/heartbeat", "subscribe", "unsubscribe", "book", "book.update", "result",
         "channel", "instrument_name", "data", "update", "u", "pu", "code"]
MS = 1_767_225_600_000


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (`sym` is the same spelling)."""
    def push(channel: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": -1, "method": "subscribe", "code": 0, "result": {
            "instrument_name": m, "subscription": f"book.{m}.10", "channel": channel,
            "depth": 10, "data": [data]}}

    def level(price: float, size: float) -> list[str]:
        return [repr(price), repr(size), "1"]

    full = push("book", {"bids": [level(T1[0], T1[1])], "asks": [level(T1[2], T1[3])],
                         "tt": MS, "t": MS, "u": 5_000})
    # The old top goes first, then the new one (at the same price it is simply set again).
    change = push("book.update", {"update": {
        "bids": [[repr(T1[0]), "0", "0"], level(T2[0], T2[1])],
        "asks": [[repr(T1[2]), "0", "0"], level(T2[2], T2[3])]},
        "tt": MS + 10, "t": MS + 10, "u": 5_017, "pu": 5_000})
    control: list[Any] = [
        {"id": 1, "method": "subscribe", "code": 0},
        {"id": 2, "method": "subscribe", "code": 40003, "message": "INVALID_REQUEST"},
        {"id": -1, "method": "ERROR", "code": 40001, "original": "hello"},
        {"id": 1767225600123, "method": "public/heartbeat", "code": 0},
        {"id": -1, "method": "subscribe", "code": 0, "result": {
            "instrument_name": m, "subscription": f"trade.{m}", "channel": "trade",
            "data": [{"d": "2030407068", "t": MS, "p": "101.5", "q": "0.1", "s": "BUY",
                      "i": m}]}},
    ]
    return [], full, change, T2, control


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if type(msg) is not dict:
        return False
    if msg.get("method") == "public/heartbeat" or msg.get("code", 0) != 0:
        return True  # answered, or a refused request (shown as the venue's error)
    result = msg.get("result")
    if result is None:
        return msg.get("method") in ("subscribe", "unsubscribe")
    return type(result) is dict and result.get("channel") in ("book", "book.update")
