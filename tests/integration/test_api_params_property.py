"""No query string or path gives a 5xx, on any route: every route of the app's url_map (a new one
is covered by itself) gets every parameter the OpenAPI document lists for it, plus the other
routes' ones, with numbers in every spelling Python accepts, huge and tiny exponents, unicode,
repeated keys and empty values; API errors are JSON `{"error": ...}`. In-process over WSGI, with
the real Redis and InfluxDB (this run's prefix and database) behind the app.

The web app has no authenticated route today (README, Security); one added later goes into
AUTH_HEADERS with its credentials, so the parameters behind its login are reached too."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule

from core.config import Settings, get_settings
from core.influx import InfluxDB
from core.state import RedisState
from core.types import Quote
from tests.support.api_routes import (
    SAMPLE_PATH_VALUES,
    Param,
    documented_params,
    get_rules,
    openapi_path,
    sample_url,
)
from tests.support.apps import app_with
from tests.support.stores import store_report_alone
from web import openapi

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 100  # per route: the whole file stays well inside a minute
# rule -> request headers that log in (e.g. Authorization); empty: no route needs any.
AUTH_HEADERS: dict[str, dict[str, str]] = {}

# Built at import, so the routes can parametrize the tests; nothing is stored until a fixture runs.
PREFIX = f"{get_settings().key_prefix}params:"
# A view's exception becomes the 500 a client would get (and the message below shows the request).
APP = app_with(flask={"PROPAGATE_EXCEPTIONS": False}, key_prefix=PREFIX)
DOC = openapi.document()
RULES = get_rules(APP)
PARAMS = {rule.rule: documented_params(DOC, rule.rule) for rule in RULES}
# Every route also gets the keys of all the others: one that reads an undocumented key meets it.
ALL_QUERY = sorted({p.name for ps in PARAMS.values() for p in ps if p.where == "query"})
REPORT_ID = "daily-2026-11-24"
HOSTILE = "=HYPERLINK(\"http://x.invalid\",\"y\")"

# Spellings Python's int(), float(), Decimal() or fromisoformat() accept or nearly accept.
SPECIAL = [
    "nan", "NaN", "-nan", "snan", "sNaN", "inf", "-inf", "+inf", "Infinity", "-infinity",
    "1e999", "-1e999", "1e309", "1e-400", "-1e-400", "1E+999999999", "1e-999999999",
    "1e999999999999999999", "1e9999999999999999999999", "9" * 400, "9" * 5000,
    "0." + "0" * 500 + "1",
    "0x10", "0o17", "0b101", "1_000", "1_0.5", "1__0", "_1", "１２", "١٢", "١٢.٥", "१२", "𝟏𝟐", "²",
    "½", "Ⅻ", "1e", "e5", ".", "-", "+", "--1", "+-1", "1..2", "1.2.3", "0e0", "-0", "+0", ".5",
    "5.", "1.7e9", "1767225600", "1767225600.123456789123", "4102444800.000000001",
    "946684799.999999999", "2026-11-24", "2026-11-24T03:00:00Z", "20261124", "2026-W48-2",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2026-11-24T03:00:00+24:00",
    "2026-02-30", "2026-11-24T03:00:00.1234567Z", "٢٠٢٦-١١-٢٤", "hourly-2026-11-24T03",
    "daily-0000-01-01", "hourly-9999-12-31T23", "daily-2263-01-01", "daily-1677-09-21",
]
HOSTILE_TEXT = [
    "'", '"', "\\", "\x00", "\x7f", "%", "%ff", "%00", "\u202eRTL", "\u200b", "\ufeff1",
    "\U0001f680", "K", "ß", "ǅ", "İ", "<svg onload=alert(1)>-USD", HOSTILE, "a" * 101,
    "BTC-USD", "btc-usd", "BTC-USD ", "kraken", "KRAKEN", "\u212araken", "USD", "1m", "1h", "raw",
]
BLANKS = ["", " ", "\t", " \n "]
DIGITS = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "०१२३४५६७८९", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"]


def _spell_int(n: int, style: str) -> str:
    """`n` the ways Python's int() and literals write it."""
    if style == "underscores":
        return f"{n:_}"
    if style == "hex":
        return hex(n)
    if style == "padded":
        return f"  {n:+08d}\t"
    return str(n)


