"""Alert decisions (fakeredis), webhook bodies, backoff and outcome rules: no services needed."""

from __future__ import annotations

import math
import time
from typing import Any

import fakeredis
import pytest

from core.alerts import (
    alert_body,
    fmt_num,
    json_body,
    outcome,
    qualifying,
    retry_delay,
    slack_body,
)
from core.keys import Keys
from core.stores.alerts import MAX_DELIVERIES, SENT_TTL_S, AlertStore
from core.types import Opportunity

pytestmark = pytest.mark.unit

PREFIX = "ctunit:"


def opp(net_pct: float = 0.8, opened_ns: int = 1_700_000_000_000_000_000, action: str = "open",
        buy: str = "kraken", sell: str = "binance", symbol: str = "BTC-USD") -> dict[str, Any]:
    """An opportunity event dict as the arbitrage task hands it over."""
    o = Opportunity(symbol, buy, sell, buy_price=60_000.0, sell_price=60_600.0, size=0.25,
                    gross_pct=1.0, net_pct=net_pct, net_profit=123.456, opened_ns=opened_ns,
                    fee_buy=0.0026, fee_sell=0.001)
    return {"action": action, **o.to_dict()}


@pytest.fixture
def store() -> AlertStore:
    return AlertStore(fakeredis.FakeRedis(decode_responses=True), Keys(PREFIX))


# --- threshold ---

def test_threshold_is_inclusive_and_only_open_or_update_events_count() -> None:
    events = [opp(0.5), opp(0.4999), opp(2.0, action="update"), opp(3.0, action="close"),
              opp(float("nan")), {**opp(1.0), "net_pct": "1.0"}]
    picked = qualifying(events, 0.5)
    assert [(o["net_pct"], o["action"]) for o in picked] == [(0.5, "open"), (2.0, "update")]


def test_negative_threshold_admits_negative_net() -> None:
    assert len(qualifying([opp(-0.1), opp(-0.3)], -0.2)) == 1


# --- once per opportunity ---

def test_one_alert_per_opportunity_however_often_it_updates(store: AlertStore) -> None:
    first = store.claim([opp()], cooldown_s=0)
    again = [store.claim([opp(net_pct=n, action="update")], cooldown_s=0) for n in (0.9, 1.5)]
    assert len(first) == 1 and again == [[], []]


def test_a_reopened_opportunity_is_a_new_one_without_cooldown(store: AlertStore) -> None:
    assert len(store.claim([opp(opened_ns=1)], cooldown_s=0)) == 1
    assert len(store.claim([opp(opened_ns=2)], cooldown_s=0)) == 1
    assert store.claim([opp(opened_ns=1)], cooldown_s=0) == []


def test_duplicates_within_one_batch_are_sent_once(store: AlertStore) -> None:
    chosen = store.claim([opp(), opp(action="update"), opp(buy="okx")], cooldown_s=60)
    assert [(o["buy_exchange"], o["action"]) for o in chosen] == [("kraken", "open"),
                                                                   ("okx", "open")]


def test_keys_live_under_the_prefix_and_expire(store: AlertStore) -> None:
    store.claim([opp(opened_ns=42)], cooldown_s=300)
    keys = sorted(store.client.keys("*"))
    assert keys == [f"{PREFIX}alerts:cooldown:BTC-USD|kraken|binance",
                    f"{PREFIX}alerts:sent:BTC-USD|kraken|binance|42"]
    assert 299 < store.client.pttl(keys[0]) / 1000 <= 300
    assert SENT_TTL_S - 5 < store.client.pttl(keys[1]) / 1000 <= SENT_TTL_S


# --- cooldown ---

def test_cooldown_holds_back_a_reopening_until_it_expires(store: AlertStore) -> None:
    assert len(store.claim([opp(opened_ns=1)], cooldown_s=0.3)) == 1
    # The same pair opens again straight away: inside the cooldown, no alert.
    assert store.claim([opp(opened_ns=2)], cooldown_s=0.3) == []
    # Another pair is not affected by this pair's cooldown.
    assert len(store.claim([opp(opened_ns=2, sell="okx")], cooldown_s=0.3)) == 1
    time.sleep(0.45)
    # Cooldown over: the still-open second opening goes now; the first one never again.
    assert len(store.claim([opp(opened_ns=2)], cooldown_s=0.3)) == 1
    time.sleep(0.45)
    assert store.claim([opp(opened_ns=1)], cooldown_s=0.3) == []


