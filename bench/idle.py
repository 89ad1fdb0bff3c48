"""Hold many idle `/ws` clients open from one process: raw sockets doing the websocket handshake
on one selector (no thread or task per socket), so a thousand cost the client side next to nothing.

Used by `python -m bench fanout --idle N` and by the idle-socket test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import resource
import selectors
import socket
import struct
import time
from collections.abc import Mapping, Sequence
from typing import Any

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's fixed accept-key suffix
OPCODE_CLOSE = 0x8
IDLE_SYMBOL = "IDLE-NONE"  # what `hold`'s clients subscribe to: no quote ever comes for it
NO_CLOSE_FRAME = -1  # the close code recorded when the server dropped the TCP connection bare


def lift_open_files(needed: int) -> int:
    """Raise this process's soft open-file limit towards its hard one; returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def masked_text_frame(text: str) -> bytes:
    """One client → server text frame (clients must mask, RFC 6455 5.3)."""
    payload = text.encode()
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, 0x80 | n)
    else:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _handshake(host: str, port: int, path: str, headers: Mapping[str, str]) -> tuple[bytes, bytes]:
    """The upgrade request and the `Sec-WebSocket-Accept` the server must answer with."""
    key = base64.b64encode(os.urandom(16))
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
               f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode()
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())  # noqa: S324  (the RFC's)
    return request, accept


class IdleClients:
    """Websocket clients that connected and then say nothing (an idle tab); `poll` reads what
    the server sent meanwhile and records each close (code, reason) the server sent."""

    def __init__(self) -> None:
        self.socks: list[socket.socket] = []
        self.refused = 0  # handshakes answered with anything but a valid 101
        self.closes: dict[socket.socket, tuple[int, str]] = {}
        self._pending: dict[socket.socket, bytes] = {}

    def connect(self, host: str, port: int, count: int, timeout_s: float = 30.0,
                path: str = "/ws", subscribe: Sequence[str] | None = None,
                headers: Mapping[str, str] | None = None,
                sources: Sequence[str] = ()) -> list[socket.socket]:
        """Open `count` more clients (all handshakes in flight at once); returns those upgraded
        before `timeout_s`. `subscribe` narrows them to symbols (e.g. one nobody publishes, so
        they stay idle while others are fed); `sources` are local addresses to spread them over
        (127.0.0.x: distinct client addresses on one machine)."""
        sel = selectors.DefaultSelector()
        state: dict[socket.socket, tuple[bytes, bytes, bytearray]] = {}
        upgraded: list[socket.socket] = []
        for i in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if sources:
                sock.bind((sources[i % len(sources)], 0))
            sock.setblocking(False)
            sock.connect_ex((host, port))
            request, accept = _handshake(host, port, path, headers or {})
            state[sock] = (request, accept, bytearray())
            sel.register(sock, selectors.EVENT_WRITE)
        deadline = time.monotonic() + timeout_s
        while state and (left := deadline - time.monotonic()) > 0:
            for key, events in sel.select(min(left, 0.5)):
                sock = key.fileobj  # type: ignore[assignment]
                request, accept, buf = state[sock]
                if events & selectors.EVENT_WRITE:
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        sock.sendall(request)  # a few hundred bytes: fits the empty buffer
                        sel.modify(sock, selectors.EVENT_READ)
                        continue
                    chunk = b""
                else:
                    try:
                        chunk = sock.recv(4096)
                    except OSError:
                        chunk = b""
                buf += chunk
                head, sep, rest = bytes(buf).partition(b"\r\n\r\n")
                if chunk and not sep:
                    continue
                sel.unregister(sock)
                del state[sock]
                if chunk and head.startswith(b"HTTP/1.1 101") and accept in head:
                    if subscribe is not None:
                        sock.sendall(masked_text_frame(json.dumps({"subscribe": list(subscribe)})))
                    self.socks.append(sock)
                    self._pending[sock] = rest
                    upgraded.append(sock)
                else:
                    self.refused += 1
                    sock.close()
        for sock in state:
            sock.close()
        sel.close()
        return upgraded

    def poll(self) -> int:
        """Read what every client was sent; returns how many the server has not closed."""
        for sock in self.socks:
            if sock in self.closes:
                continue
            buf, eof = self._pending.get(sock, b""), False
            while True:
                try:
                    chunk = sock.recv(65536, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    eof = True
                    break
                buf += chunk
            buf, close = _read_frames(buf)
            self._pending[sock] = buf
            if close is None and eof:
                close = (NO_CLOSE_FRAME, "")
            if close is not None:
                self.closes[sock] = close
        return len(self.socks) - len(self.closes)

    def drop(self, sock: socket.socket) -> None:
        """Drop one connection (no close handshake: an idle tab whose machine went away)."""
        sock.close()
        self.socks.remove(sock)
        self._pending.pop(sock, None)
        self.closes.pop(sock, None)

    def close(self) -> None:
        """Drop every connection."""
        for sock in list(self.socks):
            self.drop(sock)


def _read_frames(buf: bytes) -> tuple[bytes, tuple[int, str] | None]:
    """Consume whole server frames from `buf`; returns the partial rest and the (code, reason)
    of a close frame among them, if any."""
    close = None
    while len(buf) >= 2:
        opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
        offset = 2
        if n == 126:
            if len(buf) < 4:
                break
            n, offset = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, offset = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < offset + n:
            break
        if opcode == OPCODE_CLOSE:
            body = buf[offset:offset + n]
            close = ((struct.unpack("!H", body[:2])[0], body[2:].decode(errors="replace"))
                     if len(body) >= 2 else (1005, ""))
        buf = buf[offset + n:]
    return buf, close


def hold(host: str, port: int, count: int, ready: Any, stop: Any, results: Any) -> None:
    """Process entry point: open `count` idle clients narrowed to a symbol nobody publishes, put
    how many were upgraded on `ready`, hold them until `stop`, then put how many are still open
    on `results`."""
    lift_open_files(count + 100)
    clients = IdleClients()
    upgraded = clients.connect(host, port, count, timeout_s=60, subscribe=[IDLE_SYMBOL])
    ready.put(len(upgraded))
    stop.wait()
    results.put(clients.poll())
    clients.close()
