"""The REST calls a feed makes besides discovery: snapshots adapters ask for, connect tokens."""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import requests

from workers.exchanges.base import Adapter

REST_TIMEOUT_S = 10.0
# Snapshots are asked for on (re)connects and resyncs only; a few at a time keeps a venue's
# REST rate limit in sight even when every market of a connection asks at once.
FETCH_THREADS = 4


def get_text(url: str, timeout_s: float = REST_TIMEOUT_S) -> str:
    """The body of GET `url`; requests.RequestException on a failure or a non-2xx answer."""
    response = requests.get(url, timeout=timeout_s)
    response.raise_for_status()
    return response.text


def connect_url(adapter: Adapter, ws_url: str, timeout_s: float = REST_TIMEOUT_S) -> str:
    """The websocket URL to open now: `ws_url`, or the one the venue's bootstrap hands out.

    Raises OSError (requests' errors are OSErrors) or ValueError; both are a failed connect.
    """
    if not adapter.bootstrap_path:
        return ws_url
    response = requests.post(adapter.rest_endpoint(adapter.bootstrap_path), timeout=timeout_s)
    response.raise_for_status()
    return adapter.ws_url_from_bootstrap(response.text)


class Fetched(NamedTuple):
    """One finished GET: who asked (and on which connection), the URL, the body or the error."""

    owner: Any
    generation: int
    url: str
    text: str | None
    error: str | None


class RestFetcher:
    """GETs on a small thread pool; each answer is queued for the loop thread to hand on."""

    def __init__(self, wake: Callable[[], None], threads: int = FETCH_THREADS,
                 get: Callable[[str], str] = get_text) -> None:
        self._wake = wake
        self._get = get
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="feed-rest")
        self._done: queue.SimpleQueue[Fetched] = queue.SimpleQueue()

    def fetch(self, owner: Any, generation: int, url: str) -> None:
        """Start GET `url` for `owner`'s connection number `generation`."""
        self._pool.submit(self._run, owner, generation, url)

    def _run(self, owner: Any, generation: int, url: str) -> None:
        try:
            text, error = self._get(url), None
        except (requests.RequestException, OSError) as exc:
            text, error = None, f"rest failed: {exc}"
        self._done.put(Fetched(owner, generation, url, text, error))
        self._wake()

    def take(self) -> list[Fetched]:
        """The answers that came since the last call."""
        done: list[Fetched] = []
        while True:
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                return done

    def close(self) -> None:
        """Stop taking work; running GETs end on their own timeout."""
        self._pool.shutdown(wait=False, cancel_futures=True)
