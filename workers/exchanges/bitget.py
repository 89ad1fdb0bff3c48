"""Bitget spot adapter (API v2): `books1`, the 1-level book pushed whole every 10 ms.

Protocol notes (docs/venues/bitget.md): wss://ws.bitget.com/v2/ws/public takes
`{"op": "subscribe", "args": [{"instType": "SPOT", "channel": "books1", "instId": "BTCUSDT"}]}`
and acks each arg as `{"event": "subscribe", "arg": {...}}`; a refused arg comes back as
`{"event": "error", "arg": {...}, "code": 30001, "msg": "...", "op": "subscribe"}`. The client
sends the text `ping` (Bitget asks for one every 30 s and drops a connection that sent none for
2 minutes) and gets `pong`. Connections are cut after 24 h; 1,000 channels are allowed on one,
though Bitget advises at most 50 for stability, and 240 subscribe requests an hour.

`books1` is the freshest top of book with sizes Bitget offers: 10 ms, against 200 ms for the
checksummed `books` (snapshot, then deltas) and for `books5`/`books15`. Each push is a snapshot
of the best level, so there is no sequence to follow and nothing to resync; `books5` and
`books15` (also whole snapshots) are read the same way should a recording carry them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.types import Market, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import SHAPE_ERRORS, decimal_levels, int_stamp

LIVE_CHANNEL = "books1"
SNAPSHOT_BOOKS = frozenset({"books1", "books5", "books15"})  # every push a whole snapshot
QUIET_CHANNELS = frozenset({"ticker", "trade"})  # never subscribed; ignored if seen
MAX_CHANNELS = 50  # per connection: Bitget's advice (the hard limit is 1,000)
_QUIET_EVENTS = frozenset({"subscribe", "unsubscribe"})
_MS = 1_000_000


class BitgetAdapter(Adapter):
    """Bitget spot: `books1` snapshots in, a Quote whenever the top of book changes."""

    name: ClassVar[str] = "bitget"
    ws_url: ClassVar[str] = "wss://ws.bitget.com/v2/ws/public"
    rest_url: ClassVar[str] = "https://api.bitget.com"
    markets_path: ClassVar[str] = "/api/v2/spot/public/symbols"
    # Bitget wants a ping at least every 30 s; each pong feeds the watchdog, which allows one
    # lost pong on a quiet market before reconnecting.
    ping_interval_s: ClassVar[float] = 25.0
    watchdog_s: ClassVar[float] = 60.0
    max_markets_per_connection: ClassVar[int | None] = MAX_CHANNELS

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`/api/v2/spot/public/symbols` → its `data` entries; a non-success `code` raises.

        {"code":"00000","msg":"success","requestTime":1695808949356,"data":[{"symbol":"BTCUSDT",
         "baseCoin":"BTC","quoteCoin":"USDT","pricePrecision":"2","quantityPrecision":"6",
         "status":"online","takerFeeRate":"0.001","makerFeeRate":"0.001",...}]}
        """
        data = payload.get("data") if type(payload) is dict else None
        if type(data) is not list or payload.get("code") != "00000":
            code = payload.get("code") if type(payload) is dict else None
            raise ValueError(f"not a bitget symbols listing (code {code!r})")
        return data

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """An `online` symbol; `gray` (not yet open), `halt` and `offline` ones are skipped."""
        if entry["status"] != "online":
            return None
        market = cls.market(entry["symbol"], entry["baseCoin"], entry["quoteCoin"])
        # The channel names the symbol as the listing spells it: BASE + QUOTE.
        return market if market.native == market.base + market.quote else None

    def subscribe_messages(self) -> list[str]:
        """One subscribe frame with a `books1` arg per market (at most 50 a connection)."""
        args = [{"instType": "SPOT", "channel": LIVE_CHANNEL, "instId": native}
                for native in self.markets]
        return self.chunked_frames(args, MAX_CHANNELS,
                                   lambda chunk: {"op": "subscribe", "args": chunk})

    def ping_message(self) -> str | None:
        """The literal text `ping` (answered `pong`)."""
        return "ping"

    def on_message(self, text: str, received_ns: int) -> Events:
        """Read one frame; return the events it produced. Never raises on bad input."""
        if text == "pong":
            return []
        msg = self.decode_object(text)
        try:
            if msg is None:
                return []
            if "event" in msg:
                return self._on_event(msg["event"], msg)
            return self._on_push(msg["arg"], msg["data"], received_ns)
        except SHAPE_ERRORS:
            return self.reject("bad_field")

    def _on_push(self, arg: Any, data: Any, received_ns: int) -> Events:
        """A channel push, routed by the arg it names.

        {"action":"snapshot","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},
         "data":[{"ts":"1695716760565","price":"27000.5","size":"0.001","side":"buy",
         "tradeId":"1"}]}
        """
        if arg["instType"] != "SPOT":
            return self.reject("unknown_channel")
        channel = arg["channel"]
        if channel in SNAPSHOT_BOOKS:
            return self._on_book(arg["instId"], data, received_ns)
        return [] if channel in QUIET_CHANNELS else self.reject("unknown_channel")

    def _on_event(self, event: Any, msg: dict[str, Any]) -> Events:
        """Acks and errors.

        {"event":"subscribe","arg":{"instType":"SPOT","channel":"books1","instId":"BTCUSDT"}}
        {"event":"error","arg":{"instType":"SPOT","channel":"books1","instId":"FOOUSDT"},
         "code":30001,"msg":"instType:SPOT,channel:books1,instId:FOOUSDT doesn't exist",
         "op":"subscribe"}
        """
        if event in _QUIET_EVENTS:
            return []
        if event == "error":
            return self.venue_error(f"{msg.get('code')} {msg.get('msg')}")
        return self.reject("unknown_event")

    def _on_book(self, inst: Any, data: Any, received_ns: int) -> Events:
        """A book snapshot → a Quote when its best levels differ from the last sent.

        {"action":"snapshot","arg":{"instType":"SPOT","channel":"books1","instId":"BTCUSDT"},
         "data":[{"asks":[["26274.9","0.0009"]],"bids":[["26274.8","0.0009"]],"checksum":0,
         "seq":123,"ts":"1695710946294"}],"ts":1695710946294}
        """
        if type(inst) is not str:
            raise TypeError("instId is not a string")
        market = self.markets.get(inst)
        if market is None:
            return self.reject("unknown_market")
        if type(data) is not list or len(data) != 1 or type(data[0]) is not dict:
            raise TypeError("book data is not one object")
        entry = data[0]
        bids = decimal_levels(entry["bids"], allow_zero=False)
        asks = decimal_levels(entry["asks"], allow_zero=False)
        ts_ns = int_stamp(entry["ts"], _MS)
        if not bids or not asks:
            return self.reject("empty_book")  # one side has no order
        top = (bids[0][0], bids[0][1], asks[0][0], asks[0][1])
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        if not self.top_changed(inst, top):
            return []
        return [Quote(self.name, market.symbol, top[0], top[1], top[2], top[3], None, ts_ns,
                      received_ns)]
