"""The OpenAPI 3 document of the JSON API and /healthz, served at `GET /api/openapi.json`."""

from __future__ import annotations

import copy
from typing import Any

from core.history import MAX_POINTS_PER_SERIES, RESOLUTIONS
from web.params import (
    ALERT_LIMIT,
    CLOSED_LIMIT,
    OPEN_LIMIT,
    OPEN_MIN_NET_PCT,
    TRIANGLE_LIMIT,
    TRIANGLE_MIN_NET_PCT,
    IntRange,
    NumberRange,
)

_NUM = {"type": "number"}
_NULL_NUM = {"type": "number", "nullable": True}
_INT = {"type": "integer"}
_STR = {"type": "string"}
_TIME_DESC = (
    "Unix seconds (a decimal fraction is allowed) or ISO 8601 such as 2026-11-24T03:00:00Z; "
    "without a zone, UTC. Between 2000-01-01 and 2100-01-01."
)


def _bounded(bounds: IntRange | NumberRange) -> dict[str, Any]:
    """The schema of a parameter with the range and default its parser uses (web.params)."""
    kind = "integer" if isinstance(bounds, IntRange) else "number"
    return {"type": kind, "minimum": bounds.lo, "maximum": bounds.hi, "default": bounds.default}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _wrapped(key: str, item: str) -> dict[str, Any]:
    """A collection wrapped in an object named after it."""
    return {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "array", "items": _ref(item)}},
    }


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required if required is not None else list(properties),
        "properties": properties,
    }


_SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": {"type": "string", "description": "What went wrong, for people."}}),
    "ReportSummary": _obj({
        "id": {"type": "string"}, "period": {"type": "string", "enum": ["hourly", "daily"]},
        "start": {"type": "string"}, "end": {"type": "string"},
        "generated_at": {"type": "string"}, "opportunities": {"type": "integer"},
        "total_profit": {"type": "number"}, "pairs": {"type": "integer"},
        "venues": {"type": "integer"}, "best_pair": {"type": "string", "nullable": True},
    }, ["id", "period", "start", "end"]),
    "Quote": _obj({
        "exchange": _STR,
        "symbol": {"type": "string", "example": "BTC-USD"},
        "bid": _NUM, "bid_size": _NUM, "ask": _NUM, "ask_size": _NUM,
        "last": _NULL_NUM,
        "ts_exchange_ns": {"type": "integer", "nullable": True,
                           "description": "The venue's own time stamp (ns), when it sends one."},
        "ts_received_ns": {"type": "integer", "description": "When the feed received it (ns)."},
        "age_s": {"type": "number", "description": "Seconds since the quote was received."},
        "stale": {"type": "boolean",
                  "description": "Older than MAX_QUOTE_AGE_S: not used for arbitrage."},
    }),
    "Opportunity": _obj({
        "symbol": _STR, "buy_exchange": _STR, "sell_exchange": _STR,
        "buy_price": _NUM, "sell_price": _NUM, "size": _NUM,
        "gross_pct": {"type": "number", "description": "100 × (bid_sell / ask_buy − 1)"},
        "net_pct": {"type": "number", "description": "Net of both venues' taker fees, percent."},
        "net_profit": _NUM,
        "opened_ns": _INT, "updated_ns": _INT,
        "peak_net_pct": _NUM, "mean_net_pct": _NUM, "samples": _INT,
        "max_size": _NUM, "max_profit": _NUM,
        "fee_buy": {"type": "number", "description": "Taker fee on the buy venue (fraction)."},
        "fee_sell": {"type": "number", "description": "Taker fee on the sell venue (fraction)."},
        "walked": {"type": "boolean",
                   "description": "size and net_profit come from walking both books."},
        "notional": {"type": "number",
                     "description": "TRADE_NOTIONAL: quote currency spent on the buy leg."},
        "notional_net_pct": {**_NULL_NUM,
                             "description": "VWAP net % for the notional; null: books too thin."},
        "notional_profit": _NULL_NUM,
        "withdrawal_fee": {**_NULL_NUM,
                           "description": "Base units to withdraw from the buy venue."},
        "transfer_net_profit": {**_NULL_NUM,
                                "description": "net_profit less the withdrawal fee's value."},
        "version": {"type": "integer", "description": "Version of the symbol snapshot used."},
        "event_ns": {"type": "integer",
                     "description": "Receive time of the newer quote it was computed from."},
    }, required=[
        "symbol", "buy_exchange", "sell_exchange", "buy_price", "sell_price", "size",
        "gross_pct", "net_pct", "net_profit", "opened_ns", "updated_ns", "peak_net_pct",
        "mean_net_pct", "samples",
    ]),
    "ClosedOpportunity": _obj({
        "time_ns": {"type": "integer", "description": "When it opened (ns)."},
        "symbol": _STR, "buy_exchange": _STR, "sell_exchange": _STR,
        "peak_net_pct": _NULL_NUM, "mean_net_pct": _NULL_NUM, "duration_s": _NULL_NUM,
        "max_size": _NULL_NUM, "max_profit": _NULL_NUM,
    }),
    "PairStats": _obj({
        "buy_exchange": _STR, "sell_exchange": _STR,
        "count": {"type": "integer", "description": "Opportunities closed in the range."},
        "duration_p50_s": {**_NULL_NUM, "description": "Median duration (nearest rank)."},
        "duration_p90_s": {**_NULL_NUM, "description": "90th percentile (nearest rank)."},
        "duration_max_s": _NULL_NUM,
        "duration_histogram": {
            "type": "array",
            "description": "Counts per duration bucket [previous edge, lt_s); the last bucket "
                           "(lt_s null) is everything at or above the last edge.",
            "items": _obj({"lt_s": _NULL_NUM, "count": _INT}),
        },
        "mean_peak_net_pct": _NULL_NUM,
        "total_profit": {"type": "object", "additionalProperties": _NUM,
                         "description": "Sum of max_profit per quote currency (USD, USDT, "
                                        "BTC...): amounts in different currencies are never "
                                        "added together."},
    }),
    "TriangleLeg": _obj({
        "symbol": _STR, "side": {"type": "string", "enum": ["buy", "sell"]},
        "price": {"type": "number", "description": "The ask when buying, the bid when selling."},
        "size": {"type": "number", "description": "Base units on offer at that price."},
        "from_ccy": _STR, "to_ccy": _STR,
    }),
    "Triangle": _obj({
        "key": {"type": "string", "example": "binance|USDT>BTC>ETH>USDT"},
        "exchange": _STR,
        "path": {"type": "array", "items": _STR, "example": ["USDT", "BTC", "ETH", "USDT"],
                 "description": "Currencies in trade order; the first is also the last."},
        "legs": {"type": "array", "items": _ref("TriangleLeg")},
        "gross_pct": {"type": "number", "description": "100 × (product of rates − 1), no fees."},
        "net_pct": {"type": "number",
                    "description": "100 × (product of rates − 1), the taker fee on every leg."},
        "fee": {"type": "number", "description": "The venue's taker fee, a fraction."},
        "max_start": {"type": "number", "description": "The most of path[0] that every leg's "
                                                        "top of book can take."},
        "max_profit": {"type": "number", "description": "Net profit in path[0] at max_start."},
        "event_ns": {"type": "integer", "description": "Receive time of the newest quote used."},
    }),
    "History": _obj({
        "symbol": _STR,
        "resolution": {"type": "string", "enum": list(RESOLUTIONS)},
        "start_ns": _INT,
        "end_ns": _INT,
        "series": {"type": "array", "items": _obj({
            "exchange": _STR,
            "points": {
                "type": "array",
                "description": "[time_ns, bid, ask], oldest first (bucket start for rollups).",
                "items": {"type": "array", "minItems": 3, "maxItems": 3,
                          "items": {"type": "number", "nullable": True}},
            },
        })},
    }),
    "Symbol": _obj({
        "symbol": _STR,
        "exchanges": {"type": "array", "items": _STR},
        "change_1h_pct": _NULL_NUM, "change_24h_pct": _NULL_NUM, "change_7d_pct": _NULL_NUM,
    }),
    "Exchange": _obj({
        "name": _STR,
        "taker_fee": {"type": "number", "description": "Fraction, 0.001 = 0.1 %."},
        "state": {"type": "string", "description": "connected, degraded, stale, unknown..."},
        "connections": _INT, "messages": _INT,
        "message_rate": {"type": "number", "nullable": True,
                         "description": "Messages per second over the last status interval; "
                                        "null until the web process has seen two reports."},
        "quotes": _INT, "reconnects": _INT, "parse_errors": _INT,
        "errors": {"type": "object", "additionalProperties": {"type": "integer"}},
        "markets": _INT,
        "last_message_age_s": _NULL_NUM,
        "lag_ms": {"type": "number", "nullable": True,
                   "description": "Receive time minus the venue's own time of the latest "
                                  "frames (the worst over the last status interval); null for "
                                  "venues that send no time."},
        "behind": {"type": "boolean", "description": "The feed is falling behind its venue: "
                                                     "lag_ms above FEED_BEHIND_S, or a resync "
                                                     "forced by dropped frames just now."},
        "resyncs": {"type": "integer", "description": "Reconnects forced by frames the venue "
                                                      "dropped: sequence gaps, checksum "
                                                      "mismatches, slow-consumer disconnects."},
        "clock_skew": {"type": "integer", "description": "Quotes whose venue time was more "
                                                         "than MAX_CLOCK_SKEW_S from receipt: "
                                                         "stored at receipt time instead."},
        "buffer": _obj({
            "batches": {"type": "integer", "description": "Batches the feed worker holds for "
                                                          "RabbitMQ now (0 when it is up)."},
            "quotes": _INT, "capacity": _INT,
            "dropped": {"type": "integer", "description": "Storage batches dropped from a "
                                                          "full buffer since the worker started."},
            "dropped_quotes": _INT,
        }),
    }),
    "AlertDelivery": _obj({
        "key": {"type": "string", "description": "symbol|buy_exchange|sell_exchange"},
        "opened_ns": {"type": "integer", "description": "When the opportunity opened (ns)."},
        "attempt": {"type": "integer", "description": "1 for the first POST, 2 for the first "
                                                      "retry..."},
        "net_pct": _NULL_NUM,
        "status_code": {"type": "integer", "nullable": True,
                        "description": "The receiver's HTTP status; null when none came."},
        "error": {"type": "string", "nullable": True,
                  "description": "HTTP 503, ConnectionError, ReadTimeout...; null if delivered."},
        "delivered": {"type": "boolean"},
        "will_retry": {"type": "boolean", "description": "Another attempt follows (backoff)."},
        "ts_ns": {"type": "integer", "description": "When the attempt ended (ns)."},
    }),
    "ServiceCheck": _obj({"ok": {"type": "boolean"}, "error": _STR}, required=["ok"]),
    "Health": _obj({
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "services": _obj({
            "redis": _ref("ServiceCheck"),
            "rabbitmq": _ref("ServiceCheck"),
            "influxdb": _ref("ServiceCheck"),
        }),
    }),
}

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
              "description": _TIME_DESC + " Default: end − 1 h.", "schema": {"type": "string"}},
    "end": {"name": "end", "in": "query", "required": False,
            "description": _TIME_DESC + " Default: now.", "schema": {"type": "string"}},
}


