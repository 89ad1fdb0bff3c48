"""One connected websocket client with its own outbound queue and writer task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from itertools import count
from typing import Any

from aiohttp import web

log = logging.getLogger("simulator")

HIGH_WATER = 2_000  # queued frames above which the emitter waits for this client
SLOW_CONSUMER_S = 5.0  # a client that stays above HIGH_WATER this long is disconnected

_ids = count(1)


class Client:
    """A websocket connection: frames are queued and written by a task of its own.

    Queuing keeps one client that stopped reading from stalling everybody else: the emitter
    pushes without awaiting the socket, and only waits (bounded) when a queue grows too long.
    """

    def __init__(
        self, ws: web.WebSocketResponse, transport: asyncio.BaseTransport | None = None
    ) -> None:
        self.ws = ws
        self._transport = transport
        self.id = next(_ids)
        self.sent_recently = False  # set on every send, cleared by the idle tick (Kraken heartbeat)
        self.has_subscribed = False
        self.state: dict[str, Any] = {}  # venue-specific extras (e.g. Kraken connection id)
        self._queue: deque[str | bytes] = deque()
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._gone = False
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writer task (inside the running loop)."""
        self._writer = asyncio.create_task(self._write_loop(), name=f"client-{self.id}")

    async def stop(self) -> None:
        """Stop writing and drop whatever is still queued."""
        self._gone = True
        self._queue.clear()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    def push(self, frame: str | bytes) -> None:
        """Queue one frame (bytes go as a binary one); never blocks, dropped once gone."""
        if self._gone:
            return
        self._queue.append(frame)
        self.sent_recently = True
        if len(self._queue) == 1:
            self._drained.clear()
            self._wakeup.set()

    @property
    def backlog(self) -> int:
        """Frames queued but not yet written."""
        return len(self._queue)

    async def wait_drained(self, timeout: float = SLOW_CONSUMER_S) -> None:
        """Wait until the queue is empty; drop the client as too slow after `timeout`."""
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
        except TimeoutError:
            log.info("client %d: slow consumer (%d frames queued), dropped", self.id, self.backlog)
            self.abort()

    async def close(self, code: int, message: bytes, timeout: float = 3.0) -> None:
        """Close politely; abort if the client does not take the close frame in time.

        Frames already queued go out first: they were counted as emitted, so a control close
        must not drop them (the `--count` accounting promises counted = delivered).
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), timeout)
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=message), timeout)
        except (TimeoutError, ConnectionError, RuntimeError):
            self.abort()

    def abort(self) -> None:
        """Cut the connection at once: a client that does not read cannot take a close frame."""
        self._gone = True
        self._queue.clear()
        self._drained.set()
        if self._writer is not None:
            self._writer.cancel()  # it may be stuck waiting for the socket to drain
        if self._transport is not None:
            self._transport.abort()

    async def _write_loop(self) -> None:
        queue, ws = self._queue, self.ws
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while queue:
                frame = queue.popleft()
                if ws.closed:
                    queue.clear()
                    break
                try:
                    if type(frame) is str:
                        await ws.send_str(frame)
                    else:
                        await ws.send_bytes(frame)  # type: ignore[arg-type]
                except (ConnectionError, RuntimeError):
                    self._gone = True
                    queue.clear()
                    break
            self._drained.set()
