"""Opportunity alerts: which ones qualify, their webhook bodies, what a delivery outcome means."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from core.backoff import capped_delay
from core.symbols import split_symbol

FORMATS = ("json", "slack")


def pair_key(opp: Mapping[str, Any]) -> str:
    """`symbol|buy|sell`: the venue pair an opportunity belongs to."""
    return f"{opp['symbol']}|{opp['buy_exchange']}|{opp['sell_exchange']}"


def opened_ns(opp: Mapping[str, Any]) -> int:
    """When the opportunity opened (ns), 0 when unknown."""
    try:
        return int(opp.get("opened_ns") or 0)
    except (TypeError, ValueError):
        return 0


def qualifying(opps: Iterable[Mapping[str, Any]], min_net_pct: float) -> list[dict[str, Any]]:
    """Open or updated opportunities whose net % reaches the alert threshold."""
    out: list[dict[str, Any]] = []
    for opp in opps:
        if opp.get("action", "open") not in ("open", "update"):
            continue
        net = opp.get("net_pct")
        if isinstance(net, int | float) and math.isfinite(net) and net >= min_net_pct:
            out.append(dict(opp))
    return out


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such numbers go out as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_body(opp: Mapping[str, Any]) -> dict[str, Any]:
    """The opportunity as sent in the `json` format (its fields, without the engine's action)."""
    return {k: _finite(v) for k, v in opp.items() if k != "action"}


def fmt_num(value: float, significant: int = 6) -> str:
    """A number for people: about `significant` digits, thousands separated, no trailing zeros."""
    if not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = min(10, max(0, significant - 1 - magnitude))
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _quote_currency(symbol: str) -> str:
    try:
        return split_symbol(symbol)[1]
    except ValueError:
        return ""


def alert_text(opp: Mapping[str, Any]) -> str:
    """One line saying what to buy where, sell where, and what it makes after fees."""
    quote = _quote_currency(str(opp["symbol"]))
    unit = f" {quote}" if quote else ""
    return (
        f"Arbitrage {opp['symbol']}: buy on {opp['buy_exchange']} at "
        f"{fmt_num(float(opp['buy_price']))}, sell on {opp['sell_exchange']} at "
        f"{fmt_num(float(opp['sell_price']))}; net {float(opp['net_pct']):.3f} % "
        f"(gross {float(opp.get('gross_pct', 0.0)):.3f} %) for size "
        f"{fmt_num(float(opp['size']))}, profit {fmt_num(float(opp['net_profit']), 4)}{unit}"
    )


def slack_body(opp: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook body: `text` (also the notification) plus a block layout."""
    quote = _quote_currency(str(opp["symbol"]))
    unit = f" {quote}" if quote else ""
    fields = [
        f"*Buy* {opp['buy_exchange']} @ {fmt_num(float(opp['buy_price']))}",
        f"*Sell* {opp['sell_exchange']} @ {fmt_num(float(opp['sell_price']))}",
        f"*Net* {float(opp['net_pct']):.3f} % (gross {float(opp.get('gross_pct', 0.0)):.3f} %)",
        f"*Size* {fmt_num(float(opp['size']))}",
        f"*Profit* {fmt_num(float(opp['net_profit']), 4)}{unit}",
    ]
    return {
        "text": alert_text(opp),
        "blocks": [
            {"type": "section",
             "text": {"type": "mrkdwn", "text": f"*Arbitrage {opp['symbol']}*"}},
            {"type": "section",
             "fields": [{"type": "mrkdwn", "text": field} for field in fields]},
        ],
    }


def alert_body(opp: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    """The webhook body in ALERT_FORMAT `json` or `slack`."""
    if fmt == "slack":
        return slack_body(opp)
    if fmt == "json":
        return json_body(opp)
    raise ValueError(f"alert format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def outcome(status_code: int) -> str:
    """What an HTTP answer means for a delivery: `delivered`, `retry` or `failed`."""
    if 200 <= status_code < 300:
        return "delivered"
    # 429 and 5xx are the receiver's passing trouble; other 4xx will not change on retry.
    if status_code == 429 or status_code >= 500:
        return "retry"
    return "failed"


def retry_delay(retries: int, base_s: float, cap_s: float, retry_after: str | None = None) -> float:
    """Seconds before retry `retries` (0-based): base, 2×, 4× ... capped; Retry-After may add."""
    delay = capped_delay(retries, base_s, cap_s)
    try:
        asked = float(retry_after) if retry_after else 0.0
    except ValueError:  # the HTTP-date form: rare for webhooks, and backoff is a fine answer
        asked = 0.0
    if math.isfinite(asked):
        # The receiver knows its own rate limit better than our backoff does.
        delay = max(delay, asked)
    return min(cap_s, delay)
