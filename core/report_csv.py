"""A report as CSV, with text cells escaped so no spreadsheet reads them as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

COLUMNS = (
    "section", "symbol", "buy_exchange", "sell_exchange", "exchange", "opportunities",
    "total_duration_s", "median_duration_s", "peak_net_pct", "mean_net_pct", "total_profit",
    "uptime_pct", "connects", "reconnects", "quotes", "active_minutes_pct",
    "mean_quote_interval_s", "messages", "mean_quote_age_s",
)
# Spreadsheets start a formula (or a DDE call) at these; OWASP's "CSV injection" list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """`value`, behind a single quote when it starts like a formula (`=HYPERLINK(...)`)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value: Any) -> Any:
    """One CSV cell: numbers as numbers, text (names from venues) escaped, None empty."""
    if value is None:
        return ""
    # Numbers the report computed are written by csv as digits: -0.5 is a number, not a formula.
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return round(value, 6)
    return text_cell(str(value))


def to_csv(report: Mapping[str, Any]) -> str:
    """CSV with COLUMNS: a `pair` row per symbol and venue pair, then a `venue` row each."""
    out = io.StringIO()
    # CRLF, as RFC 4180 has it: csv quotes a cell holding any character of the line terminator,
    # so with "\n" alone a CR in a venue's name would go out bare and split its row.
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for section, rows in (("pair", report["pairs"]), ("venue", report["venues"])):
        for row in rows:
            writer.writerow({"section": section, **{k: cell(v) for k, v in row.items()}})
    return out.getvalue()
