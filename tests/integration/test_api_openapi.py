"""The OpenAPI document: a valid OpenAPI 3 document describing exactly the routes the app has."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from openapi_spec_validator import validate

from core.config import Settings
from web import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app({"TESTING": True, "KEY_PREFIX": f"{settings.key_prefix}apidoc:"})


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
