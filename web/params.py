"""Query-parameter parsing for the JSON API: times, ranges, numbers and names, all strict."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Times outside this span are typing mistakes (ms instead of s, a year dropped), not queries.
MIN_TIME_S = 946_684_800.0  # 2000-01-01T00:00:00Z
MAX_TIME_S = 4_102_444_800.0  # 2100-01-01T00:00:00Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_SPAN_S = 3600.0
# A year and a bit: longer ranges only make InfluxDB work for points no chart can show.
MAX_SPAN_S = 400 * 86400.0

_EXCHANGE = re.compile(r"^[a-z0-9_\-]{1,32}$")
_ASSET = re.compile(r"^[A-Z0-9]{1,16}$")


class BadRequest(ValueError):
    """A query parameter has a value the API cannot use (answered with 400)."""


def parse_time(raw: str, name: str = "time") -> int:
    """Parse unix seconds (float) or ISO 8601 (naive means UTC) into ns since the epoch."""
    text = raw.strip()
    if not text:
        raise BadRequest(f"{name} is empty")
    try:
        # Decimal, not float: a float of today's seconds keeps only about 0.1 µs.
        seconds = Decimal(text)
    except InvalidOperation:
        ns = _iso_ns(text, name)
    else:
        if not seconds.is_finite():
            raise BadRequest(f"{name} must be a finite number of seconds, got {raw!r}")
        ns = int((seconds * 1_000_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))
    if not MIN_TIME_S * 1e9 <= ns <= MAX_TIME_S * 1e9:
        raise BadRequest(f"{name} must be between 2000-01-01 and 2100-01-01, got {raw!r}")
    return ns


def _iso_ns(text: str, name: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(
            f"{name} must be unix seconds or ISO 8601 like 2026-11-24T03:00:00Z, got {text!r}"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Integer arithmetic on the timedelta keeps the microseconds exact.
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def time_range(
    start: str | None,
    end: str | None,
    now_ns: int,
    default_span_s: float = DEFAULT_SPAN_S,
    max_span_s: float = MAX_SPAN_S,
) -> tuple[int, int]:
    """Resolve `start`/`end` into ns; end defaults to now, start to end minus the default span."""
    end_ns = parse_time(end, "end") if end else now_ns
    start_ns = parse_time(start, "start") if start else end_ns - int(default_span_s * 1e9)
    if start_ns >= end_ns:
        raise BadRequest("start must be before end")
    if end_ns - start_ns > max_span_s * 1e9:
        raise BadRequest(f"start to end may span at most {max_span_s / 86400:g} days")
    return start_ns, end_ns


def parse_number(raw: str | None, name: str, default: float, lo: float, hi: float) -> float:
    """A finite float within [lo, hi]; `default` when missing or empty."""
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value) or not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo:g} and {hi:g}")
    return value


def parse_int(raw: str | None, name: str, default: int, lo: int, hi: int) -> int:
    """A whole number within [lo, hi]; `default` when missing or empty."""
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise BadRequest(f"{name} must be a whole number, got {raw!r}") from exc
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}")
    return value


def parse_exchange(raw: str | None) -> str | None:
    """An exchange name (lower case letters, digits, `_`, `-`), or None when missing."""
    if raw is None or raw.strip() == "":
        return None
    name = raw.strip().lower()
    if not _EXCHANGE.match(name):
        raise BadRequest(f"exchange must be a venue name like kraken, got {raw!r}")
    return name


def parse_asset(raw: str | None, name: str) -> str | None:
    """An asset code such as USD or USDT (upper-cased), or None when missing."""
    if raw is None or raw.strip() == "":
        return None
    code = raw.strip().upper()
    if not _ASSET.match(code):
        raise BadRequest(f"{name} must be an asset code like USD, got {raw!r}")
    return code


def parse_choice(raw: str | None, name: str, choices: Iterable[str], default: str) -> str:
    """One of `choices` (exact), `default` when missing."""
    options = list(choices)
    if raw is None or raw == "":
        return default
    if raw not in options:
        raise BadRequest(f"{name} must be one of {', '.join(options)}, got {raw!r}")
    return raw
