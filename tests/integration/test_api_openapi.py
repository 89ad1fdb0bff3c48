"""The OpenAPI document: a valid OpenAPI 3 document describing exactly the routes the app has,
the parameters each route reads, and the ranges, choices and required ones its parsers enforce."""

from __future__ import annotations

import re
from typing import Any

import flask
import pytest
from flask import Flask
from openapi_spec_validator import validate

from core.config import Settings
from core.influx import InfluxDB
from tests.support.api_routes import (
    Param,
    RecordingRequest,
    documented_params,
    get_rules,
    openapi_path,
    sample_url,
)
from tests.support.apps import app_with

pytestmark = pytest.mark.integration


@pytest.fixture
def app(settings: Settings) -> Flask:
    return app_with(key_prefix=f"{settings.key_prefix}apidoc:")


def documented(app: Flask) -> dict:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_document_is_valid_openapi_3(app: Flask) -> None:
    doc = documented(app)
    assert doc["openapi"].startswith("3.")
    validate(doc)  # raises on any violation of the OpenAPI 3 schema


def test_every_api_route_and_healthz_is_documented_and_nothing_else(app: Flask) -> None:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api") or rule.rule == "/healthz":
            # Flask's <name> placeholders are OpenAPI's {name}.
            routes.add(re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule))
    assert "/api/history" in routes and "/healthz" in routes
    assert set(documented(app)["paths"]) == routes


def test_each_operation_documents_the_methods_and_answers_the_app_has(app: Flask) -> None:
    doc = documented(app)
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/api") or rule.rule == "/healthz"):
            continue
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        item = doc["paths"][re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)]
        assert set(item) == methods, rule.rule
        for operation in item.values():
            assert "200" in operation["responses"]
            # JSON everywhere but downloads in another format (a report's CSV).
            [(media, content)] = operation["responses"]["200"]["content"].items()
            assert content["schema"]
            assert media == ("text/csv" if rule.rule.endswith(".csv") else "application/json")


@pytest.mark.parametrize(("path", "params"), [
    ("/api/quotes", {"symbol"}),
    ("/api/opportunities", {"symbol", "exchange", "quote", "min_net_pct", "limit"}),
    ("/api/opportunities/history", {"symbol", "start", "end", "limit"}),
    ("/api/history", {"symbol", "exchange", "start", "end", "resolution"}),
    ("/api/symbols", set()),
    ("/api/exchanges", set()),
])
def test_parameters_are_documented(app: Flask, path: str, params: set[str]) -> None:
    doc = documented(app)
    names = set()
    for param in doc["paths"][path]["get"].get("parameters", []):
        if "$ref" in param:
            param = doc["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        names.add(param["name"])
    assert names == params
    if path != "/api/symbols" and path != "/api/exchanges":
        assert {"400", "503"} <= set(doc["paths"][path]["get"]["responses"])


def test_history_symbol_is_documented_as_required(app: Flask) -> None:
    doc = documented(app)
    refs = [p["$ref"] for p in doc["paths"]["/api/history"]["get"]["parameters"] if "$ref" in p]
    symbol = doc["components"]["parameters"][refs[0].rsplit("/", 1)[1]]
    assert symbol["name"] == "symbol" and symbol["required"] is True


def _reads(app: Flask, url: str, query: dict[str, str]) -> set[str]:
    """The query keys the view behind `url` read, asked with `query`."""
    app.request_class = RecordingRequest
    with app.test_client() as client:
        response = client.get(url, query_string=query)
        assert response.status_code < 500, (url, response.data[:300])
        return flask.request.args.read  # type: ignore[attr-defined]


def _required_examples(params: list[Param]) -> dict[str, str]:
    """A valid value for each required query parameter, from its documented example."""
    return {p.name: str(p.schema["example"]) for p in params if p.where == "query" and p.required}


def test_every_route_reads_exactly_the_parameters_it_documents(
    app: Flask, influx: InfluxDB
) -> None:
    doc = documented(app)
    for rule in get_rules(app):
        params = documented_params(doc, rule.rule)
        # Undocumented routes (pages, /metrics, /ws, static files) must read no query at all.
        documented_query = {p.name for p in params if p.where == "query"}
        assert _reads(app, sample_url(rule), _required_examples(params)) == documented_query, (
            rule.rule)
        if openapi_path(rule.rule) in doc["paths"]:
            assert {p.name for p in params if p.where == "path"} == set(rule.arguments), rule.rule


def _in_and_out_of_range(schema: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Values a parameter's documented schema allows, and values just outside it."""
    if "enum" in schema:
        return [str(v) for v in schema["enum"]], ["nope", str(schema["enum"][0]).upper() + "x"]
    if "minimum" not in schema:
        return [], []
    lo, hi = schema["minimum"], schema["maximum"]
    step = 1 if schema["type"] == "integer" else 0.000001
    inside = [str(lo), str(hi), str(schema.get("default", lo))]
    return inside, [str(lo - step), str(hi + step)]


def test_documented_ranges_choices_and_required_are_the_ones_enforced(
    app: Flask, influx: InfluxDB
) -> None:
    doc = documented(app)
    client = app.test_client()
    checked = 0
    for rule in get_rules(app):
        params = documented_params(doc, rule.rule)
        base = _required_examples(params)
        for param in (p for p in params if p.where == "query"):
            inside, outside = _in_and_out_of_range(param.schema)
            for value in inside:
                response = client.get(sample_url(rule), query_string={**base, param.name: value})
                error = (response.get_json(silent=True) or {}).get("error", "")
                assert not (response.status_code == 400 and param.name in error), (
                    rule.rule, param.name, value, error)
            for value in outside:
                response = client.get(sample_url(rule), query_string={**base, param.name: value})
                assert response.status_code == 400, (rule.rule, param.name, value)
                assert param.name in response.get_json()["error"], (rule.rule, param.name, value)
            checked += len(inside) + len(outside)
            if param.required:
                response = client.get(sample_url(rule),
                                      query_string={k: v for k, v in base.items()
                                                    if k != param.name})
                assert response.status_code == 400 and param.name in response.get_json()["error"]
    assert checked >= 30  # limit ×4 routes, min_net_pct ×2, resolution: the table is not empty