def _param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _response(description: str, schema: str | dict[str, Any]) -> dict[str, Any]:
    body = _ref(schema) if isinstance(schema, str) else schema
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
        "responses": {"200": _response("Quotes.", _wrapped("quotes", "Quote")),
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
             "schema": _bounded(OPEN_MIN_NET_PCT)},
            {"name": "limit", "in": "query", "required": False, "schema": _bounded(OPEN_LIMIT)},
        ],
        "responses": {
            "200": _response("Open opportunities.", _wrapped("opportunities", "Opportunity")),
            "400": _BAD, "404": _UNKNOWN, "503": _DOWN,
        },
    }},
    "/api/opportunities/history": {"get": {
        "operationId": "listClosedOpportunities",
        "summary": "Closed opportunities from InfluxDB, newest first.",
        "parameters": [
            _param("symbol"), _param("start"), _param("end"),
            {"name": "limit", "in": "query", "required": False, "schema": _bounded(CLOSED_LIMIT)},
        ],
        "responses": {
            "200": _response("Closed opportunities.",
                             _wrapped("opportunities", "ClosedOpportunity")),
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
            "200": _response("Stats per venue pair.", _obj({
                "start_ns": _INT, "end_ns": _INT,
                "symbol": {"type": "string", "nullable": True},
                "duration_edges_s": {"type": "array", "items": _NUM,
                                     "description": "Upper bucket edges, seconds."},
                "pairs": {"type": "array", "items": _ref("PairStats")},
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
             "schema": _bounded(TRIANGLE_MIN_NET_PCT)},
            {"name": "limit", "in": "query", "required": False,
             "schema": _bounded(TRIANGLE_LIMIT)},
        ],
        "responses": {
            "200": _response("Cycles.", _obj({
                "triangles": {"type": "array", "items": _ref("Triangle")},
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
        "responses": {"200": _response("Symbols.", _wrapped("symbols", "Symbol")),
                      "503": _DOWN},
    }},
    "/api/exchanges": {"get": {
        "operationId": "listExchanges",
        "summary": "Configured venues with taker fee, feed status and message rate.",
        "responses": {"200": _response("Exchanges.", _wrapped("exchanges", "Exchange")),
                      "503": _DOWN},
    }},
    "/api/fees": {"get": {
        "operationId": "listFees",
        "summary": "Per configured venue: taker fee, tiers by 30-day volume, withdrawal fees.",
        "description": "Taker fee precedence: TAKER_FEES override > the fees file's tier for "
                       "FEE_VOLUME_30D > the adapter's base tier > a conservative unknown-venue "
                       "fee. Fees are fractions (0.001 = 0.1 %); withdrawal fees are amounts of "
                       "the asset.",
        "responses": {"200": _response("Fees by venue.", _obj({"venues": {
            "type": "object", "additionalProperties": _obj({
                "taker": _NUM,
                "taker_source": {"type": "string",
                                 "enum": ["override", "tier", "default", "unknown"]},
                "volume_30d": {"type": "number", "description": "USD, from FEE_VOLUME_30D."},
                "tiers": {"type": "array", "items": _obj({"min_volume": _NUM, "taker": _NUM})},
                "withdrawal": {"type": "object", "additionalProperties": _NUM,
                               "description": "Fee per asset code, in units of that asset."},
            }),
        }}))},
    }},
    "/api/reports": {"get": {
        "operationId": "listReports",
        "summary": "Recent hourly and daily reports, newest first (summaries).",
        "responses": {"200": _response("Reports.", _wrapped("reports", "ReportSummary")),
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
            {"name": "limit", "in": "query", "required": False, "schema": _bounded(ALERT_LIMIT)},
        ],
        "responses": {
            "200": _response("Deliveries.", _obj({
                "deliveries": {"type": "array", "items": _ref("AlertDelivery")},
                "settings": _obj({
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
    "components": {"schemas": _SCHEMAS, "parameters": _PARAMS},
}


def document() -> dict[str, Any]:
    """A fresh copy of the OpenAPI document (callers may not mutate the shared one)."""
    return copy.deepcopy(_DOCUMENT)
