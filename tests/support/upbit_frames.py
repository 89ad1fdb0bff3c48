"""Upbit-protocol request frames and binary answers, for the Upbit and Bithumb twin tests."""

from __future__ import annotations

import json
from typing import Any

import websocket

from tests.support import simulator as sh


def request(*types: dict[str, Any], fmt: str | None = "SIMPLE", ticket: Any = "t-1") -> str:
    """One request frame."""
    parts: list[dict[str, Any]] = [] if ticket is None else [{"ticket": ticket}]
    parts += types
    if fmt is not None:
        parts.append({"format": fmt})
    return json.dumps(parts)


def frames_of(ws: websocket.WebSocket, seconds: float, count: int = 0) -> list[Any]:
    """Decoded frames (each must arrive binary) for `seconds`, or until `count` of them."""
    seen: list[Any] = []

    def enough(_: Any) -> bool:
        seen.append(_)
        return 0 < count <= len(seen)

    texts = sh.collect_texts(ws, seconds, until=enough)
    assert all(type(t) is bytes for t in texts), texts[:3]
    return [json.loads(t) for t in texts]
