"""What `/ws` speaks: the text frames sent to browsers, the tracing client's send stamp, and
the validation of what a client sends."""

from __future__ import annotations

import json
import struct
from typing import Any

import orjson

MAX_CLIENT_MESSAGE = 4096  # bytes of one client → server message
MAX_SUBSCRIBE = 500  # symbols in one subscribe list
MAX_SYMBOL_LEN = 64


def text_frame(payload: bytes) -> bytes:
    """One unmasked, uncompressed websocket text frame (server → client), built once per event
    and shared by every client (RFC 7692 allows uncompressed messages even when deflate is on)."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


def event_frame(event_type: str, data: Any) -> bytes:
    """A server-made event (error, ping) as a frame."""
    return text_frame(json.dumps({"type": event_type, "data": data}).encode())


class Unstamped(bytes):
    """A tracing client's event: its JSON up to where the send stamp goes; the sender appends
    the stamp and `}}` and frames it at write time (see `Event.unstamped`)."""

    __slots__ = ()


STAMP_CLOSE = b"}}"
TRACE_NONE, TRACE_SPLICE, TRACE_APPEND = 0, 1, 2  # how a tracing client's send stamp goes in


def trace_mode(payload: bytes) -> int:
    """Where a send stamp can go without encoding the event again (see `Event.unstamped`)."""
    try:
        event = orjson.loads(payload)
    except ValueError:
        return TRACE_NONE
    if not isinstance(event, dict):
        return TRACE_NONE
    trace = event.get("trace")
    if trace is None and "trace" not in event:
        return TRACE_APPEND if payload.rstrip().endswith(b"}") else TRACE_NONE
    if (isinstance(trace, dict) and trace and next(reversed(event)) == "trace"
            and payload.rstrip().endswith(STAMP_CLOSE)):
        return TRACE_SPLICE
    return TRACE_NONE


class Event:
    """One published event on its way to browsers: the published JSON framed as it is."""

    __slots__ = ("payload", "frame", "_unstamped")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.frame = text_frame(payload)
        self._unstamped: Unstamped | bytes | None = None

    def unstamped(self) -> Unstamped | bytes:
        """For tracing clients: the payload cut where `"ws_ns":<now>}}` completes it (inside a
        trailing `trace` object, or as a new one); the plain frame when it cannot be. Only
        tracing clients ask, so only they pay for reading the event's structure."""
        if self._unstamped is None:
            body, mode = self.payload.rstrip(), trace_mode(self.payload)
            if mode == TRACE_SPLICE:
                self._unstamped = Unstamped(body[:-2] + b',"ws_ns":')
            elif mode == TRACE_APPEND:
                self._unstamped = Unstamped(body[:-1] + b',"trace":{"ws_ns":')
            else:
                self._unstamped = self.frame
        return self._unstamped


def stamp_frames(items: list[bytes], now_ns: int) -> bytes:
    """A tracing client's outbox as wire bytes: each `Unstamped` completed with `now_ns`."""
    stamp = str(now_ns).encode() + STAMP_CLOSE
    return b"".join(text_frame(item + stamp) if isinstance(item, Unstamped) else item
                    for item in items)


class ClientMessageError(ValueError):
    """A client → server message the hub cannot accept; its text goes back as an error event."""


def parse_client_message(raw: str | bytes) -> dict[str, Any]:
    """Validate `{"subscribe": [...], "coalesce": bool, "trace": bool}` (any of them); returns
    the settings."""
    if isinstance(raw, bytes):
        raise ClientMessageError("binary messages are not supported; send JSON text")
    if len(raw) > MAX_CLIENT_MESSAGE:
        raise ClientMessageError(f"message too large (max {MAX_CLIENT_MESSAGE} bytes)")
    try:
        msg = json.loads(raw)
    except ValueError:
        raise ClientMessageError("message is not valid JSON") from None
    if not isinstance(msg, dict) or not msg:
        raise ClientMessageError('expected an object with "subscribe", "coalesce" or "trace"')
    unknown = sorted(set(msg) - {"subscribe", "coalesce", "trace"})
    if unknown:
        raise ClientMessageError(f"unknown keys: {', '.join(unknown)[:200]}")
    out: dict[str, Any] = {}
    if "subscribe" in msg:
        symbols = msg["subscribe"]
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise ClientMessageError('"subscribe" must be a list of symbol strings')
        if len(symbols) > MAX_SUBSCRIBE or any(len(s) > MAX_SYMBOL_LEN for s in symbols):
            raise ClientMessageError(f'"subscribe" takes at most {MAX_SUBSCRIBE} symbols '
                                     f"of at most {MAX_SYMBOL_LEN} characters")
        out["symbols"] = frozenset(symbols) or None  # [] = everything
    for flag in ("coalesce", "trace"):
        if flag in msg:
            if not isinstance(msg[flag], bool):
                raise ClientMessageError(f'"{flag}" must be true or false')
            out[flag] = msg[flag]
    return out
