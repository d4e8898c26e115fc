"""The finish phase: from finished shard work in `_work/` to a finished run directory.

Every step is idempotent, so a run killed anywhere in it finishes when the same
command runs again (the runner then reaches this phase with every shard and decision
already recorded in `_work/` and runs all of it again):

0. files curate did not write in `data/`, `removed/` or `reports/` stop the run (exit 4)
   before anything moves, and an earlier run's `manifest.json` is deleted: a run
   directory with a manifest is always finished and describes the rows beside it;
1. `_work/data` and `_work/removed` are renamed to `data/` and `removed/`, replacing the
   earlier run's as wholes (a step whose source is gone has happened);
2. report tables are renamed from `_work/decisions/*/tables/` into `reports/` (likewise);
3. the stage reports are written (from the shard markers, so the same every time), and
   reports an earlier run left that this run does not write are deleted;
4. validation suites and gates run (`reports/validation.json`), report.html is written
   into `_work/` (a report saying "complete" is never seen beside no manifest, for
   instance while `output.format` writes its files);
5. `manifest.json` is written, atomically: from here on the run is finished;
6. report.html is moved into place, and `_work/` becomes `_cache/`, the work the next
   run reuses (curate/run/reuse.py); a rerun of a finished run does both with a `_work/`
   still there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.errors import storage_error
from curate.files import write_json_atomic
from curate.run.crash import crash_point
from curate.run.reuse import keep_as_cache
from curate.run.rundir import WORK, remove


def place_output(output: Path) -> None:
    """Step 1: `_work/data` and `_work/removed` into place. `_work/data` is there until
    it is placed (the last segment writes it): while it is, the earlier run's `data/`
    and `removed/` go as wholes, even when this run removed nothing (no `_work/removed`,
    say with --annotate-only), so none of its removed rows stays beside the new ones."""
    work = output / WORK
    if (work / "data").exists():
        remove(output / "data")
        remove(output / "removed")
        _rename(work / "data", output / "data")
    crash_point("finish:data")
    if (work / "removed").exists():
        remove(output / "removed")  # only a partial earlier placement can be there: curate's own
        _rename(work / "removed", output / "removed")
    crash_point("finish:removed")
    (output / "data").mkdir(exist_ok=True)


PENDING_REPORT = "report.html"
"""report.html in `_work/` until the manifest is written (step 4 to 6)."""


def settle_finished(output: Path) -> None:
    """Step 6: report.html from `_work/` into place (a step whose source is gone has
    happened), and `_work/` becomes the cache; also what a rerun does for a finished run
    killed in this step."""
    place_report(output)
    keep_as_cache(output)


def place_report(output: Path) -> None:
    """report.html from `_work/` into place (first half of step 6)."""
    pending = output / WORK / PENDING_REPORT
    if pending.exists():
        _rename(pending, output / "report.html")


def write_stage_reports(output: Path, reports: list[dict[str, Any]]) -> None:
    """Steps 2 and 3: each stage's tables and report JSON into `reports/`."""
    folder = output / "reports"
    folder.mkdir(exist_ok=True)
    for report in reports:
        stem = f"{report['index']:02d}_{report['name']}"
        tables = report["stats"].pop("tables", [])
        if tables:
            report["tables"] = {t: f"reports/{stem}.{t}.parquet" for t in tables}
            for table in tables:
                source = output / WORK / "decisions" / stem / "tables" / f"{table}.parquet"
                if source.exists():
                    _rename(source, folder / f"{stem}.{table}.parquet")
                crash_point("finish:table")
        write_json_atomic(report, folder / f"{stem}.json", make_folders=False)  # made above: gone, the run directory was deleted
        crash_point("finish:stage_report")


def remove_stale_reports(output: Path, reports: list[dict[str, Any]]) -> None:
    """Step 3b: what an earlier run left in `reports/` that this run does not write (a
    rerun after a change replaces the old run's output as a whole): reports of stages
    that are gone or renamed, validation results that `checks/` writes again, and `curate
    evaluate`'s result, which is of the earlier run's rows."""
    stems = {f"{r['index']:02d}_{r['name']}" for r in reports}
    for path in sorted((output / "reports").glob("[0-9][0-9]_*")):
        if not any(path.name.startswith(f"{stem}.") for stem in stems):
            remove(path)
    for name in ("validation.json", "data_docs", "evaluation.json"):  # evaluation.json: of the earlier run's rows
        remove(output / "reports" / name)


def _rename(source: Path, target: Path) -> None:
    try:
        source.replace(target)
    except OSError as exc:
        raise storage_error(exc, target) or exc from None
