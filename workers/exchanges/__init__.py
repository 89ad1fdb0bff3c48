"""Exchange adapters, one module per venue, registered by name."""

from __future__ import annotations

from workers.exchanges import bitstamp, kraken  # noqa: F401  (imported to register)
from workers.exchanges.base import REGISTRY, Adapter


def known_exchanges() -> list[str]:
    """Names of every exchange with an adapter, sorted."""
    return sorted(REGISTRY)


def get_adapter(name: str) -> type[Adapter]:
    """The adapter class for `name`; KeyError when there is none."""
    return REGISTRY[name]
