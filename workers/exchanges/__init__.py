"""Exchange adapters, one module per venue, registered by name when imported."""

from __future__ import annotations

import importlib
import pkgutil

from workers.exchanges.base import REGISTRY, Adapter

# Importing every module of this package registers every adapter class defined in it, so adding
# a venue is adding its module (with any helper modules of its own beside it).
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def known_exchanges() -> list[str]:
    """Names of every exchange with an adapter, sorted."""
    return sorted(REGISTRY)


def get_adapter(name: str) -> type[Adapter]:
    """The adapter class for `name`; KeyError when there is none."""
    return REGISTRY[name]
