"""Upbit's known session for the fuzz suite: a whole SIMPLE book with top T1, then one with T2."""

from __future__ import annotations

from typing import Any

TMS = 1_767_225_600_000  # ms
# The adapter's dispatch words: frame types, the status value, the key sets' type keys.
WORDS = ["orderbook", "trade", "ticker", "UP", "ty", "type", "status", "error"]


def frames(m: str, sym: str, T1: tuple, T2: tuple) -> tuple[list, dict | list, dict | list,
                                                            tuple, list]:
    """(setup, full, change, t2, control) for market native `m` (`KRW-BTC`: quote first)."""
    def book(top: tuple, tms: int) -> dict[str, Any]:
        # The top, then a deeper level on each side that the top never reaches.
        units = [{"ap": top[2], "as": top[3], "bp": top[0], "bs": top[1]},
                 {"ap": top[2] * 2, "as": 1.0, "bp": top[0] / 2, "bs": 1.0}]
        return {"ty": "orderbook", "cd": m, "tms": tms, "tas": top[3] + 1.0,
                "tbs": top[1] + 1.0, "obu": units, "st": "REALTIME", "lv": 0}

    control: list[Any] = [
        {"status": "UP"},
        {"error": {"name": "INVALID_PARAM", "message": "codes field is empty."}},
        {"ty": "trade", "cd": m, "tms": TMS + 1, "td": "2026-01-01", "ttm": "00:00:00",
         "ttms": TMS, "tp": 101.5, "tv": 0.1, "ab": "BID", "sid": 1, "st": "REALTIME"},
    ]
    return [], book(T1, TMS), book(T2, TMS + 5), T2, control


def recognised(text: str, msg: Any) -> bool:
    """The adapter's dispatch on kind: books, trades and the keepalive status are read."""
    if type(msg) is not dict:
        return False
    kind = msg.get("ty") if "ty" in msg else msg.get("type")
    return kind in ("orderbook", "trade") or (kind is None and msg.get("status") == "UP")
