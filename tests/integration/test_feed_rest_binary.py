"""The feed's side of the contract for REST-seeded, binary and token venues, on both readers.

A real websocket and HTTP server (aiohttp, in-process) plays a venue that hands out a connect
token by POST, sends gzip binary frames, pings and wants a pong, and numbers its book deltas
so that a REST snapshot must seed them. A small adapter written to the contract follows it;
the threaded reader and the feed loop must both deliver its quotes.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from core.types import Market, Quote
from tests.support.procs import free_port, wait_for
from workers.connection import LoopConnection
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events, Send
from workers.exchanges.seeded import GAP, SeededBook
from workers.feed import FeedWorker
from workers.loop import FeedLoop
from workers.publisher import Publisher

pytestmark = pytest.mark.integration

MARKET = Market(symbol="BTC-USD", native="BTCUSD", base="BTC", quote="USD")
TOKEN = "t0k3n"


class TokenVenue:
    """The venue: POST /bullet → ws URL with a token; /ws speaks gzip; GET /snap is the book."""

    def __init__(self) -> None:
        self.port = free_port()
        self.pongs: list[Any] = []
        self.snapshots = 0
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        assert self._ready.wait(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/bullet", self._bullet)
        app.router.add_get("/snap", self._snap)
        app.router.add_get("/ws", self._ws)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self.loop.run_forever()

    async def _bullet(self, request: web.Request) -> web.Response:
        return web.json_response({"url": f"ws://127.0.0.1:{self.port}/ws?token={TOKEN}"})

    async def _snap(self, request: web.Request) -> web.Response:
        self.snapshots += 1
        return web.json_response({"id": 10, "bids": [[100.0, 1.0]], "asks": [[101.0, 1.0]]})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if request.query.get("token") != TOKEN:
            await ws.close(code=4001, message=b"bad token")
            return ws
        await ws.receive_str()  # the subscription
        await ws.send_bytes(gzip.compress(b'{"ping": 7}'))
        self.pongs.append(json.loads(await ws.receive_str()))
        for n in range(9, 40):  # ids 9..10 are in the snapshot already; 11 onward move the bid
            delta = {"first": n, "last": n, "bid": [100.0 + n / 100, 2.0]}
            await ws.send_bytes(gzip.compress(json.dumps(delta).encode()))
        await ws.receive()  # hold the connection until the client goes
        return ws


class TokenAdapter(Adapter):
    """A contract adapter for TokenVenue (unregistered: no name)."""

    bootstrap_path = "/bullet"
    delta_books = True

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self.seeded = SeededBook()

    @staticmethod
    def decode_binary(data: bytes) -> str:
        return gzip.decompress(data).decode("utf-8")

    def ws_url_from_bootstrap(self, text: str) -> str:
        return str(json.loads(text)["url"])

    def subscribe_messages(self) -> list[str]:
        return ['{"sub": "BTCUSD"}']

    def on_message(self, text: str, received_ns: int) -> Events:
        msg = self.decode_object(text)
        if msg is None:
            return []
        if "ping" in msg:
            return [Send(json.dumps({"pong": msg["ping"]}))]
        asking = not self.seeded.ready and self.seeded.waiting == 0
        if self.seeded.on_delta(msg["first"], msg["last"], [tuple(msg["bid"])], []) == GAP:
            return self.reconnect("sequence_gap")
        if asking:
            return self.fetch("/snap")
        return self._quote(received_ns)

    def on_rest(self, url: str, text: str, received_ns: int) -> Events:
        body = json.loads(text)
        self.seeded.on_snapshot(body["id"], body["bids"], body["asks"])
        return self._quote(received_ns)

    def _quote(self, received_ns: int) -> Events:
        if not self.seeded.ready:
            return []
        return self.book_quote("BTCUSD", self.seeded.book, None, None, received_ns, True)


@pytest.fixture(scope="module")
def venue() -> Iterator[TokenVenue]:
    yield TokenVenue()


def _adapter(venue: TokenVenue) -> TokenAdapter:
    adapter = TokenAdapter([MARKET])
    adapter.rest_base = f"http://127.0.0.1:{venue.port}"
    return adapter


def _check(published: list[Quote], venue: TokenVenue, pongs_before: int) -> None:
    wait_for(lambda: published and published[-1].bid == 100.39, 15, "the last delta quoted")
    assert venue.pongs[pongs_before:] == [{"pong": 7}]
    bids = [q.bid for q in published]
    # Deltas that came while the snapshot was on its way are in the first quote after it;
    # every quote is a state the venue's book was in (the snapshot's, id 10, or a later
    # one), in order.
    assert bids == sorted(set(bids))
    assert set(bids) <= {100.0} | {round(100.0 + n / 100, 2) for n in range(11, 40)}


def test_the_threaded_reader_bootstraps_pongs_fetches_and_reads_binary(venue: TokenVenue) -> None:
    published: list[Quote] = []
    publisher = Publisher(lambda *a: None)
    publisher.put = lambda quotes, depths: published.extend(quotes)  # type: ignore[method-assign]
    worker = FeedWorker(_adapter(venue), "ws://unused", publisher)
    pongs = len(venue.pongs)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        _check(published, venue, pongs)
    finally:
        worker.stop()
        thread.join(10)


def test_the_feed_loop_bootstraps_pongs_fetches_and_reads_binary(venue: TokenVenue) -> None:
    published: list[Quote] = []
    publisher = Publisher(lambda *a: None)
    publisher.put = lambda quotes, depths: published.extend(quotes)  # type: ignore[method-assign]
    conn = LoopConnection(_adapter(venue), "ws://unused", publisher)
    pongs, snapshots = len(venue.pongs), venue.snapshots
    loop = FeedLoop([conn])
    loop.start()
    try:
        _check(published, venue, pongs)
        assert venue.snapshots == snapshots + 1
    finally:
        loop.stop()
        loop.join()
