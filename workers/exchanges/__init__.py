"""Exchange adapters, one module per venue, registered by name when imported."""

from __future__ import annotations

import importlib
import pkgutil

from workers.exchanges.base import REGISTRY, Adapter

# Every module in this package is an adapter: importing it registers its class, so adding a
# venue is adding one module.
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")


def known_exchanges() -> list[str]:
    """Names of every exchange with an adapter, sorted."""
    return sorted(REGISTRY)


def get_adapter(name: str) -> type[Adapter]:
    """The adapter class for `name`; KeyError when there is none."""
    return REGISTRY[name]
