"""InfluxDB line protocol for quotes and opportunities, escaped as the protocol requires."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.types import Quote

_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\\": "\\\\", "\n": ""})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\\": "\\\\", "\n": ""})


def escape_tag(value: str) -> str:
    """Escape a tag key or value (commas, equals signs, spaces)."""
    return value.translate(_TAG_ESCAPES)


def escape_measurement(value: str) -> str:
    """Escape a measurement name (commas and spaces)."""
    return value.translate(_MEASUREMENT_ESCAPES)


def format_field(value: float | int | str | bool) -> str:
    """Render one field value: floats plain, ints with `i`, strings quoted and escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def make_line(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, float | int | str | bool | None],
    ts_ns: int,
) -> str:
    """One point as a line; None fields are left out, tags are sorted as InfluxDB prefers."""
    tag_text = "".join(
        f",{escape_tag(k)}={escape_tag(v)}" for k, v in sorted(tags.items()) if v != ""
    )
    field_text = ",".join(
        f"{escape_tag(k)}={format_field(v)}" for k, v in fields.items() if v is not None
    )
    if not field_text:
        raise ValueError(f"point in {measurement!r} has no fields")
    return f"{escape_measurement(measurement)}{tag_text} {field_text} {ts_ns}"


_SERIES: dict[tuple[str, str], str] = {}  # (exchange, symbol) → escaped `quotes,...` prefix


def _series(exchange: str, symbol: str) -> str:
    """The escaped measurement and tags of one series, built once (a hot path in storage)."""
    prefix = _SERIES.get((exchange, symbol))
    if prefix is None:
        if len(_SERIES) > 100_000:  # bounded against hostile series names
            _SERIES.clear()
        prefix = f"quotes,exchange={escape_tag(exchange)},symbol={escape_tag(symbol)} "
        _SERIES[(exchange, symbol)] = prefix
    return prefix


def quote_line(quote: Quote) -> str:
    """A quote as a `quotes` point at the exchange's time when sent, else receipt time."""
    last = "" if quote.last is None else f",last={float(quote.last)!r}"
    return (
        f"{_series(quote.exchange, quote.symbol)}"
        f"bid={float(quote.bid)!r},ask={float(quote.ask)!r},"
        f"bid_size={float(quote.bid_size)!r},ask_size={float(quote.ask_size)!r}{last} "
        f"{quote.ts_ns}"
    )


def quote_lines(quotes: Iterable[Quote]) -> str:
    """A batch of quotes as newline-separated lines."""
    return "\n".join(quote_line(q) for q in quotes)
