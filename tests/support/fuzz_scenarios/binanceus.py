"""Binance.US's known session for the fuzz suite: bookTicker T1 then T2 (the live path)."""

from __future__ import annotations

from typing import Any

# The adapter is Binance's plus its depth path: the same dispatch words, spelling and kinds.
from tests.support.fuzz_scenarios.binance import WORDS, recognised, spelling

__all__ = ["WORDS", "frames", "recognised", "spelling"]


def frames(m: str, sym: str, T1: tuple, T2: tuple) -> tuple[list, dict | list, dict | list,
                                                            tuple, list]:
    """(setup, full, change, t2, control) for market native `m` (`sym`: the upper-case name)."""
    def ticker(update_id: int, top: tuple) -> dict[str, Any]:
        fields = dict(zip("bBaA", (f"{v:.8f}" for v in top), strict=True))
        return {"stream": f"{m}@bookTicker", "data": {"u": update_id, "s": sym, **fields}}

    control: list[Any] = [
        {"result": None, "id": 3},
        {"code": 1, "msg": "Invalid value type: expected Boolean", "id": 4},
        {"stream": f"{m}@trade", "data": {"e": "trade", "E": 1, "s": sym, "t": 9,
                                          "p": "101.50000000", "q": "0.1", "T": 1}},
        {"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1767225600000}},
    ]
    return [], ticker(900, T1), ticker(902, T2), T2, control
