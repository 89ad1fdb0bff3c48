"""The component schemas of the OpenAPI document, and the helpers its paths build with."""

from __future__ import annotations

from typing import Any

from core.history import RESOLUTIONS
from web.params import IntRange, NumberRange

NUM = {"type": "number"}
NULL_NUM = {"type": "number", "nullable": True}
INT = {"type": "integer"}
STR = {"type": "string"}
TIME_DESC = (
    "Unix seconds (a decimal fraction is allowed) or ISO 8601 such as 2026-11-24T03:00:00Z; "
    "without a zone, UTC. Between 2000-01-01 and 2100-01-01."
)


def bounded(bounds: IntRange | NumberRange) -> dict[str, Any]:
    """The schema of a parameter with the range and default its parser uses (web.params)."""
    kind = "integer" if isinstance(bounds, IntRange) else "number"
    return {"type": kind, "minimum": bounds.lo, "maximum": bounds.hi, "default": bounds.default}


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def wrapped(key: str, item: str) -> dict[str, Any]:
    """A collection wrapped in an object named after it."""
    return {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "array", "items": ref(item)}},
    }


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object schema; every property is required unless `required` says otherwise."""
    return {
        "type": "object",
        "required": required if required is not None else list(properties),
        "properties": properties,
    }


SCHEMAS: dict[str, Any] = {
    "Error": obj({"error": {"type": "string", "description": "What went wrong, for people."}}),
    "ReportSummary": obj({
        "id": {"type": "string"}, "period": {"type": "string", "enum": ["hourly", "daily"]},
        "start": {"type": "string"}, "end": {"type": "string"},
        "generated_at": {"type": "string"}, "opportunities": {"type": "integer"},
        "total_profit": {"type": "number"}, "pairs": {"type": "integer"},
        "venues": {"type": "integer"}, "best_pair": {"type": "string", "nullable": True},
    }, ["id", "period", "start", "end"]),
    "Quote": obj({
        "exchange": STR,
        "symbol": {"type": "string", "example": "BTC-USD"},
        "bid": NUM, "bid_size": NUM, "ask": NUM, "ask_size": NUM,
        "last": NULL_NUM,
        "ts_exchange_ns": {"type": "integer", "nullable": True,
                           "description": "The venue's own time stamp (ns), when it sends one."},
        "ts_received_ns": {"type": "integer", "description": "When the feed received it (ns)."},
        "age_s": {"type": "number", "description": "Seconds since the quote was received."},
        "stale": {"type": "boolean",
                  "description": "Older than MAX_QUOTE_AGE_S: not used for arbitrage."},
    }),
    "Opportunity": obj({
        "symbol": STR, "buy_exchange": STR, "sell_exchange": STR,
        "buy_price": NUM, "sell_price": NUM, "size": NUM,
        "gross_pct": {"type": "number", "description": "100 × (bid_sell / ask_buy − 1)"},
        "net_pct": {"type": "number", "description": "Net of both venues' taker fees, percent."},
        "net_profit": NUM,
        "opened_ns": INT, "updated_ns": INT,
        "peak_net_pct": NUM, "mean_net_pct": NUM, "samples": INT,
        "max_size": NUM, "max_profit": NUM,
        "fee_buy": {"type": "number", "description": "Taker fee on the buy venue (fraction)."},
        "fee_sell": {"type": "number", "description": "Taker fee on the sell venue (fraction)."},
        "walked": {"type": "boolean",
                   "description": "size and net_profit come from walking both books."},
        "notional": {"type": "number",
                     "description": "TRADE_NOTIONAL: quote currency spent on the buy leg."},
        "notional_net_pct": {**NULL_NUM,
                             "description": "VWAP net % for the notional; null: books too thin."},
        "notional_profit": NULL_NUM,
        "withdrawal_fee": {**NULL_NUM,
                           "description": "Base units to withdraw from the buy venue."},
        "transfer_net_profit": {**NULL_NUM,
                                "description": "net_profit less the withdrawal fee's value."},
        "version": {"type": "integer", "description": "Version of the symbol snapshot used."},
        "event_ns": {"type": "integer",
                     "description": "Receive time of the newer quote it was computed from."},
    }, required=[
        "symbol", "buy_exchange", "sell_exchange", "buy_price", "sell_price", "size",
        "gross_pct", "net_pct", "net_profit", "opened_ns", "updated_ns", "peak_net_pct",
        "mean_net_pct", "samples",
    ]),
    "ClosedOpportunity": obj({
        "time_ns": {"type": "integer", "description": "When it opened (ns)."},
        "symbol": STR, "buy_exchange": STR, "sell_exchange": STR,
        "peak_net_pct": NULL_NUM, "mean_net_pct": NULL_NUM, "duration_s": NULL_NUM,
        "max_size": NULL_NUM, "max_profit": NULL_NUM,
    }),
    "PairStats": obj({
        "buy_exchange": STR, "sell_exchange": STR,
        "count": {"type": "integer", "description": "Opportunities closed in the range."},
        "duration_p50_s": {**NULL_NUM, "description": "Median duration (nearest rank)."},
        "duration_p90_s": {**NULL_NUM, "description": "90th percentile (nearest rank)."},
        "duration_max_s": NULL_NUM,
        "duration_histogram": {
            "type": "array",
            "description": "Counts per duration bucket [previous edge, lt_s); the last bucket "
                           "(lt_s null) is everything at or above the last edge.",
            "items": obj({"lt_s": NULL_NUM, "count": INT}),
        },
        "mean_peak_net_pct": NULL_NUM,
        "total_profit": {"type": "object", "additionalProperties": NUM,
                         "description": "Sum of max_profit per quote currency (USD, USDT, "
                                        "BTC...): amounts in different currencies are never "
                                        "added together."},
    }),
    "TriangleLeg": obj({
        "symbol": STR, "side": {"type": "string", "enum": ["buy", "sell"]},
        "price": {"type": "number", "description": "The ask when buying, the bid when selling."},
        "size": {"type": "number", "description": "Base units on offer at that price."},
        "from_ccy": STR, "to_ccy": STR,
    }),
    "Triangle": obj({
        "key": {"type": "string", "example": "binance|USDT>BTC>ETH>USDT"},
        "exchange": STR,
        "path": {"type": "array", "items": STR, "example": ["USDT", "BTC", "ETH", "USDT"],
                 "description": "Currencies in trade order; the first is also the last."},
        "legs": {"type": "array", "items": ref("TriangleLeg")},
        "gross_pct": {"type": "number", "description": "100 × (product of rates − 1), no fees."},
        "net_pct": {"type": "number",
                    "description": "100 × (product of rates − 1), the taker fee on every leg."},
        "fee": {"type": "number", "description": "The venue's taker fee, a fraction."},
        "max_start": {"type": "number", "description": "The most of path[0] that every leg's "
                                                        "top of book can take."},
        "max_profit": {"type": "number", "description": "Net profit in path[0] at max_start."},
        "event_ns": {"type": "integer", "description": "Receive time of the newest quote used."},
    }),
    "History": obj({
        "symbol": STR,
        "resolution": {"type": "string", "enum": list(RESOLUTIONS)},
        "start_ns": INT,
        "end_ns": INT,
        "series": {"type": "array", "items": obj({
            "exchange": STR,
            "points": {
                "type": "array",
                "description": "[time_ns, bid, ask], oldest first (bucket start for rollups).",
                "items": {"type": "array", "minItems": 3, "maxItems": 3,
                          "items": {"type": "number", "nullable": True}},
            },
        })},
    }),
    "Symbol": obj({
        "symbol": STR,
        "exchanges": {"type": "array", "items": STR},
        "change_1h_pct": NULL_NUM, "change_24h_pct": NULL_NUM, "change_7d_pct": NULL_NUM,
    }),
    "Exchange": obj({
        "name": STR,
        "taker_fee": {"type": "number", "description": "Fraction, 0.001 = 0.1 %."},
        "state": {"type": "string", "description": "connected, degraded, stale, unknown..."},
        "connections": INT, "messages": INT,
        "message_rate": {"type": "number", "nullable": True,
                         "description": "Messages per second over the last status interval; "
                                        "null until the web process has seen two reports."},
        "quotes": INT, "reconnects": INT, "parse_errors": INT,
        "errors": {"type": "object", "additionalProperties": {"type": "integer"}},
        "markets": INT,
        "last_message_age_s": NULL_NUM,
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
        "buffer": obj({
            "batches": {"type": "integer", "description": "Batches the feed worker holds for "
                                                          "RabbitMQ now (0 when it is up)."},
            "quotes": INT, "capacity": INT,
            "dropped": {"type": "integer", "description": "Storage batches dropped from a "
                                                          "full buffer since the worker started."},
            "dropped_quotes": INT,
        }),
    }),
    "AlertDelivery": obj({
        "key": {"type": "string", "description": "symbol|buy_exchange|sell_exchange"},
        "opened_ns": {"type": "integer", "description": "When the opportunity opened (ns)."},
        "attempt": {"type": "integer", "description": "1 for the first POST, 2 for the first "
                                                      "retry..."},
        "net_pct": NULL_NUM,
        "status_code": {"type": "integer", "nullable": True,
                        "description": "The receiver's HTTP status; null when none came."},
        "error": {"type": "string", "nullable": True,
                  "description": "HTTP 503, ConnectionError, ReadTimeout...; null if delivered."},
        "delivered": {"type": "boolean"},
        "will_retry": {"type": "boolean", "description": "Another attempt follows (backoff)."},
        "ts_ns": {"type": "integer", "description": "When the attempt ended (ns)."},
    }),
    "ServiceCheck": obj({"ok": {"type": "boolean"}, "error": STR}, required=["ok"]),
    "Health": obj({
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "services": obj({
            "redis": ref("ServiceCheck"),
            "rabbitmq": ref("ServiceCheck"),
            "influxdb": ref("ServiceCheck"),
        }),
    }),
}
