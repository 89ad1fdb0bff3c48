"""A background thread that takes a sample every few seconds until stopped, then one last."""

from __future__ import annotations

import threading
import time


class Sampler(threading.Thread):
    """Calls `sample()` at start, every `every_s` seconds, and once more on `stop()`."""

    def __init__(self, name: str, every_s: float) -> None:
        super().__init__(name=name, daemon=True)
        self.every_s = every_s
        self.t0 = time.monotonic()
        self._halt = threading.Event()

    def sample(self) -> None:
        """One sample; subclasses say what it reads."""
        raise NotImplementedError

    def run(self) -> None:
        self.sample()
        while not self._halt.wait(self.every_s):
            self.sample()

    def stop(self) -> None:
        """Take a last sample and end."""
        self._halt.set()
        self.join(30)
        self.sample()
