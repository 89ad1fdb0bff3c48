"""One venue registry: the adapter registry is the owner; every other list is checked against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import DEFAULT_EXCHANGES, Settings
from core.fees import FeeSchedule
from workers.exchanges import known_exchanges

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_default_exchanges_are_the_registered_adapters() -> None:
    assert DEFAULT_EXCHANGES.split(",") == known_exchanges()
    assert list(Settings().exchanges) == known_exchanges()


def test_fees_file_describes_every_registered_venue() -> None:
    assert sorted(FeeSchedule.load().venues()) == known_exchanges()


def test_committed_procfile_runs_a_feed_for_every_registered_venue() -> None:
    fed: list[str] = []
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.startswith("feed_"):
            fed += command.split()[3].split(",")  # `python -m workers a,b,c`
    assert sorted(fed) == known_exchanges()
