"""Opportunity alerts: which ones to send (decided once, in Redis), their bodies, their record."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from core.symbols import split_symbol

FORMATS = ("json", "slack")
# How long "this opportunity was alerted" is remembered: longer than any opportunity lasts, so
# an open one is never alerted twice, yet the keys do not pile up forever.
SENT_TTL_S = 86400.0
MAX_DELIVERIES = 1000

# Decide a batch of candidates atomically, so several arbitrage workers never both send one.
# KEYS: (sent key, cooldown key) per candidate. ARGV: sent ttl ms, cooldown ms, then one flag per
# candidate: "1" when its opening time is known (else only the cooldown can identify it).
# A candidate goes when neither its opportunity was alerted nor its pair is cooling down; then
# both are marked. Returns 1 (send) or 0 (skip) per candidate.
_CLAIM = """
local sent_ms, cool_ms = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS / 2 do
  local sent, cool = KEYS[2 * i - 1], KEYS[2 * i]
  local known = ARGV[2 + i] == "1"
  if (known and redis.call("EXISTS", sent) == 1)
      or (cool_ms > 0 and redis.call("EXISTS", cool) == 1) then
    out[i] = 0
  else
    if known then redis.call("SET", sent, "1", "PX", sent_ms) end
    if cool_ms > 0 then redis.call("SET", cool, "1", "PX", cool_ms) end
    out[i] = 1
  end
end
return out
"""


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


class AlertStore:
    """Alert decisions and the delivery record in Redis, every key under the state's prefix."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self._claim = client.register_script(_CLAIM)

    def sent_key(self, opp: Mapping[str, Any]) -> str:
        return f"{self.prefix}alerts:sent:{pair_key(opp)}|{opened_ns(opp)}"

    def cooldown_key(self, opp: Mapping[str, Any]) -> str:
        return f"{self.prefix}alerts:cooldown:{pair_key(opp)}"

    @property
    def deliveries_key(self) -> str:
        return f"{self.prefix}alerts:deliveries"

    def claim(self, candidates: list[dict[str, Any]], cooldown_s: float) -> list[dict[str, Any]]:
        """The candidates this caller must alert (one Redis round trip; none when empty)."""
        if not candidates:
            return []
        keys: list[str] = []
        args: list[str] = [str(int(SENT_TTL_S * 1000)), str(int(max(cooldown_s, 0.0) * 1000))]
        for opp in candidates:
            keys += [self.sent_key(opp), self.cooldown_key(opp)]
            args.append("1" if opened_ns(opp) > 0 else "0")
        flags = self._claim(keys=keys, args=args)
        return [opp for opp, ok in zip(candidates, flags, strict=True) if int(ok)]

    def record(self, delivery: Mapping[str, Any], keep: int = MAX_DELIVERIES) -> None:
        """Prepend one delivery attempt's outcome and trim the list to `keep` entries."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.lpush(self.deliveries_key, json.dumps(delivery))
        pipe.ltrim(self.deliveries_key, 0, keep - 1)
        pipe.execute()

    def deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        """Recorded delivery attempts, newest first."""
        raw = self.redis.lrange(self.deliveries_key, 0, max(limit, 1) - 1)
        return [json.loads(item) for item in raw]


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
    delay = base_s * 2 ** max(retries, 0)
    try:
        asked = float(retry_after) if retry_after else 0.0
    except ValueError:  # the HTTP-date form: rare for webhooks, and backoff is a fine answer
        asked = 0.0
    if math.isfinite(asked):
        # The receiver knows its own rate limit better than our backoff does.
        delay = max(delay, asked)
    return min(cap_s, delay)
