"""bitFlyer's known session for the fuzz suite: a board snapshot (T1), then a board delta (T2)."""

from __future__ import annotations

from typing import Any

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["jsonrpc", "2.0", "method", "channelMessage", "params", "channel", "message", "result",
         "error", "lightning_board_snapshot_", "lightning_board_", "lightning_ticker_",
         "lightning_executions_", "mid_price", "price", "size", "ltp"]


def frames(m: str, sym: str, T1: tuple, T2: tuple) -> tuple[list, dict | list, dict | list,
                                                            tuple, list]:
    """(setup, full, change, t2, control) for product `m` (`sym` is the same spelling)."""
    def notify(kind: str, message: Any) -> dict:
        return {"jsonrpc": "2.0", "method": "channelMessage",
                "params": {"channel": f"lightning_{kind}_{m}", "message": message}}

    def side(*levels: tuple[float, float]) -> list[dict]:
        return [{"price": price, "size": size} for price, size in levels]

    full = notify("board_snapshot", {"mid_price": (T1[0] + T1[2]) / 2,
                                     "bids": side((T1[0], T1[1]), (1.0, 1.0)),
                                     "asks": side((100000.0, 1.0), (T1[2], T1[3]))})
    # T2 inside T1 on both sides; the venue's mid lies between the new best prices.
    change = notify("board", {"mid_price": (T2[0] + T2[2]) / 2, "bids": side((T2[0], T2[1])),
                              "asks": side((T2[2], T2[3]))})
    control: list[Any] = [
        {"jsonrpc": "2.0", "id": 1, "result": True},
        {"jsonrpc": "2.0", "id": 2, "error": {"code": -32602, "message": "Invalid params"}},
        notify("ticker", {"product_code": m, "state": "RUNNING", "best_bid": T1[0],
                          "best_ask": T1[2], "best_bid_size": T1[1], "best_ask_size": T1[3],
                          "ltp": 101.5, "timestamp": "2026-01-01T00:00:00.1234567Z"}),
        notify("executions", [{"id": 5, "side": "BUY", "price": 101.5, "size": 0.1,
                               "exec_date": "2026-01-01T00:00:00.9869304Z"}]),
    ]
    return [], full, change, T2, control


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if type(msg) is not dict:
        return False
    if msg.get("method") == "channelMessage":
        params = msg.get("params")
        channel = params.get("channel") if type(params) is dict else None
        return type(channel) is str and channel.startswith(
            ("lightning_board_", "lightning_ticker_", "lightning_executions_"))
    return "result" in msg and "id" in msg or type(msg.get("error")) is dict
