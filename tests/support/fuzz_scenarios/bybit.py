"""The bybit fuzz scenario: a full book (T1), a change (T2) and control frames."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["ping", "pong", "subscribe", "unsubscribe", "snapshot", "delta", "orderbook.", "tickers."]


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (venue spelling `sym`)."""
    def book(u: int, top: tuple[float, ...]) -> dict[str, Any]:
        return {"topic": f"orderbook.1.{m}", "ts": 1767225600000 + u, "type": "snapshot",
                "data": {"s": m, "b": [[str(top[0]), str(top[1])]],
                         "a": [[str(top[2]), str(top[3])]], "u": u, "seq": u}}
    return [], book(5_000, T1), book(5_001, T2), T2, [
        {"success": False, "ret_msg": "Invalid symbol", "req_id": "sub-1", "op": "subscribe"},
        {"success": True, "ret_msg": "pong", "req_id": "ping-2", "op": "ping"},
        {"topic": f"tickers.{m}", "ts": 1, "type": "snapshot",
         "data": {"symbol": m, "lastPrice": "101.5"}}]


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if type(msg) is not dict:
        return False
    topic = msg.get("topic")
    if topic is not None:
        return type(topic) is str and topic.startswith(("orderbook.", "tickers."))
    return msg.get("op") in ("ping", "pong", "subscribe", "unsubscribe")
