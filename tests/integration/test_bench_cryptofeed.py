"""Our side of `python -m bench cryptofeed` on the real recordings (cryptofeed not needed)."""

from __future__ import annotations

import pytest

from bench.cryptofeed import VENUES, our_pass, ours, replay_input
from tests.support.recorded import received

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", VENUES)
def test_our_pass_reads_every_recorded_frame(name: str) -> None:
    replay = replay_input(name)
    markets, frames, stamps = replay
    assert frames == list(received(name))  # the same frames the test reader sees
    assert len(stamps) == len(frames) > 100
    result = our_pass(name, replay)
    assert result["frames"] == len(frames)
    assert result["quotes"] > 0
    assert result["seconds"] > 0
    assert result["rejected"] == sum(result["rejected_by"].values()) < len(frames)


def test_okx_follows_the_recorded_swap_and_future_too() -> None:
    markets, _, _ = replay_input("okx")
    natives = {m.native for m in markets}
    assert {"BTC-USDT", "UNI-USD-SWAP", "BTC-USD-220527"} <= natives
    result = our_pass("okx", replay_input("okx"))
    # Every book on the recording is built and checksummed: nothing is an unknown market.
    assert result["rejected_by"] == {}


def test_binance_depth_diffs_are_the_only_rejections() -> None:
    result = our_pass("binance", replay_input("binance"))
    # No REST snapshot was recorded, so every @depth diff is counted (cryptofeed fails them too).
    assert set(result["rejected_by"]) == {"unseeded_book"}
    assert result["rejected_by"]["unseeded_book"] == 105


def test_ours_keeps_the_fastest_pass() -> None:
    replay = replay_input("gemini")
    best = ours("gemini", replay, seconds=0.05)
    assert best["passes"] >= 1
    assert best["frames"] == len(replay[1])
    assert best["quotes"] > 0
