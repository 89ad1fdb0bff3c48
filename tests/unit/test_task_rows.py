"""Rows validated where a task receives them: every kind of bad row dropped and counted, the good
rows kept, and a payload that is not a batch refused as a whole."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from core.types import Quote
from tasks import metrics, rows

pytestmark = pytest.mark.unit

TASK = "tasks.x"
T = 1_700_000_000_000_000_000
GOOD = ("kraken", "BTC-USD", 100.0, 1.0, 100.5, 2.0, None, T, T + 5)


@pytest.fixture
def pending() -> Iterator[dict]:
    """tasks.metrics' unwritten counters, empty around the test (nothing is flushed)."""
    metrics._pending.clear()
    yield metrics._pending
    if metrics._flush_timer is not None:
        metrics._flush_timer.cancel()
    metrics._flush_timer = None
    metrics._pending.clear()


def with_field(index: int, value: object) -> tuple:
    return (*GOOD[:index], value, *GOOD[index + 1:])


@pytest.mark.parametrize("bad", [
    with_field(0, 123),  # a non-string exchange: one bad row must not fail the batch
    with_field(1, ""),
    with_field(2, "100.0"),  # a string converts to float, but is not a price
    with_field(3, True),
    with_field(4, math.nan),
    with_field(4, math.inf),
    with_field(2, -1.0),
    with_field(5, 0.0),
    with_field(2, 10**400),  # JSON allows it; a float does not
    with_field(6, "x"),
    with_field(7, 1.5),
    with_field(7, 2**63),  # past InfluxDB's int64 time
    with_field(8, 0),
    GOOD[:-1],
    None,
    "junk-junk",
    {"exchange": "kraken"},
])
def test_a_bad_quote_row_is_dropped_and_counted(bad: object, pending: dict) -> None:
    kept = rows.quotes([list(GOOD), bad, GOOD], TASK)
    assert kept == [Quote(*GOOD), Quote(*GOOD)]
    assert pending == {f"bad_rows|{TASK}": 1}


def test_good_rows_are_kept_as_floats_and_nothing_is_counted(pending: dict) -> None:
    [quote] = rows.quotes([with_field(2, 100)], TASK)
    assert quote.bid == 100.0 and type(quote.bid) is float
    assert pending == {}


@pytest.mark.parametrize("payload", [None, 42, "rows", {"rows": []}])
def test_a_payload_that_is_not_a_batch_is_refused_whole(payload: object, pending: dict) -> None:
    with pytest.raises(rows.BadBatch):
        rows.quotes(payload, TASK)
    with pytest.raises(rows.BadBatch):
        rows.built(payload, str, TASK)


def test_a_bad_book_row_is_dropped_and_counted(pending: dict) -> None:
    book = ["kraken", "BTC-USD", [[100.0, 1.0]], [[100.5, 2.0]], T]
    kept = rows.depths([book, [*book[:2], [[math.nan, 1.0]], book[3], T], book[:3]], TASK)
    assert len(kept) == 1 and kept[0].bids == ((100.0, 1.0),)
    assert pending == {f"bad_rows|{TASK}": 2}


def test_a_record_its_builder_refuses_is_dropped_and_counted(pending: dict) -> None:
    def build(record: dict) -> str:
        return f"{record['exchange']} {int(record['ts_ns'])}"

    built = rows.built([{"exchange": "kraken", "ts_ns": 1}, {"exchange": "kraken"},
                        {"exchange": "kraken", "ts_ns": "soon"}, ["not", "a", "dict"]], build,
                       TASK)
    assert built == ["kraken 1"]
    assert pending == {f"bad_rows|{TASK}": 3}