def test_unknown_opening_time_falls_back_to_the_cooldown_alone(store: AlertStore) -> None:
    assert len(store.claim([opp(opened_ns=0)], cooldown_s=0.2)) == 1
    assert store.claim([opp(opened_ns=0)], cooldown_s=0.2) == []
    time.sleep(0.3)
    assert len(store.claim([opp(opened_ns=0)], cooldown_s=0.2)) == 1


def test_empty_candidate_list_makes_no_redis_call() -> None:
    class NoRedis:
        def register_script(self, script: str) -> object:
            return lambda **kw: pytest.fail("Redis was called")

    assert AlertStore(NoRedis(), Keys(PREFIX)).claim([], cooldown_s=1) == []  # type: ignore[arg-type]


# --- delivery record ---

def test_deliveries_are_newest_first_and_capped(store: AlertStore) -> None:
    for i in range(7):
        store.record({"attempt": i}, keep=5)
    assert [d["attempt"] for d in store.deliveries(10)] == [6, 5, 4, 3, 2]
    assert [d["attempt"] for d in store.deliveries(2)] == [6, 5]
    assert MAX_DELIVERIES == 1000


# --- bodies ---

def test_json_body_is_the_opportunity_without_the_engine_action() -> None:
    o = opp()
    body = alert_body(o, "json")
    assert "action" not in body
    assert body == {k: v for k, v in o.items() if k != "action"}
    assert body["net_pct"] == 0.8 and body["opened_ns"] == 1_700_000_000_000_000_000


def test_json_body_sends_non_finite_numbers_as_null() -> None:
    body = json_body({**opp(), "notional_net_pct": float("nan"), "transfer_net_profit": math.inf})
    assert body["notional_net_pct"] is None and body["transfer_net_profit"] is None


def test_slack_body_names_symbol_venues_prices_net_size_and_profit() -> None:
    body = alert_body(opp(net_pct=0.8123), "slack")
    text = body["text"]
    for part in ("BTC-USD", "buy on kraken at 60,000", "sell on binance at 60,600",
                 "net 0.812 %", "gross 1.000 %", "size 0.25", "profit 123.5 USD"):
        assert part in text, (part, text)
    assert body["blocks"][0]["type"] == "section"
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert fields[0] == "*Buy* kraken @ 60,000" and fields[-1] == "*Profit* 123.5 USD"
    assert all(f["type"] == "mrkdwn" for f in body["blocks"][1]["fields"])


def test_slack_body_for_a_symbol_without_a_quote_currency_has_no_unit() -> None:
    assert slack_body(opp(symbol="WEIRDPAIR"))["text"].endswith("profit 123.5")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="json, slack"):
        alert_body(opp(), "xml")


@pytest.mark.parametrize(("value", "text"), [
    (60_000.0, "60,000"), (0.25, "0.25"), (0.000123456789, "0.000123457"),
    (1234.5678, "1,234.57"), (0.0, "0"), (-2.5, "-2.5"), (float("nan"), "n/a"),
])
def test_fmt_num(value: float, text: str) -> None:
    assert fmt_num(value) == text


# --- outcomes and backoff ---

@pytest.mark.parametrize(("status", "verdict"), [
    (200, "delivered"), (204, "delivered"), (301, "failed"), (400, "failed"), (404, "failed"),
    (410, "failed"), (429, "retry"), (500, "retry"), (503, "retry"),
])
def test_outcome(status: int, verdict: str) -> None:
    assert outcome(status) == verdict


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [retry_delay(n, 1.0, 60.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [retry_delay(n, 0.05, 60.0) for n in range(3)] == pytest.approx([0.05, 0.1, 0.2])


def test_retry_after_lengthens_the_wait_but_not_past_the_cap() -> None:
    assert retry_delay(0, 1.0, 60.0, "7") == 7
    assert retry_delay(3, 1.0, 60.0, "2") == 8
    assert retry_delay(0, 1.0, 60.0, "3600") == 60
    assert retry_delay(0, 1.0, 60.0, "Wed, 21 Oct 2015 07:28:00 GMT") == 1
