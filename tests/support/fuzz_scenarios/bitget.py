"""Bitget's known session for the fuzz suite: `books1` snapshots T1 then T2 (the live path)."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["event", "arg", "instType", "SPOT", "channel", "books1", "books5", "books15",
         "instId", "data", "bids", "asks", "ts", "subscribe", "error", "trade", "ticker"]


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (`sym`: the same spelling)."""
    arg = {"instType": "SPOT", "channel": "books1", "instId": m}

    def snapshot(seq: int, top: Top) -> dict[str, Any]:
        level = [[f"{top[0]:.8f}", f"{top[1]:.8f}"]], [[f"{top[2]:.8f}", f"{top[3]:.8f}"]]
        return {"action": "snapshot", "arg": arg, "data": [{
            "asks": level[1], "bids": level[0], "checksum": 0, "seq": seq,
            "ts": str(1767225600000 + seq)}], "ts": 1767225600000 + seq}

    control: list[Any] = [
        {"event": "subscribe", "arg": arg},
        {"event": "error", "arg": {**arg, "instId": "FOOUSDT"}, "code": 30001,
         "msg": "instType:SPOT,channel:books1,instId:FOOUSDT doesn't exist", "op": "subscribe"},
        {"event": "error", "code": 30016, "msg": "Param error"},
        {"action": "snapshot", "arg": {**arg, "channel": "trade"}, "data": [
            {"ts": "1767225600100", "price": "101.5", "size": "0.1", "side": "buy",
             "tradeId": "1"}]},
    ]
    return [], snapshot(1, T1), snapshot(2, T2), T2, control


def recognised(text: str, msg: Any) -> bool:
    """The adapter reads `pong`, subscribe acks, whole-book pushes and quiet ticker/trade ones."""
    if text == "pong":
        return True
    if type(msg) is not dict:
        return False
    if "event" in msg:
        return msg["event"] in ("subscribe", "unsubscribe")
    arg = msg.get("arg")
    return type(arg) is dict and arg.get("instType") == "SPOT" and arg.get("channel") in (
        "books1", "books5", "books15", "ticker", "trade")
