"""What a simulated venue implements, plus the shared client and subscription bookkeeping."""

from __future__ import annotations

import json
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import ClassVar

from simulator.assets import default_price_decimals, start_price
from simulator.changes import Change
from simulator.client import HIGH_WATER, Client
from simulator.prices import Market
from simulator.topics import Topics

# A frame and who gets it. Recipients are frozen when the frame is built: every subscriber at
# that moment gets it, and later (un)subscriptions cannot change a burst already built.
Outgoing = tuple[str | bytes, tuple[Client, ...]]

# REST routes that read their request: a GET's query → the JSON body (ValueError: a 400), and a
# POST's query and the websocket URL of this venue on the host the client used.
QueryRoute = Callable[[Mapping[str, str]], object]
PostRoute = Callable[[Mapping[str, str], str], object]

__all__ = ["BOOK_LEVELS", "Client", "Outgoing", "PostRoute", "QueryRoute", "Topics", "Venue",
           "level_gap", "level_size"]

# The shape of the levels behind the top, for venues that send a book: each level sits further
# from the one before it than the last did (about 0.5 bp × its position, jittered), so 20
# levels span about 1 % of the price and walking them visibly costs; sizes grow with depth.
BOOK_LEVELS = 20  # levels per side, top included
LEVEL_STEP = 0.00005


def level_gap(rng: random.Random, ticks: int, position: int) -> int:
    """Ticks between level `position - 1` and level `position` (0 is the top) at ~`ticks`."""
    return max(1, round(abs(ticks) * LEVEL_STEP * position * rng.uniform(0.5, 1.5)))


def level_size(rng: random.Random, unit: float, position: int) -> float:
    """A resting size at level `position`: about `unit`, more the deeper the level."""
    return unit * (1.0 + position / 4.0) * rng.lognormvariate(0.0, 0.6)


