"""The bitstamp fuzz scenario: a full book (T1), a change (T2) and control frames."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["data", "trade", "bts:error", "bts:request_reconnect", "bts:heartbeat",
         "bts:subscription_succeeded", "order_book_", "diff_order_book_", "live_trades_"]


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (venue spelling `sym`)."""
    bids1, asks1 = [["101.25", "1.5"], ["101.00", "1.0"]], [["101.75", "2.5"], ["102.00", "1.0"]]
    def book(micros: int, bids: Any, asks: Any) -> dict[str, Any]:
        return {"event": "data", "channel": f"order_book_{m}", "data": {
            "timestamp": str(micros // 10**6), "microtimestamp": str(micros),
            "bids": bids, "asks": asks}}
    return [], book(1767225600000000, bids1, asks1), book(
        1767225601000000, [["101.375", "3.0"]] + bids1, [["101.625", "4.0"]] + asks1), T2, [
        {"event": "bts:error", "channel": "", "data": {"code": None, "message": "Bad"}},
        {"event": "bts:request_reconnect", "channel": "", "data": ""},
        {"event": "trade", "channel": f"live_trades_{m}",
         "data": {"price_str": "101.5", "price": 101.5, "microtimestamp": "1"}}]


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    return type(msg) is dict and msg.get("event") in (
        "data", "trade", "bts:subscription_succeeded", "bts:unsubscription_succeeded",
        "bts:heartbeat", "bts:request_reconnect")
