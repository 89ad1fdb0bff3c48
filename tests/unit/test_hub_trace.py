"""Tracing clients: the hub's `trace.ws_ns` send stamp, added without encoding events again."""

from __future__ import annotations

import json
import threading
import time

import orjson
import pytest

from core.stores import bus
from web.live.client import LiveClient
from web.live.hub import Hub
from web.live.protocol import (
    ClientMessageError,
    Event,
    Unstamped,
    parse_client_message,
    stamp_frames,
    text_frame,
)

pytestmark = pytest.mark.unit


def _payload(trace: dict[str, int] | None) -> bytes:
    event: dict[str, object] = {"type": "quote", "data": {"exchange": "kraken",
                                                          "symbol": "BTC-USD", "bid": 1.5}}
    if trace is not None:
        event["trace"] = trace
    return orjson.dumps(event)


def _json_of(frame: bytes) -> dict[str, object]:
    assert frame[0] == 0x81
    n = frame[1]
    return json.loads(frame[2:] if n < 126 else frame[4:])


def test_stamp_goes_inside_a_trailing_trace_object() -> None:
    event = Event(_payload({"batch_ns": 1, "task_ns": 2, "redis_ns": 3}))
    item = event.unstamped()
    assert isinstance(item, Unstamped)
    got = _json_of(stamp_frames([item], 4))
    assert got["trace"] == {"batch_ns": 1, "task_ns": 2, "redis_ns": 3, "ws_ns": 4}
    assert got["data"] == {"exchange": "kraken", "symbol": "BTC-USD", "bid": 1.5}


def test_an_event_without_trace_gets_one() -> None:
    event = Event(_payload(None))
    got = _json_of(stamp_frames([event.unstamped()], 9))
    assert got["type"] == "quote" and got["trace"] == {"ws_ns": 9}


@pytest.mark.parametrize("raw", [
    b'{"type": "quote", "trace": {"a": 1}, "data": {"symbol": "X"}}',  # trace not last
    b'{"type": "quote", "data": {"symbol": "X"}, "trace": {}}',  # nothing to splice into
    b'{"type": "quote", "data": {"symbol": "X"}, "trace": 5}',
])
def test_events_the_stamp_cannot_enter_go_out_unchanged(raw: bytes) -> None:
    event = Event(raw)
    assert event.unstamped() == event.frame == text_frame(raw)
    assert stamp_frames([event.unstamped()], 1) == text_frame(raw)


def test_frames_already_built_pass_through_stamping() -> None:
    ping = text_frame(b'{"type":"ping","data":{}}')
    assert stamp_frames([ping], 1) == ping


def test_trace_option_is_validated() -> None:
    assert parse_client_message('{"trace": true, "coalesce": false}') == {
        "trace": True, "coalesce": False}
    with pytest.raises(ClientMessageError):
        parse_client_message('{"trace": 1}')


def test_only_tracing_clients_get_the_stamp() -> None:
    hub = Hub(lambda: None, "t:")  # type: ignore[arg-type,return-value]
    written: dict[str, list[bytes]] = {"plain": [], "traced": []}
    clients = {name: LiveClient(out.append, lambda: None, name=name)
               for name, out in written.items()}
    hub.update(clients["plain"], {"coalesce": False})  # no listener thread: dispatch by hand
    hub.update(clients["traced"], {"coalesce": False, "trace": True})
    raw = _payload({"task_ns": 5, "redis_ns": 6})
    before = time.time_ns()
    hub.dispatch([(bus.channel("t:", "quote", {"symbol": "BTC-USD"}).encode(), raw)], 0.0)
    senders = [threading.Thread(target=c.run_sender) for c in clients.values()]
    for sender in senders:
        sender.start()
    deadline = time.monotonic() + 5
    while not all(written.values()) and time.monotonic() < deadline:
        time.sleep(0.01)
    for client in clients.values():
        client.close()
    for sender in senders:
        sender.join(5)
    assert written["plain"] == [text_frame(raw)]
    trace = _json_of(written["traced"][0])["trace"]
    assert trace["task_ns"] == 5 and trace["redis_ns"] == 6
    assert before <= trace["ws_ns"] <= time.time_ns()
