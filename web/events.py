"""The live events' wire side: websocket text frames, parsing a published event once, the
trace stamp a tracing client gets, and validating what a client sends."""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class Event:
    """One live event as parsed once by the listener."""

    frame: bytes
    key: Hashable | None  # coalescing key; None = never coalesced
    symbol: str | None  # None = goes to every client whatever its filter
    payload: bytes = b""
    trace: int = TRACE_NONE

    def unstamped(self) -> Unstamped | bytes:
        """For tracing clients: the payload cut where `"ws_ns":<now>}}` completes it (inside a
        trailing `trace` object, or as a new one); the plain frame when it cannot be."""
        body = self.payload.rstrip()
        if self.trace == TRACE_SPLICE:
            return Unstamped(body[:-2] + b',"ws_ns":')
        if self.trace == TRACE_APPEND:
            return Unstamped(body[:-1] + b',"trace":{"ws_ns":')
        return self.frame


def _trace_mode(event: dict[str, Any], payload: bytes) -> int:
    """Where a send stamp can go without encoding the event again (see `Event.unstamped`)."""
    trace = event.get("trace")
    if trace is None and "trace" not in event:
        return TRACE_APPEND if payload.rstrip().endswith(b"}") else TRACE_NONE
    if (isinstance(trace, dict) and trace and next(reversed(event)) == "trace"
            and payload.rstrip().endswith(STAMP_CLOSE)):
        return TRACE_SPLICE
    return TRACE_NONE


def parse_event(raw: bytes | str) -> Event | None:
    """Parse a published event; None (and a log line) when it is not a `{type, data}` object."""
    payload = raw.encode() if isinstance(raw, str) else raw
    try:
        event = orjson.loads(payload)  # the listener parses every event: the fast decoder
        kind, data = event["type"], event["data"]
    except (ValueError, TypeError, KeyError):
        log.warning("ignoring malformed live event %.200r", payload)
        return None
    frame, trace = text_frame(payload), _trace_mode(event, payload)
    if not isinstance(data, dict):
        return Event(frame, None, None, payload, trace)
    symbol = data.get("symbol")
    if kind == "quote":
        key: Hashable | None = ("quote", data.get("exchange"), symbol)
    elif kind == "opportunity":
        key = ("opportunity", symbol, data.get("buy_exchange"), data.get("sell_exchange"))
    elif kind == "feed":
        return Event(frame, ("feed", data.get("exchange")), None, payload, trace)
    else:
        key = None
    return Event(frame, key, symbol if isinstance(symbol, str) else None, payload, trace)


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
    if "coalesce" in msg:
        if not isinstance(msg["coalesce"], bool):
            raise ClientMessageError('"coalesce" must be true or false')
        out["coalesce"] = msg["coalesce"]
    if "trace" in msg:
        if not isinstance(msg["trace"], bool):
            raise ClientMessageError('"trace" must be true or false')
        out["trace"] = msg["trace"]
    return out
