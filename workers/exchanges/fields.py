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
# AttributeError covers a non-dict where `.get` is called (e.g. a numeric channel name).
SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)

# RFC 3339 date-time; re.ASCII so `\d` never accepts other scripts' digits. Digits past the
# ninth in the fraction are below 1 ns and are dropped.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


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
    return positive(float(text))


def json_number(value: Any) -> float:
    """A JSON number from the wire as a finite positive float."""
    # bool is an int subclass in Python: exact type checks keep `true` from passing as 1.0.
    if type(value) is not float and type(value) is not int:
        raise TypeError(f"expected a JSON number, got {type(value).__name__}")
    return positive(float(value))


def int_stamp(value: Any, to_ns: int) -> int:
    """An integer time (digit string or int) times `to_ns` → ns, never through a float."""
    if type(value) is not str and type(value) is not int:
        raise TypeError(f"expected an integer time, got {type(value).__name__}")
    stamp = int(value)
    if stamp <= 0:
        raise ValueError(f"not a positive timestamp: {value!r}")
    return stamp * to_ns


def parse_rfc3339_ns(text: str) -> int:
    """An RFC 3339 time (`2026-01-01T00:00:01.234567891Z`) as exact integer ns since the epoch."""
    if type(text) is not str:
        raise TypeError(f"expected an RFC 3339 string, got {type(text).__name__}")
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
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    return seconds * 1_000_000_000 + nanos
