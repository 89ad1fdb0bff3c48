"""At shutdown every /ws gets 1001, including one whose handshake finished as it began."""

from __future__ import annotations

from typing import Any

import pytest

from web.live import transport

pytestmark = pytest.mark.unit


class Socket:
    """What `track` needs of a connection: a close that is recorded."""

    def __init__(self) -> None:
        self.closed: tuple[int, str] | None = None

    def close(self, code: int, message: str) -> None:
        self.closed = (code, message)


def test_a_connection_tracked_after_close_all_is_closed_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "_open", {})
    monkeypatch.setattr(transport, "_closing", None)
    stopped: list[Any] = []
    early, late = Socket(), Socket()
    transport.track(early, lambda: stopped.append(early))  # type: ignore[arg-type]
    assert transport.close_all() == 1
    assert early.closed == (transport.GOING_AWAY, "server restarting")
    transport.track(late, lambda: stopped.append(late))  # type: ignore[arg-type]
    assert late.closed == (transport.GOING_AWAY, "server restarting")
    assert stopped == [early, late]
