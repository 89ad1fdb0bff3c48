"""websocket-client helpers for the threaded reader: read-ahead, close codes, quiet close."""

from __future__ import annotations

from typing import Any

import websocket

# Bytes asked of the socket per read. websocket-client asks for exactly the bytes it needs (two
# for a header, then the payload): two or three system calls per frame. Reading ahead serves
# most frames from memory; it keeps whatever a read returns beyond the frame for the next one.
READ_AHEAD_BYTES = 8192

def read_ahead(ws: websocket.WebSocket) -> None:
    """Make `ws` read READ_AHEAD_BYTES per system call instead of exactly what a frame needs.

    The frame buffer already keeps any excess a read returns (for the next frame), so only
    its read function changes; a websocket-client without that layout is left as it is.
    """
    frames = getattr(ws, "frame_buffer", None)
    raw = getattr(ws, "_recv", None)
    if frames is None or raw is None or not hasattr(frames, "recv"):
        return

    def recv(_wanted: int) -> bytes:
        return raw(READ_AHEAD_BYTES)

    frames.recv = recv


def close_code(frame: Any) -> int | None:
    """The status code of a close frame, when it carries one."""
    data = getattr(frame, "data", b"")
    return int.from_bytes(data[:2], "big") if len(data) >= 2 else None


def close_quietly(ws: websocket.WebSocket) -> None:
    """Close politely with a short wait for the server's reply; never raises."""
    try:
        ws.close(timeout=1)
    except (websocket.WebSocketException, OSError):
        pass
    finally:
        ws.shutdown()
