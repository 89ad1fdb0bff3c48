"""Upbit quotation websocket adapter: the `orderbook` type (whole top-15 book per change).

Protocol notes (docs/venues/upbit.md): markets are spelled quote first (`KRW-BTC`, `BTC-ETH`,
`USDT-BTC`); every server frame is binary UTF-8 JSON (the default `decode_binary`); there is no
subscription ack; the text `PING` is answered by `{"status":"UP"}` and a connection idle for
about 120 s is closed. The wire itself is shared with Bithumb (`upbit_book`).

Live path: `orderbook` gives the real-time top of book with sizes, each frame the whole book, so
there is nothing to resync; `trade` only supplies `last`. The 2021 recording (SIMPLE format,
`orderbook` and `trade`) is still what the venue sends and is replayed in full.
"""

from __future__ import annotations

from workers.exchanges.upbit_book import UpbitShapedAdapter


class UpbitAdapter(UpbitShapedAdapter):
    """Upbit (KRW, BTC and USDT markets): orderbook frames in, a Quote per top-of-book change."""

    name = "upbit"
    ws_url = "wss://api.upbit.com/websocket/v1"
    rest_url = "https://api.upbit.com"
    markets_path = "/v1/market/all"
    # The text PING every 20 s keeps the 120 s idle timeout away and is answered by a status
    # frame, so even a connection of quiet markets yields a frame every 20 s: 45 s without one
    # is two missed answers. Three PINGs a minute are far inside 100 messages a minute.
    ping_interval_s = 20.0
    watchdog_s = 45.0
    # Upbit documents no cap on codes per request; one request names every market.
    max_markets_per_connection = None

    def ping_message(self) -> str | None:
        """The literal text `PING` (answered by `{"status":"UP"}`)."""
        return "PING"
