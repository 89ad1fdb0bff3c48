"""Reader for the recorded exchange traffic in tests/fixtures/recorded/ (see its README).

Websocket files (`*.ws.txt`), one event a line:
    `URL <-> 1633998511.159679`            a connection opened           → ("open", t, "")
    `URL <- 1618677543.829587: {json}`     a frame the client sent       → ("sent", t, text)
    `1618677543.951173: {json}`            a frame the client received   → ("recv", t, text)
Payload text is returned untouched, JSON or not, so tests can feed it to adapters as it came.
Binary frames (HTX's gzip, Upbit's JSON) are written as Python bytes literals (`b'\x1f...'`):
`received_frames` gives those back as the bytes that came.
A line in none of these shapes is returned whole as ("raw", None, line).

REST files (`*.rest.txt`, `*.http.txt`): `URL -> 1633998511.132921: {json body}`, with an optional
`configuration: {...}` line (the recorder's own settings), which is skipped.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

RECORDED_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"

_RECEIVED = re.compile(r"(\d+(?:\.\d+)?): (.*)", re.DOTALL)
_SENT = re.compile(r"(\S+) <- (\d+(?:\.\d+)?): (.*)", re.DOTALL)
_OPENED = re.compile(r"(\S+) <-> (\d+(?:\.\d+)?)")
_RESPONSE = re.compile(r"(\S+) -> (\d+(?:\.\d+)?): (.*)", re.DOTALL)


class WsEvent(NamedTuple):
    """One line of a websocket recording."""

    kind: str  # "open", "sent", "recv" or "raw"
    time: float | None  # unix seconds
    payload: str


class RestResponse(NamedTuple):
    """One recorded REST response."""

    url: str
    time: float
    body: Any  # decoded JSON, or the text itself when it is not JSON


def ws_files() -> list[Path]:
    """Every websocket recording in the folder, sorted by name."""
    return sorted(RECORDED_DIR.glob("*.ws.txt"))


def ws_events(name: str | Path) -> Iterator[WsEvent]:
    """The events of one websocket recording (`"bitstamp"`, `"bitstamp.ws.txt"` or a path)."""
    for line in _lines(_resolve(name, ".ws.txt")):
        if match := _RECEIVED.fullmatch(line):
            yield WsEvent("recv", float(match[1]), match[2])
        elif match := _SENT.fullmatch(line):
            yield WsEvent("sent", float(match[2]), match[3])
        elif match := _OPENED.fullmatch(line):
            yield WsEvent("open", float(match[2]), "")
        else:
            yield WsEvent("raw", None, line)


def received(name: str | Path) -> Iterator[str]:
    """Only the frames the client received, as text."""
    return (event.payload for event in ws_events(name) if event.kind == "recv")


def received_frames(name: str | Path) -> Iterator[str | bytes]:
    """The frames the client received: bytes for those recorded as bytes literals, else text."""
    for text in received(name):
        if text.startswith(("b'", 'b"')):
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                yield text  # not a whole literal: handed on as the text it is
                continue
            if isinstance(value, bytes):
                yield value
                continue
        yield text


def rest_responses(name: str | Path) -> Iterator[RestResponse]:
    """The responses of one REST recording, bodies decoded (`"kraken"` → kraken.rest.txt)."""
    for line in _lines(_resolve(name, ".rest.txt")):
        match = _RESPONSE.fullmatch(line)
        if match is None:
            continue  # `configuration: {...}` and anything else that is not a response
        try:
            body: Any = json.loads(match[3])
        except ValueError:
            body = match[3]
        yield RestResponse(match[1], float(match[2]), body)


def rest_body(name: str | Path, url_part: str = "") -> Any:
    """The first decoded body in a REST recording whose URL contains `url_part`."""
    for response in rest_responses(name):
        if url_part in response.url:
            return response.body
    raise LookupError(f"no response for {url_part!r} in {name}")


def _resolve(name: str | Path, suffix: str) -> Path:
    """A bare venue name, a file name, or a path → the file's path."""
    if isinstance(name, Path):
        return name
    if "." not in name:
        name += suffix
    return RECORDED_DIR / name


def _lines(path: Path) -> Iterator[str]:
    """The file's non-empty lines without their line ends."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\r\n")
            if line:
                yield line