def _other_digits(text: str, digits: str) -> str:
    return text.translate(str.maketrans("0123456789", digits))


decimals = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-", "+"]),
    st.sampled_from(["", "0", "1", "100", "1000"]) | st.integers(0, 10**20).map(str),
    st.sampled_from(["", ".", ".5", ".000001"]) | st.integers(0, 10**9).map(lambda n: f".{n}"),
    st.sampled_from(["", "e0", "e-1", "E+3"])
    | st.integers(-(10**20), 10**20).map(lambda e: f"e{e:+d}"),
)
# Exponents around and far past float's range (1e308), int()'s digit limit and Decimal's (1e999999).
extremes = st.builds(
    lambda mantissa, sign, exp: f"{mantissa}{sign}{exp}",
    st.sampled_from(["1e", "9.99e", "-1e", "0.1E", "1"]),
    st.sampled_from(["", "+", "-"]),
    st.sampled_from([308, 309, 400, 4300, 999999, 1000000, 999999999, 10**18, 10**30])
    | st.integers(300, 10**20),
)
numbers = st.one_of(
    st.sampled_from(SPECIAL),
    decimals,
    st.builds(_spell_int, st.integers(-(10**30), 10**30),
              st.sampled_from(["plain", "underscores", "hex", "padded"])),
    st.floats().map(repr),
    st.floats(allow_nan=False).map(lambda f: f"{f:e}"),
    st.builds(_other_digits, decimals, st.sampled_from(DIGITS)),
)
times = st.builds(
    lambda moment, tz, sep: moment.replace(tzinfo=tz).isoformat(sep=sep),
    st.datetimes(),
    st.none() | st.timedeltas(timedelta(hours=-23, minutes=-59), timedelta(hours=23, minutes=59))
    .map(timezone),
    st.sampled_from(["T", " "]),
)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)  # Cs: not UTF-8 at all
anything = st.one_of(numbers, numbers, extremes, times, texts,
                     st.sampled_from(HOSTILE_TEXT + BLANKS))


def _valid(param: Param) -> list[str]:
    """Values the document says `param` takes, so the deeper code paths are reached too."""
    schema = param.schema
    values = [schema[k] for k in ("example", "default", "minimum", "maximum") if k in schema]
    return [str(v) for v in values + list(schema.get("enum", []))]


def _values(param: Param | None) -> st.SearchStrategy[list[str]]:
    """The values one key gets: none, a valid one (mostly, when required), or 1-3 of anything."""
    some = st.lists(anything, min_size=1, max_size=3)
    if param is None:  # another route's key: this route must not care
        return st.just([]) | some
    valid = st.sampled_from(_valid(param) or [""]).map(lambda v: [v])
    if param.required:
        return st.one_of(valid, valid, some)
    return st.one_of(st.just([]), valid, some, some)


# Fragments the client could not produce from text: bytes that are not UTF-8, keys without `=`.
RAW_TAILS = ["", "", "", "&%ff=1", "&limit=%ff%fe", "&symbol=%C0%AF", "&&", "&=", "&=x",
             "&start", "&end=", "&limit=1&limit=", "&symbol=%00"]


def _query(rule: Rule) -> st.SearchStrategy[str]:
    """A query string: each key absent, once or repeated (see _values); a raw tail."""
    documented = {p.name: p for p in PARAMS[rule.rule] if p.where == "query"}
    keys = {name: _values(documented.get(name)) for name in ALL_QUERY}
    return st.builds(
        lambda chosen, tail: _encode((k, v) for k, vs in chosen.items() for v in vs) + tail,
        st.fixed_dictionaries(keys), st.sampled_from(RAW_TAILS),
    )


