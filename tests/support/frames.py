"""Editing a JSON frame for a test: one value replaced or removed, the rest as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest


def replaced(frame: str, path: tuple[Any, ...], value: Any) -> str:
    """`frame` with the element at `path` replaced by `value` (or removed for `...`)."""
    doc = json.loads(frame)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return json.dumps(doc)


def edited(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`doc` with each key of `changes` set to its value (or removed for `...`), in place."""
    for key, value in changes.items():
        if value is ...:
            del doc[key]
        else:
            doc[key] = value
    return doc


def without(frame: str, key: str) -> str:
    """`frame` (a JSON object) without its top-level `key`."""
    return replaced(frame, (key,), ...)


def by_name(table: list[tuple[str, str, str]]) -> pytest.MarkDecorator:
    """Parametrize a test's (text, reason) over a table of (name, text, reason) rows."""
    rows = [(text, reason) for _, text, reason in table]
    return pytest.mark.parametrize(("text", "reason"), rows, ids=[name for name, _, _ in table])
