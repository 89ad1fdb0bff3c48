"""The dashboard in headless Chromium against the demo stack: prices, live opportunities,
the symbol chart, and hostile exchange strings shown as text. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import re
import time
from urllib.parse import quote as urlquote

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By

from core.config import DEFAULT_SYMBOLS
from core.influx import InfluxDB
from core.lineproto import opportunity_line
from core.state import RedisState
from core.types import Quote
from tests.support.browser import assert_clean_console, assert_no_alert, screenshot
from tests.support.procs import Proc, wait_for
from tests.support.stack import start_feed_groups, start_simulator, start_web
from workers.exchanges import known_exchanges

pytestmark = pytest.mark.e2e

VENUES = tuple(known_exchanges())  # the demo deployment: every venue
SYMBOLS = DEFAULT_SYMBOLS
HOSTILE_SYMBOL = "<img src=x onerror=alert(1)>"
HOSTILE_EXCHANGE = "<b>x</b>"
SIMULATOR: dict[str, str] = {}  # the module stack's simulator URL, for its control endpoints
NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?$")


@pytest.fixture(scope="module")
def stack(procs: list[Proc], celery_workers: list[Proc], state: RedisState) -> str:
    """The demo stack: simulator, every venue's feed grouped as deployed, Celery workers, the
    web app."""
    sim_url = start_simulator(procs, "--exchanges", ",".join(VENUES), "--symbols", SYMBOLS)
    start_feed_groups(procs, list(VENUES), sim_url, SYMBOLS)
    web = start_web(procs)
    wait_for(lambda: {q.exchange for q in state.all_quotes()} >= set(VENUES), 90,
             "a quote from every venue in Redis", every_s=0.5)
    SIMULATOR["url"] = sim_url
    return web


@pytest.fixture(scope="module")
def hostile(state: RedisState, stack: str) -> None:
    """A market whose symbol and exchange names are HTML, as a malicious venue could send."""
    now = time.time_ns()
    state.update_quotes([Quote(HOSTILE_EXCHANGE, HOSTILE_SYMBOL, 1.25, 1.0, 1.5, 1.0, None,
                               now, now)])


def cells_with_prices(driver: webdriver.Chrome) -> dict[str, int]:
    """Per venue column, how many overview cells show a numeric bid and ask."""
    return driver.execute_script("""
        const out = {};
        for (const td of document.querySelectorAll('#matrix td.quote')) {
          const bid = td.querySelector('.bid'), ask = td.querySelector('.ask');
          if (!bid || !ask) continue;
          const ok = [bid, ask].every(s => /^-?[\\d,]+(\\.\\d+)?$/.test(s.textContent.trim()));
          if (ok) out[td.dataset.ex] = (out[td.dataset.ex] || 0) + 1;
        }
        return out;""")


def test_overview_shows_prices_from_every_feed(
    browser: webdriver.Chrome, stack: str, hostile: None
) -> None:
    browser.get(stack + "/")
    wait_for(lambda: set(cells_with_prices(browser)) >= set(VENUES), 30,
             "a price cell for every venue on the overview", every_s=0.5)
    counts = cells_with_prices(browser)
    assert all(counts[v] >= 1 for v in VENUES), counts
    # Read in one script: the live table re-renders (new venues add columns), so element
    # handles taken one by one can go stale between calls.
    headers = browser.execute_script(
        "return [...document.querySelectorAll('#matrix thead th')].map(t => t.textContent.trim())")
    assert set(VENUES) <= set(headers), headers
    bid = browser.execute_script(
        "const e = document.querySelector(\"#matrix tr[data-symbol='BTC-USD'] "
        "td.quote[data-ex='kraken'] .bid\"); return e ? e.textContent.trim() : ''")
    assert NUMBER.match(bid), bid
    screenshot(browser, "overview")
    assert_no_alert(browser)
    assert_clean_console(browser)


def test_hostile_names_are_shown_as_text(
    browser: webdriver.Chrome, stack: str, hostile: None
) -> None:
    browser.get(stack + "/")
    wait_for(lambda: HOSTILE_SYMBOL in browser.find_element(By.ID, "matrix").text, 15,
             "the hostile symbol on the overview")
    assert_no_alert(browser)
    text = browser.find_element(By.TAG_NAME, "body").text
    assert HOSTILE_SYMBOL in text and HOSTILE_EXCHANGE in text
    # Nothing on the page is an <img> or <b>: the names were never parsed as markup.
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_elements(By.TAG_NAME, "b") == []

    browser.get(stack + "/symbol/" + urlquote(HOSTILE_SYMBOL, safe=""))
    assert browser.find_element(By.ID, "symbol-name").text == HOSTILE_SYMBOL
    wait_for(lambda: HOSTILE_EXCHANGE in browser.find_element(By.ID, "venues").text, 15,
             "the hostile exchange in the symbol page's venue table")
    time.sleep(1.0)  # let the page's scripts run over the hostile data
    assert_no_alert(browser)
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_elements(By.TAG_NAME, "b") == []
    assert_clean_console(browser)


def opportunity_keys(driver: webdriver.Chrome) -> set[str]:
    return set(driver.execute_script(
        "return [...document.querySelectorAll('#opps tr.opp-row')].map(r => r.dataset.key)"))


def test_a_new_opportunity_appears_without_a_reload(
    browser: webdriver.Chrome, stack: str
) -> None:
    browser.get(stack + "/opportunities")
    # A marker on the window survives only as long as the page is not reloaded.
    browser.execute_script("window.__sameDocument = 'yes'")
    wait_for(lambda: browser.find_element(By.ID, "opp-count").text != "", 15,
             "the opportunities page to load its data")
    before = opportunity_keys(browser)
    # A dislocation long enough to look at: bitstamp's ETH-USD 3 % rich for 45 s (the random
    # ones last 1-3 s, which a row may not outlive while the test clicks through it).
    response = requests.post(SIMULATOR["url"] + "/control/bitstamp/dislocate",
                             params={"symbol": "ETH-USD", "shift": "0.03", "seconds": "45"},
                             timeout=5)
    assert response.status_code == 200, response.text
    new_key = ""

    def dislocated_row() -> bool:
        nonlocal new_key
        fresh = [k for k in opportunity_keys(browser) - before
                 if k.startswith("ETH-USD|") and k.endswith("|bitstamp")]
        new_key = fresh[0] if fresh else ""
        return bool(new_key)

    # Generous: on a loaded machine the arbitrage queue may run seconds behind.
    wait_for(dislocated_row, 40, "a new ETH-USD row selling on bitstamp", every_s=0.25)
    check_new_row(browser, new_key)
    assert browser.execute_script("return window.__sameDocument") == "yes", "page reloaded"
    screenshot(browser, "opportunities")
    assert_clean_console(browser)


def check_new_row(browser: webdriver.Chrome, key: str) -> None:
    """A new row's cells, and its calculator walking through buy, transfer and sell."""
    row = browser.find_element(By.CSS_SELECTOR, f"#opps tr.opp-row[data-key='{key}']")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[0] in SYMBOLS.split(",") and cells[1] in VENUES and cells[3] in VENUES, cells
    assert re.match(r"^[+-]\d+\.\d{3} %$", cells[7]), cells
    row.find_element(By.CSS_SELECTOR, "button.calc-toggle").click()
    calc = row.find_element(By.XPATH, "following-sibling::tr[1]")
    # The steps are rebuilt whenever a quote moves the figures: read them in one script call.
    texts = browser.execute_script(
        "return [...arguments[0].querySelectorAll('.calc-steps li')].map(li => li.textContent)",
        calc)
    assert texts[0].startswith("Buy on ") and texts[1].startswith("Transfer to "), texts
    assert texts[2].startswith("Sell on ") and texts[3].startswith("Profit: "), texts