def _path_value(name: str) -> st.SearchStrategy[str]:
    report_ids = st.builds(
        lambda period, y, m, d, h: f"{period}-{y:04d}-{m:02d}-{d:02d}" + (
            f"T{h:02d}" if period == "hourly" else ""),
        st.sampled_from(["hourly", "daily"]), st.integers(0, 9999),
        st.integers(1, 12) | st.integers(0, 99), st.integers(1, 28) | st.integers(0, 99),
        st.integers(0, 23) | st.integers(0, 99),
    )
    if name == "rid":  # the stored report, near misses, nonsense
        return st.one_of(st.just(REPORT_ID), report_ids, anything)
    return st.sampled_from(list(SAMPLE_PATH_VALUES.values())) | anything


def _encode(pairs: Iterable[tuple[str, str]]) -> str:
    """A query string of `pairs`, every byte outside [A-Za-z0-9_.-~] percent-encoded."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _is_api(rule: Rule) -> bool:
    return openapi_path(rule.rule) in DOC["paths"]


def _check(rule: Rule, url: str, query: str) -> int:
    """One request: never a 5xx; an API error is `{"error": "<text>"}` served as JSON."""
    response = APP.test_client().get(url, query_string=query,
                                     headers=AUTH_HEADERS.get(rule.rule, {}))
    what = f"GET {url}?{query} -> {response.status_code}: {response.data[:300]!r}"
    assert response.status_code < 500, what
    if not _is_api(rule):
        return response.status_code
    if response.status_code >= 400:
        assert response.mimetype == "application/json", what
        body = response.get_json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str), what
        assert body["error"].strip(), what
    elif response.mimetype == "application/json":
        json.loads(response.data)
    return response.status_code


@pytest.fixture(scope="module", autouse=True)
def stored(settings: Settings, influx: InfluxDB) -> Iterator[None]:
    """A fresh quote (so symbols are known and history is queried) and a report in Redis whose
    names are formulas (so the CSV download renders hostile cells)."""
    state = RedisState.from_url(settings.redis_url, PREFIX)
    now = time.time_ns()
    state.update_quotes([Quote("kraken", "BTC-USD", 100.0, 1.0, 101.0, 1.0, None, now, now)])
    pair = {"symbol": HOSTILE, "buy_exchange": "+kraken", "sell_exchange": "@bitstamp",
            "opportunities": 1, "total_duration_s": 1.0, "median_duration_s": 1.0,
            "peak_net_pct": -0.5, "mean_net_pct": -0.5, "total_profit": 0.0}
    store_report_alone(state, REPORT_ID, {
        "id": REPORT_ID, "period": "daily", "start": "2026-11-24T00:00:00Z",
        "end": "2026-11-25T00:00:00Z", "pairs": [pair], "venues": [], "best_pairs": [pair]})
    yield
    state.clear()


@pytest.mark.parametrize("rule", RULES, ids=[r.rule for r in RULES])
def test_every_parameter_of_every_route_takes_every_special_spelling(rule: Rule) -> None:
    """The fixed table: each special value in each of the route's parameters (the others valid)
    and in each path parameter; the 5xx found by hand are in it, so no seed can miss them."""
    params = PARAMS[rule.rule]
    valid = {p.name: _valid(p)[0] for p in params if p.where == "query" and p.required}
    for value in SPECIAL + HOSTILE_TEXT + BLANKS:
        for param in params:
            if param.where == "query":
                _check(rule, sample_url(rule), _encode({**valid, param.name: value}.items()))
        for name in rule.arguments:
            _check(rule, sample_url(rule, {name: value}), _encode(valid.items()))


@pytest.mark.parametrize("rule", RULES, ids=[r.rule for r in RULES])
# No shrinking: each failure's message shows the whole request, and shrinking one over real
# services takes minutes.
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_query_string_or_path_gives_a_5xx(rule: Rule, data: st.DataObject) -> None:
    values = {name: data.draw(_path_value(name), label=name) for name in rule.arguments}
    status = _check(rule, sample_url(rule, values), data.draw(_query(rule), label="query"))
    event(f"status {status}")  # --hypothesis-show-statistics: how often each route got past 400
