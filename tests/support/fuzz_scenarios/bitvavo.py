"""The bitvavo fuzz scenario: a ticker (T1), the next ticker (T2) and control frames."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["ticker", "book", "subscribed", "unsubscribed", "subscriptions", "errorCode", "error",
         "market", "bestBid", "bestBidSize", "bestAsk", "bestAskSize", "lastPrice", "nonce"]


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (`sym` is the same spelling)."""
    def ticker(top: Top) -> dict[str, Any]:
        return {"event": "ticker", "market": m, "bestBid": repr(top[0]),
                "bestBidSize": repr(top[1]), "bestAsk": repr(top[2]),
                "bestAskSize": repr(top[3]), "lastPrice": "101.5"}

    control: list[Any] = [
        {"event": "subscribed", "subscriptions": {"ticker": [m]}},
        {"event": "unsubscribed", "subscriptions": {}},
        {"event": "error", "action": "subscribe", "errorCode": 205,
         "error": "Invalid parameter value: markets"},
        {"action": "subscribe", "errorCode": 203, "error": "markets parameter is required."},
        {"event": "ticker", "market": m, "lastPrice": "101.5"},
    ]
    return [], ticker(T1), ticker(T2), T2, control


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if type(msg) is not dict:
        return False
    # Any frame with an errorCode is the venue's error; `book` is read on the book path only.
    return "errorCode" in msg or msg.get("event") in ("ticker", "subscribed", "unsubscribed")
