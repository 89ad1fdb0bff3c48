"""Bitfinex WebSocket v2: info greeting, `conf` flags, chanId acks, P0 books, trades, tickers.

Sequence numbers (SEQ_ALL) and checksums (OB_CHECKSUM) are per connection, so book frames are
built for each subscriber. The simulated book is one level deep per side (its top); each change
goes out as the level deltas that turn the previous top into the new one, ordered so that a client
applying them one by one sees the top change exactly once (a side that changes along with the
other side is emptied first), then one `cs` frame when checksums are on.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from simulator.assets import start_price
from simulator.changes import Change, Top, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps
from simulator.venues.bitfinex_wire import (
    OB_CHECKSUM,
    SEQ_ALL,
    Conn,
    Sub,
    book_levels,
    book_options,
    checksum,
    level_deltas,
    pair_of,
    ticker_text,
    trade_text,
)
from simulator.venues.daystats import DayStats

CHANNELS = ("book", "trades", "ticker")
MAX_CHANNELS = 25  # subscriptions per connection ("Requirements and limitations" page)
TRADES_KEPT = 30  # trades in a `trades` snapshot
# Listed pairs that are not configured (clients must filter).
EXTRA_PAIRS = ("BTC-EUR", "LTC-USD", "BTC-USDT")
INFO_RESTART = 20051


class BitfinexVenue(Venue):
    """Simulated Bitfinex v2 public websocket and pair list."""

    name = "bitfinex"
    quote_currencies = frozenset({"USD", "EUR", "GBP", "JPY", "USDT", "BTC", "ETH"})
    timed_book_frames = False  # book updates carry no time

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__(symbols, market, seed)
        self._native = {s: "t" + pair_of(s) for s in self.symbols}
        self._by_native = {native: s for s, native in self._native.items()}
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        self._pairs = sorted(pair_of(s) for s in [*self.symbols, *extras])
        self._rng = random.Random(f"{seed}:bitfinex")
        self._chan_ids = self._rng.randrange(200_000, 300_000)
        self._trade_ids = self._rng.randrange(600_000_000, 700_000_000)
        self._tops: dict[str, Top] = {}  # the book each subscriber holds, per symbol
        self._counts: dict[str, tuple[int, int]] = {}  # orders at the best bid / ask
        self._trades: dict[str, deque[str]] = {s: deque(maxlen=TRADES_KEPT) for s in symbols}
        self._stats = {s: DayStats(self._rng, start_price(s), (50e6, 150e6)) for s in self.symbols}
        self._corrupt_checksum = False

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /v2/conf/pub:list:pair:exchange` as on api-pub.bitfinex.com."""
        return {"/v2/conf/pub:list:pair:exchange": lambda: [list(self._pairs)]}

    # --- protocol -----------------------------------------------------------------------

    @staticmethod
    def _conn(client: Client) -> Conn:
        conn = client.state.get("bitfinex")
        if conn is None:
            conn = client.state["bitfinex"] = Conn()
        return conn

    async def on_open(self, client: Client) -> None:
        """The greeting every connection gets: API version and platform status."""
        self._conn(client)
        server_id = str(uuid.UUID(int=self._rng.getrandbits(128)))
        info = {"event": "info", "version": 2, "serverId": server_id, "platform": {"status": 1}}
        self.send(client, dumps(info))

    def reconnect_frame(self, client: Client) -> str:
        """Info 20051: the server is stopping or restarting; clients reconnect."""
        return dumps({"event": "info", "code": INFO_RESTART,
                      "msg": "Stopping. Please try to reconnect"})

    def fault(self, action: str) -> bool:
        """`gap`: each connection's next frame skips a sequence number; `bad_checksum`: the
        next `cs` frame carries a wrong value."""
        if action == "gap":
            for client in list(self.clients):
                conn = self._conn(client)
                if conn.flags & SEQ_ALL:
                    conn.seq += 1
            return True
        if action == "bad_checksum":
            self._corrupt_checksum = True
            return True
        return super().fault(action)

    def _error(self, client: Client, code: int, message: str, **extra: Any) -> None:
        self.send(client, dumps({"event": "error", "msg": message, "code": code, **extra}))

    async def on_text(self, client: Client, text: str) -> None:
        """Answer conf, ping, subscribe and unsubscribe; error events keep the socket open."""
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._error(client, 10000, "Unknown event")
            return
        event = msg.get("event")
        conn = self._conn(client)
        if event == "ping":
            pong: dict[str, Any] = {"event": "pong", "ts": time.time_ns() // 1_000_000}
            if "cid" in msg:
                pong["cid"] = msg["cid"]
            self.send(client, dumps(pong))
        elif event == "conf":
            flags = msg.get("flags")
            if type(flags) is not int or flags < 0:
                self._error(client, 10000, "conf: invalid")
                return
            conn.flags = flags
            self.send(client, dumps({"event": "conf", "status": "OK", "flags": flags}))
        elif event == "subscribe":
            self._subscribe(client, conn, msg)
        elif event == "unsubscribe":
            self._unsubscribe(client, conn, msg.get("chanId"))
        else:
            self._error(client, 10000, "Unknown event")

    def _subscribe(self, client: Client, conn: Conn, msg: dict[str, Any]) -> None:
        channel = msg.get("channel")
        native = msg.get("symbol")
        if native is None and isinstance(msg.get("pair"), str):
            native = "t" + msg["pair"]
        if channel not in CHANNELS or not isinstance(native, str):
            self._error(client, 10300, "subscribe: failed", channel=channel)
            return
        pair = native[1:]
        where = {"channel": channel, "symbol": native, "pair": pair}
        if not native.startswith("t") or pair not in self._pairs:
            self._error(client, 10300, "symbol: invalid", **where)
            return
        ack: dict[str, Any] = {"event": "subscribed", "channel": channel}
        details = book_options(msg) if channel == "book" else {}
        if isinstance(details, str):
            self._error(client, 10300, details, **where)
            return
        key = (channel, native)
        if key in conn.by_key:
            self._error(client, 10301, "subscribe: dup", chanId=conn.by_key[key], **where)
            return
        if len(conn.subs) >= MAX_CHANNELS:
            self._error(client, 10305, "subscribe: limit", **where)
            return
        self._chan_ids += 1
        chan_id = self._chan_ids
        symbol = self._by_native.get(native)  # None: listed, not simulated; acked and quiet
        conn.subs[chan_id] = Sub(chan_id, channel, native, symbol)
        conn.by_key[key] = chan_id
        ack.update({"chanId": chan_id, "symbol": native, **details, "pair": pair})
        self.send(client, dumps(ack))
        self._snapshot(client, conn, chan_id, channel, symbol)
        if symbol is not None:
            self.topics.add(f"{channel}:{symbol}", client)
            if channel == "book":
                self.subscribed(client)

    def _snapshot(
        self, client: Client, conn: Conn, chan_id: int, channel: str, symbol: str | None
    ) -> None:
        """What a new subscriber gets at once: the book or recent trades or the ticker.

        The book snapshot is the current top, which is no new change: before the first change
        of a symbol it is empty, so a fresh client sees exactly one top per emitted change.
        """
        top = self._tops.get(symbol) if symbol is not None else None
        if channel == "book":
            self.send(client, conn.frame(chan_id, self._book_snapshot(symbol, top)))
            if conn.flags & OB_CHECKSUM:
                self.send(client, conn.frame(chan_id, f'"cs",{checksum(top)}'))
        elif channel == "trades":
            trades = self._trades.get(symbol, ()) if symbol is not None else ()
            # Newest first, as the real snapshot lists them.
            self.send(client, conn.frame(chan_id, f"[{','.join(reversed(trades))}]"))
        elif top is not None and symbol is not None:
            self.send(client, conn.frame(chan_id, self._ticker(symbol, top)))

    def _book_snapshot(self, symbol: str | None, top: Top | None) -> str:
        if top is None or symbol is None:
            return "[]"
        return "[" + ",".join(book_levels(top, self._counts[symbol])) + "]"

    def _unsubscribe(self, client: Client, conn: Conn, chan_id: Any) -> None:
        sub = conn.subs.pop(chan_id, None) if isinstance(chan_id, int) else None
        if sub is None:
            self._error(client, 10400, "unsubscribe: invalid", chanId=chan_id)
            return
        del conn.by_key[(sub.channel, sub.native)]
        if sub.symbol is not None:
            self.topics.remove(f"{sub.channel}:{sub.symbol}", client)
        self.send(client, dumps({"event": "unsubscribed", "status": "OK", "chanId": chan_id}))

    def active_symbols(self) -> list[str]:
        """Symbols with a `book` subscriber."""
        return [s for s in self.symbols if self.topics.has(f"book:{s}")]

    def idle_frame(self, client: Client) -> str | None:
        """`[chanId,"hb"]` for each channel of an idle connection (each takes a sequence number).

        The real server heartbeats an idle channel every 15 s; here every idle second, which
        keeps tests short and is harmless to a client.
        """
        if self.rendered_ahead:
            # Every number up to the end of the rendered stream is taken by a frame not yet
            # sent; a heartbeat now would have to skip them. The feed's pings keep it alive.
            return None
        conn = self._conn(client)
        frames = [conn.frame(chan_id, '"hb"') for chan_id in conn.subs]
        if not frames:
            return None
        for frame in frames[:-1]:
            self.send(client, frame)
        return frames[-1]

    # --- frames -------------------------------------------------------------------------

    def _deltas(self, symbol: str, prev: Top | None, top: Top) -> list[str]:
        """Level updates turning `prev` into `top`, ordered so the top changes only once."""
        rng = self._rng
        counts = (rng.randint(1, 6), rng.randint(1, 6))
        if prev is not None:
            # The number of orders at a level persists while its price does.
            counts = (self._counts[symbol][0] if prev.bid == top.bid else counts[0],
                      self._counts[symbol][1] if prev.ask == top.ask else counts[1])
        self._counts[symbol] = counts
        return level_deltas(prev, top, *book_levels(top, counts))

    def _ticker(self, symbol: str, top: Top) -> str:
        return ticker_text(top, self._stats[symbol], self.market.book(self.name, symbol).decimals)

    def _trade(self, trade: Trade, decimals: int) -> str:
        self._trade_ids += 1
        return trade_text(self._trade_ids, trade, decimals)

    def render(self, change: Change) -> list[Outgoing]:
        """Book deltas (+ `cs`) per subscriber, then `te`/`tu` and the ticker."""
        symbol, top = change.symbol, change.top
        native = self._native[symbol]
        deltas = self._deltas(symbol, self._tops.get(symbol), top)
        self._tops[symbol] = top
        frames: list[Outgoing] = []
        value = checksum(top)
        corrupt = False
        for client in self.topics.get(f"book:{symbol}"):
            conn = self._conn(client)
            chan_id = conn.by_key[("book", native)]
            recipients = (client,)
            frames += [(conn.frame(chan_id, delta), recipients) for delta in deltas]
            if conn.flags & OB_CHECKSUM:
                sent = value
                if self._corrupt_checksum:
                    sent = value ^ 0x5A5A5A5A
                    corrupt = True
                frames.append((conn.frame(chan_id, f'"cs",{sent}'), recipients))
        if corrupt:
            self._corrupt_checksum = False
        trade = change.trade
        if trade is not None:
            self._stats[symbol].trade(trade.price, trade.amount)
            text = self._trade(trade, self.market.book(self.name, symbol).decimals)
            self._trades[symbol].append(text)
            for client in self.topics.get(f"trades:{symbol}"):
                conn = self._conn(client)
                chan_id = conn.by_key[("trades", native)]
                for kind in ("te", "tu"):
                    frames.append((conn.frame(chan_id, f'"{kind}",{text}'), (client,)))
        subscribers = self.topics.get(f"ticker:{symbol}")
        if subscribers:
            ticker = self._ticker(symbol, top)
            for client in subscribers:
                conn = self._conn(client)
                chan_id = conn.by_key[("ticker", native)]
                frames.append((conn.frame(chan_id, ticker), (client,)))
        return frames
