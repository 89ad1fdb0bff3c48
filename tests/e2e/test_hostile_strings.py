"""Every page works in headless Chromium under its Content-Security-Policy (live websocket up, no
violation in the console), and hostile exchange strings arriving live over /ws (HTML, a 10 kB
name, RTL override, zero-width, emoji) render as text on the overview, opportunities and feeds
pages: no element is created from them and nothing they carry runs."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By

from core.state import RedisState
from core.types import Opportunity
from tests.support.browser import assert_clean_console, assert_no_alert
from tests.support.procs import Proc, wait_for
from tests.support.stack import start_web

pytestmark = pytest.mark.e2e

HTML_EX = '<img src=x onerror="document.title=\'pwned\'">'
HTML_SYMBOL = "<svg onload=alert(1)>-USD"
LONG_EX = "long" + "n" * 10_000
ODD_EX = "odd\u202eRTL\u200bzero\u200d\U0001f680"


@pytest.fixture(scope="module")
def web(procs: list[Proc], state: RedisState) -> str:
    return start_web(procs)


def quote_event(exchange: str, symbol: str, bid: float) -> dict[str, object]:
    now = time.time_ns()
    return {"exchange": exchange, "symbol": symbol, "bid": bid, "bid_size": 1.0, "ask": bid + 1,
            "ask_size": 1.0, "last": None, "ts_exchange_ns": now, "ts_received_ns": now}


def open_live(driver: webdriver.Chrome, url: str) -> None:
    driver.get(url)
    wait_for(lambda: driver.find_element(By.ID, "live-status").text == "live", 15,
             "the page's websocket")


def publish_until_shown(driver: webdriver.Chrome, publish: Callable[[], None],
                        texts: list[str], where: str) -> str:
    """Publish (again: the hub subscribes lazily) until every text is on the page; its text."""
    def shown() -> bool:
        publish()
        body = driver.find_element(By.CSS_SELECTOR, where).get_attribute("textContent") or ""
        return all(t in body for t in texts)

    wait_for(shown, 20, f"{texts[0][:30]!r}... on the page", every_s=0.5)
    return driver.find_element(By.CSS_SELECTOR, where).get_attribute("textContent") or ""


def assert_inert(driver: webdriver.Chrome) -> None:
    """No element came from the strings and nothing they carry ran."""
    for tag in ("img", "svg"):
        assert driver.find_elements(By.TAG_NAME, tag) == [], f"a <{tag}> was created"
    assert driver.execute_script("return document.querySelectorAll('[onerror],[onload]').length") \
        == 0
    assert "pwned" not in driver.title
    assert_no_alert(driver)
    assert_clean_console(driver)


def test_every_page_works_under_its_csp(browser: webdriver.Chrome, web: str) -> None:  # noqa: F811
    for path in ("/", "/opportunities", "/feeds", "/reports", "/symbol/BTC-USD"):
        policy = requests.get(web + path, timeout=5).headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "unsafe" not in policy, policy
        if path in ("/", "/opportunities", "/feeds"):
            open_live(browser, web + path)  # its scripts ran and its websocket is allowed
        else:  # no live part (/symbol/BTC-USD is a 404 page until the symbol has quotes)
            browser.get(web + path)
        assert_clean_console(browser)


def test_live_quotes_and_opportunities_render_as_text(
        browser: webdriver.Chrome, web: str, state: RedisState) -> None:  # noqa: F811
    open_live(browser, web + "/")

    def publish_quotes() -> None:
        state.publish_many(("quote", quote_event(ex, sym, 10.0 + i)) for i, (ex, sym) in
                           enumerate([(HTML_EX, "BTC-USD"), (LONG_EX, "BTC-USD"),
                                      (ODD_EX, HTML_SYMBOL)]))

    text = publish_until_shown(browser, publish_quotes, [HTML_EX, ODD_EX, HTML_SYMBOL], "#matrix")
    assert LONG_EX in text  # the whole 10 kB name, as one text node
    assert_inert(browser)

    open_live(browser, web + "/opportunities")
    opp = Opportunity(HTML_SYMBOL, HTML_EX, ODD_EX, 10.0, 10.2, 1.0, 2.0, 1.5, 0.15,
                      opened_ns=time.time_ns())
    shown = publish_until_shown(
        browser, lambda: state.publish("opportunity", {"action": "open", **opp.to_dict()}),
        [HTML_SYMBOL, HTML_EX, ODD_EX], "#opps")
    assert "1.500" in shown or "1.50" in shown
    assert_inert(browser)


def test_live_feed_status_renders_as_text(
        browser: webdriver.Chrome, web: str, state: RedisState) -> None:  # noqa: F811
    open_live(browser, web + "/feeds")

    def publish_feeds() -> None:
        for ex in (HTML_EX, LONG_EX, ODD_EX):
            state.publish("feed", {"exchange": ex, "state": "<b>connected</b>", "messages": 3})

    text = publish_until_shown(browser, publish_feeds, [HTML_EX, ODD_EX, "<b>connected</b>"],
                               "#feeds")
    assert LONG_EX in text
    assert browser.find_elements(By.CSS_SELECTOR, "#feeds b") == []
    assert_inert(browser)
