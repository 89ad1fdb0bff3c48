"""Every adapter against every venue's recorded traffic: foreign frames are counted, never
raised, never turned into quotes, and never trigger a reconnect."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.types import Market
from tests.support.adapter_events import on_message, reconnect_reason
from tests.support.recorded import ws_events, ws_files
from workers.exchanges import get_adapter, known_exchanges

pytestmark = pytest.mark.unit

# Markets spelled as each venue spells BTC-USD/BTC-USDT, so a foreign frame that happens to
# name "BTC" still has to be recognised as not ours.
NATIVES = {
    "binance": "BTCUSDT", "bitfinex": "tBTCUSD", "bitstamp": "btcusd", "bybit": "BTCUSDT",
    "coinbase": "BTC-USD", "gemini": "BTCUSD", "kraken": "BTC/USD", "okx": "BTC-USDT",
}


# Own traffic is covered by each venue's replay test; here every adapter meets the others'.
PAIRS = [(name, path) for path in ws_files() for name in known_exchanges()
         if path.name.split(".")[0] != name]


@pytest.mark.parametrize(("name", "path"), PAIRS, ids=lambda v: getattr(v, "name", v))
def test_foreign_traffic_is_counted_not_quoted(name: str, path: Path) -> None:
    symbol = "BTC-USDT" if NATIVES[name].upper().endswith("USDT") else "BTC-USD"
    adapter = get_adapter(name)([Market(symbol, NATIVES[name], "BTC", symbol[4:])])
    # Frames the recording's client received (what a venue sends), not its own subscriptions.
    texts = [event.payload for event in ws_events(path) if event.kind == "recv"]
    assert len(texts) > 100
    quotes = []
    for text in texts:
        quotes += on_message(adapter, text, 1)
    assert quotes == []
    assert reconnect_reason(adapter) is None
    assert sum(adapter.errors.values()) == len(texts), adapter.errors
