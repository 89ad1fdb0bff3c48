"""MEXC spot v3 adapter: `spot@public.aggre.bookTicker.v3.api.pb@10ms@<SYMBOL>` best bid/offer.

Protocol notes (docs/venues/mexc.md): since 2025 the public spot streams on
wss://wbs-api.mexc.com/ws push protobuf in binary frames; requests, acks, refusals and pongs stay
JSON text. `decode_binary` renders a push as the JSON MEXC documents for it (`mexc_pb`), which
`on_message` reads along with the answers. A request is `{"method": "SUBSCRIPTION", "params":
[...]}`, answered `{"id": 0, "code": 0, "msg": "<the channels>"}`; a refused channel comes back
with code 0 too, its msg reading "Not Subscribed successfully! [...]. Reason: Blocked!".
`{"method": "PING"}` is answered with msg "PONG". One connection takes at most 30 subscriptions
and lives at most 24 h; with no data for a minute the server drops it, so the client pings.

The book ticker carries no update id and no sequence: each push is the whole top of book, so a
lost frame costs nothing and there is nothing to resync. The 10 ms aggregation is the finest
MEXC documents (100 ms is the other); the batch channel (`bookTicker.batch`) and the older
`publicBookTicker` body are read too, should a recording or the venue send them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from core.types import Market, Quote
from workers.exchanges import mexc_pb as pb
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events
from workers.exchanges.fields import decimal_top, int_stamp

LIVE_CHANNEL = "spot@public.aggre.bookTicker.v3.api.pb@10ms@"
MAX_SUBSCRIPTIONS = 30  # per connection; more are refused
ONLINE = frozenset({"1", "ENABLED"})  # `status`: "1" since 2024-08, "ENABLED" before
REFUSED = "Not Subscribed successfully"
PONG = "PONG"
_MS = 1_000_000


class MexcAdapter(Adapter):
    """MEXC spot: protobuf book tickers in, a Quote whenever the top of book changes."""

    name: ClassVar[str] = "mexc"
    ws_url: ClassVar[str] = "wss://wbs-api.mexc.com/ws"
    rest_url: ClassVar[str] = "https://api.mexc.com"
    markets_path: ClassVar[str] = "/api/v3/exchangeInfo"
    # MEXC drops a connection that carried no data for a minute; a ping every 20 s keeps a quiet
    # one open, and each PONG feeds the watchdog, which tolerates one lost pong.
    ping_interval_s: ClassVar[float] = 20.0
    watchdog_s: ClassVar[float] = 45.0
    max_markets_per_connection: ClassVar[int | None] = MAX_SUBSCRIPTIONS

    def __init__(self, markets: list[Market]) -> None:
        super().__init__(markets)
        self._req_id = 0

    @classmethod
    def market_entries(cls, payload: Any) -> list[Any]:
        """`/api/v3/exchangeInfo` → its `symbols` entries.

        {"timezone": "CST", "serverTime": 1767225600000, "rateLimits": [],
         "exchangeFilters": [], "symbols": [{"symbol": "BTCUSDT", "status": "1",
         "baseAsset": "BTC", "quoteAsset": "USDT", "isSpotTradingAllowed": true, ...}]}
        """
        symbols = payload.get("symbols") if type(payload) is dict else None
        if type(symbols) is not list:
            raise ValueError(f"not an exchangeInfo listing: {type(payload).__name__}")
        return symbols

    @classmethod
    def read_market(cls, entry: Any) -> Market | None:
        """An online symbol (status "1"); paused and offline ones are skipped.

        `isSpotTradingAllowed` says whether the API may place orders, not whether the market
        trades, so it does not decide what is followed.
        """
        if entry["status"] not in ONLINE:
            return None
        market = cls.market(entry["symbol"], entry["baseAsset"], entry["quoteAsset"])
        # The channel names the symbol as the listing spells it: BASE + QUOTE, upper case.
        return market if market.native == market.base + market.quote else None

    def subscribe_messages(self) -> list[str]:
        """SUBSCRIPTION frames for every market's book ticker, 30 channels a frame."""
        channels = [LIVE_CHANNEL + native for native in self.markets]
        return self.chunked_frames(channels, MAX_SUBSCRIPTIONS, self._request)

    def _request(self, channels: list[str]) -> dict[str, Any]:
        """One SUBSCRIPTION request with a fresh id."""
        self._req_id += 1
        return {"method": "SUBSCRIPTION", "params": channels, "id": self._req_id}

    def ping_message(self) -> str | None:
        """MEXC's app-level keepalive, answered `{"id":0,"code":0,"msg":"PONG"}`."""
        return '{"method":"PING"}'

    @staticmethod
    def decode_binary(data: bytes) -> str:
        """A binary frame as JSON text: a protobuf push rendered by `mexc_pb.as_json`."""
        # A wrapper starts with a field tag; `{` (0x7b) would be field 15 with the group wire
        # type, which proto3 never writes, so a JSON answer sent as binary cannot be mistaken
        # for a push. Raises ValueError for anything else undecodable.
        if data[:1] == b"{":
            return data.decode("utf-8")
        return pb.as_json(data)

    def on_object(self, msg: dict[str, Any], received_ns: int) -> Events:
        """A JSON answer (ack, refusal, pong) or a push rendered from protobuf."""
        if "channel" in msg:
            return self._on_push(msg, received_ns)
        if "code" in msg:
            return self._on_answer(msg["code"], msg["msg"])
        return self.reject("unknown_event")

    def _on_answer(self, code: Any, detail: Any) -> Events:
        """An answer to a request: an ack, a refusal or a pong.

        {"id":0,"code":0,"msg":"spot@public.aggre.bookTicker.v3.api.pb@10ms@BTCUSDT"}
        {"id":0,"code":0,"msg":"Not Subscribed successfully! [spot@public.bookTicker.v3.api@BTC
          USDT].  Reason： Blocked! "}
        {"id":0,"code":0,"msg":"PONG"}
        """
        if type(detail) is not str:
            raise TypeError("msg is not a string")
        if type(code) is not int or code != 0:
            return self.venue_error(f"{code} {detail}")
        if detail == PONG:
            return []
        # An ack repeats the channels; a refusal (code 0 too) and anything else is an error.
        if detail.startswith(REFUSED) or not all(
                part.startswith("spot@") for part in detail.split(",")):
            return self.venue_error(detail)
        return []

    def _on_push(self, msg: dict[str, Any], received_ns: int) -> Events:
        """A book ticker push (as `decode_binary` renders it) → a Quote when the top changed.

        {"channel":"spot@public.aggre.bookTicker.v3.api.pb@10ms@BTCUSDT","symbol":"BTCUSDT",
         "sendTime":1736412092433,"publicAggreBookTicker":{"bidPrice":"93387.28",
         "bidQuantity":"3.73485","askPrice":"93387.29","askQuantity":"7.669875"}}
        {"channel":"spot@public.bookTicker.batch.v3.api.pb@BTCUSDT","symbol":"BTCUSDT",
         "sendTime":1739503249114,"publicBookTickerBatch":{"items":[{"bidPrice":"96567.37",
         "bidQuantity":"3.362925","askPrice":"96567.38","askQuantity":"1.545255"}]}}
        """
        body = msg.get("publicAggreBookTicker") or msg.get("publicBookTicker")
        if body is None:
            batch = msg.get("publicBookTickerBatch")
            if batch is None:
                return self.reject("unknown_channel")  # deals, depth, klines: not subscribed
            items = batch["items"]
            if type(items) is not list or not items:
                return self.reject("empty_book")
            body = items[-1]  # the batch's latest top of book
        if type(body) is not dict:
            raise TypeError("book ticker is not an object")
        # The symbol is an optional field; the channel ends with it too.
        native = msg["symbol"] if "symbol" in msg else msg["channel"].rpartition("@")[2]
        if type(native) is not str:
            raise TypeError("symbol is not a string")
        market = self.markets.get(native)
        if market is None:
            return self.reject("unknown_market")
        fields = [body.get(key, "") for key in pb.TICKER_KEYS]
        if "" in fields:
            return self.reject("empty_book")  # proto3 leaves out an empty side's fields
        top = decimal_top(*fields)
        if top[0] >= top[2]:
            return self.reject("crossed_book")
        # The time is read before the top is recorded: a frame that fails on it must leave
        # no trace, or the next frame with the same top would not be quoted.
        stamp = msg.get("sendTime", msg.get("createTime"))
        ts_ns = None if stamp is None else int_stamp(stamp, _MS)
        if not self.top_changed(native, top):
            return []
        return [Quote(self.name, market.symbol, top[0], top[1], top[2], top[3], None, ts_ns,
                      received_ns)]
