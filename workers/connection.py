"""One websocket connection driven by the feed loop: its socket, frame parser and out-buffer."""

from __future__ import annotations

import socket
import ssl

import websocket
from websocket import ABNF

from workers.feed import FeedWorker
from workers.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_OVERSIZE,
    OP_PING,
    OP_TEXT,
    FrameParser,
    close_code,
)

WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class LoopConnection(FeedWorker):
    """A FeedWorker driven by a FeedLoop: same counters, status, backoff and events."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.sock: socket.socket | None = None
        self.ws: websocket.WebSocket | None = None
        self.parser = FrameParser(self.max_frame_bytes)
        self.out = bytearray()
        self.connecting = False
        self.got_data = False
        self.retry_at = 0.0
        self.last_frame = self.next_ping = self.next_protocol_ping = 0.0

    def on_frames(self, frames: list[tuple[int, bytes]]) -> str | None:
        """Hand a read's messages to the adapter; returns why to drop the connection, if so."""
        for opcode, payload in frames:
            if opcode == OP_TEXT or opcode == OP_BINARY:
                # The same per-message path as the threaded reader; each message gets its own
                # receipt time there (a venue that sends no time is stored at it, and two
                # quotes of a series at one instant would be one InfluxDB point).
                quotes_before = self.quotes
                reason = self._on_text(payload.decode("utf-8", "replace"))
                self.got_data = self.got_data or self.quotes > quotes_before
                if reason is not None:
                    return reason
            elif opcode == OP_OVERSIZE:
                reason = self.on_oversize(self.parser.oversize_bytes)
                if reason is not None:
                    return reason
            elif opcode == OP_PING:
                self.send(ABNF.create_frame(payload, ABNF.OPCODE_PONG).format())
            elif opcode == OP_CLOSE:
                return f"closed by server (code {close_code(payload)})"
        return None

    def send(self, data: bytes) -> None:
        """Queue bytes for the socket and write what it takes now (never blocks)."""
        self.out += data
        if self.sock is None:
            return
        try:
            while self.out:
                sent = self.sock.send(self.out)
                del self.out[:sent]
        except WOULD_BLOCK:
            pass  # the loop writes the rest when the socket is writable
