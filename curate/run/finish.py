"""The finish phase: from finished shard work in `_work/` to a finished run directory.

Every step is idempotent, so a run killed anywhere in it finishes when the same
command runs again (the runner then reaches this phase with every shard and decision
already recorded in `_work/` and runs all of it again):

1. `_work/data` and `_work/removed` are renamed to `data/` and `removed/` (a step whose
   source is gone has happened);
2. report tables are renamed from `_work/decisions/*/tables/` into `reports/` (likewise);
3. the stage reports are written (from the shard markers, so the same every time);
4. validation suites and gates run (`reports/validation.json`), report.html is written;
5. `manifest.json` is written, atomically: from here on the run is finished;
6. `_work/` is deleted; a rerun of a finished run deletes a `_work/` still there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.errors import storage_error
from curate.files import write_json_atomic
from curate.run.crash import crash_point
from curate.run.rundir import WORK, remove


def place_output(output: Path) -> None:
    """Step 1: `_work/data` and `_work/removed` into place."""
    for name in ("data", "removed"):
        source, target = output / WORK / name, output / name
        if source.exists():
            remove(target)  # only a partial earlier placement can be there: curate's own
            _rename(source, target)
        crash_point(f"finish:{name}")
    (output / "data").mkdir(exist_ok=True)


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
        write_json_atomic(report, folder / f"{stem}.json")
        crash_point("finish:stage_report")


def remove_work(output: Path) -> None:
    """Step 6: delete `_work/`, top entry by top entry (a kill between them leaves a
    `_work/` that the next run of the same command deletes)."""
    work = output / WORK
    if not work.exists():
        return
    for entry in sorted(work.iterdir()):
        remove(entry)
        crash_point("finish:cleanup")
    remove(work)


def _rename(source: Path, target: Path) -> None:
    try:
        source.replace(target)
    except OSError as exc:
        raise storage_error(exc, target) or exc from None
