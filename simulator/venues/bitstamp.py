"""Bitstamp WebSocket API v2: `order_book_{pair}` full snapshots and `live_trades_{pair}`."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable

from simulator.assets import base_usd_price, start_price
from simulator.changes import Change, Trade
from simulator.prices import Market
from simulator.venues.base import (
    BOOK_LEVELS,
    Client,
    Outgoing,
    Venue,
    dumps,
    level_gap,
    level_size,
    split_pair,
)

DEPTH = BOOK_LEVELS  # levels per side in each order_book frame (the real one sends up to 100)
BOOK = "order_book"
TRADES = "live_trades"
# Channels the real server knows; only the first two carry data here, the rest ack and stay quiet.
KNOWN_CHANNELS = (BOOK, TRADES, "diff_order_book", "detail_order_book", "live_orders")
_KINDS = "|".join(sorted(KNOWN_CHANNELS, key=len, reverse=True))  # longest first: diff_order_book
CHANNEL_RE = re.compile(rf"^({_KINDS})_([a-z0-9]+)$")

ASSET_NAMES = {
    "BTC": "Bitcoin",
    "ETH": "Ether",
    "LTC": "Litecoin",
    "XRP": "XRP",
    "BCH": "Bitcoin Cash",
    "SOL": "Solana",
    "DOGE": "Dogecoin",
    "ADA": "Cardano",
    "LINK": "Chainlink",
    "USD": "U.S. dollar",
    "EUR": "Euro",
    "GBP": "British Pound",
    "USDT": "Tether",
    "USDC": "USD Coin",
}
EXTRA_PAIRS = ("BTC-EUR", "LTC-USD", "XRP-USD")  # listed but not configured, so clients must filter


def pair_of(symbol: str) -> str:
    """`BTC-USD` → `btcusd` (Bitstamp's market id)."""
    base, quote = split_pair(symbol)
    return (base + quote).lower()


def _asset_name(code: str) -> str:
    return ASSET_NAMES.get(code, code)


def _trim(value: float, decimals: int) -> str:
    """Decimal string without trailing zeros, like Bitstamp's `price_str` (`3805.4`)."""
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Depth:
    """Levels 2..DEPTH of each side as tick distances from the top and size strings, refreshed
    a little per change. Levels sit further apart the deeper they are (see `level_gap`)."""

    def __init__(self, rng: random.Random, unit: float, ticks: int) -> None:
        self._rng = rng
        self._unit = unit
        self.bid_gaps = self._gaps(ticks)
        self.ask_gaps = self._gaps(ticks)
        self.bid_sizes = [self._size(i) for i in range(1, DEPTH)]
        self.ask_sizes = [self._size(i) for i in range(1, DEPTH)]

    def _gaps(self, ticks: int) -> list[int]:
        total, gaps = 0, []
        for position in range(1, DEPTH):
            total += level_gap(self._rng, ticks, position)
            gaps.append(total)
        return gaps

    def _size(self, position: int) -> str:
        return f"{level_size(self._rng, self._unit, position):.8f}"

    def churn(self) -> None:
        """Replace one size per side, as deeper levels change too in a live book."""
        i = self._rng.randrange(DEPTH - 1)
        self.bid_sizes[i] = self._size(i + 1)
        j = DEPTH - 2 - i
        self.ask_sizes[j] = self._size(j + 1)


class BitstampVenue(Venue):
    """Simulated Bitstamp: one channel per subscribe frame, a full book in every data frame."""

    name = "bitstamp"
    quote_currencies = frozenset({"USD", "EUR", "GBP", "USDT", "USDC", "BTC", "ETH"})

    def __init__(self, symbols: list[str], market: Market, seed: int) -> None:
        super().__init__(symbols, market, seed)
        self._pairs = {pair_of(s): s for s in self.symbols}
        self._book_channel = {s: f"{BOOK}_{pair_of(s)}" for s in self.symbols}
        self._trade_channel = {s: f"{TRADES}_{pair_of(s)}" for s in self.symbols}
        rng = random.Random(f"{seed}:bitstamp:depth")
        # Deeper levels hold a few thousand USD each, whatever the asset's price (ETH-BTC sizes
        # are ETH worth that much), at distances set in ticks from the start price.
        self._depth = {
            s: _Depth(rng, 3000.0 / base_usd_price(s),
                      round(start_price(s) / self.market.book(self.name, s).tick))
            for s in self.symbols
        }
        self._trade_ids = random.Random(f"{seed}:bitstamp:ids").randrange(200_000_000, 400_000_000)
        self._order_ids = 1_830_000_000_000_000

    # --- REST ---------------------------------------------------------------------------

    def listings(self) -> dict[str, Callable[[], object]]:
        """`GET /api/v2/trading-pairs-info/` as on www.bitstamp.net."""
        return {"/api/v2/trading-pairs-info/": self._trading_pairs_info}

    def _trading_pairs_info(self) -> list[dict[str, object]]:
        extras = [s for s in EXTRA_PAIRS if s not in self.symbols][:2]
        rows = []
        for symbol in [*self.symbols, *extras]:
            base, quote = split_pair(symbol)
            decimals = self.price_decimals(symbol)
            rows.append(
                {
                    "trading": "Enabled",
                    "base_decimals": 8,
                    "url_symbol": pair_of(symbol),
                    "name": f"{base}/{quote}",
                    "instant_and_market_orders": "Enabled",
                    "minimum_order": f"20.0 {quote}",
                    "counter_decimals": decimals,
                    "description": f"{_asset_name(base)} / {_asset_name(quote)}",
                }
            )
        return rows

    # --- protocol -----------------------------------------------------------------------

    @staticmethod
    def _error(message: str) -> str:
        return dumps(
            {"event": "bts:error", "channel": "", "data": {"code": None, "message": message}}
        )

    async def on_text(self, client: Client, text: str) -> None:
        """Answer subscribe / unsubscribe / heartbeat, or a `bts:error` as the real server does."""
        try:
            msg = json.loads(text)
        except ValueError:
            self.send(client, self._error("Incorrect JSON format."))
            return
        if not isinstance(msg, dict):
            self.send(client, self._error("Incorrect JSON format."))
            return
        event = msg.get("event")
        if event == "bts:heartbeat":
            reply = {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}
            self.send(client, dumps(reply))
            return
        if event not in ("bts:subscribe", "bts:unsubscribe"):
            self.send(client, self._error("Bad subscription string."))
            return
        data = msg.get("data")
        channel = data.get("channel") if isinstance(data, dict) else None
        if not isinstance(channel, str) or not channel:
            self.send(client, self._error("Bad subscription string."))
            return
        match = CHANNEL_RE.match(channel)
        if match is None:
            self.send(client, self._error("Invalid channel provided."))
            return
        if event == "bts:subscribe":
            self._subscribe(client, channel, match.group(1), match.group(2))
        else:
            self.topics.remove(channel, client)
            reply = {"event": "bts:unsubscription_succeeded", "channel": channel, "data": {}}
            self.send(client, dumps(reply))

    def _subscribe(self, client: Client, channel: str, kind: str, pair: str) -> None:
        # Unknown lower-case markets and channels we do not simulate are acked and stay silent,
        # which is what the real server does for unknown markets.
        ack = {"event": "bts:subscription_succeeded", "channel": channel, "data": {}}
        self.send(client, dumps(ack))
        if pair in self._pairs and kind in (BOOK, TRADES):
            self.topics.add(channel, client)
            self.subscribed(client)

    def active_symbols(self) -> list[str]:
        """Symbols whose `order_book_*` channel has a subscriber."""
        return [s for s in self.symbols if self.topics.has(self._book_channel[s])]

    def reconnect_frame(self, client: Client) -> str:
        """Bitstamp's forced-reconnect notice."""
        return dumps({"event": "bts:request_reconnect", "channel": "", "data": None})

    # --- frames -------------------------------------------------------------------------

    def render(self, change: Change) -> list[Outgoing]:
        """An `order_book_*` data frame (plus a `live_trades_*` frame when a trade happened)."""
        symbol = change.symbol
        book = self.market.book(self.name, symbol)
        decimals, tick = book.decimals, book.tick
        depth = self._depth[symbol]
        depth.churn()
        top = change.top
        bid_levels = [f'["{top.bid:.{decimals}f}","{top.bid_size:.8f}"]']
        bid_levels += [
            f'["{top.bid - gap * tick:.{decimals}f}","{size}"]'
            for gap, size in zip(depth.bid_gaps, depth.bid_sizes, strict=True)
        ]
        ask_levels = [f'["{top.ask:.{decimals}f}","{top.ask_size:.8f}"]']
        ask_levels += [
            f'["{top.ask + gap * tick:.{decimals}f}","{size}"]'
            for gap, size in zip(depth.ask_gaps, depth.ask_sizes, strict=True)
        ]
        ts = change.ts_us
        channel = self._book_channel[symbol]
        text = (
            f'{{"data":{{"timestamp":"{ts // 1_000_000}","microtimestamp":"{ts}",'
            f'"bids":[{",".join(bid_levels)}],"asks":[{",".join(ask_levels)}]}},'
            f'"channel":"{channel}","event":"data"}}'
        )
        frames: list[Outgoing] = [(text, self.topics.get(channel))]
        trade = change.trade
        if trade is not None:
            trade_channel = self._trade_channel[symbol]
            self.offer(frames, trade_channel,
                       lambda: self._trade_frame(trade, trade_channel, decimals))
        return frames

    def _trade_frame(self, trade: Trade, channel: str, decimals: int) -> str:
        self._trade_ids += 1
        self._order_ids += 7919  # order ids are large and rising, like the real ones
        buy_id, sell_id = self._order_ids, self._order_ids - 3571
        if trade.side == 1:
            buy_id, sell_id = sell_id, buy_id
        price = round(trade.price, decimals)
        ts = trade.ts_us
        return (
            f'{{"data":{{"id":{self._trade_ids},"timestamp":"{ts // 1_000_000}",'
            f'"amount":{trade.amount!r},"amount_str":"{trade.amount:.8f}",'
            f'"price":{price!r},"price_str":"{_trim(price, decimals)}","type":{trade.side},'
            f'"microtimestamp":"{ts}","buy_order_id":{buy_id},"sell_order_id":{sell_id}}},'
            f'"channel":"{channel}","event":"trade"}}'
        )