def chart_state(driver: webdriver.Chrome) -> dict:
    """Series count and whether the price chart's canvas has any non-transparent pixel."""
    return driver.execute_script("""
        const box = document.getElementById('chart');
        const canvas = box && box.querySelector('canvas');
        if (!canvas) return {series: 0, inked: false};
        const ctx = canvas.getContext('2d');
        const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = false;
        for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) { inked = true; break; }
        return {series: parseInt(box.dataset.series || '0', 10), inked};""")


def test_symbol_chart_draws(browser: webdriver.Chrome, stack: str) -> None:
    browser.get(stack + "/symbol/BTC-USD")
    wait_for(lambda: chart_state(browser)["inked"], 30, "the BTC-USD chart to draw",
             every_s=0.5)
    state = chart_state(browser)
    assert state["series"] > 0 and state["inked"], state
    # Live quotes reach the venue table and the best-venue spread.
    wait_for(lambda: NUMBER.match(browser.find_element(By.ID, "best-bid").text.strip()), 15,
             "the best bid to show")
    screenshot(browser, "symbol")
    assert_clean_console(browser)


def test_feeds_page_shows_every_venue(browser: webdriver.Chrome, stack: str) -> None:
    browser.get(stack + "/feeds")

    def rows() -> dict[str, list[str]]:
        # One script call: the page re-renders its rows every second, so element handles
        # fetched one by one would go stale midway.
        return browser.execute_script("""
            const out = {};
            for (const tr of document.querySelectorAll('#feeds tbody tr[data-ex]')) {
              out[tr.dataset.ex] = [...tr.cells].map(td => td.textContent.trim());
            }
            return out;""")

    def counted() -> bool:
        table = rows()
        return set(VENUES) <= set(table) and all(
            table[v][4] not in ("", "–", "0") for v in VENUES)

    try:
        wait_for(counted, 30, "feed message counts on the feeds page", every_s=0.5)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: {rows()}") from exc
    table = rows()
    assert set(VENUES) <= set(table), table
    for venue in VENUES:
        assert int(table[venue][4].replace(",", "")) > 0, table[venue]
    screenshot(browser, "feeds")
    assert_clean_console(browser)


