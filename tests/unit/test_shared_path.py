"""Venues of one feed process share one arbitrage batch and keep their own storage batches."""

from __future__ import annotations

from typing import Any

import pytest

from core.types import Quote
from workers.publisher import Publisher
from workers.shared_path import VenuePaths, shared_arbitrage_publisher, storage_batcher

pytestmark = pytest.mark.unit


class Sent:
    def __init__(self) -> None:
        self.batches: list[tuple[str, list[tuple[Any, ...]]]] = []

    def __call__(self, path: str, rows: list[tuple[Any, ...]], depth_rows: list[Any]) -> None:
        self.batches.append((path, rows))


def quote(exchange: str, bid: float, t: int) -> Quote:
    return Quote(exchange, "BTC-USD", bid, 1.0, bid + 1, 1.0, None, t, t)


def test_two_venues_one_arbitrage_message_and_their_own_storage() -> None:
    arbitrage_sent, kraken_sent, okx_sent = Sent(), Sent(), Sent()
    arbitrage = shared_arbitrage_publisher(arbitrage_sent, capacity=10)
    kraken = VenuePaths(Publisher(kraken_sent, storage_batcher(), clocked=True), arbitrage)
    okx = VenuePaths(Publisher(okx_sent, storage_batcher(), clocked=True), arbitrage)
    for publisher in (arbitrage, kraken.storage, okx.storage):
        publisher.start()
    kraken.put([quote("kraken", 100.0, 1), quote("kraken", 101.0, 2)])
    okx.put([quote("okx", 200.0, 3)])
    due = kraken.next_deadline()
    assert due is not None and due == okx.next_deadline()  # the shared 20 ms batch is first
    kraken.flush_due(due + 0.3)  # past the storage window too
    okx.flush_due(due + 0.3)
    for publisher in (arbitrage, kraken.storage, okx.storage):
        publisher.stop()
        publisher.join(timeout=5)
    # One arbitrage message for both venues, newest quote per series only.
    assert [(p, sorted(r[0] for r in rows)) for p, rows in arbitrage_sent.batches] == [
        ("arbitrage", ["kraken", "okx"])]
    assert [r[2] for r in arbitrage_sent.batches[0][1] if r[0] == "kraken"] == [101.0]
    # Every quote on each venue's own storage path.
    assert [(p, [r[2] for r in rows]) for p, rows in kraken_sent.batches] == [
        ("storage", [100.0, 101.0])]
    assert [(p, [r[2] for r in rows]) for p, rows in okx_sent.batches] == [("storage", [200.0])]
    assert kraken.published_batches == 1 and kraken.capacity == 1000  # reads as its storage
