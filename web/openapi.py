"""The OpenAPI 3 document of the JSON API and /healthz, served at `GET /api/openapi.json`.

Parameter bounds and defaults come from the parsers (web.params) and the history limits, so the
document cannot disagree with what the API accepts; the component schemas are in
web.openapi_schemas.
"""

from __future__ import annotations

import copy
from typing import Any

from core.history import MAX_POINTS_PER_SERIES, RESOLUTIONS
from web.openapi_schemas import INT, NUM, SCHEMAS, TIME_DESC, bounded, obj, ref, wrapped
from web.params import (
    ALERT_LIMIT,
    CLOSED_LIMIT,
    OPEN_LIMIT,
    OPEN_MIN_NET_PCT,
    TRIANGLE_LIMIT,
    TRIANGLE_MIN_NET_PCT,
)

_PARAMS: dict[str, Any] = {
    "symbol": {"name": "symbol", "in": "query", "required": False,
               "description": "Normalized symbol BASE-QUOTE, e.g. BTC-USD.",
               "schema": {"type": "string", "example": "BTC-USD"}},
    "symbolRequired": {"name": "symbol", "in": "query", "required": True,
                       "description": "Normalized symbol BASE-QUOTE, e.g. BTC-USD.",
                       "schema": {"type": "string", "example": "BTC-USD"}},
    "exchange": {"name": "exchange", "in": "query", "required": False,
                 "description": "Venue name, e.g. kraken.",
                 "schema": {"type": "string", "pattern": "^[a-z0-9_-]{1,32}$"}},
    "start": {"name": "start", "in": "query", "required": False,
              "description": TIME_DESC + " Default: end − 1 h.", "schema": {"type": "string"}},
    "end": {"name": "end", "in": "query", "required": False,
            "description": TIME_DESC + " Default: now.", "schema": {"type": "string"}},
}


def _param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _response(description: str, schema: str | dict[str, Any]) -> dict[str, Any]:
    body = ref(schema) if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": body}}}


_BAD = _response("A query parameter is missing or malformed.", "Error")
_UNKNOWN = _response("The symbol is not known to the tracker.", "Error")
_DOWN = _response("A backing service (Redis or InfluxDB) is unavailable.", "Error")
_REPORT_ID = {"name": "rid", "in": "path", "required": True,
              "description": "`hourly-2026-11-24T03` or `daily-2026-11-24`: a real hour or day "
                             "from 1677-09-22 to 2262-04-11 (what InfluxDB can store).",
              "schema": {"type": "string"}}

