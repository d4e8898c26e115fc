"""Every HTML page curate writes (report.html and great-expectations' Data Docs under
reports/data_docs/) is safe with hostile column names and values: opened in headless
Chromium, no script from the data runs, and the hostile text is shown as text."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
import yaml
from runs import run
from test_report import _browser_or_skip

SCRIPT = "<script>document.title='pwned-script'</script>"
IMAGE = "<img src=x onerror=\"document.title='pwned-img'\">"
LINK = "<a href=\"javascript:document.title='pwned-link'\">x</a>"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "in").mkdir()
    rows = 24
    pl.DataFrame({
        SCRIPT: [f"{SCRIPT}{i}" for i in range(rows)],  # the id column
        "text": [f"{IMAGE} text number {i % 20} {LINK}" for i in range(rows - 1)] + [""],
        IMAGE: [SCRIPT, IMAGE, LINK] * (rows // 3),
    }).write_parquet(folder / "in" / "hostile.parquet")
    (folder / "hostile.yaml").write_text(yaml.safe_dump({
        "description": SCRIPT,
        "expectations": [
            {"expect": "column_values_to_be_in_set", "column": IMAGE, "value_set": [SCRIPT, "x"]},
            {"expect": "column_values_to_match_regex", "column": "text", "regex": SCRIPT},
            {"expect": "column_values_to_not_be_null", "column": "$id"},
        ],
    }))
    (folder / "pipeline.yaml").write_text(yaml.safe_dump({
        "input": {"path": "in/*.parquet", "id_column": SCRIPT},
        "output": "run",
        "stages": [{"stage": "length_filter", "min_words": 1}, {"stage": "exact_dedup"}],
        "expectations": {"output": ["basic", "hostile.yaml"], "input": ["hostile.yaml"], "data_docs": True},
    }))
    return run(folder / "pipeline.yaml").output


@pytest.mark.slow
def test_every_page_curate_writes_runs_no_script_from_the_data(hostile_run):
    chromium, driver_path = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    pages = sorted(hostile_run.rglob("*.html"))
    docs = [p for p in pages if "data_docs" in p.parts]
    assert hostile_run / "report.html" in pages and len(docs) >= 6  # index, 3 suite pages, 3 validation pages
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",  # the Data Docs' CDN links fail at once, offline
                 f"--user-data-dir={tempfile.mkdtemp()}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    browser.set_page_load_timeout(60)
    try:
        shown = 0
        for page in pages:
            browser.get(page.as_uri())
            for link in browser.find_elements(By.CSS_SELECTOR, "a[href^='javascript:']"):
                link.click()  # a link from the data must not run anything either
            assert "pwned" not in browser.title, page
            assert browser.execute_script("return document.querySelectorAll('img[onerror]').length") == 0, page
            text = browser.find_element(By.TAG_NAME, "body").text
            shown += SCRIPT in text  # the hostile name is on the page, as text
            assert "&lt;" not in text, page  # escaped once, not twice
        assert shown >= len(docs) - 1  # every page but the Data Docs index names the id column
    finally:
        browser.quit()
