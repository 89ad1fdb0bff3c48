"""HTX's known session for the fuzz suite (frames as decoded text): a bbo (T1), then the next."""

from __future__ import annotations

from typing import Any

TS = 1_767_225_600_000  # ms


def frames(m: str, sym: str, T1: tuple, T2: tuple) -> tuple[list, dict | list, dict | list,
                                                            tuple, list]:
    """(setup, full, change, t2, control) for market native `m` (`sym` is the same spelling)."""
    def bbo(top: tuple, seq: int) -> dict:
        return {"ch": f"market.{m}.bbo", "ts": TS + seq, "tick": {
            "seqId": seq, "bid": top[0], "bidSize": top[1], "ask": top[2], "askSize": top[3],
            "quoteTime": TS + seq, "symbol": m}}

    control: list[Any] = [
        {"ping": TS},
        {"id": "1", "status": "ok", "subbed": f"market.{m}.bbo", "ts": TS},
        {"status": "error", "ts": TS, "id": "2", "err-code": "bad-request",
         "err-msg": "invalid topic market.foousdt.bbo"},
        {"ch": f"market.{m}.trade.detail", "ts": TS, "tick": {"id": 1, "ts": TS, "data": [
            {"id": 11, "ts": TS, "tradeId": 5, "amount": 0.1, "price": 101.5,
             "direction": "buy"}]}},
    ]
    return [], bbo(T1, 100), bbo(T2, 101), T2, control


def recognised(text: str, msg: Any) -> bool:
    """The adapter reads `market.*` pushes of its kinds, pings, and ok/error answers."""
    if type(msg) is not dict:
        return False
    if "ch" in msg:
        channel = msg["ch"]
        return type(channel) is str and channel.startswith("market.") and channel.endswith(
            (".bbo", ".trade.detail", ".depth.step0"))
    return "ping" in msg or msg.get("status") in ("ok", "error")