_PATHS: dict[str, Any] = {
    "/api/quotes": {"get": {
        "operationId": "listQuotes",
        "summary": "Latest quote per exchange and symbol, with age and a stale flag.",
        "parameters": [_param("symbol")],
        "responses": {"200": _response("Quotes.", wrapped("quotes", "Quote")),
                      "400": _BAD, "404": _UNKNOWN, "503": _DOWN},
    }},
    "/api/opportunities": {"get": {
        "operationId": "listOpportunities",
        "summary": "Open arbitrage opportunities, best net % first.",
        "parameters": [
            _param("symbol"),
            {**_PARAMS["exchange"], "description": "Only those buying or selling on this venue."},
            {"name": "quote", "in": "query", "required": False,
             "description": "Quote currency of the symbol, e.g. USD or USDT.",
             "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{1,16}$"}},
            {"name": "min_net_pct", "in": "query", "required": False,
             "description": "Only those with net_pct at least this (percent).",
             "schema": bounded(OPEN_MIN_NET_PCT)},
            {"name": "limit", "in": "query", "required": False, "schema": bounded(OPEN_LIMIT)},
        ],
        "responses": {
            "200": _response("Open opportunities.", wrapped("opportunities", "Opportunity")),
            "400": _BAD, "404": _UNKNOWN, "503": _DOWN,
        },
    }},
    "/api/opportunities/history": {"get": {
        "operationId": "listClosedOpportunities",
        "summary": "Closed opportunities from InfluxDB, newest first.",
        "parameters": [
            _param("symbol"), _param("start"), _param("end"),
            {"name": "limit", "in": "query", "required": False, "schema": bounded(CLOSED_LIMIT)},
        ],
        "responses": {
            "200": _response("Closed opportunities.",
                             wrapped("opportunities", "ClosedOpportunity")),
            "400": _BAD, "404": _UNKNOWN, "503": _DOWN,
        },
    }},
    "/api/opportunities/stats": {"get": {
        "operationId": "opportunityStats",
        "summary": "Closed opportunities per venue pair: count, duration distribution, profit.",
        "description": "From the InfluxDB `opportunities` points stamped in [start, end); most "
                       "frequent pair first.",
        "parameters": [_param("symbol"), _param("start"), _param("end")],
        "responses": {
            "200": _response("Stats per venue pair.", obj({
                "start_ns": INT, "end_ns": INT,
                "symbol": {"type": "string", "nullable": True},
                "duration_edges_s": {"type": "array", "items": NUM,
                                     "description": "Upper bucket edges, seconds."},
                "pairs": {"type": "array", "items": ref("PairStats")},
            })),
            "400": _BAD, "404": _UNKNOWN, "503": _DOWN,
        },
    }},
    "/api/triangles": {"get": {
        "operationId": "listTriangles",
        "summary": "Triangular arbitrage: profitable cycles within one venue, best net % first.",
        "description": "Found every second as negative cycles (Bellman-Ford on −log rates) "
                       "among each venue's fresh quotes; computed_ns is null when no scan ran "
                       "in the last 30 s.",
        "parameters": [
            {**_PARAMS["exchange"], "description": "Only cycles on this venue."},
            {"name": "min_net_pct", "in": "query", "required": False,
             "description": "Only those with net_pct at least this (percent).",
             "schema": bounded(TRIANGLE_MIN_NET_PCT)},
            {"name": "limit", "in": "query", "required": False,
             "schema": bounded(TRIANGLE_LIMIT)},
        ],
        "responses": {
            "200": _response("Cycles.", obj({
                "triangles": {"type": "array", "items": ref("Triangle")},
                "computed_ns": {"type": "integer", "nullable": True},
            })),
            "400": _BAD, "503": _DOWN,
        },
    }},
    "/api/history": {"get": {
        "operationId": "priceHistory",
        "summary": "Bid/ask history per exchange from InfluxDB, raw or as 1 m / 1 h means.",
        "description": f"At most {MAX_POINTS_PER_SERIES} points per exchange; the newest are "
                       "kept when the range holds more.",
        "parameters": [
            _param("symbolRequired"), _param("exchange"), _param("start"), _param("end"),
            {"name": "resolution", "in": "query", "required": False,
             "schema": {"type": "string", "enum": list(RESOLUTIONS), "default": "raw"}},
        ],
        "responses": {"200": _response("Price series.", "History"),
                      "400": _BAD, "404": _UNKNOWN, "503": _DOWN},
    }},
    "/api/symbols": {"get": {
        "operationId": "listSymbols",
        "summary": "Followed symbols, the venues listing them and their mid-price change.",
        "responses": {"200": _response("Symbols.", wrapped("symbols", "Symbol")),
                      "503": _DOWN},
    }},
    "/api/exchanges": {"get": {
        "operationId": "listExchanges",
        "summary": "Configured venues with taker fee, feed status and message rate.",
        "responses": {"200": _response("Exchanges.", wrapped("exchanges", "Exchange")),
                      "503": _DOWN},
    }},
    "/api/fees": {"get": {
        "operationId": "listFees",
        "summary": "Per configured venue: taker fee, tiers by 30-day volume, withdrawal fees.",
        "description": "Taker fee precedence: TAKER_FEES override > the fees file's tier for "
                       "FEE_VOLUME_30D > the adapter's base tier > a conservative unknown-venue "
                       "fee. Fees are fractions (0.001 = 0.1 %); withdrawal fees are amounts of "
                       "the asset.",
        "responses": {"200": _response("Fees by venue.", obj({"venues": {
            "type": "object", "additionalProperties": obj({
                "taker": NUM,
                "taker_source": {"type": "string",
                                 "enum": ["override", "tier", "default", "unknown"]},
                "volume_30d": {"type": "number", "description": "USD, from FEE_VOLUME_30D."},
                "tiers": {"type": "array", "items": obj({"min_volume": NUM, "taker": NUM})},
                "withdrawal": {"type": "object", "additionalProperties": NUM,
                               "description": "Fee per asset code, in units of that asset."},
            }),
        }}))},
    }},
    "/api/reports": {"get": {
        "operationId": "listReports",
        "summary": "Recent hourly and daily reports, newest first (summaries).",
        "responses": {"200": _response("Reports.", wrapped("reports", "ReportSummary")),
                      "503": _DOWN},
    }},
    "/api/reports/{rid}.json": {"get": {
        "operationId": "getReportJson",
        "summary": "One report as JSON: pairs, venues and best pairs of its period.",
        "parameters": [_REPORT_ID],
        "responses": {"200": _response("The report.", {"type": "object"}),
                      "400": _BAD, "404": _response("No such report.", "Error"),
                      "503": _DOWN},
    }},
    "/api/reports/{rid}.csv": {"get": {
        "operationId": "getReportCsv",
        "summary": "One report as CSV: a `pair` row per symbol and venue pair, then `venue` rows.",
        "parameters": [_REPORT_ID],
        "responses": {"200": {"description": "The report as CSV.",
                              "content": {"text/csv": {"schema": {"type": "string"}}}},
                      "400": _BAD, "404": _response("No such report.", "Error"),
                      "503": _DOWN},
    }},
    "/api/alerts": {"get": {
        "operationId": "listAlertDeliveries",
        "summary": "Webhook alert delivery attempts, newest first, and the alert settings.",
        "description": "One entry per POST to ALERT_WEBHOOK_URL (the URL itself is never shown); "
                       "the newest 1000 attempts are kept.",
        "parameters": [
            {"name": "limit", "in": "query", "required": False, "schema": bounded(ALERT_LIMIT)},
        ],
        "responses": {
            "200": _response("Deliveries.", obj({
                "deliveries": {"type": "array", "items": ref("AlertDelivery")},
                "settings": obj({
                    "enabled": {"type": "boolean",
                                "description": "ALERT_WEBHOOK_URL is set."},
                    "min_net_pct": {"type": "number", "description": "ALERT_MIN_NET_PCT"},
                    "cooldown_s": {"type": "number", "description": "ALERT_COOLDOWN_S"},
                    "format": {"type": "string", "enum": ["json", "slack"]},
                }),
            })),
            "400": _BAD, "503": _DOWN,
        },
    }},
    "/api/openapi.json": {"get": {
        "operationId": "openapi",
        "summary": "This document.",
        "responses": {"200": _response("OpenAPI 3 document.", {"type": "object"})},
    }},
    "/healthz": {"get": {
        "operationId": "health",
        "summary": "Whether Redis, RabbitMQ and InfluxDB are reachable.",
        "responses": {"200": _response("All services up.", "Health"),
                      "503": _response("At least one service is down.", "Health")},
    }},
}

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "CryptoTracker API",
        "version": "1.0.0",
        "description": "Real-time crypto quotes across venues, arbitrage opportunities and "
                       "their history. Errors are JSON {\"error\": ...}: 400 bad parameter, "
                       "404 unknown symbol, 503 backing service down. A query key may appear "
                       "once; a blank value means the parameter is not given; numbers are "
                       "ASCII decimals (no nan, inf, hex or `_`).",
    },
    "paths": _PATHS,
    "components": {"schemas": SCHEMAS, "parameters": _PARAMS},
}


def document() -> dict[str, Any]:
    """A fresh copy of the OpenAPI document (callers may not mutate the shared one)."""
    return copy.deepcopy(_DOCUMENT)
