"""Server→client websocket frames parsed in bulk from whole socket reads (RFC 6455, sans I/O).

websocket-client parses one frame per call, each a dozen Python calls deep; a feed reads many
frames per system call, so the parser takes whatever the socket returned and hands back every
complete message in it. Servers never mask (a masked frame is a protocol error, as the RFC
says), no extension is negotiated (reserved bits must be zero), and fragmented messages are
reassembled with control frames allowed in between.

A data message longer than the limit (FEED_MAX_FRAME_BYTES) is never buffered: its bytes are
discarded as they arrive and it comes out as one `(OP_OVERSIZE, b"")`, so the caller decides
whether losing it matters (a ticker) or breaks a book (resync).
"""

from __future__ import annotations

from core.config import Settings

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
OP_OVERSIZE = -1  # no websocket opcode: a data message over the limit, skipped unread
_DATA = (OP_TEXT, OP_BINARY)
_CONTROL = (OP_CLOSE, OP_PING, OP_PONG)
MAX_MESSAGE_BYTES = Settings().feed_max_frame_bytes  # the default; feeds pass their setting


class ProtocolError(ValueError):
    """The server broke the framing rules; the connection must be dropped."""


class FrameParser:
    """Feeds bytes in, gets `(opcode, payload)` messages out; keeps partial frames between feeds.

    Data messages come out whole (fragments joined, opcode of the first fragment); control
    frames come out as they arrive, even in the middle of a fragmented message. A message over
    `max_message_bytes` comes out as `(OP_OVERSIZE, b"")`, its size in `oversize_bytes`.
    """

    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self._pending = bytearray()
        self._need = 2  # bytes the pending frame needs before parsing can go on
        self._fragments: list[bytes] = []
        self._fragments_size = 0
        self._fragment_opcode = 0
        self._skip = 0  # bytes of an oversize frame still to come, to be discarded
        self._discarding = False  # inside a fragmented message that went over the limit
        self.oversize_bytes = 0  # size of the last message skipped (at least, if fragmented)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Every complete message in what was read so far, oldest first."""
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return []
            data = data[self._skip:]
            self._skip = 0
        if self._pending:
            self._pending += data
            if len(self._pending) < self._need:
                return []  # a large frame still arriving: no re-parse per read
            buf: bytes | bytearray = self._pending
            self._pending = bytearray()
        else:
            buf = data
        out: list[tuple[int, bytes]] = []
        pos, size = 0, len(buf)
        while True:
            left = size - pos
            if left < 2:
                need = 2
                break
            b0, b1 = buf[pos], buf[pos + 1]
            if b1 & 0x80:
                raise ProtocolError("masked frame from the server")
            if b0 & 0x70:
                raise ProtocolError("reserved bits set without an extension")
            length, head = b1 & 0x7F, 2
            if length == 126:
                if left < 4:
                    need = 4
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if left < 10:
                    need = 10
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if (length > self.max_message_bytes or self._fragments or self._discarding) \
                    and self._oversize(b0, length, out):
                end = pos + head + length
                if end <= size:
                    pos = end
                    continue
                self._skip = end - size  # the rest is discarded as it arrives
                pos, need = size, 2
                break
            if left < head + length:
                need = head + length
                break
            start = pos + head
            pos = start + length
            self._frame(b0, bytes(buf[start:pos]), out)
        self._need = need
        if pos < size:
            self._pending += buf[pos:]
        return out

    def _frame(self, b0: int, payload: bytes, out: list[tuple[int, bytes]]) -> None:
        opcode, fin = b0 & 0x0F, b0 & 0x80
        if opcode in _DATA:
            if self._fragments:
                raise ProtocolError("new message inside a fragmented one")
            if fin:
                out.append((opcode, payload))
            else:
                self._fragment_opcode = opcode
                self._fragments.append(payload)
                self._fragments_size = len(payload)
        elif opcode == OP_CONT:
            if not self._fragments:
                raise ProtocolError("continuation frame without a message")
            self._fragments.append(payload)
            self._fragments_size += len(payload)
            if fin:
                out.append((self._fragment_opcode, b"".join(self._fragments)))
                self._fragments, self._fragments_size = [], 0
        elif opcode in _CONTROL:
            if not fin or len(payload) > 125:
                raise ProtocolError("fragmented or oversized control frame")
            out.append((opcode, payload))
        else:
            raise ProtocolError(f"unknown opcode {opcode:#x}")

    def _oversize(self, b0: int, length: int, out: list[tuple[int, bytes]]) -> bool:
        """Whether the frame whose header is (b0, length) is to be discarded unread.

        True for a data frame over the limit (reported once per message) and for every frame
        of a fragmented message already over it; False leaves the frame to `_frame`, which
        raises on whatever breaks the framing rules.
        """
        opcode, fin = b0 & 0x0F, b0 & 0x80
        if opcode not in _DATA and opcode != OP_CONT:
            if length > 125:  # refused before its bytes are buffered
                raise ProtocolError("fragmented or oversized control frame")
            return False
        if self._discarding:
            if opcode != OP_CONT:
                raise ProtocolError("new message inside a fragmented one")
            self._discarding = not fin
            return True
        if opcode == OP_CONT:
            if not self._fragments:
                raise ProtocolError("continuation frame without a message")
            total = self._fragments_size + length
            if total <= self.max_message_bytes:
                return False
            # Under the limit frame by frame, over it together: the whole message is skipped.
            self._fragments, self._fragments_size = [], 0
        elif self._fragments:
            raise ProtocolError("new message inside a fragmented one")
        elif length <= self.max_message_bytes:
            return False
        else:
            total = length
        self._skipped(total, out)
        self._discarding = not fin
        return True

    def _skipped(self, size: int, out: list[tuple[int, bytes]]) -> None:
        self.oversize_bytes = size
        out.append((OP_OVERSIZE, b""))


def close_code(payload: bytes) -> int | None:
    """The status code of a close frame's payload, when it carries one."""
    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
