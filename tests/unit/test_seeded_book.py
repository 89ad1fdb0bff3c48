"""SeededBook: the snapshot-with-id plus numbered-deltas rule REST-seeded venues share."""

from __future__ import annotations

import pytest

from workers.exchanges.seeded import APPLIED, BUFFERED, GAP, STALE, SeededBook

pytestmark = pytest.mark.unit


def bid(book: SeededBook) -> float | None:
    best = book.book.bids.best()
    return None if best is None else best[0]


def test_deltas_wait_for_the_snapshot_and_those_it_holds_are_dropped() -> None:
    book = SeededBook()
    assert book.on_delta(5, 8, [(99.0, 1.0)], []) == BUFFERED  # before the snapshot's id 10
    assert book.on_delta(9, 12, [(101.0, 1.0)], []) == BUFFERED  # straddles 11
    assert book.on_delta(13, 13, [(102.0, 1.0)], []) == BUFFERED
    assert not book.ready and book.waiting == 3
    assert book.on_snapshot(10, [(100.0, 1.0)], [(110.0, 1.0)]) == APPLIED
    assert book.ready and book.last_id == 13 and book.waiting == 0
    assert bid(book) == 102.0
    assert book.book.bids.sizes.get(99.0) is None  # the delta the snapshot already held


def test_a_delta_that_skips_an_id_is_a_gap_and_an_old_one_is_stale() -> None:
    book = SeededBook()
    book.on_snapshot(10, [(100.0, 1.0)], [(110.0, 1.0)])
    assert book.on_delta(8, 10, [(50.0, 1.0)], []) == STALE
    assert book.on_delta(11, 11, [(100.0, 0.0), (100.5, 2.0)], []) == APPLIED
    assert bid(book) == 100.5
    assert book.on_delta(13, 14, [(101.0, 1.0)], []) == GAP
    assert bid(book) == 100.5  # the gap applied nothing


def test_a_snapshot_older_than_every_waiting_delta_is_a_gap() -> None:
    book = SeededBook()
    book.on_delta(20, 21, [(101.0, 1.0)], [])
    assert book.on_snapshot(10, [(100.0, 1.0)], [(110.0, 1.0)]) == GAP
    assert not book.ready  # reset: the next snapshot starts over
    book.on_delta(22, 22, [(102.0, 1.0)], [])
    assert book.on_snapshot(21, [(101.0, 1.0)], [(110.0, 1.0)]) == APPLIED and bid(book) == 102.0


def test_a_backlog_past_its_bound_drops_the_oldest_and_still_finds_the_gap() -> None:
    book = SeededBook(max_pending=3)
    for n in range(11, 16):
        book.on_delta(n, n, [(100.0 + n, 1.0)], [])
    assert book.waiting == 3  # 13, 14, 15 kept
    assert book.on_snapshot(10, [(100.0, 1.0)], [(200.0, 1.0)]) == GAP  # 11 and 12 were lost
    for n in range(16, 20):
        book.on_delta(n, n, [(100.0 + n, 1.0)], [])
    assert book.on_snapshot(16, [(116.0, 1.0)], [(200.0, 1.0)]) == APPLIED and bid(book) == 119.0
