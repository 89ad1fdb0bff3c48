"""Bybit v5 public spot: `op` requests with per-request acks, `orderbook.1` and `tickers` topics.

Served at `/bybit` (the real path is `/v5/public/spot`). Level-1 books are snapshot-only, as on
spot: one snapshot per top-of-book change with a rising update id `u`, the current snapshot
right after a subscription (with the last change's `ts`, so it is not a new point), and the same
snapshot re-pushed when a book stayed unchanged for 3 s (same `u`, same `ts`: "the same snapshot
is re-pushed", docs/protocols.md; re-pushes go out while the client has been idle for a second).
`ts` never repeats within a book: it is the change's time in ms, nudged 1 ms past the previous
one when two changes fall in the same millisecond, so every change is a distinct point.

Bybit never asks a client to reconnect. The closest documented event is a service restart,
after which update ids start over at `u == 1`; the `reconnect` control simulates that restart.
Texts of failures Bybit does not document (bad JSON, unknown op, malformed topic) are made up.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from simulator.assets import start_price
from simulator.changes import Change, Top
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Venue, dumps
from simulator.venues.bybit_listing import TickerStats, instruments, listed, native_of, size_text

MAX_ARGS = 10  # per subscribe request on spot
REPUSH_S = 3.0  # an unchanged level-1 book is pushed again after this long
BOOK = "orderbook"
TICKERS = "tickers"
BOOK_DEPTHS = ("1", "50", "200", "1000")
KLINE_INTERVALS = ("1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D", "W", "M")
EXTRA_PAIRS = ("SOL-USDT", "BTC-USDC", "XRP-USDT")  # listed but not configured


class BybitVenue(Venue):
    """Simulated Bybit spot: acks per request, ping/pong, level-1 snapshots, restarts."""

    name = "bybit"
    quote_currencies = frozenset({"USDT", "USDC", "BTC", "ETH", "EUR"})

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:bybit")
        self._by_native = {native_of(s): s for s in self.symbols}
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        self._listed = [*self.symbols, *extras]
        self._listed_natives = {native_of(s) for s in self._listed}
        self._update_ids = {s: self._rng.randrange(1_000_000, 90_000_000) for s in self.symbols}
        self._seqs = {s: self._rng.randrange(10**10, 9 * 10**10) for s in self.symbols}
        # Last emitted change per symbol: (top, ts ms, cts ms), and when it happened.
        self._last: dict[str, tuple[Top, int, int]] = {}
        self._changed_at: dict[str, float] = {}
        # The book as last put on the wire ((top, ts, cts), u, seq): re-pushes and late
        # subscribers see this, never a change rendered ahead and not yet sent.
        self._sent: dict[str, tuple[tuple[Top, int, int], int, int]] = {}
        self._stats = {s: TickerStats(self._rng, start_price(s)) for s in self.symbols}

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /v5/market/instruments-info?category=spot` as on api.bybit.com."""
        return {
            "/v5/market/instruments-info": lambda: instruments(self._listed, self.price_decimals)
        }

    # --- protocol -----------------------------------------------------------------------

    async def on_open(self, client: Client) -> None:
        """Every connection gets a `conn_id`, echoed in each reply."""
        client.state["conn_id"] = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        client.state["topics"] = {}  # subscribed topics, in order
        client.state["pushed"] = {}  # symbol → monotonic time of the last snapshot sent

    def _reply(self, client: Client, op: Any, success: bool, ret_msg: str, req_id: Any) -> None:
        body: dict[str, Any] = {"success": success, "ret_msg": ret_msg,
                                "conn_id": client.state["conn_id"]}
        if req_id is not None:
            body["req_id"] = req_id
        body["op"] = op
        self.send(client, dumps(body))

    async def on_text(self, client: Client, text: str) -> None:
        """Answer ping, subscribe and unsubscribe; a failure reply for anything else."""
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            msg = None
        if not isinstance(msg, dict):
            self._reply(client, "", False, "Invalid request: not a JSON object", None)
            return
        op = msg.get("op")
        req_id = msg.get("req_id") if isinstance(msg.get("req_id"), str) else None
        if op == "ping":
            self._reply(client, "ping", True, "pong", req_id)
            return
        if op not in ("subscribe", "unsubscribe"):
            self._reply(client, op if isinstance(op, str) else "", False,
                        f"Invalid op: {op}", req_id)
            return
        args = msg.get("args")
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            self._reply(client, op, False, "Invalid args", req_id)
            return
        if len(args) > MAX_ARGS:
            self._reply(client, op, False, f"args size >{MAX_ARGS}", req_id)
            return
        for arg in args:
            problem = self._topic_problem(arg)
            if problem is not None:
                # The whole request fails: nothing of it is subscribed.
                self._reply(client, op, False, f"{problem} :[{arg}]", req_id)
                return
        topics: dict[str, None] = client.state["topics"]
        if op == "unsubscribe":
            for arg in args:
                topics.pop(arg, None)
                self.topics.remove(arg, client)
            self._reply(client, op, True, op, req_id)
            return
        for arg in args:
            topics[arg] = None
            self.topics.add(arg, client)
        self._reply(client, op, True, op, req_id)
        carries_data = False
        for arg in args:
            kind = arg.partition(".")[0]
            symbol = self._by_native.get(arg.rpartition(".")[2])
            if symbol is None:
                continue  # a listed pair that is not simulated: acked, silent
            if arg == f"{BOOK}.1.{native_of(symbol)}":
                carries_data = True
                if symbol in self._sent:
                    # The current book, exactly as last emitted: no new point downstream.
                    self.send(client, self._book_frame(symbol, *self._sent[symbol]))
                    client.state["pushed"][symbol] = time.monotonic()
            elif kind == TICKERS:
                carries_data = True
                if self._stats[symbol].last is not None:
                    self.send(client, self._ticker_frame(symbol, self._last[symbol][1]))
        if carries_data:
            self.subscribed(client)

    def _topic_problem(self, topic: str) -> str | None:
        """Why Bybit would refuse `topic`, or None when it is a valid spot topic."""
        parts = topic.split(".")
        if parts[0] == BOOK and len(parts) == 3 and parts[1] in BOOK_DEPTHS:
            native = parts[2]
        elif parts[0] in (TICKERS, "publicTrade") and len(parts) == 2:
            native = parts[1]
        elif parts[0] == "kline" and len(parts) == 3 and parts[1] in KLINE_INTERVALS:
            native = parts[2]
        else:
            return "Invalid topic"
        return None if native in self._listed_natives else "Invalid symbol"

    def active_symbols(self) -> list[str]:
        """Symbols whose level-1 book has a subscriber."""
        return [s for s in self.symbols if self.topics.has(f"{BOOK}.1.{native_of(s)}")]

    def idle_frame(self, client: Client) -> str | None:
        """Re-push each subscribed book that stayed unchanged for 3 s (sent here, returns None)."""
        now = time.monotonic()
        pushed: dict[str, float] = client.state["pushed"]
        for topic in client.state["topics"]:
            kind, _, rest = topic.partition(".")
            depth, _, native = rest.partition(".")
            symbol = self._by_native.get(native)
            if kind != BOOK or depth != "1" or symbol is None or symbol not in self._sent:
                continue
            if now - max(self._changed_at[symbol], pushed.get(symbol, 0.0)) >= REPUSH_S:
                self.send(client, self._book_frame(symbol, *self._sent[symbol]))
                pushed[symbol] = now
        return None

    def reconnect_frame(self, client: Client) -> str:
        """A service restart: update ids start over, each book is re-sent with `u == 1`.

        Bybit has no request to reconnect; on a restart its book streams resume from `u == 1`,
        which tells clients to reset. Tops and times are unchanged (no new point downstream).
        A client with no book to reset gets a pong, the one harmless unsolicited frame.
        """
        for symbol in self.symbols:
            if symbol in self._sent:
                self._update_ids[symbol] = 1  # idempotent over the clients of one restart
                book, _, seq = self._sent[symbol]
                self._sent[symbol] = (book, 1, seq)
        frames = [self._book_frame(symbol, *self._sent[symbol])
                  for topic in client.state.get("topics", ())
                  if topic.startswith(f"{BOOK}.1.")
                  and (symbol := self._by_native.get(topic.rpartition(".")[2])) in self._sent]
        if not frames:
            return dumps({"success": True, "ret_msg": "pong",
                          "conn_id": client.state.get("conn_id", ""), "op": "ping"})
        for frame in frames[:-1]:
            self.send(client, frame)
        return frames[-1]

    # --- frames -------------------------------------------------------------------------

    def wire_mark(self, symbol: str) -> object:
        """The book just rendered, with its update id and sequence."""
        return (self._last[symbol], self._update_ids[symbol], self._seqs[symbol])

    def on_sent(self, symbol: str, mark: object) -> None:
        """Re-pushes show this book from now on; its 3 s quiet period starts now."""
        self._sent[symbol] = mark  # type: ignore[assignment]
        self._changed_at[symbol] = time.monotonic()

    def _book_frame(self, symbol: str, book: tuple[Top, int, int], update_id: int,
                    seq: int) -> str:
        """A level-1 snapshot of `book` (top, ts, cts) with update id `update_id`."""
        top, ts_ms, cts = book
        decimals = self.market.book(self.name, symbol).decimals
        native = native_of(symbol)
        return (
            f'{{"topic":"{BOOK}.1.{native}","ts":{ts_ms},"type":"snapshot",'
            f'"data":{{"s":"{native}","b":[["{top.bid:.{decimals}f}","{size_text(top.bid_size)}"]],'
            f'"a":[["{top.ask:.{decimals}f}","{size_text(top.ask_size)}"]],'
            f'"u":{update_id},"seq":{seq}}},"cts":{cts}}}'
        )

    def _ticker_frame(self, symbol: str, ts_ms: int) -> str:
        stats = self._stats[symbol]
        decimals = self.market.book(self.name, symbol).decimals
        last = stats.last if stats.last is not None else stats.prev
        data = {
            "symbol": native_of(symbol),
            "lastPrice": f"{last:.{decimals}f}",
            "highPrice24h": f"{stats.high:.{decimals}f}",
            "lowPrice24h": f"{stats.low:.{decimals}f}",
            "prevPrice24h": f"{stats.prev:.{decimals}f}",
            "volume24h": f"{stats.volume:.6f}",
            "turnover24h": f"{stats.turnover:.4f}",
            "price24hPcnt": f"{last / stats.prev - 1.0:.4f}",
            "usdIndexPrice": f"{last:.{decimals}f}",
        }
        return dumps({"topic": f"{TICKERS}.{native_of(symbol)}", "ts": ts_ms, "type": "snapshot",
                      "cs": self._seqs[symbol], "data": data})

    def render(self, change: Change) -> list[Outgoing]:
        """A level-1 snapshot per change, plus a `tickers` snapshot when a trade happened."""
        symbol = change.symbol
        previous = self._last.get(symbol)
        # The book's ms clock runs on true time; a requested skew goes on the wire only.
        skew_ms = change.skew_us // 1000
        ts_ms = (change.ts_us - change.skew_us) // 1000
        cts = ts_ms - self._rng.randint(0, 3)  # the matching engine a moment earlier
        if previous is not None:
            # Milliseconds on the wire: never repeat one within a book, never go back.
            ts_ms = max(ts_ms, previous[1] + 1)
            cts = max(cts, previous[2])
        self._update_ids[symbol] += 1
        self._seqs[symbol] += self._rng.randint(1, 30)
        book = self._last[symbol] = (change.top, ts_ms, cts)
        native = native_of(symbol)
        wire = (change.top, ts_ms + skew_ms, cts + skew_ms) if skew_ms else book
        text = self._book_frame(symbol, wire, self._update_ids[symbol], self._seqs[symbol])
        frames: list[Outgoing] = [(text, self.topics.get(f"{BOOK}.1.{native}"))]
        trade = change.trade
        if trade is not None:
            self._stats[symbol].trade(trade.price, trade.amount)
            ticker_ms = max(trade.ts_us // 1000, ts_ms + skew_ms)
            self.offer(frames, f"{TICKERS}.{native}", lambda: self._ticker_frame(symbol, ticker_ms))
        return frames
