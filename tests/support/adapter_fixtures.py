"""Fixtures every venue's unit tests declare alike: a fresh adapter, and one whose book holds a
first snapshot (its quote already taken)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.types import Market
from tests.support.adapter_events import on_message


def adapter_fixture(cls: type[Any], markets: list[Market]) -> Any:
    """A fixture `adapter`: a fresh `cls` following `markets`."""

    @pytest.fixture()
    def adapter() -> Any:
        return cls(list(markets))

    return adapter


def synced_fixture(first_frame: Callable[[], str]) -> Any:
    """A fixture `synced`: the `adapter` fixture after `first_frame()`, which must quote once."""

    @pytest.fixture()
    def synced(adapter: Any) -> Any:
        assert len(on_message(adapter, first_frame(), 1)) == 1
        return adapter

    return synced
