"""The publishing thread and the feed-worker command line."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.types import Quote
from workers.batcher import Batcher, BatchPath
from workers.publisher import Publisher

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def quote(i: int) -> Quote:
    return Quote("kraken", "BTC-USD", 100.0, 1.0, 101.0, 1.0, None, None, i)


def test_publisher_flushes_everything_on_stop() -> None:
    sent: list[tuple[str, list]] = []
    publisher = Publisher(lambda path, rows, depth_rows: sent.append((path, rows)),
                          Batcher([BatchPath("storage", 60.0, 10_000)]))
    publisher.start()
    for i in range(1234):
        publisher.put([quote(i)])
    publisher.stop()
    publisher.join(timeout=5)
    assert not publisher.is_alive()
    assert sum(len(rows) for _, rows in sent) == 1234
    assert [row[-1] for _, rows in sent for row in rows] == list(range(1234))


def test_publisher_sends_on_time_without_more_input() -> None:
    sent = threading.Event()
    publisher = Publisher(lambda path, rows, depth_rows: sent.set(),
                          Batcher([BatchPath("arb", 0.02, 500)]))
    publisher.start()
    publisher.put([quote(1)])
    assert sent.wait(2.0)
    publisher.stop()
    publisher.join(timeout=5)


def test_publisher_keeps_a_batch_until_the_broker_takes_it() -> None:
    attempts: list[int] = []

    def flaky(path: str, rows: list, depth_rows: list) -> None:
        attempts.append(len(rows))
        if len(attempts) < 3:
            raise ConnectionError("broker down")

    publisher = Publisher(flaky, Batcher([BatchPath("storage", 0.01, 100)]))
    publisher.start()
    publisher.put([quote(i) for i in range(7)])
    deadline = time.monotonic() + 10
    while publisher.published_quotes < 7 and time.monotonic() < deadline:
        time.sleep(0.05)
    publisher.stop()
    publisher.join(timeout=5)
    assert attempts == [7, 7, 7]
    assert publisher.failed_sends == 2 and publisher.published_quotes == 7


def test_unknown_exchange_exits_2_listing_the_known_ones() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workers", "mtgox"], cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "mtgox" in result.stderr
    assert "bitstamp" in result.stderr and "kraken" in result.stderr


def test_bad_symbols_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workers", "kraken", "--symbols", "BTCUSD"], cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "BTCUSD" in result.stderr


def test_committed_procfile_is_the_generated_one() -> None:
    generated = subprocess.run(
        [sys.executable, "scripts/procfile.py"], cwd=ROOT, capture_output=True, text=True,
        check=True, env={k: v for k, v in os.environ.items() if k != "EXCHANGES"},
    ).stdout
    assert (ROOT / "Procfile").read_text() == generated


def test_demo_procfile_points_feeds_at_the_simulator() -> None:
    text = subprocess.run(
        [sys.executable, "scripts/procfile.py", "--demo", "--exchanges", "bitstamp,kraken"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    assert "simulator: python -m simulator" in text
    assert "python -m workers kraken --ws-url ws://127.0.0.1:8765/kraken" in text
    assert "--rest-url http://127.0.0.1:8765/bitstamp" in text


def test_feed_groups_from_the_environment() -> None:
    from core.config import ConfigError, Settings
    from workers.grouping import configured_groups, feed_groups, group_of

    venues = ["binance", "bitfinex", "kraken", "okx", "gemini"]
    # No groups named: the venues in order, split into FEED_PROCESSES (default two) processes.
    assert feed_groups(venues) == [["binance", "bitfinex", "kraken"], ["okx", "gemini"]]
    assert feed_groups(venues, processes=0) == [[v] for v in venues]
    assert feed_groups(venues, processes=9) == [[v] for v in venues]
    assert feed_groups(venues[:1]) == [["binance"]]
    assert feed_groups(venues, "okx,kraken;nowhere;binance,okx") == [
        ["okx", "kraken"], ["binance"], ["bitfinex"], ["gemini"]]
    assert configured_groups(venues, Settings.from_env({"FEED_PROCESSES": "1"})) == [venues]
    one_each = Settings.from_env({"FEED_PROCESSES": "0", "FEED_GROUPS": ""})
    assert configured_groups(venues, one_each) == [[v] for v in venues]
    spec = Settings.from_env({"FEED_GROUPS": "okx,kraken"})
    assert group_of("kraken", venues, spec) == ["okx", "kraken"]
    assert group_of("gemini", venues, spec) == ["gemini"]
    assert group_of("bitfinex", venues, Settings()) == ["binance", "bitfinex", "kraken"]
    with pytest.raises(ConfigError, match="FEED_PROCESSES must be 0 or more"):
        Settings.from_env({"FEED_PROCESSES": "-1"})


def test_procfile_groups_feeds_by_feed_groups() -> None:
    env = {**os.environ, "EXCHANGES": "bitstamp,kraken,okx", "FEED_GROUPS": "kraken,okx"}
    text = subprocess.run([sys.executable, "scripts/procfile.py", "--demo"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True).stdout
    feeds = [line for line in text.splitlines() if line.startswith("feed_")]
    assert feeds == [
        "feed_kraken_okx: python -m workers kraken,okx --ws-url ws://127.0.0.1:8765/{exchange}"
        " --rest-url http://127.0.0.1:8765/{exchange}",
        "feed_bitstamp: python -m workers bitstamp --ws-url ws://127.0.0.1:8765/bitstamp"
        " --rest-url http://127.0.0.1:8765/bitstamp",
    ]


def test_several_venues_need_exchange_in_the_urls() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workers", "kraken,okx", "--ws-url", "ws://x"], cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "{exchange}" in result.stderr
    result = subprocess.run([sys.executable, "-m", "workers", "kraken,mtgox"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "bitstamp" in result.stderr
