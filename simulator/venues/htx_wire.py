"""HTX spot's wire helpers: gzip frames, symbol names, which pairs it lists, the v2 listing."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable

from simulator.venues.base import split_pair

# HTX quotes spot pairs in stablecoins and crypto; it lists no USD, EUR, KRW or JPY pairs.
QUOTES = frozenset({"USDT", "USDC", "BTC", "ETH"})
EXTRA_PAIRS = ("HTX-USDT", "TRX-USDT", "ETH-BTC")  # listed but not configured
# Topics the real server accepts; only bbo, trade.detail and depth.step0 carry data here.
TOPIC_RE = re.compile(r"^market\.([a-z0-9]+)\.(bbo|trade\.detail|depth\.step[0-5]|ticker|detail"
                      r"|kline\.(?:1min|5min|15min|30min|60min|4hour|1day|1mon|1week|1year)"
                      r"|mbp\.(?:5|20|150|400)|mbp\.refresh\.(?:5|10|20))$")


def gz(obj: object) -> bytes:
    """`obj` as compact JSON in one gzip member: how HTX sends every frame."""
    # mtime=0: the same frame compresses to the same bytes (the header has no clock in it).
    return gzip.compress(json.dumps(obj, separators=(",", ":")).encode(), mtime=0)


def json_object(text: str) -> dict[str, object] | None:
    """A client's frame as the JSON object it must be; None for anything else."""
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return msg if isinstance(msg, dict) else None


def now_ms() -> int:
    """The wall clock in ms, as HTX stamps acks and pings."""
    return time.time_ns() // 1_000_000


def native_of(symbol: str) -> str:
    """`BTC-USDT` → `btcusdt`, the spelling of topics and the listing."""
    base, quote = split_pair(symbol)
    return (base + quote).lower()


def listed(symbol: str) -> bool:
    """True when HTX trades `symbol` (by its quote currency)."""
    return split_pair(symbol)[1] in QUOTES


def symbol_rows(symbols: list[str], price_decimals: Callable[[str], int]) -> dict[str, object]:
    """The `GET /v2/settings/common/symbols` body for `symbols`, all online and tradable."""
    rows = []
    for symbol in symbols:
        base, quote = split_pair(symbol)
        rows.append({
            "tags": "", "state": "online", "wr": "1.5", "sc": native_of(symbol),
            "p": [], "bcdn": base, "qcdn": quote, "elr": None, "tpp": price_decimals(symbol),
            "tap": 6, "fp": 8, "smlr": None, "flr": None, "whe": False, "cd": False, "te": True,
            "sp": "main", "d": None, "bc": base.lower(), "qc": quote.lower(),
            "toa": 1514779200000, "ttp": 8, "w": 999400000, "lr": 5,
            "dn": f"{base}/{quote}",
        })
    return {"status": "ok", "data": rows, "ts": str(now_ms()), "full": 1}
