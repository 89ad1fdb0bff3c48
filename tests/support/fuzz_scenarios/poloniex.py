"""Poloniex's known session for the fuzz suite: a book_lv2 snapshot (T1), then an update (T2)."""

from __future__ import annotations

from typing import Any

TS = 1_767_225_600_000  # ms

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["event", "subscribe", "unsubscribe", "pong", "error", "channel", "book_lv2", "trades",
         "action", "snapshot", "update"]


def _text(value: float) -> str:
    return repr(value)


def frames(m: str, sym: str, T1: tuple, T2: tuple) -> tuple[list, dict | list, dict | list,
                                                            tuple, list]:
    """(setup, full, change, t2, control) for market native `m` (`sym` is the same spelling)."""
    def book(action: str, bids: list[list[str]], asks: list[list[str]], book_id: int) -> dict:
        return {"channel": "book_lv2", "action": action, "data": [{
            "symbol": m, "createTime": TS + book_id - 5, "asks": asks, "bids": bids,
            "lastId": book_id - 1, "id": book_id, "ts": TS + book_id}]}

    full = book("snapshot", [[_text(T1[0]), _text(T1[1])], ["1.0", "1.0"]],
                [[_text(T1[2]), _text(T1[3])], ["100000.0", "1.0"]], 100)
    # T2 sits inside T1 on both sides: the new levels become the top, T1's stay behind them.
    change = book("update", [[_text(T2[0]), _text(T2[1])]], [[_text(T2[2]), _text(T2[3])]], 101)
    control: list[Any] = [
        {"event": "subscribe", "channel": "book_lv2", "symbols": [m]},
        {"event": "pong"},
        {"event": "error", "message": 'Invalid channel value ["book_lv3"]'},
        {"channel": "trades", "data": [{"symbol": m, "amount": "10.15", "quantity": "0.1",
                                        "takerSide": "buy", "createTime": TS, "price": "101.5",
                                        "id": "60184114", "ts": TS + 2}]},
    ]
    return [], full, change, T2, control


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if type(msg) is not dict:
        return False
    if "event" in msg:
        return msg["event"] in ("subscribe", "unsubscribe", "unsubscribe_all",
                                "list_subscriptions", "pong", "error")
    return msg.get("channel") in ("book_lv2", "trades")
