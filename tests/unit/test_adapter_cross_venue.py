"""Every adapter against every venue's recorded traffic: foreign frames never raise, never turn
into quotes and never trigger a reconnect; data frames are counted. Control frames may pass as
the adapter's own (a Gate.io `"event": "subscribe"` ack reads like an OKX one), and such a frame
asks for nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.types import Market
from tests.support.adapter_events import on_message, reconnect_reason
from tests.support.recorded import ws_events, ws_files
from tests.support.sessions import simulated
from workers.exchanges import get_adapter, known_exchanges

pytestmark = pytest.mark.unit


def btc_market(name: str) -> Market:
    """The venue's own BTC market as its twin lists it, so a foreign frame that happens to
    name "BTC" still has to be recognised as not ours."""
    markets = simulated(name, 1)[0]
    return next((m for m in markets if m.base == "BTC"), markets[0])


# Own traffic is covered by each venue's replay test; here every adapter meets the others'.
PAIRS = [(name, path) for path in ws_files() for name in known_exchanges()
         if path.name.split(".")[0] != name]


@pytest.mark.parametrize(("name", "path"), PAIRS, ids=lambda v: getattr(v, "name", v))
def test_foreign_traffic_is_counted_not_quoted(name: str, path: Path) -> None:
    adapter = get_adapter(name)([btc_market(name)])
    # Frames the recording's client received (what a venue sends), not its own subscriptions.
    texts = [event.payload for event in ws_events(path) if event.kind == "recv"]
    assert len(texts) > 100
    quotes = []
    for text in texts:
        quotes += on_message(adapter, text, 1)
    assert quotes == []
    assert reconnect_reason(adapter) is None
    assert sum(adapter.errors.values()) > len(texts) // 2, adapter.errors
