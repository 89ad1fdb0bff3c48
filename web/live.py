"""Live updates over flask-sock at `/ws`; the fan-out itself lives in `web.hub`.

Each connection uses its request thread as the sender (writing the client's outbox), plus one
small thread reading the client's messages. Keepalive: an idle connection gets an application
`{"type": "ping", "data": {"ts_ns": ...}}` every 20 s (a JSON ping rather than a protocol ping
because browsers cannot see protocol pings, and because only one thread then writes data).
"""

from __future__ import annotations

import itertools
import logging
import threading

import redis
from flask import Flask, current_app
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from web.hub import (
    Client,
    ClientMessageError,
    Hub,
    LockedSocket,
    event_frame,
    parse_client_message,
)

log = logging.getLogger(__name__)

sock = Sock()

_hub_lock = threading.Lock()
_ids = itertools.count(1)


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
        return hub


def _read_client(ws: object, client: Client, hub: Hub) -> None:
    """Apply the client's subscribe/coalesce messages; answer bad ones with an error event."""
    try:
        while not client.closed:
            raw = ws.receive()  # type: ignore[attr-defined]
            if raw is None:
                continue
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
