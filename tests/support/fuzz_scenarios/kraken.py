"""The kraken fuzz scenario: a full book (T1), a change (T2) and control frames."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["ticker", "heartbeat", "status", "pong", "subscribe", "unsubscribe", "snapshot", "update",
         "online", "maintenance", "book-1000", "systemStatus", "subscriptionStatus"]


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (venue spelling `sym`)."""
    t = "2026-01-01T00:00:01.000000Z"
    def tick(kind: str, top: tuple[float, ...]) -> dict[str, Any]:
        return {"channel": "ticker", "type": kind, "data": [{
            "symbol": m, "bid": top[0], "bid_qty": top[1], "ask": top[2], "ask_qty": top[3],
            "last": 101.5, "volume": 10.0, "timestamp": t}]}
    return [], tick("snapshot", T1), tick("update", T2), T2, [
        {"method": "subscribe", "success": False, "error": "Currency pair not supported",
         "symbol": "FOO/USD", "req_id": 7},
        {"channel": "status", "type": "update", "data": [{"system": "online"}]},
        {"channel": "heartbeat"}, {"method": "pong", "req_id": 3}]


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if type(msg) is list:
        # v1 channel frames (the recording, read by kraken_v1book): only `book-N` ones are read.
        return len(msg) in (4, 5) and type(msg[-2]) is str and msg[-2].startswith("book-")
    if type(msg) is not dict:
        return False
    channel = msg.get("channel")
    return channel in ("ticker", "heartbeat", "status") or (
        channel is None and (msg.get("method") in ("pong", "subscribe", "unsubscribe")
                             or msg.get("event") in ("heartbeat", "pong", "systemStatus",
                                                     "subscriptionStatus", "error")))
