"""What each venue declares: where it is, its listing, its per-connection limit and its
keepalive, as its note in docs/venues/<venue>.md gives them (the venues' documented values)."""

from __future__ import annotations

import pytest

from workers.exchanges import get_adapter, known_exchanges

pytestmark = pytest.mark.unit

# venue: (websocket URL, REST listing URL, markets per connection, watchdog s, app ping s).
# A venue whose server heartbeats (Coinbase, Kraken, Gemini, HTX) can run a short watchdog;
# one kept alive by our pings waits for at least two of them.
DECLARED: dict[str, tuple[str, str, int | None, float, float | None]] = {
    "binance": ("wss://stream.binance.com:9443/stream",
                "https://api.binance.com/api/v3/exchangeInfo",
                512, 45.0, None),
    "binanceus": ("wss://stream.binance.us:9443/stream",
                  "https://api.binance.us/api/v3/exchangeInfo",
                  512, 45.0, None),
    "bitfinex": ("wss://api-pub.bitfinex.com/ws/2",
                 "https://api-pub.bitfinex.com/v2/conf/pub:list:pair:exchange",
                 25, 30.0, 10.0),
    "bitflyer": ("wss://ws.lightstream.bitflyer.com/json-rpc",
                 "https://api.bitflyer.com/v1/markets",
                 None, 30.0, None),
    "bitget": ("wss://ws.bitget.com/v2/ws/public",
               "https://api.bitget.com/api/v2/spot/public/symbols",
               50, 60.0, 25.0),
    "bithumb": ("wss://ws-api.bithumb.com/websocket/v1",
                "https://api.bithumb.com/v1/market/all",
                None, 60.0, None),
    "bitstamp": ("wss://ws.bitstamp.net",
                 "https://www.bitstamp.net/api/v2/trading-pairs-info/",
                 512, 30.0, 10.0),
    "bitvavo": ("wss://ws.bitvavo.com/v2/",
                "https://api.bitvavo.com/v2/markets",
                None, 45.0, None),
    "bybit": ("wss://stream.bybit.com/v5/public/spot",
              "https://api.bybit.com/v5/market/instruments-info?category=spot",
              250, 45.0, 20.0),
    "coinbase": ("wss://ws-feed.exchange.coinbase.com",
                 "https://api.exchange.coinbase.com/products",
                 None, 10.0, None),
    "cryptocom": ("wss://stream.crypto.com/exchange/v1/market",
                  "https://api.crypto.com/exchange/v1/public/get-instruments",
                  400, 45.0, None),
    "gateio": ("wss://api.gateio.ws/ws/v4/",
               "https://api.gateio.ws/api/v4/spot/currency_pairs",
               100, 40.0, 15.0),
    "gemini": ("wss://api.gemini.com/v2/marketdata",
               "https://api.gemini.com/v1/symbols",
               None, 15.0, None),
    "htx": ("wss://api.huobi.pro/ws",
            "https://api.huobi.pro/v2/settings/common/symbols",
            100, 20.0, None),
    "kraken": ("wss://ws.kraken.com/v2",
               "https://api.kraken.com/0/public/AssetPairs",
               None, 10.0, 20.0),
    "kucoin": ("wss://ws-api-spot.kucoin.com/",
               "https://api.kucoin.com/api/v2/symbols",
               50, 45.0, 18.0),
    "mexc": ("wss://wbs-api.mexc.com/ws",
             "https://api.mexc.com/api/v3/exchangeInfo",
             30, 45.0, 20.0),
    "okx": ("wss://ws.okx.com:8443/ws/v5/public",
            "https://www.okx.com/api/v5/public/instruments?instType=SPOT",
            None, 30.0, 10.0),
    "poloniex": ("wss://ws.poloniex.com/ws/public",
                 "https://api.poloniex.com/markets",
                 None, 35.0, 15.0),
    "upbit": ("wss://api.upbit.com/websocket/v1",
              "https://api.upbit.com/v1/market/all",
              None, 45.0, 20.0),
}


def test_every_registered_venue_is_declared_here() -> None:
    assert sorted(DECLARED) == known_exchanges()


@pytest.mark.parametrize("venue", sorted(DECLARED))
def test_the_venue_declares_what_its_note_says(venue: str) -> None:
    cls = get_adapter(venue)
    ping = cls.ping_interval_s if cls([]).ping_message() is not None else None
    declared = (cls.ws_url, cls.markets_url(), cls.max_markets_per_connection, cls.watchdog_s,
                ping)
    assert declared == DECLARED[venue]
