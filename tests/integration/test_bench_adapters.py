"""Smoke run of `python -m bench adapters`: every adapter measured, with its same-run baselines."""

from __future__ import annotations

import pytest

from bench.adapters import TICKER_VENUES, flatten, run
from workers.exchanges import known_exchanges

pytestmark = pytest.mark.integration


def test_adapters_bench_measures_every_adapter_against_json_alone() -> None:
    figures = run(seconds=2.0)
    venues = figures["venues"]
    assert sorted(venues) == known_exchanges()
    for name, sources in venues.items():
        assert "simulated" in sources, name
        for source, row in sources.items():
            assert row["frames"] > 0 and row["markets"] > 0, (name, source)
            assert row["frames_per_s"] > 0, (name, source)
            assert row["json_loads_frames_per_s"] > 0 and row["ratio_to_json_loads"] > 0
            assert row["orjson_loads_frames_per_s"] > 0 and row["ratio_to_orjson_loads"] > 0
        # Simulated frames are all well-formed and for listed markets: they all make quotes.
        assert sources["simulated"]["quotes_per_s"] > 0, name
    # Recordings exist for these venues, and their non-JSON lines are counted, not raised.
    assert {"binance", "bitfinex", "coinbase", "gemini", "okx"} <= {
        n for n, s in venues.items() if "recorded" in s}
    met, missed = figures["ticker_venues_meeting_target"], figures["ticker_venues_missing_target"]
    assert sorted(met + missed) == sorted(TICKER_VENUES)
    assert flatten(figures)["kraken.simulated.frames_per_s"] == venues["kraken"]["simulated"][
        "frames_per_s"]
