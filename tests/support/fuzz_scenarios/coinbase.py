"""The coinbase fuzz scenario: a full book (T1), a change (T2) and control frames."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["l2update", "snapshot", "ticker", "match", "last_match", "heartbeat", "subscriptions",
         "status", "error", "buy", "sell"]


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (venue spelling `sym`)."""
    bids1, asks1 = [["101.25", "1.5"], ["101.00", "1.0"]], [["101.75", "2.5"], ["102.00", "1.0"]]
    t = "2026-01-01T00:00:01.000000Z"
    return [], {"type": "snapshot", "product_id": m, "bids": bids1, "asks": asks1}, {
        "type": "l2update", "product_id": m, "time": t,
        "changes": [["buy", "101.375", "3.0"], ["sell", "101.625", "4.0"]]}, T2, [
        {"type": "error", "message": "Failed to subscribe", "reason": "FOO-USD"},
        {"type": "heartbeat", "sequence": 5, "product_id": m, "time": t},
        {"type": "ticker", "sequence": 6, "product_id": m, "price": "101.5", "time": t},
        {"type": "subscriptions", "channels": []}]


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    return type(msg) is dict and msg.get("type") in (
        "l2update", "snapshot", "ticker", "match", "last_match", "heartbeat", "subscriptions",
        "status")
