"""How long report.html is for a reviewer: page height (px) and sideways overflow in
headless Chromium at 1366 and 420 px wide, with every section closed (as the page opens),
with every stage section open, and with everything open; for the demo run and an
IMDB-sized run (50,000 rows of real texts, seven stages, tests/large_run.py).

    python bench/report_height.py                         # runs both pipelines, then measures
    python bench/report_height.py --large-run runs/large  # reuse finished runs (re-renders their pages)
    python bench/report_height.py --screenshots docs/img  # also the demo page's screenshots for docs/

Needs chromium and chromedriver (apt-get install chromium chromium-driver) and
../shared/data for the IMDB-sized input.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from browser import OVERFLOW_SCRIPT, chromium, layout
from large_run import write_large_input, write_large_pipeline

SHARED = REPO.parent / "shared" / "data"


def curate(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "curate", *args], capture_output=True, text=True, check=False)
    if result.returncode not in (0, 5):
        raise SystemExit(result.stderr)


def measure(browser, page: Path) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = {"closed": {}, "stages open": {}, "all open": {}, "overflow": {}}
    for width in (1366, 420):
        closed = layout(browser, page.as_uri(), width)
        out["closed"][width] = closed["height"]
        browser.execute_script("document.querySelectorAll('details.stage').forEach(d => d.open = true)")
        out["stages open"][width] = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
        opened = browser.execute_script(OVERFLOW_SCRIPT)
        out["all open"][width] = opened["height"]
        out["overflow"][width] = len(closed["outside"]) + len(opened["outside"]) + (closed["scroll_width"] > width) + (opened["scroll_width"] > width)
    return out


def screenshots(browser, page: Path, folder: Path) -> None:
    """The page as it opens (summary and closed stages) at both widths, full height."""
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1366, 420):
        height = layout(browser, page.as_uri(), width)["height"]
        browser.set_window_size(width, min(height, 4000))
        browser.get(page.as_uri())
        target = folder / f"report-demo-{width}.png"
        browser.save_screenshot(str(target))
        print(f"{target}: {target.stat().st_size / 1024:.0f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo-run", type=Path, help="a finished run of pipelines/demo.yaml (default: run it)")
    parser.add_argument("--large-run", type=Path, help="a finished IMDB-sized run (default: generate and run it)")
    parser.add_argument("--screenshots", type=Path, help="write the demo page's screenshots here")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="report-height-"))
    try:
        demo = args.demo_run or scratch / "demo"
        if args.demo_run is None:
            curate("run", str(REPO / "pipelines" / "demo.yaml"), "--output", str(demo), "--quiet")
        large = args.large_run
        if large is None:
            folder = write_large_input(scratch / "large", SHARED)
            started = time.perf_counter()
            curate("run", str(write_large_pipeline(folder)), "--workers", "2", "--quiet")
            print(f"IMDB-sized run: {time.perf_counter() - started:.0f} s")
            large = folder / "run"
        for run_dir in (demo, large):
            started = time.perf_counter()
            curate("report", str(run_dir))
            print(f"{run_dir}: report.html rendered in {time.perf_counter() - started:.1f} s, {(run_dir / 'report.html').stat().st_size / 1e6:.2f} MB")
        browser = chromium(shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver", scratch)
        try:
            print("| run | width | closed px | stages open px | all open px | elements overflowing |")
            print("|---|---:|---:|---:|---:|---:|")
            for name, run_dir in (("demo (4,000 rows)", demo), ("IMDB-sized (50,000 rows)", large)):
                m = measure(browser, run_dir / "report.html")
                for width in (1366, 420):
                    print(f"| {name} | {width} | {m['closed'][width]:,} | {m['stages open'][width]:,} | {m['all open'][width]:,} | {m['overflow'][width]} |")
            if args.screenshots:
                screenshots(browser, demo / "report.html", args.screenshots)
        finally:
            browser.quit()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
