"""The shared order book: snapshots, deltas, deletes, ordering, texts."""

from __future__ import annotations

import random

import pytest

from core.orderbook import OrderBook

pytestmark = pytest.mark.unit


def test_snapshot_then_top() -> None:
    book = OrderBook()
    book.snapshot([(100.0, 1.0), (101.0, 2.0), (99.5, 3.0)], [(103.0, 1.5), (102.0, 0.5)])
    assert book.top() == (101.0, 2.0, 102.0, 0.5)
    assert book.bids.levels(3) == [(101.0, 2.0), (100.0, 1.0), (99.5, 3.0)]
    assert book.asks.levels(5) == [(102.0, 0.5), (103.0, 1.5)]


def test_size_zero_deletes_and_the_next_level_becomes_best() -> None:
    book = OrderBook()
    book.snapshot([(100.0, 1.0), (101.0, 2.0)], [(102.0, 1.0)])
    book.bids.set(101.0, 0.0)
    assert book.top() == (100.0, 1.0, 102.0, 1.0)
    book.bids.set(42.0, 0.0)  # deleting a level that is not there is harmless
    assert len(book.bids) == 1


def test_update_replaces_size_without_duplicating_level() -> None:
    book = OrderBook()
    book.snapshot([(100.0, 1.0)], [(101.0, 1.0)])
    book.asks.set(101.0, 7.0)
    assert book.asks.levels(10) == [(101.0, 7.0)]


def test_empty_side_means_no_top() -> None:
    book = OrderBook()
    book.snapshot([(100.0, 1.0)], [])
    assert book.top() is None
    book.asks.set(101.0, 1.0)
    assert book.top() == (100.0, 1.0, 101.0, 1.0)


def test_crossed_book_is_noticed() -> None:
    book = OrderBook()
    book.snapshot([(101.0, 1.0)], [(101.0, 1.0)])
    assert book.is_crossed()


def test_texts_follow_their_levels() -> None:
    book = OrderBook()
    book.bids.set(100.5, 1.0, ("100.5", "1.000"))
    book.bids.set(100.25, 2.0, ("100.25", "2"))
    assert book.bids.level_texts(2) == [("100.5", "1.000"), ("100.25", "2")]
    book.bids.set(100.5, 0.0)
    assert book.bids.level_texts(5) == [("100.25", "2")]


def test_random_deltas_match_a_naive_book() -> None:
    rng = random.Random(5)
    book = OrderBook()
    naive: dict[bool, dict[float, float]] = {True: {}, False: {}}
    for _ in range(5000):
        is_bid = rng.random() < 0.5
        price = round(rng.uniform(90, 110), 1)
        size = 0.0 if rng.random() < 0.3 else round(rng.uniform(0.1, 5), 2)
        book.side(is_bid).set(price, size)
        if size == 0:
            naive[is_bid].pop(price, None)
        else:
            naive[is_bid][price] = size
        expected_bids = sorted(naive[True].items(), reverse=True)[:5]
        expected_asks = sorted(naive[False].items())[:5]
        assert book.bids.levels(5) == expected_bids
        assert book.asks.levels(5) == expected_asks
