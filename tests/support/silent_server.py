"""A hostile network peer: a TCP server that accepts every connection and never answers.

Not a mock of any service: it is what a hung Redis or InfluxDB (or a black-holing proxy) looks
like from the client's side, for tests of timeouts.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from tests.support.procs import free_port


class SilentServer:
    """Listens on 127.0.0.1:`port`, holds each connection open and reads nothing from it."""

    def __init__(self, on_accept: Callable[[], None] | None = None) -> None:
        self.port = free_port()
        self.on_accept = on_accept
        self.accepted = 0
        self._sock = socket.create_server(("127.0.0.1", self.port), backlog=64)
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # closed
                return
            self._held.append(conn)
            self.accepted += 1
            if self.on_accept is not None:
                self.on_accept()

    def close(self) -> None:
        """Stop listening and drop every held connection."""
        self._sock.close()
        for conn in self._held:
            conn.close()
        self._thread.join(timeout=2)
