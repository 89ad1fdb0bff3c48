"""The web app for a test, built the one way configuration flows: a `Settings`."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from flask import Flask

from core.config import Settings, get_settings
from web import create_app

FIELD_NAMES = frozenset(f.name for f in fields(Settings))


def settings_with(base: Settings | None = None, **changes: Any) -> Settings:
    """`base` (default: the environment's settings) with `changes` (field names) replaced;
    lists become the tuples those fields hold."""
    base = base or get_settings()
    unknown = set(changes) - FIELD_NAMES
    if unknown:
        raise TypeError(f"no such settings: {sorted(unknown)}")
    return replace(base, **{name: tuple(value) if isinstance(getattr(base, name), tuple)
                            else value for name, value in changes.items()})


def app_with(testing: bool = True, flask: dict[str, Any] | None = None,
             **changes: Any) -> Flask:
    """The app on `settings_with(**changes)`, in Flask's testing mode unless told otherwise;
    `flask` holds Flask's own keys (PROPAGATE_EXCEPTIONS...)."""
    return create_app({"TESTING": testing, **(flask or {})}, settings=settings_with(**changes))
