"""The binance fuzz scenario: a full book (T1), a change (T2) and control frames."""

from __future__ import annotations

from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["serverShutdown", "aggTrade", "trade", "depthUpdate", "kline", "bookTicker"]


def spelling(native: str) -> str:
    """The symbol as frames spell it (streams are lower case, payloads upper)."""
    return native.upper()


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (venue spelling `sym`)."""
    def book(u: int, top: tuple[float, ...]) -> dict[str, Any]:
        return {"stream": f"{m}@bookTicker", "data": {
            "u": u, "s": sym, "b": str(top[0]), "B": str(top[1]), "a": str(top[2]),
            "A": str(top[3])}}
    return [], book(5_000, T1), book(5_001, T2), T2, [
        {"code": 2, "msg": "Invalid request", "id": 7}, {"result": None, "id": 1},
        {"stream": f"{m}@aggTrade", "data": {"e": "aggTrade", "s": sym, "p": "101.5"}},
        {"stream": f"{m}@kline_1m", "data": {"e": "kline", "s": sym, "k": {"c": "101.5"}}},
        {"event": {"e": "serverShutdown"}}]


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    return type(msg) is dict and (
        "stream" in msg or "e" in msg or ("u" in msg and "s" in msg) or "event" in msg
        or ("result" in msg and "id" in msg))
