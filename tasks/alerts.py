"""Alert tasks: pick the opportunities worth a webhook, then POST them (queue `alerts`).

`consider` runs inside the arbitrage task after each pass; `deliver_alert` runs on the alerts
worker. Delivery is at least once: a worker that dies mid-POST leaves the message to another.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
from celery import Task
from kombu.exceptions import OperationalError

from core.alerts import alert_body, opened_ns, outcome, pair_key, qualifying
from core.alerts import retry_delay as backoff
from core.config import Settings
from core.state import RedisState
from core.stores.alerts import AlertStore
from tasks import app
from tasks.resources import settings as current_settings
from tasks.resources import state as current_state

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_CAP_S = 60.0
TIMEOUT_S = 10.0
# An alert still queued after this long (no alerts worker running) describes a market that
# moved on: it is dropped rather than sent late.
EXPIRES_S = 600.0


def retry_base_s() -> float:
    """First retry delay in seconds: ALERT_RETRY_BASE_S (tests shorten it), default 1."""
    return current_settings().alert_retry_base_s


def consider(
    opps: list[dict[str, Any]],
    settings: Settings | None = None,
    state: RedisState | None = None,
) -> int:
    """Queue a webhook alert for each opportunity that crossed the threshold; returns how many."""
    s = settings if settings is not None else current_settings()
    if not s.alert_webhook_url.strip():
        return 0
    candidates = qualifying(opps, s.alert_min_net_pct)
    if not candidates:
        return 0  # the common case: no Redis round trip
    st = state if state is not None else current_state()
    try:
        chosen = st.alerts.claim(candidates, s.alert_cooldown_s)
        for opp in chosen:
            deliver_alert.apply_async(args=[opp], expires=EXPIRES_S)
    except (redis.RedisError, OperationalError) as exc:
        # Alerts must never break the arbitrage pass that called us.
        log.warning("alerts not queued: %s", type(exc).__name__)
        return 0
    return len(chosen)


def _record(store: AlertStore, entry: dict[str, Any]) -> None:
    try:
        store.record(entry)
    except redis.RedisError as exc:
        # The POST already happened: a missing record must not cause a second one.
        log.warning("alert delivery not recorded: %s", type(exc).__name__)


@app.task(bind=True, name="tasks.alerts.deliver_alert", max_retries=MAX_ATTEMPTS - 1,
          acks_late=True)
def deliver_alert(self: Task, payload: dict[str, Any]) -> bool:
    """POST one opportunity to ALERT_WEBHOOK_URL; back off and retry on 429, 5xx, network errors."""
    s = current_settings()
    st = current_state()
    store = st.alerts
    attempt = self.request.retries + 1
    entry: dict[str, Any] = {
        "key": pair_key(payload), "opened_ns": opened_ns(payload), "attempt": attempt,
        "net_pct": payload.get("net_pct"), "status_code": None, "error": None,
        "delivered": False, "will_retry": False, "ts_ns": 0,
    }
    url = s.alert_webhook_url.strip()
    # The URL is a secret (Slack puts its token in the path): only its host is ever logged.
    host = urlsplit(url).hostname or "?"
    retry_after: str | None = None
    if not url:
        verdict, entry["error"] = "failed", "ALERT_WEBHOOK_URL is not set"
    else:
        try:
            response = requests.post(url, json=alert_body(payload, s.alert_format),
                                     timeout=TIMEOUT_S)
        except (requests.ConnectionError, requests.Timeout) as exc:
            verdict, entry["error"] = "retry", type(exc).__name__
        except requests.RequestException as exc:  # a bad URL and the like: retrying cannot help
            verdict, entry["error"] = "failed", type(exc).__name__
        else:
            entry["status_code"] = response.status_code
            verdict = outcome(response.status_code)
            if verdict != "delivered":
                entry["error"] = f"HTTP {response.status_code}"
            retry_after = response.headers.get("Retry-After")
    entry["delivered"] = verdict == "delivered"
    entry["will_retry"] = verdict == "retry" and attempt < MAX_ATTEMPTS
    entry["ts_ns"] = time.time_ns()
    _record(store, entry)
    if entry["delivered"]:
        log.info("alert %s delivered to %s (attempt %d)", entry["key"], host, attempt)
        return True
    if entry["will_retry"]:
        delay = backoff(self.request.retries, retry_base_s(), RETRY_CAP_S, retry_after)
        log.warning("alert %s to %s failed (%s), attempt %d; retrying in %.1f s",
                    entry["key"], host, entry["error"], attempt, delay)
        raise self.retry(countdown=delay, max_retries=MAX_ATTEMPTS - 1)
    log.warning("alert %s to %s failed (%s) after %d attempt(s); giving up",
                entry["key"], host, entry["error"], attempt)
    return False
