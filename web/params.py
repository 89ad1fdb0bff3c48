"""Every query and path parameter of the web app, parsed by one set of rules.

The rules (also in the README, under "Dashboard, API and live updates"):

- A key may appear once: `?limit=5&limit=9` is a 400, since either reading could be wrong.
- Spaces, tabs and newlines around a value are dropped; a value that is then empty means the
  parameter was not given (its default, or a 400 when it is required). Unknown keys are ignored.
- A value has at most MAX_VALUE_CHARS characters.
- Whole numbers: an optional sign and ASCII digits. Not `1_000`, `1e3`, `1.0`, `0x10`, nor digits
  of other scripts (`١٢`, `１２`), all of which Python's int() or float() would take.
- Numbers: an optional sign, ASCII digits, an optional fraction and exponent (`-0.5`, `.5`, `2.`,
  `1e-3`). Not `nan`, `inf`, `infinity`, `_`, hex, nor other scripts' digits. The range check is
  exact (Decimal) and comes before any float: `1e999` is out of range rather than infinity, and
  `1e-400`, inside the range, reads as 0.0 as float() would.
- Times: such a number of unix seconds, or ASCII ISO 8601 (no zone means UTC), from 2000-01-01
  to 2100-01-01.
- Errors are BadRequest (a JSON 400 `{"error": ...}`) naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from flask import request

from core import reports
from core.history import MAX_OPPORTUNITIES
from core.stores.alerts import MAX_DELIVERIES
from core.symbols import split_symbol

# Times outside this span are typing mistakes (ms instead of s, a year dropped), not queries.
MIN_TIME_S = 946_684_800.0  # 2000-01-01T00:00:00Z
MAX_TIME_S = 4_102_444_800.0  # 2100-01-01T00:00:00Z
_MIN_TIME, _MAX_TIME = Decimal(MIN_TIME_S), Decimal(MAX_TIME_S)
_TIME_SPAN = "between 2000-01-01 and 2100-01-01"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_SPAN_S = 3600.0
# A year and a bit: longer ranges only make InfluxDB work for points no chart can show.
MAX_SPAN_S = 400 * 86400.0
MAX_VALUE_CHARS = 100
MAX_SYMBOL_CHARS = 64
_INT64_MAX = 2**63 - 1

_BLANK = " \t\r\n\x0b\x0c"
# [0-9], not \d: \d also matches the digits of every other script.
_INT = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_EXCHANGE = re.compile(r"[a-z0-9_\-]{1,32}")
_ASSET = re.compile(r"[A-Z0-9]{1,16}")


class BadRequest(ValueError):
    """A parameter has a value the API cannot use (answered with 400)."""


@dataclass(frozen=True)
class IntRange:
    """Inclusive bounds and default of a whole-number parameter (openapi.py documents them)."""

    lo: int
    hi: int
    default: int


@dataclass(frozen=True)
class NumberRange:
    """Inclusive bounds and default of a decimal parameter (openapi.py documents them)."""

    lo: float
    hi: float
    default: float


# Each parameter's range has this one owner: the views parse with it, openapi.py shows it.
OPEN_LIMIT = IntRange(1, 1000, 100)
OPEN_MIN_NET_PCT = NumberRange(-100.0, 1000.0, -100.0)
CLOSED_LIMIT = IntRange(1, MAX_OPPORTUNITIES, MAX_OPPORTUNITIES)
TRIANGLE_LIMIT = IntRange(1, 1000, 100)
TRIANGLE_MIN_NET_PCT = NumberRange(0.0, 1000.0, 0.0)
ALERT_LIMIT = IntRange(1, MAX_DELIVERIES, 100)


# raw text → value: one rule each, usable without a request
def clean(raw: str | None, name: str, max_chars: int = MAX_VALUE_CHARS) -> str | None:
    """`raw` without surrounding blanks; None when missing or blank; BadRequest when too long."""
    if raw is None:
        return None
    text = raw.strip(_BLANK)
    if len(text) > max_chars:
        raise BadRequest(f"{name} may be at most {max_chars} characters, got {len(text)}")
    return text or None


def _decimal(text: str, name: str, what: str, lo: Decimal, hi: Decimal, span: str) -> Decimal:
    """`text` (a decimal, described as `what`) as an exact Decimal within [lo, hi]."""
    if not _DECIMAL.fullmatch(text):
        raise BadRequest(f"{name} must be {what}, got {text!r}")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # an exponent beyond what Decimal holds: far out of range
        raise BadRequest(f"{name} must be {span}, got {text!r}") from exc
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be {span}, got {text!r}")
    return value


def parse_number(raw: str | None, name: str, default: float, lo: float, hi: float) -> float:
    """A decimal number within [lo, hi] as a float; `default` when not given."""
    text = clean(raw, name)
    if text is None:
        return default
    value = _decimal(text, name, "a number like 0.5 or 1e-3", Decimal(lo), Decimal(hi),
                     f"between {lo:g} and {hi:g}")
    return float(value)


def parse_int(raw: str | None, name: str, default: int, lo: int, hi: int) -> int:
    """A whole number within [lo, hi]; `default` when not given."""
    text = clean(raw, name)
    if text is None:
        return default
    if not _INT.fullmatch(text):
        raise BadRequest(f"{name} must be a whole number like 10, got {text!r}")
    value = int(text)  # at most MAX_VALUE_CHARS digits: far below int()'s 4300-digit limit
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, got {text!r}")
    return value


def parse_time(raw: str, name: str = "time") -> int:
    """Unix seconds (a decimal) or ISO 8601 (naive means UTC) as ns since the epoch."""
    text = clean(raw, name)
    if text is None:
        raise BadRequest(f"{name} is empty")
    if _DECIMAL.fullmatch(text):
        # Decimal, not float: a float of today's seconds keeps only about 0.1 µs.
        seconds = _decimal(text, name, "unix seconds", _MIN_TIME, _MAX_TIME, _TIME_SPAN)
        return int((seconds * 1_000_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))
    ns = _iso_ns(text, name)
    if not MIN_TIME_S * 1e9 <= ns <= MAX_TIME_S * 1e9:
        raise BadRequest(f"{name} must be {_TIME_SPAN}, got {text!r}")
    return ns


def _iso_ns(text: str, name: str) -> int:
    error = f"{name} must be unix seconds or ISO 8601 like 2026-11-24T03:00:00Z, got {text!r}"
    if not text.isascii():  # fromisoformat() is strict today, but say what we accept
        raise BadRequest(error)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(error) from exc
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
    end_text, start_text = clean(end, "end"), clean(start, "start")
    end_ns = parse_time(end_text, "end") if end_text else now_ns
    start_ns = (parse_time(start_text, "start") if start_text
                else end_ns - int(default_span_s * 1e9))
    if start_ns >= end_ns:
        raise BadRequest("start must be before end")
    if end_ns - start_ns > max_span_s * 1e9:
        raise BadRequest(f"start to end may span at most {max_span_s / 86400:g} days")
    return start_ns, end_ns


def parse_exchange(raw: str | None) -> str | None:
    """An exchange name (lower case letters, digits, `_`, `-`), or None when not given."""
    text = clean(raw, "exchange")
    if text is None:
        return None
    # ASCII before lower(): the Kelvin sign lower-cases to a plain k.
    name = text.lower()
    if not text.isascii() or not _EXCHANGE.fullmatch(name):
        raise BadRequest(f"exchange must be a venue name like kraken, got {text!r}")
    return name


def parse_asset(raw: str | None, name: str) -> str | None:
    """An asset code such as USD or USDT (upper-cased), or None when not given."""
    text = clean(raw, name)
    if text is None:
        return None
    code = text.upper()  # the ASCII check matters: upper() turns ß into SS
    if not text.isascii() or not _ASSET.fullmatch(code):
        raise BadRequest(f"{name} must be an asset code like USD, got {text!r}")
    return code


def parse_choice(raw: str | None, name: str, choices: Iterable[str], default: str) -> str:
    """One of `choices` (exact), `default` when not given."""
    options = list(choices)
    text = clean(raw, name)
    if text is None:
        return default
    if text not in options:
        raise BadRequest(f"{name} must be one of {', '.join(options)}, got {text!r}")
    return text


def parse_symbol(raw: str | None, known: Callable[[], Collection[str]]) -> str | None:
    """BASE-QUOTE in ASCII (upper-cased), or exactly a symbol in `known()`; None when not given."""
    text = clean(raw, "symbol", MAX_SYMBOL_CHARS)
    if text is None:
        return None
    if text.isascii():
        try:
            split_symbol(text.upper())
            return text.upper()
        except ValueError:
            pass
    # A venue may list a market whose name is not BASE-QUOTE; it is still a real symbol.
    if text in known():
        return text
    raise BadRequest(f"symbol must look like BTC-USD, got {text!r}")


def parse_report_id(raw: str) -> str:
    """A report id (`hourly-2026-11-24T03`, `daily-2026-11-24`) of a period InfluxDB can hold."""
    text = clean(raw, "rid")
    if text is None or not text.isascii():
        raise BadRequest(f"rid must be a report id like daily-2026-11-24, got {raw!r}")
    try:
        _, start = reports.parse_report_id(text)
    except ValueError as exc:  # not the shape, or no such day or hour
        raise BadRequest("rid must be hourly-YYYY-MM-DDTHH or daily-YYYY-MM-DD of a real hour or "
                         f"day, got {text!r}") from exc
    # InfluxDB keeps int64 ns: no report can start outside that, and asking is an InfluxQL error.
    if not -_INT64_MAX < reports.to_ns(start) < _INT64_MAX:
        raise BadRequest(f"rid must be a period from 1677-09-22 to 2262-04-11, got {text!r}")
    return text


# the current request's query string → value
def arg(name: str) -> str | None:
    """The query parameter `name` as given (None when absent); BadRequest when given twice."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"{name} is given {len(values)} times; give it once")
    return values[0] if values else None


