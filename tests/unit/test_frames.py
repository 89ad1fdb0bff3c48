"""The bulk websocket frame parser: whole reads in, messages out, whatever the read boundaries."""

from __future__ import annotations

import random

import pytest

from workers.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_OVERSIZE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameParser,
    ProtocolError,
    close_code,
)

pytestmark = pytest.mark.unit


def frame(opcode: int, payload: bytes, fin: bool = True, mask: bool = False) -> bytes:
    """A frame as a server sends it: 7-, 16- or 64-bit length, unmasked unless asked."""
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if mask else 0
    size = len(payload)
    if size < 126:
        head += bytes([bit | size])
    elif size < 2**16:
        head += bytes([bit | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + size.to_bytes(8, "big")
    return head + (b"\0\0\0\0" if mask else b"") + payload


def feed_in_pieces(parser: FrameParser, data: bytes, sizes: list[int]) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    for size in sizes:
        out += parser.feed(data[pos : pos + size])
        pos += size
    return out + parser.feed(data[pos:])


def test_many_frames_in_one_read_of_every_length_class() -> None:
    payloads = [b"", b"x" * 125, b"y" * 126, b"z" * 65535, b"w" * 65536, b'{"a":1}']
    data = b"".join(frame(OP_TEXT, p) for p in payloads)
    assert FrameParser().feed(data) == [(OP_TEXT, p) for p in payloads]


@pytest.mark.parametrize("seed", range(5))
def test_partial_reads_at_every_boundary_give_the_same_messages(seed: int) -> None:
    rng = random.Random(seed)
    payloads = [bytes(rng.randrange(256) for _ in range(rng.choice([0, 5, 130, 70_000])))
                for _ in range(30)]
    data = b"".join(frame(OP_BINARY, p) for p in payloads)
    sizes = [rng.randint(1, 200) for _ in range(len(data) // 50)]
    assert feed_in_pieces(FrameParser(), data, sizes) == [(OP_BINARY, p) for p in payloads]


def test_one_byte_at_a_time() -> None:
    data = frame(OP_TEXT, b"hello") + frame(OP_TEXT, b"a" * 300)
    parser = FrameParser()
    out = [m for byte in data for m in parser.feed(bytes([byte]))]
    assert out == [(OP_TEXT, b"hello"), (OP_TEXT, b"a" * 300)]


def test_fragmented_message_with_a_control_frame_in_between() -> None:
    data = (frame(OP_TEXT, b"he", fin=False) + frame(OP_CONT, b"ll", fin=False)
            + frame(OP_PING, b"p") + frame(OP_CONT, b"o") + frame(OP_TEXT, b"next"))
    assert FrameParser().feed(data) == [(OP_PING, b"p"), (OP_TEXT, b"hello"),
                                        (OP_TEXT, b"next")]
    # The same split across reads inside the fragments.
    assert feed_in_pieces(FrameParser(), data, [3, 4, 1, 6]) == [
        (OP_PING, b"p"), (OP_TEXT, b"hello"), (OP_TEXT, b"next")]


def test_control_frames_and_close_code() -> None:
    data = frame(OP_PING, b"1") + frame(OP_PONG, b"") + frame(OP_CLOSE, b"\x03\xe9bye")
    out = FrameParser().feed(data)
    assert out == [(OP_PING, b"1"), (OP_PONG, b""), (OP_CLOSE, b"\x03\xe9bye")]
    assert close_code(out[2][1]) == 1001
    assert close_code(b"") is None


@pytest.mark.parametrize(("data", "why"), [
    (frame(OP_TEXT, b"x", mask=True), "masked"),
    (bytes([0x81 | 0x40, 1]) + b"x", "reserved"),
    (frame(OP_CONT, b"x"), "continuation"),
    (frame(OP_TEXT, b"a", fin=False) + frame(OP_TEXT, b"b"), "inside"),
    (frame(OP_PING, b"x", fin=False), "control"),
    (frame(OP_PING, b"x" * 126), "control"),
    (frame(0x3, b"x"), "opcode"),
])
def test_protocol_errors(data: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        FrameParser().feed(data)


def test_oversized_frame_is_skipped_without_being_buffered() -> None:
    parser = FrameParser(max_message_bytes=1000)
    big = frame(OP_TEXT, b"x" * 5000)
    after = frame(OP_TEXT, b"next")
    # The header alone says it is over: one marker, and nothing of it is ever held.
    assert parser.feed(big[:10]) == [(OP_OVERSIZE, b"")]
    assert parser.oversize_bytes == 5000
    assert parser.feed(big[10:3000]) == []
    assert len(parser._pending) == 0
    assert parser.feed(big[3000:] + after) == [(OP_TEXT, b"next")]


def test_oversized_frame_inside_one_read_is_skipped_and_its_neighbours_kept() -> None:
    parser = FrameParser(max_message_bytes=1000)
    data = frame(OP_TEXT, b"a") + frame(OP_BINARY, b"y" * 1001) + frame(OP_TEXT, b"b")
    assert parser.feed(data) == [(OP_TEXT, b"a"), (OP_OVERSIZE, b""), (OP_TEXT, b"b")]


def test_oversized_fragmented_message_is_skipped_as_a_whole() -> None:
    parser = FrameParser(max_message_bytes=1000)
    assert parser.feed(frame(OP_TEXT, b"x" * 600, fin=False)) == []
    # Over the limit together: one marker; a ping in between still comes out; the rest of the
    # message is discarded up to its last fragment, and the next message is whole again.
    assert parser.feed(frame(OP_CONT, b"x" * 600, fin=False)) == [(OP_OVERSIZE, b"")]
    assert parser.oversize_bytes == 1200
    assert parser.feed(frame(OP_PING, b"p") + frame(OP_CONT, b"x" * 600, fin=False)) == [
        (OP_PING, b"p")]
    assert parser.feed(frame(OP_CONT, b"x", fin=True) + frame(OP_TEXT, b"ok")) == [
        (OP_TEXT, b"ok")]


def test_an_oversized_control_frame_is_refused_before_it_is_buffered() -> None:
    with pytest.raises(ProtocolError, match="control"):
        FrameParser(max_message_bytes=100).feed(frame(OP_PING, b"p" * 200)[:4])
