"""The bitfinex fuzz scenario: a full book (T1), a change (T2) and control frames."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["subscribed", "info", "conf", "error", "pong", "unsubscribed", "hb", "cs", "te", "tu",
         "book", "trades", "ticker", "P0", "R0"]


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (venue spelling `sym`)."""
    chan = 4_242
    return [{"event": "conf", "status": "OK", "flags": 196_608},
            {"event": "subscribed", "channel": "book", "chanId": chan, "symbol": m,
             "prec": "P0", "freq": "F0", "len": "1", "pair": m[1:]}], [
        chan, [[101.25, 1, 1.5], [101.75, 1, -2.5]], 1], [chan, [101.375, 1, 3.0], 2], (
        101.375, 3.0, 101.75, 2.5), [
        {"event": "info", "version": 2, "platform": {"status": 1}},
        {"event": "info", "code": 20051, "msg": "Stopping"},
        {"event": "error", "msg": "subscribe: dup", "code": 10301},
        {"event": "conf", "status": "FAILED", "flags": 196_608},
        [chan, "hb", 2], [chan, "cs", -1, 2], [chan, "te", [1, 1624493670759, 1.0, 101.5], 2]]


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if type(msg) is list:
        return len(msg) >= 2 and (type(msg[1]) is list or msg[1] in ("hb", "cs", "te", "tu"))
    return type(msg) is dict and msg.get("event") in (
        "subscribed", "info", "conf", "pong", "unsubscribed")
