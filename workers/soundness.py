"""What of an adapter's output may be published: sound numbers, trusted exchange times."""

from __future__ import annotations

from collections.abc import Callable

from core.types import Depth, Quote, depth_fault, quote_fault

# The adapter's `reject`: counts a refused quote or depth under its fault.
Reject = Callable[[str], object]


def sound_quotes(quotes: list[Quote], received_ns: int, low: int, high: int,
                 reject: Reject) -> tuple[list[Quote], int]:
    """The quotes fit to publish, and how many had their exchange time replaced.

    A quote `quote_fault` refuses is counted (`bad_number`) and dropped; an exchange time
    outside [low, high] becomes the receipt time, so no single frame can freeze a series in
    newer-wins storage.
    """
    kept: list[Quote] = []
    skewed = 0
    for quote in quotes:
        fault = quote_fault(quote)
        if fault is not None:
            reject(fault)
            continue
        ts = quote.ts_exchange_ns
        if ts is not None and not low <= ts <= high:
            skewed += 1
            quote = quote._replace(ts_exchange_ns=received_ns)
        kept.append(quote)
    return kept, skewed


def sound_depths(depths: list[Depth], reject: Reject) -> list[Depth]:
    """The Depth fit to publish: one with a level `quote_fault` would refuse is dropped."""
    kept: list[Depth] = []
    for depth in depths:
        fault = depth_fault(depth)
        if fault is None:
            kept.append(depth)
        else:
            reject(fault)
    return kept
