"""One fuzz scenario per venue (`<venue>.py`): the known frames the fuzz suite starts from.

Each module defines `frames(m, sym, T1, T2)` → (setup, full, change, t2, control): `setup`
the acks a full book needs, `full` a whole book (or top) of market `m` giving top T1 on a
fresh connection, `change` the next frame giving `t2`, `control` acks, errors, pongs and
trades; and `recognised(text, msg)`: whether a frame (`msg`: its decoded JSON, or NOT_JSON)
is of a kind the adapter reads, mirroring its dispatch. Optional: `WORDS`, the adapter's
dispatch words, and `spelling(native)`, the symbol as its frames spell it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NOT_JSON = object()  # what `recognised` gets for a frame that does not decode


def scenario_module(venue: str) -> ModuleType:
    """The venue's scenario module; ModuleNotFoundError when it has none yet."""
    return importlib.import_module(f"{__name__}.{venue}")
