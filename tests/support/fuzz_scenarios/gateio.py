"""Gate.io's known session for the fuzz suite: spot.book_ticker T1 then T2 (the live path)."""

from __future__ import annotations

from typing import Any

T_MS = 1_767_225_600_000
UPDATES = ("spot.book_ticker", "spot.order_book_update", "spot.trades", "spot.tickers",
           "spot.candlesticks")
# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["channel", "event", "result", "error", "update", "subscribe", "unsubscribe",
         "spot.pong", *UPDATES]


def frames(m: str, sym: str, T1: tuple, T2: tuple) -> tuple[list, dict | list, dict | list,
                                                            tuple, list]:
    """(setup, full, change, t2, control) for pair `m` (`sym` is the same spelling)."""
    def envelope(channel: str, event: str, **body: Any) -> dict[str, Any]:
        return {"time": T_MS // 1000, "time_ms": T_MS, "channel": channel, "event": event,
                **body}

    def book(update_id: int, top: tuple) -> dict[str, Any]:
        prices = dict(zip("bBaA", (repr(v) for v in top), strict=True))
        return envelope("spot.book_ticker", "update",
                        result={"t": T_MS + update_id, "u": update_id, "s": m, **prices})

    control = [
        envelope("spot.book_ticker", "subscribe", result={"status": "success"}),
        envelope("spot.pong", "", result=None),
        envelope("spot.trades", "subscribe", result=None,
                 error={"code": 2, "message": "unknown currency pair FOO_USDT"}),
        envelope("spot.trades", "update", result={
            "id": 5, "create_time": T_MS // 1000, "create_time_ms": f"{T_MS}.5", "side": "buy",
            "currency_pair": m, "amount": "0.1", "price": "101.5"}),
    ]
    return [], book(700, T1), book(701, T2), T2, control


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if type(msg) is not dict or type(msg.get("channel")) is not str:
        return False
    channel, event = msg["channel"], msg.get("event")
    return (channel == "spot.pong" or event in ("subscribe", "unsubscribe")
            or (event == "update" and channel in UPDATES))
