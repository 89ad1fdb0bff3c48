"""Reading an adapter's returned events in venue tests, split as the feed loop splits them.

`on_message(adapter, text, ns)` returns the frame's quotes; the Depth, the reconnect and the
venue error text the frame returned stay readable through `take_depth(adapter)`,
`reconnect_reason(adapter)` and `last_error(adapter)` until taken (depth) or until
`on_connect(adapter)` (the reconnect), which is how the feed loop uses them: publish the depth
of each frame, end the connection on a reconnect, show the latest error in the status.
"""

from __future__ import annotations

import weakref
from typing import Any

from core.types import Depth, Quote
from workers.exchanges.base import Adapter
from workers.exchanges.events import Events, split_events

_DEPTH: weakref.WeakKeyDictionary[Adapter, dict[str, Depth]] = weakref.WeakKeyDictionary()
_REASON: weakref.WeakKeyDictionary[Adapter, str] = weakref.WeakKeyDictionary()
_ERROR: weakref.WeakKeyDictionary[Adapter, str] = weakref.WeakKeyDictionary()


def record(adapter: Adapter, events: Events) -> list[Quote]:
    """Keep `events`' depth (newest per symbol) and reconnect; return their quotes."""
    quotes, depths, reason, error = split_events(events)[:4]
    pending = _DEPTH.setdefault(adapter, {})
    for depth in depths:
        pending[depth.symbol] = depth
    if reason is not None:
        _REASON[adapter] = reason
    if error is not None:
        _ERROR[adapter] = error
    return quotes


def on_message(adapter: Adapter, text: str, received_ns: int) -> list[Quote]:
    """The quotes of one frame (its depth and reconnect are recorded)."""
    return record(adapter, adapter.on_message(text, received_ns))


def seed_diff_book(adapter: Any, native: str, snapshot: Any, received_ns: int) -> list[Quote]:
    """Bitstamp's replay seeding, read like a frame."""
    return record(adapter, adapter.seed_diff_book(native, snapshot, received_ns))


def take_depth(adapter: Adapter) -> list[Depth]:
    """The Depth returned since the last call, at most one per market."""
    pending = _DEPTH.pop(adapter, {})
    return list(pending.values())


def reconnect_reason(adapter: Adapter) -> str | None:
    """The reconnect the frames since the last `on_connect` asked for, if any."""
    return _REASON.get(adapter)


def last_error(adapter: Adapter) -> str | None:
    """The latest venue error text the adapter's frames returned, if any."""
    return _ERROR.get(adapter)


def on_connect(adapter: Adapter) -> None:
    """The adapter's `on_connect`, forgetting the recorded reconnect as a new connection does."""
    adapter.on_connect()
    _REASON.pop(adapter, None)
