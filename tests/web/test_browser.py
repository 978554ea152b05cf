"""The pages in a real browser (Debian's chromium, driven by chromedriver through selenium), one
browser for the module: log in, filter the board, acknowledge a discrepancy and find it in the
order's history, search an order by a system's own number, and look an order up on the customers'
page with and without the right second factor.

Without chromium and chromedriver these tests skip, saying so; under CI=true that is a failure.
With ORDERBRIDGE_SCREENSHOTS=DIR each page is also saved to DIR as PNG (docs/web/ holds them)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from web_client import PASSWORD, USER

from orderbridge.config.loader import LoadedConfig
from orderbridge.demo.scenario import demo_phone
from orderbridge.storage import discrepancies, observations
from orderbridge.storage.db import Store

from .conftest import demo_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
SHOTS = os.environ.get("ORDERBRIDGE_SCREENSHOTS")
WAIT = 10  # seconds a page may take to show what is expected

if not (CHROMIUM and DRIVER):
    reason = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from selenium import webdriver  # noqa: E402 - only once chromium is known to be there
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions as shown  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def site(demo: LoadedConfig) -> Iterator[str]:
    with demo_site(demo) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1440,1000")
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(browser: WebDriver, condition: Any) -> Any:
    return WebDriverWait(browser, WAIT).until(condition)


def screenshot(browser: WebDriver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1440, min(max(int(height), 600), 2400))
        path = Path(SHOTS) / f"{name}.png"
        browser.save_screenshot(str(path))
        with Image.open(path) as shot:  # 256 colours: a third of the size, as sharp for a page
            small = shot.convert("RGB").quantize(256)
        small.save(path, optimize=True)
        browser.set_window_size(1440, 1000)


def store_of(demo: LoadedConfig) -> Store:
    return Store(demo.config.store.url, demo.base_dir)


def test_log_in_and_filter_the_board(browser: WebDriver, site: str) -> None:
    """The board needs a login; after it, choosing a rule narrows the board to that rule in place
    (htmx, no reload) and the address keeps the filter."""
    browser.get(f"{site}/")
    wait_for(browser, shown.presence_of_element_located((By.ID, "log-in")))
    assert "/login" in browser.current_url
    screenshot(browser, "login")
    browser.find_element(By.ID, "name").send_keys(USER)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "log-in").click()
    wait_for(browser, shown.presence_of_element_located((By.ID, "board")))
    every = {
        row.get_attribute("data-rule")
        for row in browser.find_elements(By.CSS_SELECTOR, "#board tr[data-rule]")
    }
    assert {"status_conflict", "stuck", "missing"} <= every
    screenshot(browser, "board")
    board = browser.find_element(By.ID, "board")
    Select(browser.find_element(By.ID, "f-rule")).select_by_value("stuck")
    wait_for(browser, shown.staleness_of(board))
    rows = browser.find_elements(By.CSS_SELECTOR, "#board tr[data-rule]")
    assert rows and {row.get_attribute("data-rule") for row in rows} == {"stuck"}
    assert "rule=stuck" in browser.current_url


def test_acknowledge_on_the_board_and_see_it_in_the_orders_history(
    browser: WebDriver, site: str, demo: LoadedConfig
) -> None:
    """Acknowledging with a note from the board says so on the board, and the order page's history
    shows the acknowledgement with the user's name and the note."""
    store = store_of(demo)
    try:
        with store.engine.connect() as conn:
            # the last still open: the access tests acknowledge the first
            target = [d for d in discrepancies.listing(conn) if d.status == "open"][-1]
    finally:
        store.close()
    browser.get(f"{site}/?rule={target.rule}")
    row = wait_for(browser, shown.presence_of_element_located((By.ID, f"d-{target.id}")))
    row.find_element(By.NAME, "note").send_keys("asked the warehouse")
    row.find_element(By.CSS_SELECTOR, "button.ack").click()
    flash = wait_for(browser, shown.presence_of_element_located((By.ID, "flash")))
    assert f"#{target.id} acknowledged by {USER}" in flash.text
    browser.find_element(By.CSS_SELECTOR, f"#d-{target.id} a").click()
    wait_for(browser, shown.presence_of_element_located((By.ID, "order-key")))
    history = browser.find_element(By.CSS_SELECTOR, f"#d-{target.id} .events").text
    assert "acknowledged" in history and USER in history and "asked the warehouse" in history
    screenshot(browser, "order")


