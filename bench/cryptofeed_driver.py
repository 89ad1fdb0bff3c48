"""cryptofeed's side of `python -m bench cryptofeed`: its own handler over one recording.

`var/cryptofeed-venv/bin/python bench/cryptofeed_driver.py VENUE RECORDED_DIR`

Runs in the cryptofeed virtualenv and imports nothing of ours. The feed is set up as
`cryptofeed.raw_data_collection.playback` sets it up: symbol listings read from the recorded REST
responses in order (HTTPSync.read patched), the subscription from the recording's
`configuration:` line, `subscribe()` on a connection whose writes go nowhere, no-op callbacks
that only count; then every received frame goes to the exchange's `message_handler` coroutine.
REST reads at run time (Binance's depth snapshot) have nothing recorded to answer them and fail.

Reads one command a line on stdin: `run SECONDS` times passes over the frames, each with a fresh
feed (built outside the timed loop), until SECONDS are up, and prints one JSON line with the
fastest pass; `quit` ends it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import sys
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path, and its bench/cryptofeed.py (ours)
# would shadow the installed package: drop it before importing cryptofeed.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from cryptofeed.connection import HTTPAsyncConn, HTTPSync  # noqa: E402
from cryptofeed.defines import BINANCE, BITFINEX, GEMINI, OKX  # noqa: E402
from cryptofeed.exchanges import EXCHANGE_MAP  # noqa: E402

FEEDS = {"binance": BINANCE, "bitfinex": BITFINEX, "okx": OKX, "gemini": GEMINI}
_RECEIVED = re.compile(r"(\d+(?:\.\d+)?): (.*)", re.DOTALL)
_RESPONSE = re.compile(r"(\S+) -> (\d+(?:\.\d+)?): (.*)", re.DOTALL)


class CountingHandler(logging.Handler):
    """Counts cryptofeed's warnings and errors (the frames it logs and skips), prints none."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count the record."""
        self.count += 1


class FakeConn:
    """The connection `subscribe()` and the handler see: writes go nowhere, as in playback."""

    conn_type = "wss"
    uuid = "1"

    def __init__(self, subscription: dict[str, list[str]]) -> None:
        self.subscription = subscription

    async def write(self, *args: Any, **kwargs: Any) -> None:
        """Drop a subscribe frame."""

    async def read(self, *args: Any, **kwargs: Any) -> str:
        """A REST read at run time: nothing was recorded to answer it."""
        raise LookupError("no recorded REST response")


def _lines(path: Path) -> list[str]:
    """Non-empty lines of a recording, line ends stripped."""
    with path.open(encoding="utf-8") as handle:
        return [line.rstrip("\r\n") for line in handle if line.strip()]


Loaded = tuple[list[Any], dict[str, list[str]], list[tuple[str, float]]]


def load(venue: str, folder: Path) -> Loaded:
    """REST bodies in order, the recorded subscription and the received (frame, time) pairs."""
    bodies: list[Any] = []
    subscription: dict[str, list[str]] = {}
    for line in _lines(folder / f"{venue}.rest.txt"):
        if line.startswith("configuration: "):
            subscription = json.loads(line.split(": ", 1)[1])
        elif match := _RESPONSE.fullmatch(line):
            bodies.append(json.loads(match[3]))
    frames = [(m[2], float(m[1])) for line in _lines(folder / f"{venue}.ws.txt")
              if (m := _RECEIVED.fullmatch(line))]
    return bodies, subscription, frames


class Replay:
    """One venue's recording and the means to build a fresh feed for each pass."""

    def __init__(self, venue: str, folder: Path) -> None:
        self.bodies, self.subscription, self.frames = load(venue, folder)
        self.feed_id = FEEDS[venue]
        self.callbacks: Counter[str] = Counter()
        self.log = CountingHandler()
        logger = logging.getLogger("feedhandler")
        logger.addHandler(self.log)
        logger.propagate = False
        pending = list(self.bodies)
        # Symbol listings come from the recording, in the order cryptofeed asked for them.
        HTTPSync.read = lambda *args, **kwargs: pending.pop(0)  # type: ignore[method-assign]
        HTTPAsyncConn.read = FakeConn.read  # type: ignore[method-assign]

    async def _count(self, obj: Any, receipt_timestamp: float, cb_type: str) -> None:
        self.callbacks[cb_type] += 1

    async def feed(self) -> tuple[Any, FakeConn]:
        """A fresh feed, subscribed on a fake connection, as playback builds it."""
        callbacks = {kind: functools.partial(self._count, cb_type=kind)
                     for kind in self.subscription}
        feed = EXCHANGE_MAP[self.feed_id](candle_closed_only=False, config=None,
                                          subscription=self.subscription, callbacks=callbacks)
        exchange_sub = {feed.std_channel_to_exchange(chan):
                        [feed.std_symbol_to_exchange_symbol(s) for s in symbols]
                        for chan, symbols in self.subscription.items()}
        conn = FakeConn(exchange_sub)
        for _, subscribe, _, _ in feed.connect():
            await subscribe(conn)
        return feed, conn

    async def one_pass(self) -> tuple[float, Counter[str], int]:
        """Seconds for every frame through `message_handler`, rejections by exception, warnings."""
        feed, conn = await self.feed()
        handler = feed.message_handler
        rejected: Counter[str] = Counter()
        warnings_before = self.log.count
        start = time.perf_counter()
        for text, stamp in self.frames:
            try:
                await handler(text, conn, stamp)
            except Exception as exc:  # noqa: BLE001  # playback stops here; we count and go on
                rejected[type(exc).__name__] += 1
        busy = time.perf_counter() - start
        return busy, rejected, self.log.count - warnings_before

    async def run(self, seconds: float) -> dict[str, Any]:
        """Passes until `seconds` are up (at least one); the fastest one's figures."""
        best = float("inf")
        passes = 0
        rejected: Counter[str] = Counter()
        warnings = 0
        self.callbacks.clear()
        deadline = time.perf_counter() + seconds
        while passes == 0 or time.perf_counter() < deadline:
            busy, rejected, warnings = await self.one_pass()
            best = min(best, busy)
            passes += 1
        return {"seconds": best, "passes": passes, "frames": len(self.frames),
                "rejected": sum(rejected.values()), "rejected_by": dict(rejected),
                "warnings": warnings,
                "callbacks": {k: v // passes for k, v in self.callbacks.items()}}


def main() -> int:
    """Answer `run SECONDS` lines until `quit` or end of input."""
    replay = Replay(sys.argv[1], Path(sys.argv[2]))
    loop = asyncio.new_event_loop()
    print(json.dumps({"ready": True, "version": version("cryptofeed"),
                      "frames": len(replay.frames)}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        print(json.dumps(loop.run_until_complete(replay.run(float(words[1])))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
