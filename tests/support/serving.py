"""Run a socketserver-style server (a webhook receiver) on a thread for a fixture's lifetime."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from socketserver import BaseServer
from typing import TypeVar

Server = TypeVar("Server", bound=BaseServer)


def serving(server: Server) -> Iterator[Server]:
    """A fixture body: `server` answering on a thread of its own, then shut down and closed."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
