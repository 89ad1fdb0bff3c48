"""CSV cells: text that starts like a formula gets a `'`; numbers, empty cells and other text
are written as they are."""

from __future__ import annotations

import csv
import io

import pytest

from core.report_csv import cell, text_cell, to_csv

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "-0.5", "@SUM(A1)", "\tx", "\rx", "="])
def test_text_starting_like_a_formula_is_escaped(text: str) -> None:
    assert text_cell(text) == "'" + text
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["BTC-USD", "kraken", "", "'=already", " =1", "\n=1", "1-1"])
def test_other_text_is_kept(text: str) -> None:
    assert cell(text) == text


def test_numbers_and_none() -> None:
    assert cell(-0.5) == -0.5 and cell(-3) == -3 and cell(True) is True
    assert cell(1 / 3) == 0.333333
    assert cell(None) == ""


def test_to_csv_rows() -> None:
    text = to_csv({"pairs": [{"symbol": "=X", "buy_exchange": "a", "sell_exchange": "b",
                              "mean_net_pct": -0.5}],
                   "venues": [{"exchange": "@v", "uptime_pct": None}]})
    header, pair, venue = text.split("\r\n")[:3]
    assert header.startswith("section,symbol,buy_exchange")
    assert pair.startswith("pair,'=X,a,b,,") and ",-0.5," in pair
    assert venue.startswith("venue,,,,'@v,")


def test_a_cr_or_lf_in_a_name_stays_inside_its_row() -> None:
    text = to_csv({"pairs": [], "venues": [{"exchange": "a\rb"}, {"exchange": "c\nd"}]})
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [r[4] for r in rows[1:]] == ["a\rb", "c\nd"]