def int_arg(name: str, bounds: IntRange) -> int:
    """Query parameter `name` as a whole number within `bounds`."""
    return parse_int(arg(name), name, bounds.default, bounds.lo, bounds.hi)


def number_arg(name: str, bounds: NumberRange) -> float:
    """Query parameter `name` as a decimal number within `bounds`."""
    return parse_number(arg(name), name, bounds.default, bounds.lo, bounds.hi)


def time_range_args(now_ns: int) -> tuple[int, int]:
    """`start` and `end` of the query as a ns range (see time_range)."""
    return time_range(arg("start"), arg("end"), now_ns)


def exchange_arg() -> str | None:
    """The query's `exchange`, or None."""
    return parse_exchange(arg("exchange"))


def asset_arg(name: str) -> str | None:
    """Query parameter `name` as an asset code, or None."""
    return parse_asset(arg(name), name)


def choice_arg(name: str, choices: Iterable[str], default: str) -> str:
    """Query parameter `name` as one of `choices`."""
    return parse_choice(arg(name), name, choices, default)


def symbol_arg(known: Callable[[], Collection[str]]) -> str | None:
    """The query's `symbol` (see parse_symbol), or None."""
    return parse_symbol(arg("symbol"), known)


def required_symbol_arg(known: Callable[[], Collection[str]]) -> str:
    """The query's `symbol`; BadRequest when it is not given."""
    symbol = parse_symbol(arg("symbol"), known)
    if symbol is None:
        raise BadRequest("symbol is required, like symbol=BTC-USD")
    return symbol