def test_dark_theme_and_phone_layout(browser: webdriver.Chrome, stack: str) -> None:
    browser.get(stack + "/")
    light = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    browser.find_element(By.ID, "theme-toggle").click()
    theme = browser.execute_script("return document.documentElement.dataset.theme")
    dark = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert theme in ("dark", "light") and dark != light, (theme, light, dark)
    if theme != "dark":  # the browser preferred dark already: one more click gives light
        browser.find_element(By.ID, "theme-toggle").click()
    screenshot(browser, "overview-toggled-theme")
    browser.refresh()
    assert browser.execute_script("return document.documentElement.dataset.theme") == theme
    try:
        browser.set_window_size(390, 844)
        browser.get(stack + "/")
        wait_for(lambda: cells_with_prices(browser), 15, "prices on the phone-sized overview")
        # The matrix scrolls inside its own box; the page itself never scrolls sideways.
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, overflow
        screenshot(browser, "overview-phone")
    finally:
        browser.set_window_size(1440, 1000)
    assert_clean_console(browser)


TRI_VENUE = "e2etri"


def seed_cycle_quotes(state: RedisState, with_second: bool = False) -> None:
    """A 10 % gross cycle TBTC → TETH → TUSD on one venue (made-up coins, so no feed's market
    joins them); `with_second` adds a TSOL cycle too."""
    now = time.time_ns()
    rows = [("TBTC-TUSD", 99.9, 100.0), ("TETH-TBTC", 0.0499, 0.05), ("TETH-TUSD", 5.5, 5.51)]
    if with_second:
        rows += [("TSOL-TBTC", 0.1999, 0.2), ("TSOL-TUSD", 21.0, 21.01)]
    state.update_quotes([Quote(TRI_VENUE, symbol, bid, 10.0, ask, 10.0, None, None, now)
                         for symbol, bid, ask in rows])


