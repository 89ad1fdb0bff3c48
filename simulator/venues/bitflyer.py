"""bitFlyer Lightning Realtime API, JSON-RPC 2.0 over WebSocket: boards, tickers, executions.

Served at `/bitflyer` (the real path is `/json-rpc`). Requests are JSON-RPC calls (alone or in
a batch array, answered in order); `subscribe`/`unsubscribe` take `{"channel": name}` and answer
`true` to a request with an id. Data goes out as `channelMessage` notifications, numbers as JSON
numbers. Per product: `lightning_board_snapshot_*` pushes the whole book on subscribe (as last
put on the wire) and again every SNAPSHOT_S of changes, the real channel being rate-limited;
`lightning_board_*` one delta per change (absolute sizes, 0 deleting) with `mid_price`, the mid
cut to the tick; `lightning_ticker_*` one ticker per change; `lightning_executions_*` one per
trade. No sequence numbers exist.

Faults: `gap` loses each product's next delta (the book heals at the next snapshot);
`bad_checksum` sends each product's next delta with a `mid_price` outside the book (the one
consistency check this protocol allows); `reconnect` re-sends every subscribed snapshot (bitFlyer
has no reconnect request). Error codes are JSON-RPC's own; their texts are made up.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from simulator.assets import base_usd_price, default_price_decimals, start_price
from simulator.changes import Change, Top, Trade
from simulator.prices import Market
from simulator.venues.base import Client, Outgoing, Stamper, Venue
from simulator.venues.bitflyer_wire import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    NO_METHOD,
    PARSE_ERROR,
    board,
    channel_message,
    listed,
    markets,
    native_of,
    number,
    product_of,
    reply,
    size_text,
)
from simulator.venues.daystats import DayStats
from simulator.venues.ladder import Ladder

SNAPSHOT, BOARD = "lightning_board_snapshot_", "lightning_board_"
TICKER, EXECUTIONS = "lightning_ticker_", "lightning_executions_"
SNAPSHOT_S = 5.0  # the recording shows each board's snapshot about every 5 s

# A book as put on the wire: bids, asks (texts, best first) and its mid text.
Sent = tuple[list[tuple[str, str]], list[tuple[str, str]], str]


class BitflyerVenue(Venue):
    """Simulated bitFlyer Lightning: JSON-RPC acks, board snapshots and deltas, tickers."""

    name = "bitflyer"
    timed_book_frames = False  # board messages carry no time

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__([s for s in symbols if listed(s)], market, seed)
        self._rng = random.Random(f"{seed}:bitflyer")
        self._ladders = {
            s: Ladder(self.market.book(self.name, s).decimals, self._rng,
                      3000.0 / base_usd_price(s), size_text, "0.0")
            for s in self.symbols
        }
        self._stats = {s: DayStats(self._rng, start_price(s), (5e6, 15e6)) for s in self.symbols}
        self._by_native = {native_of(s): s for s in self.symbols}
        self._listing = markets(self.symbols)
        self._products = {row["product_code"] for row in self._listing}  # type: ignore[index]
        self._sent: dict[str, Sent] = {}
        self._mids: dict[str, str] = {}  # mid text of each product's latest change
        self._next_snapshot: dict[str, int] = {}  # true µs when each board is due again
        self._lose: set[str] = set()  # products whose next delta is lost (`gap`)
        self._off_mid: set[str] = set()  # products whose next delta has a wrong mid
        self._tick_id = self._rng.randrange(10**7, 9 * 10**7)
        self._exec_id = self._rng.randrange(2 * 10**9, 3 * 10**9)
        self._stamp = Stamper()

    def price_decimals(self, symbol: str) -> int:
        """JPY books tick by 1 yen from 1,000 yen up (BTC_JPY, ETH_JPY); others as usual."""
        price = start_price(symbol)
        if symbol.endswith("-JPY") and price >= 1000.0:
            return 0
        return default_price_decimals(price)

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /v1/markets` as on api.bitflyer.com."""
        return {"/v1/markets": lambda: self._listing}

    # --- protocol -----------------------------------------------------------------------

    def reconnect_frame(self, client: Client) -> str:
        """Every subscribed board's snapshot again (there is no request to reconnect)."""
        frames = [self._snapshot(symbol) for symbol in self.symbols
                  if client in self.topics.get(SNAPSHOT + native_of(symbol))]
        *first, last = frames or [reply(None, error=(INVALID_REQUEST, "nothing to resend"))]
        for frame in first:
            self.send(client, frame)
        return last

    def fault(self, action: str) -> bool:
        """`gap`: each product's next delta is lost; `bad_checksum`: its mid is off the book."""
        if action == "gap":
            self._lose.update(self.symbols)
            return True
        if action == "bad_checksum":
            self._off_mid.update(self.symbols)
            return True
        return super().fault(action)

    async def on_text(self, client: Client, text: str) -> None:
        """One JSON-RPC request, or a batch of them answered as one array in order."""
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            self.send(client, reply(None, error=(PARSE_ERROR, "Parse error")))
            return
        batch = isinstance(msg, list) and bool(msg)
        answers: list[str] = []
        pushes: list[str] = []  # what the subscriptions send, after their answers
        for request in msg if batch else [msg]:
            answer = self._call(client, request, pushes)
            if answer is not None:
                answers.append(answer)
        if answers:
            self.send(client, "[" + ",".join(answers) + "]" if batch else answers[0])
        for frame in pushes:
            self.send(client, frame)

    def _call(self, client: Client, msg: Any, pushes: list[str]) -> str | None:
        """Run one request; its answer (None for a notification without an id)."""
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            return reply(None, error=(INVALID_REQUEST, "Invalid Request"))
        req_id, method = msg.get("id"), msg["method"]
        if method not in ("subscribe", "unsubscribe"):
            return reply(req_id, error=(NO_METHOD, "Method not found"))
        params = msg.get("params")
        channel = params.get("channel") if isinstance(params, dict) else None
        found = product_of(channel)
        if found is None or found[1] not in self._products:
            return reply(req_id, error=(INVALID_PARAMS, f"invalid channel: {channel}"))
        if method == "unsubscribe":
            self.topics.remove(channel, client)  # type: ignore[arg-type]
        else:
            self.topics.add(channel, client)  # type: ignore[arg-type]
            symbol = self._by_native.get(found[1])
            if symbol is not None:  # a listed extra is acked and stays silent
                if found[0] == SNAPSHOT:
                    pushes.append(self._snapshot(symbol))
                self.subscribed(client)
        return None if req_id is None else reply(req_id)

    def active_symbols(self) -> list[str]:
        """Products with a board (delta or snapshot) subscriber: only those change."""
        return [s for s in self.symbols if any(self.topics.has(kind + native_of(s))
                                               for kind in (BOARD, SNAPSHOT))]

    # --- frames -------------------------------------------------------------------------

    def _mid(self, symbol: str, top: Top) -> str:
        """The mid of `top` cut to the tick, as bitFlyer's `mid_price`."""
        ladder = self._ladders[symbol]
        ticks = (round(top.bid * ladder.scale) + round(top.ask * ladder.scale)) // 2
        return ladder.price_text(ticks)

    def _snapshot(self, symbol: str) -> str:
        """The book as last put on the wire (empty, mid 0, before its first change)."""
        bids, asks, mid = self._sent.get(symbol, ([], [], "0"))
        return channel_message(SNAPSHOT + native_of(symbol), board(mid, bids, asks))

    def wire_mark(self, symbol: str) -> object:
        """The whole book after this change and its mid."""
        ladder = self._ladders[symbol]
        return ladder.levels("buy"), ladder.levels("sell"), self._mids[symbol]

    def on_sent(self, symbol: str, mark: object) -> None:
        """Snapshots show this book from now on."""
        self._sent[symbol] = mark  # type: ignore[assignment]

    def render(self, change: Change) -> list[Outgoing]:
        """A delta for the change, a snapshot when due, a ticker, and executions on a trade."""
        symbol, top = change.symbol, change.top
        native = native_of(symbol)
        ladder = self._ladders[symbol]
        changes = ladder.apply(top)
        self._mids[symbol] = true_mid = mid = self._mid(symbol, top)
        if symbol in self._off_mid:
            self._off_mid.discard(symbol)
            mid = ladder.price_text(round(top.ask * ladder.scale) + 10)  # above every bid and ask
        frames: list[Outgoing] = []
        if symbol in self._lose:
            self._lose.discard(symbol)  # this delta never reaches anybody
        else:
            bids = [(p, s) for side, p, s in changes if side == "buy"]
            asks = [(p, s) for side, p, s in changes if side == "sell"]
            frames.append((channel_message(BOARD + native, board(mid, bids, asks)),
                           self.topics.get(BOARD + native)))
        true_us = change.ts_us - change.skew_us
        if true_us >= self._next_snapshot.get(symbol, 0):
            self._next_snapshot[symbol] = true_us + int(SNAPSHOT_S * 1_000_000)
            self.offer(frames, SNAPSHOT + native, lambda: channel_message(
                SNAPSHOT + native, board(true_mid, ladder.levels("buy"), ladder.levels("sell"))))
        trade = change.trade
        if trade is not None:
            self._stats[symbol].trade(trade.price, trade.amount)
            self.offer(frames, EXECUTIONS + native, lambda: self._executions(symbol, trade))
        self.offer(frames, TICKER + native, lambda: self._ticker(symbol, top, change.ts_us))
        return frames

    def _ticker(self, symbol: str, top: Top, ts_us: int) -> str:
        """A ticker notification for the book after a change."""
        self._tick_id += 1
        stats = self._stats[symbol]
        ladder = self._ladders[symbol]
        last = stats.last if stats.last is not None else top.ask
        price = ladder.price_text  # texts of the book's own precision
        body = (f'{{"product_code":"{native_of(symbol)}","state":"RUNNING",'
                f'"timestamp":"{self._stamp(ts_us)}","tick_id":{self._tick_id},'
                f'"best_bid":{number(price(round(top.bid * ladder.scale)))},'
                f'"best_ask":{number(price(round(top.ask * ladder.scale)))},'
                f'"best_bid_size":{size_text(top.bid_size)},'
                f'"best_ask_size":{size_text(top.ask_size)},'
                f'"total_bid_depth":{size_text(stats.volume / 3)},'
                f'"total_ask_depth":{size_text(stats.volume / 3)},'
                f'"market_bid_size":0.0,"market_ask_size":0.0,'
                f'"ltp":{number(price(round(last * ladder.scale)))},'
                f'"volume":{size_text(stats.volume)},'
                f'"volume_by_product":{size_text(stats.volume)}}}')
        return channel_message(TICKER + native_of(symbol), body)

    def _executions(self, symbol: str, trade: Trade) -> str:
        """An executions notification for one simulated trade."""
        self._exec_id += 1
        ladder = self._ladders[symbol]
        price = number(ladder.price_text(round(trade.price * ladder.scale)))
        side = "BUY" if trade.side == 0 else "SELL"
        row = (f'{{"id":{self._exec_id},"side":"{side}","price":{price},'
               f'"size":{size_text(trade.amount)},"exec_date":"{self._stamp(trade.ts_us)}",'
               f'"buy_child_order_acceptance_id":"JRF{self._exec_id}B",'
               f'"sell_child_order_acceptance_id":"JRF{self._exec_id}S"}}')
        return channel_message(EXECUTIONS + native_of(symbol), f"[{row}]")