def rfc3339_us(ts_us: int) -> str:
    """Format a µs Unix time as RFC 3339 UTC with exactly six fractional digits."""
    seconds, micros = divmod(ts_us, 1_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{micros:06d}Z"


class Stamper:
    """RFC 3339 with µs, the date part cached per second because formatting it is slow."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, ts_us: int) -> str:
        """Format a µs Unix time like `rfc3339_us`."""
        second, micros = divmod(ts_us, 1_000_000)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{micros:06d}Z"


def now_rfc3339() -> str:
    """The current wall time in RFC 3339 with microseconds."""
    return rfc3339_us(int(datetime.now(UTC).timestamp() * 1_000_000))


def dumps(obj: object) -> str:
    """Compact JSON, as the real venues send it."""
    return json.dumps(obj, separators=(",", ":"))


def split_pair(symbol: str) -> tuple[str, str]:
    """`BTC-USD` → (`BTC`, `USD`)."""
    base, quote = symbol.split("-")
    return base, quote


class Venue(ABC):
    """A simulated exchange: its wire protocol, frame building and REST listings.

    The server owns sockets, pacing, silence and stats; a venue only decides what to answer and
    what each price change looks like on its wire. A new venue is one subclass in one module.
    """

    name: ClassVar[str]
    # Whether this venue's book frames carry its time (what a feed stamps quotes with); only
    # those can be skewed on request (`skew`).
    timed_book_frames: ClassVar[bool] = True
    # The quote currencies the venue has spot markets in (None: any).
    quote_currencies: ClassVar[frozenset[str] | None] = None

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        # A symbol in a quote currency the venue has no market in is not listed, as on the
        # venue (no KRW on Coinbase): configured symbols are a wish list, not a listing.
        quotes = self.quote_currencies
        self.symbols = [s for s in symbols if quotes is None or split_pair(s)[1] in quotes]
        self.market = market
        self.seed = seed
        self.clients: dict[Client, None] = {}
        self.emitted: dict[str, int] = {s: 0 for s in symbols}
        self.silent = False
        self.topics = Topics()  # subscribers per venue-chosen key (a channel, or trigger:symbol)
        # True while changes rendered ahead of time wait to be sent: the venue's own state then
        # runs ahead of its wire, and nothing it makes up on the side may be numbered from it.
        self.rendered_ahead = False
        self.on_activity: Callable[[], None] = lambda: None  # set by the server: wakes the emitter
        # A clock off on request: the next `skew_left` changes are stamped `skew_us` off.
        self.skew_us = 0
        self.skew_left = 0
        for symbol in self.symbols:
            market.book(self.name, symbol, self.price_decimals(symbol))

    # --- venue-specific hooks -------------------------------------------------------------

    def price_decimals(self, symbol: str) -> int:
        """Price precision this venue quotes `symbol` with."""
        return default_price_decimals(start_price(symbol))

    @abstractmethod
    def listings(self) -> dict[str, Callable[[], object]]:
        """REST routes under `/<venue>`: real path → builder of the JSON body."""

    def query_routes(self) -> dict[str, QueryRoute]:
        """GET routes under `/<venue>` that read the query (a book snapshot): path → answer."""
        return {}

    def post_routes(self) -> dict[str, PostRoute]:
        """POST routes under `/<venue>` (a connect token): path → answer."""
        return {}

    async def on_open(self, client: Client) -> None:
        """Called when a client connects (e.g. Kraken's status message)."""
        return None

    @abstractmethod
    async def on_text(self, client: Client, text: str) -> None:
        """Handle one text frame from a client."""

    def on_close(self, client: Client) -> None:
        """Forget every subscription of a client that disconnected."""
        self.topics.drop(client)

    @abstractmethod
    def active_symbols(self) -> list[str]:
        """Symbols with at least one top-of-book subscriber (only those emit changes)."""

    @abstractmethod
    def render(self, change: Change) -> list[Outgoing]:
        """Frames (with recipients) for one change, including any trade it carries."""

    @abstractmethod
    def reconnect_frame(self, client: Client) -> str:
        """The frame by which this venue asks `client` to reconnect."""

    def fault(self, action: str) -> bool:
        """Misbehave once on request; False when this venue does not simulate `action`.

        `garbage`: a frame that is not JSON, to every client (every venue). `gap`: the next
        change skips a sequence number; `bad_checksum`: the next checksum sent is wrong — only
        venues whose protocol has sequence numbers or checksums override this for those.
        """
        if action == "garbage":
            for client in list(self.clients):
                self.send(client, "\x00garbage{not json")
            return True
        return False

    def idle_frame(self, client: Client) -> str | None:
        """A keepalive for a client that got nothing in the last second, if the venue sends one."""
        return None

    def wire_mark(self, symbol: str) -> object:
        """What a keepalive of `symbol` must show once the change just rendered is on the wire."""
        return None

    def on_sent(self, symbol: str, mark: object) -> None:
        """A change of `symbol` went out: keepalives from now on show `mark` (its wire_mark)."""
        return None

    # --- shared machinery -----------------------------------------------------------------

    def attach(self, client: Client) -> None:
        """Register a new connection."""
        self.clients[client] = None

    def detach(self, client: Client) -> None:
        """Unregister a connection and its subscriptions."""
        self.clients.pop(client, None)
        self.on_close(client)

    async def close(self, client: Client, code: int, message: bytes) -> None:
        """Close one connection, counting no change for it from now on.

        A client may take its time to answer the close frame; changes emitted meanwhile would
        be counted yet never delivered, so its subscriptions go before the close frame does.
        """
        self.on_close(client)
        await client.close(code, message)

    def send(self, client: Client, frame: str | bytes) -> None:
        """Queue a frame for one client unless the venue is silenced (then nothing goes out)."""
        if not self.silent:
            client.push(frame)

    async def broadcast(self, frames: Iterable[Outgoing]) -> None:
        """Queue each frame for its recipients, then wait (bounded) for any that fell behind.

        The wait is the back-pressure that paces `--rate 0` to what clients can read; a client
        that stays behind too long is dropped instead of stalling everyone else.
        """
        behind: set[Client] = set()
        for text, recipients in frames:
            for client in recipients:
                client.push(text)
                if client.backlog > HIGH_WATER:
                    behind.add(client)
        for client in behind:
            await client.wait_drained()

    def offer(self, frames: list[Outgoing], key: str, frame: Callable[[], str]) -> None:
        """Add `frame()` for `key`'s subscribers; with none it is not even built."""
        # Building a frame can advance the venue's own counters (trade ids): only on the wire.
        subscribers = self.topics.get(key)
        if subscribers:
            frames.append((frame(), subscribers))

    def subscribed(self, client: Client) -> None:
        """Note a successful subscription: starts the emitter and enables heartbeats."""
        client.has_subscribed = True
        self.on_activity()

    def emit(self, symbol: str, now_us: int) -> list[Outgoing]:
        """Advance `symbol` by one top-of-book change, count it and build its frames."""
        frames = self.frames_for(symbol, now_us)
        self.on_sent(symbol, self.wire_mark(symbol))
        self.emitted[symbol] += 1
        return frames

    def frames_for(self, symbol: str, now_us: int) -> list[Outgoing]:
        """Advance `symbol` by one change and build its frames without counting it (it is
        counted when sent: pre-generated frames are built long before)."""
        change = self.market.next_change(self.name, symbol, now_us)
        if self.skew_left > 0:
            # The one place a requested clock skew is applied: every venue writes the times of
            # the change it renders, so its book frame (and trade) carries the skewed time.
            self.skew_left -= 1
            change = change.skewed(self.skew_us)
        return self.render(change)

    def skew(self, offset_us: int, count: int) -> None:
        """Stamp the next `count` changes `offset_us` off the true time (replaces a pending one)."""
        self.skew_us, self.skew_left = offset_us, count

    def oversize_frame(self, size: int) -> str:
        """A JSON object of exactly `size` bytes that no client asked for (a venue gone wrong)."""
        head = '{"event":"padding","data":"'
        return head + "x" * max(0, size - len(head) - 2) + '"}'

    def listing_routes(self) -> Iterable[tuple[str, Callable[[], object]]]:
        """(path, builder) pairs for the server's router."""
        return self.listings().items()