def test_search_an_order_by_a_systems_own_number(browser: WebDriver, site: str, demo: LoadedConfig) -> None:
    """The search box finds an order by the warehouse's own record id and by the ERP's document
    number, opening the order's page with its timeline in both systems' words."""
    store = store_of(demo)
    try:
        with store.engine.connect() as conn:
            key = next(d.order_key for d in discrepancies.listing(conn) if d.rule == "status_conflict")
            records = observations.observations_of(conn, key)
    finally:
        store.close()
    wms = next(r for r in records if r.system == "wms")
    erp = next(r for r in records if r.system == "erp")
    for number in (wms.record_id, erp.order_ref):
        assert number and number != key
        browser.get(f"{site}/")
        box = wait_for(browser, shown.presence_of_element_located((By.ID, "search")))
        box.send_keys(number)
        box.submit()
        heading = wait_for(browser, shown.presence_of_element_located((By.ID, "order-key")))
        assert key in heading.text
        timeline = browser.find_element(By.CSS_SELECTOR, "table.timeline").text
        assert "wms" in timeline and "erp" in timeline
        assert erp.native_status.get("status", "") in timeline  # the ERP's own word, e.g. 已作废


def test_the_customers_page_with_and_without_the_right_second_factor(
    browser: WebDriver, site: str, demo: LoadedConfig
) -> None:
    """A delivered order with the last four digits of its phone shows the four steps with dates and
    the tracking number; the same number with other digits shows only the not-found answer."""
    store = store_of(demo)
    try:
        with store.engine.connect() as conn:
            erp = next(r for r in observations.observations_of(conn, "SO-000041") if r.system == "erp")
    finally:
        store.close()
    right = demo_phone(41)[-4:]
    wrong = f"{(int(right) + 1) % 10000:04d}"
    answers = {}
    for digits in (wrong, right):
        browser.get(f"{site}/track")
        wait_for(browser, shown.presence_of_element_located((By.ID, "order"))).send_keys(erp.order_ref or "")
        browser.find_element(By.ID, "factor").send_keys(digits)
        browser.find_element(By.ID, "look-up").click()
        answers[digits] = wait_for(browser, shown.presence_of_element_located((By.ID, "answer"))).text
        if digits == right:
            screenshot(browser, "track")
    assert "found no order" in answers[wrong]
    assert "Delivered" not in answers[wrong]
    for step in ("Ordered", "Being prepared", "Shipped", "Delivered"):
        assert step in answers[right]
    assert "Tracking number" in answers[right]
    assert "wms" not in answers[right] and "erp" not in answers[right]


def test_stages_and_systems_pages_draw_their_numbers(browser: WebDriver, site: str) -> None:
    """/stages draws its charts as SVG beside the table; /systems lists every configured system."""
    browser.get(f"{site}/stages")
    charts = wait_for(browser, shown.presence_of_all_elements_located((By.CSS_SELECTOR, "figure.chart svg")))
    assert len(charts) == 4
    screenshot(browser, "stages")
    browser.get(f"{site}/systems")
    wait_for(browser, shown.presence_of_element_located((By.ID, "system-erp")))
    for name in ("erp", "wms", "purchasing", "finance", "carrier"):
        assert browser.find_elements(By.ID, f"system-{name}")
    screenshot(browser, "systems")
    browser.get(f"{site}/?lang=zh-CN")
    wait_for(browser, shown.presence_of_element_located((By.ID, "board")))
    assert "差异看板" in browser.page_source
    screenshot(browser, "board-zh")
    browser.get(f"{site}/?lang=en")


def test_the_board_refreshes_itself_but_not_over_a_note_being_written(
    browser: WebDriver, demo: LoadedConfig
) -> None:
    """With a one-second refresh the board is swapped for a fresh one without a reload; while a note
    holds text, it is left alone (what was typed stays)."""
    with demo_site(demo, board_refresh=timedelta(seconds=1)) as url:
        browser.get(f"{url}/login")
        browser.find_element(By.ID, "name").send_keys(USER)
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "log-in").click()
        board = wait_for(browser, shown.presence_of_element_located((By.ID, "board")))
        browser.execute_script("window.notReloaded = true")
        wait_for(browser, shown.staleness_of(board))
        assert browser.execute_script("return window.notReloaded") is True
        note = browser.find_element(By.CSS_SELECTOR, "#board input[name=note]")
        note.send_keys("half a thought")
        browser.find_element(By.ID, "f-amount").click()  # the note keeps its text, not the focus
        time.sleep(2.5)  # two refreshes' worth
        assert note.get_attribute("value") == "half a thought"  # the same element: not swapped
    browser.delete_all_cookies()  # that site's session: cookies do not tell ports apart


def test_no_page_broke_the_content_security_policy(browser: WebDriver) -> None:
    """Nothing the pages above used (htmx, styles, SVG) was blocked by the security headers' policy:
    the browser's console holds no violation and no script error. Runs last, over the whole module."""
    problems = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]
    ]
    assert problems == []
