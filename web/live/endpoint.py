"""The `/ws` endpoint: admission, one hub per process, and each connection's reader and sender.

Each connection uses its request thread as the sender (writing the client's outbox), plus one
small thread reading the client's messages. Keepalive: an idle connection gets an application
`{"type": "ping", "data": {"ts_ns": ...}}` every 20 s (a JSON ping rather than a protocol ping
because browsers cannot see protocol pings, and because only one thread then writes data).

Tracing: a client that sent `{"trace": true}` gets each event with `trace.ws_ns`, the wall time
the hub wrote it to the socket (added to the path's own stamps, which every quote event carries);
the other clients' frames are untouched.

Hostile clients: a message is answered with an error event when it is not a valid subscribe,
coalesce or trace message (`protocol.parse_client_message`, which also refuses more than
`MAX_CLIENT_MESSAGE` bytes); a message growing past `MAX_MESSAGE_BYTES` closes the connection
with 1009 before it is buffered whole; more than `RATE_BURST` messages at once, or a sustained
`RATE_PER_S` per second, closes it with 1008. Clients never publish: nothing they send reaches
Redis or another client.

Admission (`admission`): a handshake whose `Origin` names a foreign site gets a JSON 403
before the upgrade; a socket over `WS_MAX_CLIENTS` or `WS_MAX_PER_ADDRESS` is accepted and closed
with 1013 and a reason. When the web worker shuts down, every socket is closed with 1001 (going
away) so pages reconnect to the next worker at once and the worker need not wait them out.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
import time

import redis
from flask import Flask, Response, current_app, jsonify, request

from web.live import transport
from web.live.admission import TRY_AGAIN_LATER, WsLimits
from web.live.client import LiveClient
from web.live.hub import Hub
from web.live.protocol import ClientMessageError, event_frame, parse_client_message

log = logging.getLogger(__name__)

# Between MAX_CLIENT_MESSAGE and this, a message gets an error event; past it, a 1009 close.
MAX_MESSAGE_BYTES = 64 * 1024
# Inbound token bucket per connection: a page sends a handful of messages per minute.
RATE_PER_S = 20.0
RATE_BURST = 50
LIMITS_KEY = "cryptotracker_ws_limits"  # app.extensions key of the app's WsLimits
HUB_KEY = "cryptotracker_live"  # app.extensions key of the process's Hub

_hub_lock = threading.Lock()
_ids = itertools.count(1)


def init_app(app: Flask) -> None:
    """Register `/ws` on `app` with the inbound message size limit and the admission limits."""
    app.extensions[LIMITS_KEY] = WsLimits.from_settings(app.config["SETTINGS"])
    transport.init_app(app, MAX_MESSAGE_BYTES)


def get_limits(app: Flask) -> WsLimits:
    """The admission limits of `app` (its open-socket count and refusals, for /metrics too)."""
    return app.extensions[LIMITS_KEY]


class RateLimit:
    """Token bucket: `burst` messages at once, refilled at `per_s`; `allow` spends one."""

    def __init__(self, per_s: float = RATE_PER_S, burst: int = RATE_BURST) -> None:
        self.per_s, self.burst = per_s, float(burst)
        self._tokens, self._at = float(burst), time.monotonic()

    def allow(self) -> bool:
        """Spend a token; False when none is left."""
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
        hub = app.extensions.get(HUB_KEY)
        if hub is None:
            settings = app.config["SETTINGS"]
            url, timeout_s = settings.redis_url, settings.redis_timeout_s
            # bytes replies, not str: published JSON is forwarded to clients without re-encoding.
            # A hung Redis fails the listener's read (it reconnects with backoff) instead of
            # blocking it forever; its own wait for a message stays get_message's timeout.
            hub = Hub(lambda: redis.Redis.from_url(
                url, health_check_interval=10, socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s), settings.key_prefix)
            app.extensions[HUB_KEY] = hub
            # The app is loaded: keep its heap out of full collections, which would otherwise
            # pause the hub's listener and every sender while they walk it.
            gc.freeze()
        return hub


def _read_client(conn: transport.Connection, client: LiveClient, hub: Hub) -> None:
    """Apply the client's subscribe/coalesce/trace messages; answer bad ones with an error event and
    close a client that floods (1008)."""
    limit = RateLimit()
    try:
        while not client.closed:
            raw = conn.receive()
            if raw is None:
                continue
            if not limit.allow():
                log.warning("closing websocket client %s: more than %d messages at %.0f/s",
                            client.name, RATE_BURST, RATE_PER_S)
                conn.close(transport.POLICY_VIOLATION,
                           f"rate limit: at most {RATE_PER_S:.0f} messages per second")
                break
            try:
                hub.update(client, parse_client_message(raw))
            except ClientMessageError as exc:
                client.enqueue([event_frame("error", {"message": str(exc)})])
    except transport.Closed:
        pass
    finally:
        client.close()


@transport.route("/ws")
def live(conn: transport.Connection) -> None:
    """One live client: every event (coalesced) until it narrows or opts out of coalescing."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    limits = get_limits(app)
    address = limits.address(request.remote_addr or "", request.headers.get("X-Forwarded-For"))
    refusal = limits.acquire(address)
    if refusal is not None:
        log.warning("closing websocket from %s with 1013: %s", address, refusal)
        conn.refuse(TRY_AGAIN_LATER, refusal)
        return
    try:
        _serve(conn, get_hub(app))
    finally:
        limits.release(address)


def _serve(conn: transport.Connection, hub: Hub) -> None:
    """Run an admitted client's sender here and its reader on a thread, until it ends."""
    client = LiveClient(conn.write, conn.abort, name=f"ws-{next(_ids)}")
    transport.track(conn, client.close)
    hub.add(client)
    reader = threading.Thread(target=_read_client, args=(conn, client, hub),
                              name=f"{client.name}-reader", daemon=True)
    reader.start()
    try:
        client.run_sender()
    finally:
        hub.remove(client)
        transport.untrack(conn)
        if client.dropped:
            conn.abort()
        conn.wait_closed()


@transport.before_handshake
def _check_origin() -> tuple[Response, int] | None:
    """Refuse a handshake from a foreign page before the upgrade (HTTP 403, JSON)."""
    origin = request.headers.get("Origin")
    if get_limits(current_app).check_origin(origin, request.host):
        return None
    log.warning("refusing websocket from %s: Origin %.100r is not %s",
                request.remote_addr, origin, request.host)
    return jsonify({"error": f"origin not allowed: {origin[:100]!r}; /ws serves pages of "
                             "this host and WS_ALLOWED_ORIGINS only"}), 403
