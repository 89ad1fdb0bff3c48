"""Simulated venues, registered by exchange id; adding a venue is adding one module here.

Every module is imported and each `Venue` subclass found registers under its `name`; the
modules holding a venue's listing or wire helpers (`*_listing`, `*_wire`, `ladder`...) define
none and register nothing.
"""

from __future__ import annotations

import importlib
import pkgutil

from simulator.venues.base import Venue

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")


def _all_venues() -> dict[str, type[Venue]]:
    found: dict[str, type[Venue]] = {}
    stack = list(Venue.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if getattr(cls, "name", None):
            found[cls.name] = cls
    return dict(sorted(found.items()))


VENUES: dict[str, type[Venue]] = _all_venues()

__all__ = ["VENUES", "Venue"]
