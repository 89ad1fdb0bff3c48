"""Wire-field parsers shared by the adapters: strict types, exact integer timestamps.

Each raises TypeError or ValueError on anything unexpected; adapters catch `SHAPE_ERRORS`
around a frame and count it, so a bad field never becomes a wrong quote.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

# Caught around a frame parse: any of these means a field had the wrong shape or type.
# AttributeError covers a non-dict where `.get` is called (e.g. a numeric channel name);
# OverflowError a JSON integer too big for a float (`1e400` spelled out) or an infinite one
# where an integer is due; RecursionError a value nested ~1,000 deep (orjson decodes up to
# 1,024 levels) when it is formatted or re-encoded, as an error frame's text is.
SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError,
                RecursionError)

# RFC 3339 date-time; re.ASCII so `\d` never accepts other scripts' digits. Digits past the
# ninth in the fraction are below 1 ns and are dropped.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# The latest exchange time accepted: InfluxDB stores int64 ns, and one point past it fails the
# whole write of the batch it is in (2262-04-11T23:47:16.854775807Z).
MAX_NS = 2**63 - 1


def positive(value: float) -> float:
    """`value` itself when finite and above zero; raises ValueError otherwise."""
    # NaN fails both comparisons, so this one test rejects NaN, ±inf, zero and negatives.
    if not 0.0 < value < math.inf:
        raise ValueError(f"not a positive finite number: {value!r}")
    return value


def non_negative(value: float) -> float:
    """`value` itself when finite and ≥ 0 (a book delta's size 0 means delete)."""
    if not 0.0 <= value < math.inf:
        raise ValueError(f"not a finite number ≥ 0: {value!r}")
    return value


def decimal_str(text: Any) -> float:
    """A decimal string from the wire as a finite positive float."""
    # Venues that send strings: refusing other types keeps `true` or a list from slipping in.
    if type(text) is not str:
        raise TypeError(f"expected a decimal string, got {type(text).__name__}")
    value = float(text)
    if 0.0 < value < math.inf:  # positive() inlined: this runs several times per frame
        return value
    raise ValueError(f"not a positive finite number: {value!r}")


_SIDES = {"buy": True, "sell": False}
_INF = math.inf


def side_changes(changes: Any) -> list[tuple[bool, float, float]]:
    """Book changes `[["buy"|"sell", "price", "size"], ...]` as (is_bid, price, size)."""
    # Prices must be positive and sizes ≥ 0 (zero deletes the level), both decimal strings.
    if type(changes) is not list:
        raise TypeError("changes is not a list")
    parsed = []
    append = parsed.append
    for change in changes:
        # decimal_str and non_negative inlined (a full book has hundreds of levels); same checks.
        if type(change) is not list or len(change) != 3:
            raise TypeError("change is not a [side, price, size] list")
        side, price, size = change
        is_bid = _SIDES[side]
        if type(price) is not str or type(size) is not str:
            raise TypeError("price or size is not a decimal string")
        price = float(price)
        size = float(size)
        if not (0.0 < price < _INF and 0.0 <= size < _INF):
            raise ValueError(f"level out of range: {change!r}")
        append((is_bid, price, size))
    return parsed


def json_number(value: Any) -> float:
    """A JSON number from the wire as a finite positive float."""
    # bool is an int subclass in Python: exact type checks keep `true` from passing as 1.0.
    kind = type(value)
    if kind is float:
        number = value
    elif kind is int:
        number = float(value)
    else:
        raise TypeError(f"expected a JSON number, got {kind.__name__}")
    if 0.0 < number < math.inf:  # positive() inlined: this runs several times per frame
        return number
    raise ValueError(f"not a positive finite number: {value!r}")


def decimal_top(bid: Any, bid_size: Any, ask: Any, ask_size: Any) -> tuple[float, float, float,
                                                                          float]:
    """Four decimal strings (a top of book) as `decimal_str` reads them, in one call."""
    if type(bid) is str and type(bid_size) is str and type(ask) is str and type(ask_size) is str:
        top = (float(bid), float(bid_size), float(ask), float(ask_size))
        if (0.0 < top[0] < math.inf and 0.0 < top[1] < math.inf and 0.0 < top[2] < math.inf
                and 0.0 < top[3] < math.inf):
            return top
    # Something is off: the field-by-field path raises the same error it always did.
    return decimal_str(bid), decimal_str(bid_size), decimal_str(ask), decimal_str(ask_size)


def number_top(bid: Any, bid_size: Any, ask: Any, ask_size: Any) -> tuple[float, float, float,
                                                                         float]:
    """Four JSON numbers (a top of book) as `json_number` reads them, in one call."""
    if type(bid) is float and type(bid_size) is float and type(ask) is float \
            and type(ask_size) is float:
        if (0.0 < bid < math.inf and 0.0 < bid_size < math.inf and 0.0 < ask < math.inf
                and 0.0 < ask_size < math.inf):
            return bid, bid_size, ask, ask_size
    # Integers, or something off: the field-by-field path (same values, same errors).
    return json_number(bid), json_number(bid_size), json_number(ask), json_number(ask_size)


def decimal_levels(levels: Any, allow_zero: bool) -> list[tuple[float, float]]:
    """`[["64010.10", "0.531"], ...]` → (price, size) pairs; size 0 (delete) only if allowed."""
    if type(levels) is not list:
        raise TypeError("book side is not a list")
    parsed: list[tuple[float, float]] = []
    for level in levels:
        # A level must be a [price, size] list: unpacking a 2-char string would "work".
        if type(level) is not list or len(level) != 2:
            raise TypeError("book level is not a [price, size] pair")
        price_text, size_text = level
        if type(size_text) is not str or type(price_text) is not str:
            raise TypeError("book level is not a pair of decimal strings")
        size = float(size_text)
        price = float(price_text)
        # non_negative / decimal_str inlined: this runs for every level of every book frame.
        if not (0.0 <= size < math.inf if allow_zero else 0.0 < size < math.inf):
            raise ValueError(f"bad book size: {size_text!r}")
        if not 0.0 < price < math.inf:
            raise ValueError(f"bad book price: {price_text!r}")
        parsed.append((price, size))
    return parsed


def integer(value: Any) -> int:
    """A JSON integer (update ids, sequence numbers); bool, float and strings are refused."""
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def int_stamp(value: Any, to_ns: int) -> int:
    """An integer time (digit string or int) times `to_ns` → ns, never through a float."""
    if type(value) is not str and type(value) is not int:
        raise TypeError(f"expected an integer time, got {type(value).__name__}")
    nanos = int(value) * to_ns
    if not 0 < nanos <= 9_223_372_036_854_775_807:  # MAX_NS, spelled out: no global lookup
        raise ValueError(f"not a positive int64 ns timestamp: {value!r}")
    return nanos


# Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS` prefixes already parsed by the full path, for
# the common `<prefix>.<digits>Z` spelling; cleared when full (a prefix lasts one second).
_SECONDS_OF_PREFIX: dict[str, int] = {}
_PREFIX_CACHE_SIZE = 4096
_FRACTION_SCALE = tuple(10 ** (9 - n) for n in range(10))  # ns per unit of an n-digit fraction


def parse_rfc3339_ns(text: str) -> int:
    """An RFC 3339 time (`2026-01-01T00:00:01.234567891Z`) as exact integer ns since the epoch."""
    if type(text) is not str:
        raise TypeError(f"expected an RFC 3339 string, got {type(text).__name__}")
    # Fast path: a prefix the full parser already validated, then `.` 1-9+ ASCII digits, `Z`.
    seconds = _SECONDS_OF_PREFIX.get(text[:19])
    if seconds is not None and text[19:20] == "." and text[-1] in "Zz":
        fraction = text[20:-1]
        if fraction.isascii() and fraction.isdigit():  # isascii: no other scripts' digits
            if len(fraction) <= 9:
                return seconds * 1_000_000_000 + int(fraction) * _FRACTION_SCALE[len(fraction)]
            return seconds * 1_000_000_000 + int(fraction[:9])
    nanos = _parse_rfc3339_ns(text)
    # Only a prefix whose every fraction stays in range is cached for the fast path.
    if (len(text) >= 19 and text[19:20] == "." and text[-1] in "Zz"
            and nanos // 1_000_000_000 * 1_000_000_000 + 999_999_999 <= MAX_NS):
        if len(_SECONDS_OF_PREFIX) >= _PREFIX_CACHE_SIZE:
            _SECONDS_OF_PREFIX.clear()
        _SECONDS_OF_PREFIX[text[:19]] = nanos // 1_000_000_000
    return nanos


def _parse_rfc3339_ns(text: str) -> int:
    """The full RFC 3339 parse behind `parse_rfc3339_ns` (validates every part)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    # date() validates the calendar (month 13, Feb 30); integer math keeps every ns digit,
    # which a float of seconds since 1970 (~53 bits) could not.
    days = date(int(year), int(month), int(day)).toordinal() - _EPOCH_ORDINAL
    h, m, s = int(hour), int(minute), int(second)
    if h > 23 or m > 59 or s > 60:  # 60: a leap second, counted into the next minute
        raise ValueError(f"time of day out of range: {text!r}")
    seconds = days * 86_400 + h * 3_600 + m * 60 + s
    if not zulu:
        offset = int(off_h) * 3_600 + int(off_m) * 60
        seconds -= offset if sign == "+" else -offset
    nanos = seconds * 1_000_000_000 + (int(fraction.ljust(9, "0")) if fraction else 0)
    if not 0 <= nanos <= MAX_NS:
        # Before the epoch or past int64 ns: no venue means it, and storage could not take it.
        raise ValueError(f"time out of range: {text!r}")
    return nanos
