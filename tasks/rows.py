"""A batch's rows, validated where a task receives it: bad rows are counted and dropped, the good
ones kept. A message that is not a batch at all is a `BadBatch` (tasks/delivery.py moves it to
the dead queue at once: no delivery of it can do better)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from core.types import Depth, Quote, depth_fault, quote_fault
from tasks.metrics import record_count

log = logging.getLogger(__name__)

T = TypeVar("T")


class BadBatch(TypeError):
    """The message's payload is not a list of rows."""


def _batch(rows: Any, task_name: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(rows, list | tuple):
        raise BadBatch(f"{task_name} expects a list of rows, got {type(rows).__name__}")
    return rows


def _dropped(task_name: str, what: str, bad: int, total: int, example: Any) -> None:
    """Log and count the rows of one batch that were dropped (one line per batch, not per row)."""
    if bad:
        log.warning("%s dropped %d malformed %s of %d, e.g. %.200r", task_name, bad, what, total,
                    example)
        record_count("bad_rows", task_name, bad)


def _sound(rows: Any, task_name: str, what: str, parse: Callable[[Any], T],
           fault: Callable[[T], str | None]) -> list[T]:
    """The rows of a batch that `parse` accepts and `fault` finds nothing wrong with."""
    out: list[T] = []
    first_bad: Any = None
    batch = _batch(rows, task_name)
    for row in batch:
        try:
            item: T | None = parse(row)
        except (TypeError, ValueError):
            item = None
        if item is None or fault(item) is not None:
            first_bad = row if first_bad is None else first_bad
            continue
        out.append(item)
    _dropped(task_name, what, len(batch) - len(out), len(batch), first_bad)
    return out


def quotes(rows: Any, task_name: str) -> list[Quote]:
    """The sound quotes of a batch of quote rows (`Quote.from_row`, then `quote_fault`)."""
    return _sound(rows, task_name, "quote rows", Quote.from_row, quote_fault)


def depths(rows: Any, task_name: str) -> list[Depth]:
    """The sound books of a batch of depth rows (`Depth.from_row`, then `depth_fault`)."""
    return _sound(rows, task_name, "book rows", Depth.from_row, depth_fault)


def built(records: Any, build: Callable[[Any], T], task_name: str) -> list[T]:
    """`build(record)` of every record it accepts; a record it raises on (a missing key, a
    value of the wrong type) is counted and dropped."""
    out: list[T] = []
    first_bad: Any = None
    batch = _batch(records, task_name)
    for record in batch:
        try:
            out.append(build(record))
        except (KeyError, TypeError, ValueError, ArithmeticError):
            first_bad = record if first_bad is None else first_bad
    _dropped(task_name, "records", len(batch) - len(out), len(batch), first_bad)
    return out
