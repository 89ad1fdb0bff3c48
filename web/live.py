"""Live updates over flask-sock at `/ws`; the fan-out itself lives in `web.hub`.

Each connection uses its request thread as the sender (writing the client's outbox), plus one
small thread reading the client's messages. Keepalive: an idle connection gets an application
`{"type": "ping", "data": {"ts_ns": ...}}` every 20 s (a JSON ping rather than a protocol ping
because browsers cannot see protocol pings, and because only one thread then writes data).

Tracing: a client that sent `{"trace": true}` gets each event with `trace.ws_ns`, the wall time
the hub wrote it to the socket (added to the path's own stamps, which every quote event carries);
the other clients' frames are untouched.

Hostile clients: a message is answered with an error event when it is not a valid subscribe,
coalesce or trace message (`web.events.parse_client_message`, which also refuses more than
`MAX_CLIENT_MESSAGE` bytes); a message growing past `MAX_MESSAGE_BYTES` closes the connection
with 1009 before it is buffered whole; more than `RATE_BURST` messages at once, or a sustained
`RATE_PER_S` per second, closes it with 1008. Clients never publish: nothing they send reaches
Redis or another client.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
import time

import redis
from flask import Flask, current_app
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from wsproto.frame_protocol import CloseReason

from web.events import ClientMessageError, event_frame, parse_client_message
from web.hub import LINGER_S, Client, Hub, LockedSocket

log = logging.getLogger(__name__)

# The library closes with 1009 once one message passes this, counting as frames arrive, so a 10 MB
# frame is never held whole. Between MAX_CLIENT_MESSAGE and this, a message gets an error event.
MAX_MESSAGE_BYTES = 64 * 1024
# Inbound token bucket per connection: a page sends a handful of messages per minute.
RATE_PER_S = 20.0
RATE_BURST = 50

sock = Sock()

_hub_lock = threading.Lock()
_ids = itertools.count(1)


def init_app(app: Flask) -> None:
    """Register `/ws` on `app` with the inbound message size limit."""
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": MAX_MESSAGE_BYTES})
    sock.init_app(app)


class RateLimit:
    """Token bucket: `burst` messages at once, refilled at `per_s`; `allow` spends one."""

    def __init__(self, per_s: float = RATE_PER_S, burst: int = RATE_BURST) -> None:
        self.per_s, self.burst = per_s, float(burst)
        self._tokens, self._at = float(burst), time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_s)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def get_hub(app: Flask) -> Hub:
    """This process's hub for `app`, created on the first websocket."""
    with _hub_lock:
        hub = app.extensions.get("cryptotracker_live")
        if hub is None:
            url = app.config["REDIS_URL"]
            channel = f"{app.config['KEY_PREFIX']}live"
            # bytes, not str: published JSON is forwarded to clients without re-encoding
            hub = Hub(lambda: redis.Redis.from_url(url, health_check_interval=10), channel)
            app.extensions["cryptotracker_live"] = hub
            # The app is loaded: keep its heap out of full collections, which would otherwise
            # pause the hub's listener and every sender while they walk it.
            gc.freeze()
        return hub


def _read_client(ws: object, client: Client, hub: Hub) -> None:
    """Apply the client's subscribe/coalesce/trace messages; answer bad ones with an error event and
    close a client that floods (1008)."""
    limit = RateLimit()
    try:
        while not client.closed:
            raw = ws.receive()  # type: ignore[attr-defined]
            if raw is None:
                continue
            if not limit.allow():
                log.warning("closing websocket client %s: more than %d messages at %.0f/s",
                            client.name, RATE_BURST, RATE_PER_S)
                ws.close(reason=CloseReason.POLICY_VIOLATION,  # type: ignore[attr-defined]
                         message=f"rate limit: at most {RATE_PER_S:.0f} messages per second")
                break
            try:
                hub.update(client, parse_client_message(raw))
            except ClientMessageError as exc:
                client.enqueue([event_frame("error", {"message": str(exc)})])
    except ConnectionClosed:
        pass
    finally:
        client.close()


@sock.route("/ws")
def live(ws: object) -> None:
    """One live client: every event (coalesced) until it narrows or opts out of coalescing."""
    hub = get_hub(current_app._get_current_object())  # type: ignore[attr-defined]
    locked = LockedSocket(ws.sock)  # type: ignore[attr-defined]
    ws.sock = locked  # type: ignore[attr-defined]  # the library's pongs/closes take our lock
    client = Client(locked.sendall, locked.abort, name=f"ws-{next(_ids)}")
    hub.add(client)
    reader = threading.Thread(target=_read_client, args=(ws, client, hub),
                              name=f"{client.name}-reader", daemon=True)
    reader.start()
    try:
        client.run_sender()
    finally:
        hub.remove(client)
        if client.dropped:
            locked.abort()
        # Let the library's reader finish its lingering close (LockedSocket.close) before the
        # server closes the socket under it.
        ws.thread.join(LINGER_S + 1.0)  # type: ignore[attr-defined]
