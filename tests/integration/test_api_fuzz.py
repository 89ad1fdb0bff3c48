"""The JSON API fuzzed with schemathesis from its own `/api/openapi.json`, in-process over WSGI,
with the real Redis and InfluxDB (this run's prefix and database) behind it: no generated
request, valid or not, gets a 5xx; every error is JSON with a message; answers match the schema."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.config import Settings, get_settings
from core.influx import InfluxDB
from core.state import RedisState
from core.types import Quote
from tests.support.apps import app_with
from web.security import DATA_CSP

pytestmark = pytest.mark.integration

# Hypothesis examples per operation, on top of schemathesis's coverage phase (edge values and
# other methods for every parameter): about 1,200 requests over 14 operations in 10-15 s.
MAX_EXAMPLES = 100


# Built at import: schemathesis makes one test per operation at collection time. Nothing here
# touches Redis or InfluxDB until a request does.
PREFIX = f"{get_settings().key_prefix}fuzz:"
APP = app_with(key_prefix=PREFIX)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def market(settings: Settings, influx: InfluxDB) -> Iterator[None]:
    """One real market in Redis, so the known-symbol paths (Redis reads, InfluxDB queries) are
    reached too, and this run's InfluxDB database exists."""
    state = RedisState.from_url(settings.redis_url, PREFIX)
    now = time.time_ns()
    state.update_quotes([Quote("kraken", "BTC-USD", 100.0, 1.0, 101.0, 1.0, None, now, now)])
    yield
    state.clear()


@schemathesis.check
def has_security_headers(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Whatever was asked, the answer carries a CSP (the allow-nothing one on JSON) and nosniff;
    Flask's automatic OPTIONS answer is empty text/html and gets the page policy."""
    headers = {k.lower(): v[0] for k, v in response.headers.items()}
    assert headers.get("content-security-policy"), headers
    if headers.get("content-type", "").startswith("application/json"):
        assert headers["content-security-policy"] == DATA_CSP, headers
    assert headers.get("x-content-type-options") == "nosniff", headers
    return True


@schemathesis.check
def error_is_json_with_message(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx/5xx is `{"error": "<non-empty text>"}` served as application/json."""
    if response.status_code < 400:
        return None
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    assert media == "application/json", f"{response.status_code} answered as {media!r}"
    body = response.json()
    assert isinstance(body, dict), f"error body is not an object: {body!r}"
    message = body.get("error")
    assert isinstance(message, str) and message.strip(), f"error without a message: {body!r}"
    return True


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_api_never_fails_and_errors_are_json(case: Case) -> None:
    case.call_and_validate(checks=[
        not_a_server_error, error_is_json_with_message, has_security_headers,
        status_code_conformance,
        content_type_conformance, response_schema_conformance,
    ])
