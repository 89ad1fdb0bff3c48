"""InfluxDB line protocol, escaped as the protocol requires: every point this project writes is
built here, into the measurements core/measurements.py names."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from core.measurements import FEED_EVENTS, FEED_STATS, OPPORTUNITIES, QUOTES, REPORTS
from core.types import Quote

# InfluxDB 1.x caps a string field at 64 KB; bigger reports are stored zlib-compressed.
MAX_PLAIN_FIELD = 60_000

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
        prefix = (f"{escape_measurement(QUOTES)},exchange={escape_tag(exchange)},"
                  f"symbol={escape_tag(symbol)} ")
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


def opportunity_line(record: Mapping[str, Any]) -> str:
    """A closed opportunity as one `opportunities` point, stamped at its opening time."""
    duration_s = max(0.0, (record["closed_ns"] - record["opened_ns"]) / 1e9)
    return make_line(
        OPPORTUNITIES,
        {
            "symbol": str(record["symbol"]),
            "buy_exchange": str(record["buy_exchange"]),
            "sell_exchange": str(record["sell_exchange"]),
        },
        {
            "peak_net_pct": float(record["peak_net_pct"]),
            "mean_net_pct": float(record["mean_net_pct"]),
            "duration_s": duration_s,
            "max_size": float(record["max_size"]),
            "max_profit": float(record["max_profit"]),
        },
        int(record["opened_ns"]),
    )


def feed_event_line(event: Mapping[str, Any]) -> str:
    """A feed event (connect, disconnect, gap...) as one `feed_events` point."""
    return make_line(
        FEED_EVENTS,
        {"exchange": str(event["exchange"]), "event": str(event["event"])},
        {"reason": str(event.get("reason", "")), "count": int(event.get("count", 1))},
        int(event["ts_ns"]),
    )


def feed_stats_line(record: Mapping[str, Any]) -> str:
    """A minute of a venue's feed (messages, quotes, mean quote age) as a `feed_stats` point."""
    return make_line(
        FEED_STATS,
        {"exchange": str(record["exchange"])},
        {"messages": int(record["messages"]), "quotes": int(record["quotes"]),
         "mean_quote_age_s": (None if record.get("mean_quote_age_s") is None
                              else float(record["mean_quote_age_s"])),
         "samples": int(record.get("samples", 0))},
        int(record["ts_ns"]),
    )


def report_line(report_id: str, period: str, text: str, start_ns: int) -> str:
    """A report's JSON `text` as one `reports` point at its start, tagged by period, so writing
    the same period again overwrites it."""
    fields: dict[str, str | int] = {"id": report_id}
    if len(text.encode()) <= MAX_PLAIN_FIELD:
        fields["report"] = text
    else:
        fields["report_z"] = base64.b64encode(zlib.compress(text.encode(), 9)).decode()
    return make_line(REPORTS, {"period": period}, fields, start_ns)


REPORT_FIELDS = ("report", "report_z")


def report_text(point: Mapping[str, Any]) -> str | bytes | None:
    """The JSON a `reports` point holds (its REPORT_FIELDS read back), None when it has neither."""
    if point.get("report"):
        return str(point["report"])
    if point.get("report_z"):
        return zlib.decompress(base64.b64decode(point["report_z"]))
    return None
