"""One venue's session as an adapter sees it: its markets and the frames it received, in order.

Two sources: the real recording in tests/fixtures/recorded/ (markets from its REST listing) and
frames rendered in-process by the simulator's own venue class, subscribed with the adapter's own
subscribe frames so the acks and wire shapes are exactly what the simulator serves.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.recorded import RECORDED_DIR, received, rest_responses

# Every quote currency some venue trades in, so every venue's twin lists a few of them.
SIM_SYMBOLS = ("BTC-USD", "ETH-USD", "ETH-BTC", "SOL-USD", "LTC-USD", "XRP-USD", "DOGE-USD",
               "ADA-USD", "BTC-USDT", "ETH-USDT", "BTC-EUR", "ETH-EUR", "BTC-KRW", "ETH-KRW",
               "BTC-JPY", "ETH-JPY")
SIM_START_US = 1_767_225_600_000_000
SIM_STEP_US = 250

Session = tuple[list[Any], list[str]]  # (markets, frames)


def recorded(name: str) -> Session | None:
    """Markets from the recorded REST listing and the received frames, or None without both."""
    from workers.exchanges import get_adapter

    if not (RECORDED_DIR / f"{name}.ws.txt").is_file():
        return None
    if not (RECORDED_DIR / f"{name}.rest.txt").is_file():
        return None
    cls = get_adapter(name)
    markets: list[Any] = []
    for response in rest_responses(name):
        if isinstance(response.body, str):
            continue  # not JSON: no listing in it
        try:
            markets = cls.parse_markets(response.body)
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # another endpoint's response, not the listing
        if markets:
            break
    frames = list(received(name))
    return (markets, frames) if markets and frames else None


def twin(name: str, symbols: list[str], seed: int = 1) -> tuple[Any, list[Any]]:
    """The simulator's venue `name` set up for `symbols`, and the markets its listing gives."""
    from simulator.prices import Market as SimMarket
    from simulator.venues import VENUES
    from workers.exchanges import get_adapter

    cls = get_adapter(name)
    venue = VENUES[name](symbols, SimMarket([name], symbols, seed), seed)
    return venue, cls.parse_markets(venue.listings()[cls.markets_path.split("?")[0]]())


def simulated(name: str, count: int, seed: int = 1) -> Session:
    """Markets and `count` frames as the simulator's venue class serves one subscribed client."""
    from simulator.client import Client
    from workers.exchanges import get_adapter

    frames: list[str] = []

    def as_text(frame: str | bytes) -> str:
        """A frame as the adapter reads it: a binary one decoded the adapter's way."""
        return frame if type(frame) is str else cls.decode_binary(frame)  # type: ignore[arg-type]

    class Capture(Client):
        """A client that keeps what it is sent instead of writing it to a socket."""

        def push(self, frame: str | bytes) -> None:
            """Keep the frame."""
            frames.append(as_text(frame))

    cls = get_adapter(name)
    symbols = list(SIM_SYMBOLS)
    venue, markets = twin(name, symbols, seed)
    client = Capture(None)  # type: ignore[arg-type]  # never written to

    async def subscribe() -> None:
        venue.attach(client)
        await venue.on_open(client)
        for text in cls(markets).subscribe_messages():
            await venue.on_text(client, text)

    asyncio.run(subscribe())
    active = venue.active_symbols() or symbols
    now_us, i = SIM_START_US, 0
    while len(frames) < count:
        now_us += SIM_STEP_US
        frames.extend(as_text(frame) for frame, recipients
                      in venue.emit(active[i % len(active)], now_us) if client in recipients)
        i += 1
    return markets, frames
