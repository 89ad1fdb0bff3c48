"""The adapter contract: one exchange's protocol, sans I/O (frames in, events out).

A venue is a subclass that sets the class attributes and implements `market_entries`,
`read_market`, `subscribe_messages` and `on_message` (plus `ping_message`, `on_connect`,
`decode_binary`, `on_rest` and `ws_url_from_bootstrap` when the venue needs them). Every
reader returns what its input produced (see `events`), the venue's error texts, REST fetches
and replies included; the tallies of unusable frames (`errors`) are what the status reporter
reads besides.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import orjson

from core.orderbook import OrderBook
from core.symbols import make_symbol, split_symbol
from core.types import Level, Market, Quote
from workers.exchanges.events import Events, Reconnect, RestRequest, VenueError
from workers.exchanges.fields import SHAPE_ERRORS
from workers.exchanges.top_of_book import TopOfBook


def loads(text: str) -> Any:
    """Decode a frame with orjson, retrying what it refuses with the standard decoder."""
    # The retry keeps the standard decoder's verdict on what only it accepts (NaN, 1e400, lone
    # surrogates: later refused field by field) and costs nothing on valid frames.
    # Raises ValueError, TypeError or RecursionError (a deeply nested "[[[[...").
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


# Every adapter class registers itself here by its `name` when its module is imported.
REGISTRY: dict[str, type[Adapter]] = {}


class Adapter(TopOfBook):
    """Base of every exchange adapter; subclasses set the class attributes and parse methods."""

    name: ClassVar[str] = ""
    ws_url: ClassVar[str] = ""
    rest_url: ClassVar[str] = ""
    markets_path: ClassVar[str] = ""
    # Reconnect when no frame at all arrives for this long (venue heartbeats keep it fed).
    watchdog_s: ClassVar[float] = 30.0
    # How often the loop sends `ping_message()` (the app-level keepalive), when there is one.
    ping_interval_s: ClassVar[float] = 20.0
    # The most markets one connection may follow (the venue's subscription limit); the worker
    # opens more connections for more markets. None: no limit.
    max_markets_per_connection: ClassVar[int | None] = None
    # True when the live subscription builds local books from deltas, so every frame counts: a
    # frame the feed cannot read (over FEED_MAX_FRAME_BYTES) then forces a resync instead of
    # being skipped, as a top-of-book frame that stands alone is.
    delta_books: ClassVar[bool] = False
    # A REST path POSTed before every connect whose answer names the websocket to open
    # (`ws_url_from_bootstrap`): venues that hand out a token per connection. "": none.
    bootstrap_path: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            REGISTRY[cls.name] = cls

    def __init__(self, markets: list[Market]) -> None:
        self.markets: dict[str, Market] = {m.native: m for m in markets}
        # Frames that could not be used, by reason (`bad_json`, `unknown_event`, ...).
        self.errors: Counter[str] = Counter()
        # Last top of book emitted per native market: (bid, bid_size, ask, ask_size).
        self._tops: dict[str, tuple[float, float, float, float]] = {}
        # Markets whose crossed book already cost one reconnect; cleared once seen uncrossed,
        # so a venue whose book really is crossed (an auction) cannot cause a reconnect storm.
        self._crossed_resynced: set[str] = set()
        # Best levels per side to publish as Depth from a local book (0: off). The feed worker
        # sets it from BOOK_DEPTH; adapters without a book never produce Depth.
        self.depth_levels = 0
        # Last Depth levels emitted per native market: (bids, asks), best first.
        self._depths: dict[str, tuple[tuple[Level, ...], tuple[Level, ...]]] = {}
        # Local books per native market, for venues that keep one; a new connection starts
        # them over (its snapshots rebuild them).
        self.books: dict[str, OrderBook] = {}
        # Where `rest_endpoint` points: the venue's REST base, or the override the worker was
        # started with (a simulator's).
        self.rest_base = self.rest_url

    def rest_endpoint(self, path: str) -> str:
        """The URL of `path` (with any query) on this adapter's REST base."""
        return self.rest_base.rstrip("/") + path

    def fetch(self, path: str) -> Events:
        """Ask the loop to GET `path` on the REST base and hand the body to `on_rest`."""
        return [RestRequest(self.rest_endpoint(path))]

    @classmethod
    def markets_url(cls, rest_url: str | None = None) -> str:
        """The REST listing endpoint, on the venue or on an override base (e.g. the simulator)."""
        return (rest_url or cls.rest_url).rstrip("/") + cls.markets_path

    @classmethod
    def parse_markets(cls, payload: Any) -> list[Market]:
        """Turn the venue's REST listing (decoded JSON) into markets, the first of each native.

        ValueError when the payload is not the listing at all (the caller retries); an entry
        that is malformed, or not a market we can follow, is skipped: one odd listing must not
        stop the feed.
        """
        markets: list[Market] = []
        seen: set[str] = set()
        for entry in cls.market_entries(payload):
            try:
                market = cls.read_market(entry)
            except SHAPE_ERRORS:
                continue
            if market is not None and market.native not in seen:
                seen.add(market.native)
                markets.append(market)
        return markets

    @classmethod
    def market_entries(cls, payload: Any) -> Iterable[Any]:
        """The listing's entries, for `read_market`; ValueError when it is no listing."""
        raise NotImplementedError

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """One listing entry as a market; None (or any of SHAPE_ERRORS) skips it."""
        raise NotImplementedError

    @classmethod
    def listed(cls, payload: Any, *path: str) -> list[Any]:
        """The list at `path` in a REST listing (the payload itself for no path); ValueError
        naming the venue when it is not there, so discovery retries."""
        value = payload
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, list):
            where = ".".join(path) or "the top level"
            raise ValueError(f"{cls.name} listing: no list at {where}, got {type(value).__name__}")
        return value

    @staticmethod
    def market(native: str, raw_base: Any, raw_quote: Any,
               aliases: dict[str, str] | None = None) -> Market:
        """The market `native` trades, from the venue's asset codes; ValueError when unclean."""
        # split_symbol raises unless both codes are clean upper-case alphanumerics.
        base, quote = split_symbol(make_symbol(raw_base, raw_quote, aliases))
        return Market(symbol=f"{base}-{quote}", native=native, base=base, quote=quote)

    def subscribe_messages(self) -> list[str]:
        """Frames to send right after connecting."""
        raise NotImplementedError

    @staticmethod
    def chunked_frames(items: list[Any], per_frame: int,
                       request: Callable[[list[Any]], dict[str, Any]]) -> list[str]:
        """Compact JSON frames `request(chunk)`, one per `per_frame` items, in order."""
        # Venues cap what one request may name; `request` is called chunk by chunk, so any
        # request ids it draws rise in frame order.
        return [json.dumps(request(items[start:start + per_frame]), separators=(",", ":"))
                for start in range(0, len(items), per_frame)]

    def on_message(self, text: str, received_ns: int) -> Events:
        """Read one frame; return the events it produced. Never raises on bad input.

        The common venue sends JSON objects: each goes to `on_object`, and a field of the
        wrong shape anywhere in it counts the frame as `bad_field`.
        """
        msg = self.decode_object(text)
        if msg is None:
            return []
        try:
            return self.on_object(msg, received_ns)
        except SHAPE_ERRORS:
            return self.reject("bad_field")

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """Read one frame decoded as a JSON object; may raise any of SHAPE_ERRORS."""
        raise NotImplementedError

    @staticmethod
    def decode_binary(data: bytes) -> str:
        """The text a binary frame carries (UTF-8 JSON by default); raises ValueError if none."""
        return data.decode("utf-8")

    def on_binary(self, data: bytes, received_ns: int) -> Events:
        """Read one binary frame: its text (`decode_binary`) goes to `on_message`."""
        try:
            text = self.decode_binary(data)
        except (ValueError, EOFError, OSError):
            # OSError/EOFError: gzip's verdicts on a stream that is not, or not all, gzip.
            return self.reject("bad_binary")
        return self.on_message(text, received_ns)

    def on_rest(self, url: str, text: str, received_ns: int) -> Events:
        """Read the body of a `RestRequest` this adapter made; never raises on bad input."""
        return self.reject("unexpected_rest")

    def ws_url_from_bootstrap(self, text: str) -> str:
        """The websocket URL to open, from the answer to `bootstrap_path`; ValueError if none."""
        raise ValueError(f"{self.name} has no bootstrap")

    def ping_message(self) -> str | None:
        """The venue's app-level keepalive frame, or None when it has none."""
        return None

    def on_connect(self) -> None:
        """Forget per-connection state before a (re)connect; books are rebuilt from new frames.

        The local books and the emitted tops and depths are forgotten too, so the first of
        each on the new connection goes out.
        """
        self._tops.clear()
        self._depths.clear()
        self.books.clear()

    def each_entry(
        self, entries: Any, parse: Callable[[Any, int], Quote | None], received_ns: int
    ) -> Events:
        """Quotes from a frame's entries, each read by `parse(entry, received_ns)`."""
        # A bad entry is counted (`bad_field`) without losing its neighbours: entries are
        # independent.
        if type(entries) is not list:
            raise TypeError("entries are not a list")
        quotes: Events = []
        for entry in entries:
            try:
                quote = parse(entry, received_ns)
            except SHAPE_ERRORS:
                self.reject("bad_field")
                continue
            if quote is not None:
                quotes.append(quote)
        return quotes

    def market_of(self, msg: dict[str, Any], key: str) -> tuple[str, Market | None]:
        """The frame's native name (a string under `key`) and its market (None: not followed)."""
        native = msg[key]
        if type(native) is not str:
            raise TypeError(f"{key} is not a string")
        return native, self.markets.get(native)

    def decode_object(self, text: str) -> dict[str, Any] | None:
        """Parse a frame that must be a JSON object; count it and return None when it is not."""
        try:
            msg = orjson.loads(text)  # `loads` inlined: one call less on every frame
        except orjson.JSONDecodeError:
            try:
                msg = json.loads(text)
            except (ValueError, TypeError, RecursionError):
                # RecursionError: a deeply nested array ("[[[[...") exhausts the decoder's stack.
                self.reject("bad_json")
                return None
        if type(msg) is not dict:
            self.reject("not_object")
            return None
        return msg

    def reject(self, reason: str) -> Events:
        """Count an unusable frame under `reason` and return no events."""
        self.errors[reason] += 1
        return []

    def venue_error(self, text: str, counted: str = "venue_error") -> Events:
        """Hand the venue's error text to the loop, counting the frame under `counted`."""
        self.errors[counted] += 1
        return [VenueError(text)]

    def reconnect(self, reason: str, counted: str | None = None) -> Events:
        """Ask the loop for a fresh connection, counting the frame under `counted` if given."""
        if counted is not None:
            self.errors[counted] += 1
        return [Reconnect(reason)]
