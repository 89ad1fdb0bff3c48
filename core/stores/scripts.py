"""Lua scripts run in one pipeline by SHA, reloaded only when Redis lost them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from redis.commands.core import Script

Call = tuple[Script, list[str], list[str]]


class Scripts:
    """The scripts of the stores sharing one client, and what to do when Redis was emptied."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._scripts: list[Script] = []
        # Stores that cache what Redis holds forget it when Redis may have come back empty.
        self._on_reset: list[Callable[[], None]] = []

    def register(self, source: str) -> Script:
        """A script this runner loads again after a Redis restart."""
        script = self.client.register_script(source)
        self._scripts.append(script)
        return script

    def on_reset(self, forget: Callable[[], None]) -> None:
        """Call `forget` whenever Redis may have lost its data (connection lost, NOSCRIPT)."""
        self._on_reset.append(forget)

    def _reset(self) -> None:
        for forget in self._on_reset:
            forget()

    def run(self, calls: list[Call]) -> list[Any]:
        """Run script calls in one pipeline by SHA, loading the scripts only when Redis lost them.

        redis-py's own script pipelining asks SCRIPT EXISTS on every execute: one more round
        trip per pass. A Redis restart empties the script cache; NOSCRIPT reloads and retries
        (every script here is safe to run again).
        """
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            for script, keys, args in calls:
                pipe.evalsha(script.sha, len(keys), *keys, *args)
            try:
                return pipe.execute()
            except redis.exceptions.ConnectionError:
                self._reset()
                raise
            except redis.exceptions.NoScriptError:
                self._reset()
                if attempt == 2:
                    raise
                for script in self._scripts:
                    script.sha = self.client.script_load(script.script)
        raise AssertionError("unreachable")
