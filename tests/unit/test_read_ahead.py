"""The feed's websocket reads ahead: many frames per system call, none lost or split wrongly."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import websocket
from websocket import ABNF

from workers.socket_io import read_ahead

pytestmark = pytest.mark.unit


def server_frame(payload: bytes) -> bytes:
    """An unmasked text frame as a server sends it (7-bit or 16-bit length)."""
    if len(payload) < 126:
        return bytes([0x81, len(payload)]) + payload
    return bytes([0x81, 126]) + len(payload).to_bytes(2, "big") + payload


def client_over(sock: socket.socket) -> tuple[websocket.WebSocket, list[int]]:
    """A websocket-client connection on `sock`, counting the reads it makes."""
    ws = websocket.WebSocket(skip_utf8_validation=True)
    ws.sock, ws.connected = sock, True
    calls: list[int] = []
    raw = ws._recv

    def counted(size: int) -> Any:
        calls.append(size)
        return raw(size)

    ws._recv = counted  # type: ignore[method-assign]
    ws.frame_buffer.recv = counted  # what websocket-client reads with (read_ahead replaces it)
    return ws, calls


@pytest.mark.parametrize("ahead", [False, True])
def test_frames_arrive_whole_and_in_order(ahead: bool) -> None:
    payloads = [f'{{"n":{i},"pad":"{"x" * (i * 37 % 300)}"}}'.encode() for i in range(200)]
    ours, theirs = socket.socketpair()
    try:
        ours.settimeout(2.0)
        ws, calls = client_over(ours)
        if ahead:
            read_ahead(ws)
        theirs.sendall(b"".join(server_frame(p) for p in payloads))
        got = []
        for _ in payloads:
            opcode, data = ws.recv_data()
            assert opcode == ABNF.OPCODE_TEXT
            got.append(data)
        assert got == payloads
        if ahead:
            assert len(calls) < len(payloads) / 10  # many frames per read
        else:
            assert len(calls) >= 2 * len(payloads)  # websocket-client's own: a read per part
    finally:
        ours.close()
        theirs.close()


def test_a_frame_split_across_reads_and_a_timeout_resumes() -> None:
    ours, theirs = socket.socketpair()
    try:
        ours.settimeout(0.2)
        ws, _ = client_over(ours)
        read_ahead(ws)
        frame = server_frame(b'{"hello":"world"}' * 20)
        theirs.sendall(frame[:7])
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv_data()
        theirs.sendall(frame[7:] + server_frame(b"next"))
        assert ws.recv_data()[1] == b'{"hello":"world"}' * 20
        assert ws.recv_data()[1] == b"next"
    finally:
        ours.close()
        theirs.close()
