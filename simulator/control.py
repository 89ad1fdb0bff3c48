"""`POST /control/<exchange>/<action>`: close, silence, reconnect, faults, dislocations, skew."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator.venues import Venue

if TYPE_CHECKING:
    from simulator.server import Simulator

log = logging.getLogger("simulator")

MAX_SILENCE_S = 3600.0
MAX_DISLOCATION_S = 3600.0
MAX_SHIFT = 0.5  # relative; beyond ±50 % a "dislocation" is a typo, not a market event
MAX_SKEW_S = 10 * 365 * 86_400.0  # ±10 years keeps every skewed stamp a valid, positive time
MAX_SKEW_COUNT = 1_000_000
MIN_OVERSIZE_BYTES, MAX_OVERSIZE_BYTES = 64, 64 * 2**20
# Misbehaviours a venue may simulate on request (see Venue.fault).
FAULTS = frozenset({"garbage", "gap", "bad_checksum"})


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


class Control:
    """The control endpoint of one simulator: misbehaviour and market events on request."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._unsilence: dict[str, asyncio.TimerHandle] = {}
        self._edges: set[asyncio.Task[None]] = set()  # pending ends of requested dislocations

    def cancel(self) -> list[asyncio.Task[None]]:
        """Stop pending silences and dislocation ends; returns the cancelled tasks to await."""
        for handle in self._unsilence.values():
            handle.cancel()
        edges = list(self._edges)
        for task in edges:
            task.cancel()
        return edges

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """`POST /control/<exchange>/<action>`: close, silence, reconnect, faults, dislocate."""
        if not _is_loopback(request.remote):
            return web.json_response({"error": "control is loopback only"}, status=403)
        name = request.match_info["exchange"]
        action = request.match_info["action"]
        venue = self._sim.venues.get(name)
        if venue is None:
            return web.json_response({"error": f"unknown exchange {name!r}"}, status=404)
        if action == "close":
            closed = await self._sim.close_all(venue)
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
        self._sim.market.dislocate(venue.name, symbol, start_us, end_us, shift)
        emitter = self._sim.emitters[venue.name]
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
            if self._sim.config.pregenerate:
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
        emitter = self._sim.emitters[venue.name]
        await venue.broadcast(emitter.emit_now(symbol, time.time_ns() // 1000))

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
            self._sim.emitters[venue.name].wake()

        self._unsilence[venue.name] = asyncio.get_running_loop().call_later(seconds, end)
