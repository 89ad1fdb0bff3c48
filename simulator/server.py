"""The aiohttp app: one websocket and REST listings per venue, stats, and control endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from simulator.client import Client
from simulator.config import SimConfig
from simulator.emitter import Emitter
from simulator.prices import Market
from simulator.venues import VENUES, Venue

log = logging.getLogger("simulator")

WS_HEARTBEAT_S = 20.0  # websocket protocol pings, as real venues send them
WS_CLOSE_TIMEOUT_S = 2.0  # a control close must not hang on a client that stopped reading
IDLE_TICK_S = 1.0  # Kraken-style heartbeats: once per second without other frames
MAX_SILENCE_S = 3600.0
MAX_DISLOCATION_S = 3600.0
MAX_SHIFT = 0.5  # relative; beyond ±50 % a "dislocation" is a typo, not a market event
MAX_SKEW_S = 10 * 365 * 86_400.0  # ±10 years keeps every skewed stamp a valid, positive time
MAX_SKEW_COUNT = 1_000_000
MIN_OVERSIZE_BYTES, MAX_OVERSIZE_BYTES = 64, 64 * 2**20
# Misbehaviours a venue may simulate on request (see Venue.fault).
FAULTS = frozenset({"garbage", "gap", "bad_checksum"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_loopback(remote: str | None) -> bool:
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


async def _control_params(request: web.Request) -> dict[str, Any]:
    """Parameters from a JSON object body, if any, overridden by the query string."""
    params: dict[str, Any] = {}
    if request.can_read_body:
        text = await request.text()
        if text.strip():
            try:
                body = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"body is not JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            params.update(body)
    params.update(request.query)
    return params


def _count(params: dict[str, Any], name: str, low: int, high: int) -> int:
    """A whole number in [low, high] from a JSON integer or a query string."""
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{name} must be a whole number in [{low}, {high}]")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {number}")
    return number


def _number(params: dict[str, Any], name: str) -> float:
    """A finite number from a JSON number or a query string; ValueError names the parameter."""
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number")
    return number


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
        self._unsilence: dict[str, asyncio.TimerHandle] = {}
        self._edges: set[asyncio.Task[None]] = set()  # pending ends of requested dislocations

    def _all_rendered(self) -> bool:
        """Every venue with subscribers has its pre-generated changes ready."""
        return all(e.ready is not None or not e.venue.active_symbols()
                   for e in self.emitters.values())

    # --- app ------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The aiohttp application with every route."""
        app = web.Application()
        app.router.add_get("/stats", self.handle_stats)
        app.router.add_post("/control/{exchange}/{action}", self.handle_control)
        for name, venue in self.venues.items():
            app.router.add_get(f"/{name}", self._ws_handler(venue))
            for path, builder in venue.listing_routes():
                app.router.add_get(f"/{name}{path}", self._rest_handler(builder))
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
        await asyncio.gather(*(self._close_all(v) for v in self.venues.values()))

    async def _on_cleanup(self, app: web.Application) -> None:
        for handle in self._unsilence.values():
            handle.cancel()
        tasks = [*self._tasks, *self._edges]
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

    async def _close_all(self, venue: Venue) -> int:
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

    async def handle_control(self, request: web.Request) -> web.StreamResponse:
        """`POST /control/<exchange>/<action>`: close, silence, reconnect, faults, dislocate."""
        if not _is_loopback(request.remote):
            return web.json_response({"error": "control is loopback only"}, status=403)
        name = request.match_info["exchange"]
        action = request.match_info["action"]
        venue = self.venues.get(name)
        if venue is None:
            return web.json_response({"error": f"unknown exchange {name!r}"}, status=404)
        if action == "close":
            closed = await self._close_all(venue)
            log.info("control: closed %d %s socket(s)", closed, name)
            return web.json_response({"exchange": name, "action": action, "closed": closed})
        if action == "silence":
            try:
                seconds = float(request.query.get("seconds", ""))
            except ValueError:
                seconds = -1.0
            if not 0 < seconds <= MAX_SILENCE_S:
                error = f"seconds must be in (0, {MAX_SILENCE_S:g}]"
                return web.json_response({"error": error}, status=400)
            self._silence(venue, seconds)
            return web.json_response({"exchange": name, "action": action, "seconds": seconds})
        if action == "reconnect":
            clients = list(venue.clients)
            for client in clients:
                venue.send(client, venue.reconnect_frame(client))
            notified = 0 if venue.silent else len(clients)
            return web.json_response({"exchange": name, "action": action, "notified": notified})
        if action == "dislocate":
            return await self._dislocate(request, venue)
        if action == "skew":
            return await self._skew(request, venue)
        if action == "oversize":
            return await self._oversize(request, venue)
        if action in FAULTS:
            clients = list(venue.clients)
            if not venue.fault(action):
                error = f"{name} does not simulate {action!r}"
                return web.json_response({"error": error}, status=400)
            log.info("control: %s fault %s for %d client(s)", name, action, len(clients))
            return web.json_response({"exchange": name, "action": action,
                                      "clients": len(clients)})
        return web.json_response({"error": f"unknown action {action!r}"}, status=404)

    async def _dislocate(self, request: web.Request, venue: Venue) -> web.StreamResponse:
        """Shift one symbol of `venue` for a while; both edges go out at once, not at a tick."""
        try:
            params = await _control_params(request)
            symbol = str(params.get("symbol", "")).strip().upper()
            if not symbol:
                raise ValueError("symbol is required (BASE-QUOTE)")
            if symbol not in venue.symbols:
                raise ValueError(f"symbol {symbol!r} is not simulated on {venue.name} "
                                 f"(simulated: {', '.join(venue.symbols) or 'none'})")
            shift = _number(params, "shift")
            if not (shift != 0.0 and abs(shift) <= MAX_SHIFT):
                raise ValueError(f"shift must be non-zero and within ±{MAX_SHIFT:g} (relative)")
            seconds = _number(params, "seconds")
            if not 0 < seconds <= MAX_DISLOCATION_S:
                raise ValueError(f"seconds must be in (0, {MAX_DISLOCATION_S:g}]")
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        # Whole microseconds: the simulator's clock (and every venue timestamp) has that grain,
        # so the start edge is stamped exactly start_ns and the end edge at or just after end_ns.
        start_us = time.time_ns() // 1000
        end_us = start_us + max(1, round(seconds * 1e6))
        self.market.dislocate(venue.name, symbol, start_us, end_us, shift)
        emitter = self.emitters[venue.name]
        frames = emitter.emit_now(symbol, start_us)
        task = asyncio.create_task(self._end_edge(venue, symbol, end_us),
                                   name=f"dislocation-end-{venue.name}-{symbol}")
        self._edges.add(task)
        task.add_done_callback(self._edges.discard)
        log.info("control: %s %s shifted by %+.4g for %.3g s", venue.name, symbol, shift, seconds)
        await venue.broadcast(frames)
        return web.json_response({
            "exchange": venue.name, "action": "dislocate", "symbol": symbol, "shift": shift,
            "seconds": (end_us - start_us) / 1e6, "start_ns": start_us * 1000,
            "end_ns": end_us * 1000, "subscribed": symbol in venue.active_symbols(),
        })

    async def _skew(self, request: web.Request, venue: Venue) -> web.StreamResponse:
        """Stamp the venue's next `count` changes `seconds` off its clock (negative: behind)."""
        try:
            params = await _control_params(request)
            seconds = _number(params, "seconds")
            if abs(seconds) > MAX_SKEW_S:
                raise ValueError(f"seconds must be within ±{MAX_SKEW_S:g}")
            count = _count(params, "count", 1, MAX_SKEW_COUNT)
            if not venue.timed_book_frames:
                raise ValueError(f"{venue.name}'s book frames carry no time to skew")
            if self.config.pregenerate:
                raise ValueError("with --pregenerate every change is rendered (and stamped) "
                                 "before the run: nothing left to skew")
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        offset_us = round(seconds * 1e6)
        venue.skew(offset_us, count)
        log.info("control: %s's next %d changes stamped %+.6g s off", venue.name, count, seconds)
        return web.json_response({"exchange": venue.name, "action": "skew",
                                  "seconds": offset_us / 1e6, "count": count})

    async def _oversize(self, request: web.Request, venue: Venue) -> web.StreamResponse:
        """Send every client of the venue one unasked-for frame of exactly `bytes` bytes."""
        try:
            params = await _control_params(request)
            size = _count(params, "bytes", MIN_OVERSIZE_BYTES, MAX_OVERSIZE_BYTES)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        frame = venue.oversize_frame(size)
        clients = list(venue.clients)
        for client in clients:
            venue.send(client, frame)
        sent = 0 if venue.silent else len(clients)
        log.info("control: a %d-byte frame to %d %s client(s)", size, sent, venue.name)
        return web.json_response({"exchange": venue.name, "action": "oversize", "bytes": size,
                                  "clients": sent})

    async def _end_edge(self, venue: Venue, symbol: str, end_us: int) -> None:
        """Emit one change of `symbol` as soon as the wall clock reaches `end_us`."""
        # The loop sleeps on the monotonic clock and may wake a hair early: re-check wall time.
        while (left_us := end_us - time.time_ns() // 1000) > 0:
            await asyncio.sleep(left_us / 1e6)
        await venue.broadcast(self.emitters[venue.name].emit_now(symbol, time.time_ns() // 1000))

    def _silence(self, venue: Venue, seconds: float) -> None:
        """Send nothing at all to `venue`'s clients for `seconds` (a later call replaces it)."""
        previous = self._unsilence.pop(venue.name, None)
        if previous is not None:
            previous.cancel()
        venue.silent = True
        log.info("control: %s silent for %.3g s", venue.name, seconds)

        def end() -> None:
            venue.silent = False
            self._unsilence.pop(venue.name, None)
            self.emitters[venue.name].wake()

        self._unsilence[venue.name] = asyncio.get_running_loop().call_later(seconds, end)
