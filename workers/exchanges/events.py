"""What `Adapter.on_message` returns: the events one frame produced, for the loop to dispatch.

A frame yields a list. Its items are `Quote`s (the common case, returned as they are, with no
wrapper), `Depth`s (a local book's best levels that changed), at most one `Reconnect` (the
venue asked for a fresh connection, or the stream needs one to resync its books), at most
one `VenueError` (the venue's own error text, shown in the feed status), `RestRequest`s (a
REST body the adapter needs, such as a book snapshot: the loop fetches it and hands it to
`on_rest`) and `Send`s (a frame to answer on this connection, such as a pong to a server ping).
"""

from __future__ import annotations

from typing import NamedTuple

from core.types import Depth, Quote

# Why a frame over FEED_MAX_FRAME_BYTES was not read: counted with the malformed frames, and the
# reconnect it forces on a book built from deltas.
OVERSIZE = "oversize_frame"
# Reconnects that mean frames meant for us were lost (a hole in the book, the venue gave up on a
# slow reader, or we skipped an oversize frame of a delta book): each forces a resync from a
# fresh snapshot and is counted as one.
RESYNC_REASONS = frozenset({"sequence_gap", "checksum_mismatch", "slow_consumer", OVERSIZE})


class Reconnect(NamedTuple):
    """Drop this connection and open a new one; `reason` is recorded as the disconnect's."""

    reason: str


class VenueError(NamedTuple):
    """The venue reported an error (a refused subscription, maintenance...): its text."""

    text: str


class RestRequest(NamedTuple):
    """GET `url` and hand the body to `Adapter.on_rest` (a book snapshot, say)."""

    url: str


class Send(NamedTuple):
    """Send `frame` (text) on the connection the event came from."""

    frame: str


Event = Quote | Depth | Reconnect | VenueError | RestRequest | Send
Events = list[Event]


class Split(NamedTuple):
    """One frame's events sorted by kind, as the loop dispatches them."""

    quotes: list[Quote]
    depths: list[Depth]
    reconnect: str | None  # the reason; None: keep the connection
    error: str | None  # the venue's error text, if it sent one
    fetches: list[str]  # URLs to GET for `on_rest`, in order
    sends: list[str]  # frames to send back, in order


def split_events(events: Events) -> Split:
    """The quotes, depths, reconnect reason, venue error, fetches and replies of one frame."""
    quotes: list[Quote] = []
    depths: list[Depth] = []
    fetches: list[str] = []
    sends: list[str] = []
    reason: str | None = None
    error: str | None = None
    for event in events:
        kind = type(event)
        if kind is Quote:
            quotes.append(event)  # type: ignore[arg-type]
        elif kind is Depth:
            depths.append(event)  # type: ignore[arg-type]
        elif kind is Reconnect:
            reason = event.reason  # type: ignore[union-attr]
        elif kind is VenueError:
            error = event.text  # type: ignore[union-attr]
        elif kind is RestRequest:
            fetches.append(event.url)  # type: ignore[union-attr]
        elif kind is Send:
            sends.append(event.frame)  # type: ignore[union-attr]
    return Split(quotes, depths, reason, error, fetches, sends)
