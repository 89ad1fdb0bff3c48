"""The gemini fuzz scenario: a full book (T1), a change (T2) and control frames."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["l2_updates", "trade", "heartbeat", "auction_open", "error", "buy", "sell"]


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (venue spelling `sym`)."""
    return [], {"type": "l2_updates", "symbol": m, "trades": [], "auction_events": [],
                "changes": [["buy", "101.25", "1.5"], ["sell", "101.75", "2.5"]]}, {
        "type": "l2_updates", "symbol": m,
        "changes": [["buy", "101.375", "3.0"], ["sell", "101.625", "4.0"]]}, T2, [
        {"result": "error", "reason": "NoValidTradingPairs"},
        {"type": "trade", "symbol": m, "event_id": 5, "timestamp": 1624493670759,
         "price": "101.5", "quantity": "1", "side": "buy"},
        {"type": "heartbeat", "timestamp": 1}]


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if type(msg) is not dict:
        return False
    kind = msg.get("type")
    return kind in ("l2_updates", "trade", "heartbeat") or (
        type(kind) is str and kind.startswith("auction_"))
