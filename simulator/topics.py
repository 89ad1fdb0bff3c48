"""Who is subscribed to what, per venue-chosen topic key."""

from __future__ import annotations

from simulator.client import Client


class Topics:
    """Subscribers per topic key, with a reverse index so a closing client is dropped fast."""

    def __init__(self) -> None:
        self._subs: dict[str, dict[Client, None]] = {}  # dict keeps subscription order
        self._frozen: dict[str, tuple[Client, ...]] = {}
        self._by_client: dict[Client, set[str]] = {}

    def add(self, key: str, client: Client) -> None:
        """Subscribe `client` to `key` (idempotent)."""
        self._subs.setdefault(key, {})[client] = None
        self._by_client.setdefault(client, set()).add(key)
        self._frozen.pop(key, None)

    def remove(self, key: str, client: Client) -> bool:
        """Unsubscribe `client` from `key`; True when it was subscribed."""
        subs = self._subs.get(key)
        if subs is None or client not in subs:
            return False
        del subs[client]
        if not subs:
            del self._subs[key]
        self._by_client.get(client, set()).discard(key)
        self._frozen.pop(key, None)
        return True

    def drop(self, client: Client) -> None:
        """Forget every subscription of `client`."""
        for key in self._by_client.pop(client, set()):
            subs = self._subs.get(key)
            if subs is not None:
                subs.pop(client, None)
                if not subs:
                    del self._subs[key]
            self._frozen.pop(key, None)

    def get(self, key: str) -> tuple[Client, ...]:
        """Current subscribers of `key`, as a cached immutable tuple."""
        frozen = self._frozen.get(key)
        if frozen is None:
            frozen = tuple(self._subs.get(key, ()))
            self._frozen[key] = frozen
        return frozen

    def has(self, key: str) -> bool:
        """True when `key` has at least one subscriber."""
        return key in self._subs
