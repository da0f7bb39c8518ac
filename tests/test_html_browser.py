"""The incident's HTML report in a real browser: Debian's chromium driven by selenium through chromedriver.

Selenium rather than chromium's headless command line (`--screenshot`, `--dump-dom`): the command line
shows neither the console nor the network, and these tests are about exactly those — the browser's log
(no console error), its performance log of network events (no request but the page itself), the laid-out
DOM (every section present, every chart with a non-zero size), emulated dark mode and printing (DevTools
commands through the same session), and a screenshot kept as a CI artifact.

Skipped with the reason when chromium or chromedriver is absent, unless MLSTABLINT_REQUIRE_BROWSER=1 (CI
sets it): then their absence is a failure. Screenshots go to $MLSTABLINT_ARTIFACTS (default: a tmp folder).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_html_report import GOLDEN_CHARTS, GOLDEN_SECTIONS

REQUIRED = os.environ.get("MLSTABLINT_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"MLSTABLINT_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _browser_binaries() -> tuple[str, str]:
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        _unavailable("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    assert chromium is not None and driver is not None
    return chromium, driver


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[test]')")
    chromium, driver_path = _browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,900",
                "--no-first-run", "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # An explicit chromedriver: selenium never tries to download one.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("MLSTABLINT_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def loaded(browser: Any, incident_html: Path) -> dict[str, Any]:
    """Load the page once; collect its console and network logs from the load."""
    browser.get_log("browser")  # drop anything logged before the page
    browser.get_log("performance")
    url = incident_html.resolve().as_uri()
    browser.get(url)
    browser.execute_script("return document.readyState")
    return {"url": url, "console": browser.get_log("browser"), "performance": browser.get_log("performance")}


def test_no_console_errors(loaded: dict[str, Any]) -> None:
    errors = [e for e in loaded["console"] if e.get("level") == "SEVERE"]
    assert errors == []


def test_no_request_leaves_the_page(browser: Any, loaded: dict[str, Any]) -> None:
    requested = []
    for entry in loaded["performance"]:
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            requested.append(message["params"].get("request", {}).get("url") or message["params"].get("url"))
    assert requested and set(requested) == {loaded["url"]}, requested
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_every_section_is_present_and_every_chart_is_drawn(browser: Any, loaded: dict[str, Any]) -> None:
    sections = browser.execute_script(
        "return [...document.querySelectorAll('main > section')].map(s => [s.id, s.querySelector('h2').innerText,"
        " s.getBoundingClientRect().height])")
    assert [(i, t) for i, t, _h in sections] == GOLDEN_SECTIONS
    assert all(h > 0 for _i, _t, h in sections)
    charts = browser.execute_script(
        "return [...document.querySelectorAll('figure')].map(f => { const r = f.querySelector('svg')"
        ".getBoundingClientRect(); return [f.id, r.width, r.height, f.querySelector('svg').querySelectorAll("
        "'path, text, use').length]; })")
    assert GOLDEN_CHARTS <= {c[0] for c in charts}
    for chart_id, width, height, marks in charts:
        assert width > 100 and height > 50 and marks > 10, chart_id


def test_dark_mode_and_print(browser: Any, loaded: dict[str, Any], artifacts: Path) -> None:
    def colours() -> tuple[list[int], list[int]]:
        got = browser.execute_script(
            "return [getComputedStyle(document.body).backgroundColor,"
            " getComputedStyle(document.querySelector('figure svg')).color]")
        return tuple([int(v) for v in c[c.index("(") + 1:-1].split(",")[:3]] for c in got)  # type: ignore[return-value]

    light_bg, light_ink = colours()
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        dark_bg, dark_ink = colours()
        _screenshot(browser, artifacts / "incident-report-dark.png")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    assert sum(light_bg) > 600 and sum(light_ink) < 200  # dark ink on a light page
    assert sum(dark_bg) < 150 and sum(dark_ink) > 500  # the charts' ink follows the page into dark mode
    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})["data"])
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000


def _screenshot(browser: Any, path: Path) -> None:
    height = browser.execute_script("return document.documentElement.scrollHeight")
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": 1100, "height": min(height, 16000), "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))


def test_screenshot_artifact(browser: Any, loaded: dict[str, Any], artifacts: Path) -> None:
    path = artifacts / "incident-report.png"
    _screenshot(browser, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 50_000
