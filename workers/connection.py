"""One websocket connection driven by the feed loop: its socket, frame parser and out-buffer."""

from __future__ import annotations

import socket
import ssl

import websocket
from websocket import ABNF

from workers.feed import CONNECT_TIMEOUT_S, FeedWorker
from workers.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_OVERSIZE,
    OP_PING,
    OP_TEXT,
    FrameParser,
    close_code,
)
from workers.rest_fetch import Fetched, RestFetcher, connect_url

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
        self.fetcher: RestFetcher | None = None  # the loop's, set when the loop takes it on

    def open_socket(self) -> websocket.WebSocket:
        """Connect and subscribe (blocking: run off the loop thread); raises on a failure."""
        ws = websocket.create_connection(connect_url(self.adapter, self.ws_url),
                                         timeout=CONNECT_TIMEOUT_S, skip_utf8_validation=True)
        try:
            for frame in self.adapter.subscribe_messages():
                ws.send(frame)
        except BaseException:
            ws.shutdown()
            raise
        return ws

    def send_text(self, frame: str) -> None:
        """Queue a frame the adapter answered with (a pong)."""
        self.send(ABNF.create_frame(frame, ABNF.OPCODE_TEXT).format())

    def request_rest(self, url: str) -> str | None:
        """Have the loop's fetcher GET `url` for this connection; the answer comes back later."""
        if self.fetcher is None:
            return "rest failed: no fetcher"
        self.fetcher.fetch(self, self.connections, url)
        return None

    def on_fetched(self, fetched: Fetched) -> str | None:
        """Hand a finished GET to the adapter; why to drop the connection, if so."""
        if self.sock is None or fetched.generation != self.connections:
            return None  # asked for on a connection that is gone: its book went with it
        if fetched.text is None:
            return fetched.error
        return self._on_rest(fetched.url, fetched.text)

    def on_frames(self, frames: list[tuple[int, bytes]]) -> str | None:
        """Hand a read's messages to the adapter; returns why to drop the connection, if so."""
        for opcode, payload in frames:
            if opcode == OP_TEXT or opcode == OP_BINARY:
                # The same per-message path as the threaded reader; each message gets its own
                # receipt time there (a venue that sends no time is stored at it, and two
                # quotes of a series at one instant would be one InfluxDB point).
                quotes_before = self.quotes
                reason = (self._on_binary(payload) if opcode == OP_BINARY
                          else self._on_text(payload.decode("utf-8", "replace")))
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

    def drain(self, sock: socket.socket, read_bytes: int) -> tuple[list[bytes], str | None]:
        """What the socket holds now, read `read_bytes` at a time; why it ended, if it did."""
        chunks: list[bytes] = []
        try:
            while True:
                data = sock.recv(read_bytes)
                if not data:
                    return chunks, "connection closed"
                chunks.append(data)
                # A short read emptied the kernel's buffer; TLS may still hold decrypted bytes.
                if len(data) < read_bytes and not (isinstance(sock, ssl.SSLSocket)
                                                   and sock.pending()):
                    return chunks, None
        except WOULD_BLOCK:
            return chunks, None
        except OSError as exc:
            return chunks, f"error: {exc}"

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
