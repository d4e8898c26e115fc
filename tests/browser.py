"""Headless Chromium for report tests and bench/report_height.py: page height and
horizontal overflow at a given window width, as a reviewer's browser lays the page out."""

from __future__ import annotations

import tempfile
from pathlib import Path

OVERFLOW_SCRIPT = """
const width = document.documentElement.clientWidth;
const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    const s = getComputedStyle(p); if (['auto', 'scroll', 'hidden'].includes(s.overflowX) && p !== document.body && p !== document.documentElement) return true;
    if (p.tagName === 'DETAILS' && !p.open) return true; } return false; };
const out = [];
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  if ((r.right > width + 1 || r.left < -1) && !scrolls(el)) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
}
return {height: document.documentElement.scrollHeight, scroll_width: document.documentElement.scrollWidth, width: width, outside: out.slice(0, 20)};
"""


def chromium(chromium_path: str, driver_path: str, scratch: Path, width: int = 1366, performance_log: bool = False):
    """A headless Chromium driven by selenium (paths given: no Selenium Manager, no network)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium_path
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars", f"--window-size={width},900",
                 f"--user-data-dir={tempfile.mkdtemp(dir=scratch)}"):
        options.add_argument(flag)
    if performance_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def layout(browser, url: str, width: int) -> dict:
    """Page height (px), the page's scroll width, and elements sticking out sideways
    (outside any scroll box or closed <details>) with the window `width` px wide."""
    browser.set_window_size(width, 900)
    # The window includes no scrollbar (--hide-scrollbars), so the viewport is `width` wide.
    browser.get(url)
    return browser.execute_script(OVERFLOW_SCRIPT)
