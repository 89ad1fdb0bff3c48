"""The aiohttp app: one websocket and REST listings per venue, stats, and control endpoints."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, WSMsgType, web

from simulator.client import Client
from simulator.config import SimConfig
from simulator.control import Control
from simulator.emitter import Emitter
from simulator.prices import Market
from simulator.venues import VENUES, Venue
from simulator.venues.base import PostRoute, QueryRoute

WS_HEARTBEAT_S = 20.0  # websocket protocol pings, as real venues send them
WS_CLOSE_TIMEOUT_S = 2.0  # a control close must not hang on a client that stopped reading
IDLE_TICK_S = 1.0  # Kraken-style heartbeats: once per second without other frames

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Simulator:
    """Owns the venues, their emitters and the idle-heartbeat loop; builds the web app."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.market = Market(
            list(config.exchanges), list(config.symbols), config.seed,
            random_dislocations=config.dislocations,
        )
        self.venues: dict[str, Venue] = {
            name: VENUES[name](list(config.symbols), self.market, config.seed)
            for name in config.exchanges
        }
        self.emitters = {
            name: Emitter(venue, config.rate, config.count, config.pregenerate)
            for name, venue in self.venues.items()
        }
        for emitter in self.emitters.values():
            emitter.all_ready = self._all_rendered
        self._tasks: list[asyncio.Task[None]] = []
        self.control = Control(self)

    def _all_rendered(self) -> bool:
        """Every venue with subscribers has its pre-generated changes ready."""
        return all(e.ready is not None or not e.venue.active_symbols()
                   for e in self.emitters.values())

    # --- app ------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The aiohttp application with every route."""
        app = web.Application()
        app.router.add_get("/stats", self.handle_stats)
        app.router.add_post("/control/{exchange}/{action}", self.control.handle)
        for name, venue in self.venues.items():
            app.router.add_get(f"/{name}", self._ws_handler(venue))
            for path, builder in venue.listing_routes():
                app.router.add_get(f"/{name}{path}", self._rest_handler(builder))
            for path, answer in venue.query_routes().items():
                app.router.add_get(f"/{name}{path}", self._query_handler(answer))
            for path, post in venue.post_routes().items():
                app.router.add_post(f"/{name}{path}", self._post_handler(name, post))
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    def endpoints(self, host: str, port: int) -> list[str]:
        """Human-readable list of what is served, one line per endpoint."""
        http, ws = f"http://{host}:{port}", f"ws://{host}:{port}"
        lines = []
        for name, venue in self.venues.items():
            lines.append(f"{name:9} websocket  {ws}/{name}")
            for path, _ in venue.listing_routes():
                lines.append(f"{name:9} REST       GET {http}/{name}{path}")
            for path in venue.query_routes():
                lines.append(f"{name:9} REST       GET {http}/{name}{path}?...")
            for path in venue.post_routes():
                lines.append(f"{name:9} REST       POST {http}/{name}{path}")
        lines.append(f"{'stats':9} REST       GET {http}/stats")
        lines.append(
            f"{'control':9} REST       POST {http}/control/<exchange>/"
            "{close | silence?seconds=S | reconnect | garbage | gap | bad_checksum"
            " | dislocate?symbol=S&shift=X&seconds=T | skew?seconds=S&count=N"
            " | oversize?bytes=B}"
        )
        return lines

    async def _on_startup(self, app: web.Application) -> None:
        for name, emitter in self.emitters.items():
            self._tasks.append(asyncio.create_task(emitter.run(), name=f"emit-{name}"))
        self._tasks.append(asyncio.create_task(self._idle_loop(), name="idle-heartbeats"))

    async def _on_shutdown(self, app: web.Application) -> None:
        # Close sockets first so their handlers return and the runner can finish quickly.
        await asyncio.gather(*(self.close_all(v) for v in self.venues.values()))

    async def _on_cleanup(self, app: web.Application) -> None:
        tasks = [*self._tasks, *self.control.cancel()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- websockets -----------------------------------------------------------------------

    def _ws_handler(self, venue: Venue) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            ws = web.WebSocketResponse(
                heartbeat=WS_HEARTBEAT_S, timeout=WS_CLOSE_TIMEOUT_S, compress=False
            )
            if not ws.can_prepare(request).ok:
                return web.json_response(
                    {"error": f"websocket endpoint: connect with ws:// to /{venue.name}"},
                    status=400,
                )
            await ws.prepare(request)
            client = Client(ws, request.transport)
            client.start()
            venue.attach(client)
            try:
                await venue.on_open(client)
                async for msg in ws:
                    if msg.type == WSMsgType.TEXT:
                        await venue.on_text(client, msg.data)
                    elif msg.type == WSMsgType.BINARY:
                        await venue.on_text(client, msg.data.decode("utf-8", "replace"))
                    elif msg.type == WSMsgType.ERROR:
                        break
            finally:
                venue.detach(client)
                await client.stop()
            return ws

        return handle

    async def close_all(self, venue: Venue) -> int:
        """Close every socket of `venue`; how many there were."""
        clients = list(venue.clients)
        message = b"closed by simulator"
        await asyncio.gather(*(venue.close(c, WSCloseCode.GOING_AWAY, message) for c in clients))
        return len(clients)

    async def _idle_loop(self) -> None:
        """Once a second, send a venue keepalive to each client that got nothing that second."""
        while True:
            await asyncio.sleep(IDLE_TICK_S)
            for venue in self.venues.values():
                if venue.silent:
                    continue
                for client in list(venue.clients):
                    if client.sent_recently:
                        client.sent_recently = False
                        continue
                    frame = venue.idle_frame(client)
                    if frame is not None:
                        venue.send(client, frame)
                        client.sent_recently = False

    # --- REST -----------------------------------------------------------------------------

    @staticmethod
    def _rest_handler(builder: Callable[[], object]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return web.json_response(builder())

        return handle

    @staticmethod
    def _query_handler(answer: QueryRoute) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                return web.json_response(answer(request.query))
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)

        return handle

    @staticmethod
    def _post_handler(name: str, answer: PostRoute) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                return web.json_response(answer(request.query, f"ws://{request.host}/{name}"))
            except ValueError as exc:
                return web.json_response({"error": str(exc)}, status=400)

        return handle

    async def handle_stats(self, request: web.Request) -> web.StreamResponse:
        """`GET /stats`: changes emitted per exchange and symbol, connected clients."""
        return web.json_response(self.stats())

    def stats(self) -> dict[str, object]:
        """The stats document."""
        return {
            "emitted": {name: dict(v.emitted) for name, v in self.venues.items()},
            "clients": {name: len(v.clients) for name, v in self.venues.items()},
            "silenced": {name: v.silent for name, v in self.venues.items()},
            # Pre-rendered changes not yet sent (null: not pre-generating, or not rendered yet).
            "pregenerated": {name: None if e.ready is None else len(e.ready)
                             for name, e in self.emitters.items()},
        }
