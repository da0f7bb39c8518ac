"""Regenerate docs/report.png, the README's screenshot of the HTML report of the incident fixture.

    .venv/bin/python docs/report_screenshot.py            # needs the test extra and Debian's chromium +
                                                            # chromium-driver (apt-get install chromium chromium-driver)

Writes the report with the real command line, opens it in headless chromium (selenium, the same setup as
tests/test_html_browser.py), captures the Conditioning charts and prints the page's size and the time
`--format html` took against `--format json` on the same run (the cost of the page itself).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCIDENT = ROOT / "fixtures" / "exploding_infinities"
OUT = ROOT / "docs" / "report.png"
# The screenshot spans these charts (top of the first to bottom of the last).
FIRST, LAST = "chart-spectrum-1", "chart-onehot-1"


def _run(fmt: str, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlstablint", "check", "--select", "MSL", str(INCIDENT), "--data",
                    str(INCIDENT / "train.parquet"), "--target", "y", "--no-cache", "--format", fmt, "-o", str(out)],
                   cwd=ROOT, check=False, capture_output=True)
    if not out.is_file():
        raise SystemExit(f"mlstablint --format {fmt} wrote no report")
    return time.perf_counter() - start


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        raise SystemExit("needs chromium and chromedriver: apt-get install chromium chromium-driver")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        json_s = _run("json", Path(tmp) / "report.json")
        html_s = _run("html", page)
        print(f"report.html: {page.stat().st_size / 1e6:.2f} MB; check --format html {html_s:.1f} s, "
              f"--format json {json_s:.1f} s (ratio {html_s / json_s:.2f})")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,900",
                    "--hide-scrollbars", "--force-color-profile=srgb"):
            options.add_argument(arg)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            driver.get(page.as_uri())
            top, bottom = driver.execute_script(
                "const a = document.getElementById(arguments[0]).getBoundingClientRect();"
                "const b = document.getElementById(arguments[1]).getBoundingClientRect();"
                "return [a.top + scrollY - 12, b.bottom + scrollY + 12];", FIRST, LAST)
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 40, "y": top, "width": 1020, "height": bottom - top, "scale": 1}})
        finally:
            driver.quit()
    OUT.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
