"""The okx fuzz scenario: a full book (T1), a change (T2) and control frames."""

from __future__ import annotations

import zlib
from typing import Any

Top = tuple[float, float, float, float]

# Words of the adapter's dispatch, so random frames reach past its first `if`.
WORDS = ["subscribe", "error", "notice", "64008", "tickers", "books", "bbo-tbt", "trades",
         "snapshot", "update"]


def _checksum(*parts: str) -> int:
    crc = zlib.crc32(":".join(parts).encode("ascii"))
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def frames(m: str, sym: str, T1: Top, T2: Top) -> tuple[list[Any], Any, Any, Top, list[Any]]:  # noqa: N803
    """(setup, full, change, t2, control) for market native `m` (venue spelling `sym`)."""
    def book(action: str, bids: Any, asks: Any, seq: int, checksum: int) -> dict[str, Any]:
        # No seqId, as recorded: the checksum alone must then catch a drifted book.
        return {"arg": {"channel": "books", "instId": m}, "action": action, "data": [{
            "bids": bids, "asks": asks, "ts": str(1767225600000 + seq),
            "checksum": checksum}]}
    return [], book("snapshot", [["101.25", "1.5", "0", "1"]],
                    [["101.75", "2.5", "0", "1"]], 100,
                    _checksum("101.25", "1.5", "101.75", "2.5")), book(
        "update", [["101.375", "3.0", "0", "1"]],
        [["101.625", "4.0", "0", "1"], ["101.75", "0", "0", "0"]], 101,
        _checksum("101.375", "3.0", "101.625", "4.0", "101.25", "1.5")), T2, [
        {"event": "error", "code": "60018", "msg": "Wrong URL", "connId": "a"},
        {"event": "notice", "code": "64008", "msg": "reconnect", "connId": "a"},
        {"event": "subscribe", "arg": {"channel": "tickers", "instId": m}},
        {"arg": {"channel": "tickers", "instId": m}, "data": [{
            "instId": m, "last": "101.5", "bidPx": "101.25", "bidSz": "1.5",
            "askPx": "101.75", "askSz": "2.5", "ts": "1767225600000"}]},
        {"arg": {"channel": "trades", "instId": m}, "data": [{"instId": m, "px": "101.5"}]}]


def recognised(text: str, msg: Any) -> bool:
    """True for a frame of a kind the adapter reads (`msg`: decoded, or NOT_JSON)."""
    if text == "pong":
        return True
    if type(msg) is not dict:
        return False
    event = msg.get("event")
    if event is not None:
        return event in ("subscribe", "unsubscribe", "channel-conn-count", "notice")
    arg = msg.get("arg")
    return type(arg) is dict and arg.get("channel") in (
        "tickers", "books", "books-l2-tbt", "books50-l2-tbt", "bbo-tbt", "books5", "trades",
        "trades-all")
