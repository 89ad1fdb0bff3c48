"""The websocket library behind `/ws` (flask-sock over simple-websocket), and everything that
knows its internals: the socket it writes through, how a connection is closed with a code, and
the 1001 for every open connection at shutdown. The rest of `web.live` sees a `Connection`."""

from __future__ import annotations

import functools
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response
from flask_sock import Sock
from simple_websocket import ConnectionClosed

GOING_AWAY = 1001  # the close code for "server shutting down"
POLICY_VIOLATION = 1008
# On close, discard what the peer still sends for at most this long before closing the socket:
# closing with unread data makes the kernel reset the connection, and a reset can destroy the
# close frame (1008, 1009) before the peer reads it.
LINGER_S = 1.0

_sock = Sock()
# Every open connection of this process and what stops its sender, for `close_all` at shutdown.
_open: dict[Connection, Callable[[], None]] = {}
# (code, reason) once `close_all` ran: the process is shutting down.
_closing: tuple[int, str] | None = None
_open_lock = threading.Lock()


class Closed(Exception):
    """The connection is closed (by the peer, by us, or by a dead socket)."""


class LockedSocket:
    """Wraps a connection's socket so the library's own control frames (pong, close) and the
    hub's data writes never interleave mid-frame; everything else passes through."""

    def __init__(self, sock: socket.socket) -> None:
        self.raw = sock
        self.lock = threading.Lock()

    def send(self, data: bytes) -> int:
        with self.lock:
            self.raw.sendall(data)
        return len(data)

    def sendall(self, data: bytes) -> None:
        with self.lock:
            self.raw.sendall(data)

    def close(self) -> None:
        """Lingering close: send FIN after our close frame, read and drop the peer's data until
        it closes too (or `LINGER_S` passes), then close, so the peer sees our close code."""
        try:
            self.raw.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_S
            while (left := deadline - time.monotonic()) > 0:
                self.raw.settimeout(left)
                if not self.raw.recv(65536):
                    break
        except OSError:  # already shut down or reset, or the linger timed out
            pass
        finally:
            self.raw.close()

    def abort(self) -> None:
        """Shut the socket down without the lock: a writer may be blocked holding it."""
        try:
            self.raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class Connection:
    """One accepted websocket: pre-framed writes, reads, closes with a code."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._sock = LockedSocket(ws.sock)
        ws.sock = self._sock  # the library's pongs and closes now take our lock

    def write(self, frames: bytes) -> None:
        """Write already framed bytes (raises OSError when the socket is gone)."""
        self._sock.sendall(frames)

    def abort(self) -> None:
        """Shut the socket down at once, unblocking a writer stuck on a full buffer."""
        self._sock.abort()

    def receive(self) -> str | bytes | None:
        """The next message from the peer (None: nothing yet); raises `Closed` once it ends."""
        try:
            return self._ws.receive()
        except ConnectionClosed:
            raise Closed from None

    def close(self, code: int, message: str) -> None:
        """Send a close frame with `code` and `message` (a no-op when already closing)."""
        try:
            self._ws.close(reason=code, message=message)
        except (ConnectionClosed, OSError):
            pass

    def wait_closed(self) -> None:
        """Let the library's reader finish its lingering close before the server closes the
        socket under it."""
        self._ws.thread.join(LINGER_S + 1.0)

    def refuse(self, code: int, message: str) -> None:
        """Close an accepted connection at once with `code` and a reason the page can read."""
        self.close(code, message)
        self.wait_closed()


def init_app(app: Flask, max_message_bytes: int) -> None:
    """Register the routes declared with `route` on `app`; the library closes a connection with
    1009 once one inbound message passes `max_message_bytes`, counting as frames arrive."""
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": max_message_bytes})
    _sock.init_app(app)


def route(path: str) -> Callable[[Callable[[Connection], None]], Callable[[Connection], None]]:
    """Declare `handler(connection)` as the websocket endpoint at `path`."""
    def register(handler: Callable[[Connection], None]) -> Callable[[Connection], None]:
        @functools.wraps(handler)
        def view(ws: Any) -> None:
            handler(Connection(ws))
        _sock.route(path)(view)
        return handler
    return register


def before_handshake(check: Callable[[], tuple[Response, int] | None]) -> None:
    """Run `check` before every handshake of the `route`s; a response it returns refuses it."""
    assert _sock.bp is not None, "declare the route first"
    _sock.bp.before_request(check)


def track(connection: Connection, stop: Callable[[], None]) -> None:
    """Count `connection` as open for `close_all`; `stop` ends whatever serves it.

    A connection whose handshake finished as the shutdown began is closed at once with the
    shutdown's code: `close_all` has already run and would never see it.
    """
    with _open_lock:
        closing = _closing
        if closing is None:
            _open[connection] = stop
    if closing is not None:
        connection.close(*closing)
        stop()


def untrack(connection: Connection) -> None:
    """The connection ended."""
    with _open_lock:
        _open.pop(connection, None)


def close_all(code: int = GOING_AWAY, message: str = "server restarting") -> int:
    """Close every open connection of this process with `code`, and any that opens after;
    returns how many were open."""
    global _closing
    with _open_lock:
        _closing = (code, message)
        conns = list(_open.items())
    for connection, stop in conns:
        connection.close(code, message)
        stop()
    return len(conns)