def table_rows(driver: webdriver.Chrome, selector: str, key: str) -> dict[str, list[str]]:
    """Rows of a table by a data attribute, each as its cells' text (one script call)."""
    return driver.execute_script("""
        const out = {};
        for (const tr of document.querySelectorAll(arguments[0])) {
          out[tr.dataset[arguments[1]]] = [...tr.cells].map(td => td.textContent.trim());
        }
        return out;""", selector, key)


def test_triangles_and_pair_history_tables(
    browser: webdriver.Chrome, stack: str, state: RedisState, influx: InfluxDB, hostile: None
) -> None:
    from tasks.triangles import scan

    seed_cycle_quotes(state)
    scan()  # what beat runs every second, here once, in this process
    [first] = [t["key"] for t in state.triangles.load()["triangles"]
               if t["exchange"] == TRI_VENUE]
    now = time.time_ns()
    # Three closed opportunities of one pair 10 min ago, and one between hostile venue names.
    influx.write_lines([opportunity_line({
        "symbol": "BTC-USD", "buy_exchange": "e2ebuy", "sell_exchange": "e2esell",
        "opened_ns": now - 600 * 10**9 + i * 10**9, "closed_ns": now - 600 * 10**9 + i * 10**9
        + duration_ms * 10**6, "peak_net_pct": 1.0, "mean_net_pct": 0.5, "max_size": 1.0,
        "max_profit": 2.5}) for i, duration_ms in enumerate((200, 1500, 40_000))] + [
        opportunity_line({
            "symbol": "BTC-USD", "buy_exchange": HOSTILE_EXCHANGE, "sell_exchange": "e2esell",
            "opened_ns": now - 300 * 10**9, "closed_ns": now - 299 * 10**9, "peak_net_pct": 1.0,
            "mean_net_pct": 0.5, "max_size": 1.0, "max_profit": 1.0})])

    browser.get(stack + "/opportunities")
    browser.execute_script("window.__sameDocument = 'yes'")
    wait_for(lambda: first in table_rows(browser, "#triangles tr.tri-row", "key"), 15,
             "the stored cycle in the triangles table")
    cells = table_rows(browser, "#triangles tr.tri-row", "key")[first]
    assert cells[0] == TRI_VENUE and cells[1].count("→") == 3, cells
    assert re.match(r"^\+\d+\.\d{3} %$", cells[4]), cells  # net %
    assert "buy" in cells[2] and "sell" in cells[2], cells

    # A second cycle arrives over the live channel, without a reload.
    seed_cycle_quotes(state, with_second=True)
    scan()
    wait_for(lambda: len(table_rows(browser, "#triangles tr.tri-row", "key")) >= 2, 15,
             "a second cycle pushed by the live event")
    assert browser.execute_script("return window.__sameDocument") == "yes", "page reloaded"

    wait_for(lambda: "e2ebuy|e2esell" in table_rows(browser, "#pair-stats tr.stats-row", "pair"),
             15, "the seeded venue pair in the history table")
    stats = table_rows(browser, "#pair-stats tr.stats-row", "pair")
    row = stats["e2ebuy|e2esell"]
    # Three of them: 0.2 s, 1.5 s, 40 s → p50 1.5 s, p90 and max 40 s; profit 3 × 2.5 USD.
    assert row[:6] == ["e2ebuy", "e2esell", "3", "1.50 s", "40 s", "40 s"], row
    assert row[8] == "7.5 USD", row
    assert len(browser.find_elements(By.CSS_SELECTOR, "#pair-stats .histo span")) >= 9
    # The hostile venue name is shown as text and never parsed as markup.
    assert f"{HOSTILE_EXCHANGE}|e2esell" in stats
    assert browser.find_elements(By.TAG_NAME, "b") == []

    # Another range reloads the table (the seeded pair is inside the last hour as well).
    browser.find_element(By.CSS_SELECTOR, "#stats-range select option[value='3600']").click()
    wait_for(lambda: "e2ebuy|e2esell" in table_rows(browser, "#pair-stats tr.stats-row", "pair"),
             15, "the seeded pair over the last hour")
    screenshot(browser, "opportunities-triangles-history")
    assert_no_alert(browser)
    assert_clean_console(browser)
