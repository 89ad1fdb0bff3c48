"""Poloniex spot public WebSocket (`ws.poloniex.com/ws/public`): `book_lv2`, `trades`, ping/pong.

Served at `/poloniex`. A subscribe names channels and symbols (`BTC_USDT`) and is acked once
per channel, as recorded in 2022. `book_lv2` sends, per symbol, a `snapshot` of the book as last
put on the wire (its `id`, its last change's `ts`: no new point downstream), then one `update`
per change with the levels that moved (size "0" deletes) numbered `lastId` → `id`. `trades`
pushes one frame per simulated trade. `{"event":"ping"}` (or the text `ping`, any case) gets
`{"event":"pong"}`; a client that sends nothing for 30 s is closed, as the real server does.

Faults: `gap` makes each symbol's next update skip one id (`lastId` no longer the previous
`id`); `reconnect` re-sends every subscribed book as a fresh `snapshot` (Poloniex has no request
to reconnect; a snapshot mid-stream, which resets the client's book, is its documented reset).
Error texts other than the invalid-channel one are made up.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

from simulator.assets import base_usd_price
from simulator.changes import Change, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps
from simulator.venues.ladder import Ladder
from simulator.venues.poloniex_wire import (
    QUIET_CHANNELS,
    book_frame,
    listed,
    market_rows,
    native_of,
    size_text,
    trim,
    with_extras,
)

BOOK = "book_lv2"
TRADES = "trades"
IDLE_LIMIT_S = 30.0  # the server ends a session that sent nothing for this long

# A book as put on the wire: (bids, asks) texts best first, its id, and its push time in ms.
Sent = tuple[list[tuple[str, str]], list[tuple[str, str]], int, int]


class PoloniexVenue(Venue):
    """Simulated Poloniex spot: per-channel acks, numbered book_lv2 books, trades, pongs."""

    name = "poloniex"

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:poloniex")
        self._ladders = {
            s: Ladder(self.market.book(self.name, s).decimals, self._rng,
                      3000.0 / base_usd_price(s), size_text, "0")
            for s in self.symbols
        }
        self._ids = {s: self._rng.randrange(10**5, 10**7) for s in self.symbols}
        self._trade_ids = self._rng.randrange(60_000_000, 70_000_000)
        self._ms: dict[str, int] = {}  # last push time per symbol (ms, strictly rising)
        self._sent: dict[str, Sent] = {}
        self._skip: set[str] = set()  # symbols whose next update loses an id (`gap`)
        self._listed = with_extras(self.symbols)
        self._by_native = {native_of(s): s for s in self.symbols}
        self._listed_natives = {native_of(s) for s in self._listed}

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /markets` as on api.poloniex.com."""
        return {"/markets": lambda: market_rows(self._listed, self.price_decimals)}

    # --- connection ---------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Start the 30 s idle rule; nothing is said until the client asks."""
        client.state["subs"] = {BOOK: [], TRADES: []}
        client.state["heard"] = time.monotonic()
        self._watch(client, IDLE_LIMIT_S)

    def _watch(self, client: Client, delay: float) -> None:
        """Look at `client` again in `delay` seconds."""
        asyncio.get_running_loop().call_later(delay, self._idle_check, client)

    def _idle_check(self, client: Client) -> None:
        """Close a client that sent nothing for 30 s; else look again when it could be."""
        if client not in self.clients:
            return  # gone already: the timer just lapses
        quiet = time.monotonic() - client.state["heard"]
        if quiet >= IDLE_LIMIT_S:
            asyncio.ensure_future(self.close(client, 1000, b"no message or ping for 30 s"))
        else:
            self._watch(client, IDLE_LIMIT_S - quiet)

    def reconnect_frame(self, client: Client) -> str:
        """Each subscribed book again as a `snapshot` (the client resets its book to it)."""
        frames = [self._snapshot(native) for native in client.state.get("subs", {}).get(BOOK, [])
                  if self._by_native.get(native) in self._sent]
        if not frames:
            return '{"event":"pong"}'  # nothing to reset: the one harmless unsolicited frame
        for frame in frames[:-1]:
            self.send(client, frame)
        return frames[-1]

    def fault(self, action: str) -> bool:
        """`gap`: each symbol's next update skips an id."""
        if action == "gap":
            self._skip.update(self.symbols)
            return True
        return super().fault(action)

    # --- requests -----------------------------------------------------------------------

    def _error(self, client: Client, message: str) -> None:
        """An error frame, as Poloniex shapes them."""
        self.send(client, dumps({"event": "error", "message": message}))

    async def on_text(self, client: Client, text: str) -> None:
        """Answer ping, subscribe and unsubscribe; an error frame for anything else."""
        client.state["heard"] = time.monotonic()
        if text.strip().lower() == "ping":
            self.send(client, '{"event":"pong"}')
            return
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            msg = None
        event = msg.get("event") if isinstance(msg, dict) else None
        if event == "ping":
            self.send(client, '{"event":"pong"}')
            return
        if event not in ("subscribe", "unsubscribe") or not isinstance(msg, dict):
            self._error(client, f"Invalid request: {text[:200]}")
            return
        channels, symbols = msg.get("channel"), msg.get("symbols")
        if not isinstance(channels, list) or not channels:
            self._error(client, f"Invalid channel value {json.dumps(channels)}")
            return
        bad = [c for c in channels if c not in (BOOK, TRADES) and c not in QUIET_CHANNELS]
        if bad:
            self._error(client, f"Invalid channel value {json.dumps(bad)}")
            return
        if (not isinstance(symbols, list) or not symbols
                or not all(isinstance(s, str) and s in self._listed_natives for s in symbols)):
            self._error(client, f"Invalid symbols value {json.dumps(symbols)}")
            return
        for channel in channels:
            self._apply(client, event, channel, symbols)

    def _apply(self, client: Client, event: str, channel: str, symbols: list[str]) -> None:
        """One channel of a request: (un)subscribe its symbols, ack, then the books."""
        subs: list[str] = client.state["subs"].setdefault(channel, [])
        for native in symbols:
            if event == "unsubscribe":
                self.topics.remove(f"{channel}:{native}", client)
                if native in subs:
                    subs.remove(native)
            elif native not in subs:
                subs.append(native)
                self.topics.add(f"{channel}:{native}", client)
        self.send(client, dumps({"event": event, "channel": channel, "symbols": symbols}))
        if event == "unsubscribe" or channel in QUIET_CHANNELS:
            return
        if channel == BOOK:
            for native in symbols:
                if native in self._by_native:
                    self.send(client, self._snapshot(native))
        self.subscribed(client)

    def _snapshot(self, native: str) -> str:
        """The book of `native` as last put on the wire (empty before its first change)."""
        symbol = self._by_native.get(native)
        bids, asks, book_id, ms = self._sent.get(symbol, ([], [], self._ids.get(symbol, 1), 0))
        if not ms:
            ms = int(time.time() * 1000)
        return book_frame("snapshot", native, bids, asks, book_id - 1, book_id, ms)

    def active_symbols(self) -> list[str]:
        """Symbols with a `book_lv2` subscriber: only those change."""
        return [s for s in self.symbols if self.topics.has(f"{BOOK}:{native_of(s)}")]

    # --- frames -------------------------------------------------------------------------

    def wire_mark(self, symbol: str) -> object:
        """The whole book after this change, with its id and time."""
        ladder = self._ladders[symbol]
        return ladder.levels("buy"), ladder.levels("sell"), self._ids[symbol], self._ms[symbol]

    def on_sent(self, symbol: str, mark: object) -> None:
        """Snapshots show this book from now on."""
        self._sent[symbol] = mark  # type: ignore[assignment]

    def render(self, change: Change) -> list[Outgoing]:
        """A `book_lv2` update for the change, and a `trades` push when a trade happened."""
        symbol = change.symbol
        native = native_of(symbol)
        # The push clock runs on true time, strictly rising; a requested skew goes on top.
        true_ms = max((change.ts_us - change.skew_us) // 1000, self._ms.get(symbol, 0) + 1)
        self._ms[symbol] = true_ms
        ms = true_ms + change.skew_us // 1000
        if symbol in self._skip:
            self._skip.discard(symbol)
            self._ids[symbol] += 1  # an update nobody gets: the next one no longer joins
        previous = self._ids[symbol]
        self._ids[symbol] = current = previous + 1
        changes = self._ladders[symbol].apply(change.top)
        bids = [(price, size) for side, price, size in changes if side == "buy"]
        asks = [(price, size) for side, price, size in changes if side == "sell"]
        text = book_frame("update", native, bids, asks, previous, current, ms)
        frames: list[Outgoing] = [(text, self.topics.get(f"{BOOK}:{native}"))]
        trade = change.trade
        if trade is not None:
            self.offer(frames, f"{TRADES}:{native}", lambda: self._trade(symbol, trade))
        return frames

    def _trade(self, symbol: str, trade: Trade) -> str:
        """A `trades` push for one simulated trade."""
        self._trade_ids += 1
        ladder = self._ladders[symbol]
        price = trim(ladder.price_text(round(trade.price * ladder.scale)))
        ms = trade.ts_us // 1000
        row: dict[str, Any] = {
            "symbol": native_of(symbol), "amount": trim(f"{trade.price * trade.amount:.8f}"),
            "quantity": size_text(trade.amount),
            "takerSide": "buy" if trade.side == 0 else "sell", "createTime": ms - 4,
            "price": price, "id": str(self._trade_ids), "ts": ms}
        return dumps({"channel": TRADES, "data": [row]})

