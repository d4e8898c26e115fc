"""What in a run directory is curate's: the marker, the names curate writes, and the
checks that keep curate from deleting or reading what it did not write.

A run directory carries `.curate-run`, written when curate first claims the directory.
`--fresh` deletes only curate's own entries (FINAL_NAMES and `_work/`), and only when
the directory carries the marker (or a manifest or `_work/state.json` of an older
curate) and every file in those entries has a name curate gives its files.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from curate import __version__
from curate.errors import OutputError, storage_error
from curate.files import is_temporary, remove_temporary, write_json_atomic

WORK = "_work"
CACHE = "_cache"
"""The last finished run's work, kept for the next run to reuse (curate/run/reuse.py)."""
MARKER = ".curate-run"
FINAL_NAMES = ("data", "removed", "reports", "report.html", "manifest.json")

_PART = r"part-\d{5}(-\d{4})?\.(parquet|jsonl\.gz)"  # -NNNN and .jsonl.gz: output.max_rows_per_file, output.format
_STAGE = r"\d{2}_[^/]+"
CURATE_FILES = re.compile(
    rf"(data/{_PART}"
    rf"|removed/[^/]+/{_PART}"
    rf"|reports/{_STAGE}\.json|reports/{_STAGE}\.[^/]+\.parquet|reports/validation\.json|reports/evaluation\.json|reports/data_docs/.*"
    r"|report\.html|manifest\.json)"
)
"""The files curate writes in the places `--fresh` replaces, relative to the run directory."""

def has_marker(output: Path) -> bool:
    return (output / MARKER).is_file()


def write_marker(output: Path, uploads_to: str | None) -> None:
    """`uploads_to`: the output URL when the directory is the local copy of a run at a URL."""
    if not has_marker(output):
        write_json_atomic({"made_by": "curate", "curate_version": __version__, "uploads_to": uploads_to,
                           "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}, output / MARKER)


def refuse_other_claim(output: Path, uploads_to: str | None) -> None:
    """OutputError when a run to a URL is pointed at a local run's directory, or a local run
    at the local copy of a URL's run (or a URL run at another URL's copy): finishing would
    upload the one and then delete it as a local copy, or mix the two runs' rows."""
    try:
        marker = json.loads((output / MARKER).read_text()) if has_marker(output) else {}
    except (OSError, ValueError):
        marker = {}  # unreadable: refuse_foreign and the state decide as for any run directory
    if not isinstance(marker, dict) or "uploads_to" not in marker:
        return  # no marker, or an earlier curate's, which did not record it: its runs resume as before
    claimed = marker["uploads_to"]
    if claimed == uploads_to:
        return
    if uploads_to is None:
        raise OutputError(f"output {output} is the local copy of the run at {claimed} (`--output {claimed} --work-dir {output}` resumes it); choose another --output")
    holds = f"the local copy of the run at {claimed}" if claimed else "a local curate run"
    raise OutputError(f"--work-dir {output} holds {holds}; the run for {uploads_to} needs a folder of its own: choose an empty --work-dir")


def made_by_curate(output: Path) -> bool:
    """The marker, or what an older curate (before markers) left: a manifest or a state
    that is curate's (a user's own `manifest.json` is not)."""
    return has_marker(output) or _curate_record(output / "manifest.json") or _curate_record(output / WORK / "state.json")


def _curate_record(path: Path) -> bool:
    """A JSON object with the keys every manifest and state of curate has."""
    record = _json_object(path)
    return record is not None and {"curate_version", "pipeline_hash"} <= record.keys()


def final_entries(output: Path) -> list[str]:
    return [name for name in FINAL_NAMES if (output / name).exists()]


def curate_entries(output: Path) -> list[str]:
    return [name for name in (WORK, CACHE, *FINAL_NAMES) if (output / name).exists()]


def foreign_files(output: Path) -> list[Path]:
    """Files in the places curate replaces whose names curate never gives a file."""
    found = []
    for name in FINAL_NAMES:
        top = output / name
        paths = sorted(top.rglob("*")) if top.is_dir() else [top] if top.exists() else []
        for path in paths:
            if path.is_dir() or is_temporary(path.name):
                continue
            relative = path.relative_to(output).as_posix()
            if not CURATE_FILES.fullmatch(relative) or not _stage_report_of_curate(output, relative):
                found.append(path)
    return found


_STAGE_REPORT = re.compile(rf"reports/({_STAGE})\.json")
_STAGE_TABLE = re.compile(rf"reports/({_STAGE})\.([^/.]+)\.parquet")  # a table's name has no dot; a stage's may


def _stage_report_of_curate(output: Path, relative: str) -> bool:
    """For a name like a stage report's (`reports/07_quality.json`) or its table's: whether
    curate wrote it, which the name alone does not say (a user's copy of an earlier report,
    `reports/07_quality_before.json`, or their own `reports/02_slices.my_notes.parquet`
    beside curate's `02_slices.json`, has one too). A stage report's index and name give
    its file name; a table is one such a report lists in its `tables`, or, until the
    report is written, one the run's decisions it came from list. Other names: True."""
    report = _STAGE_REPORT.fullmatch(relative)
    if report:
        return _curate_stage_report(output / relative, report.group(1)) is not None
    table = _STAGE_TABLE.fullmatch(relative)
    if table:
        stem, name = table.groups()
        listed = (_curate_stage_report(output / "reports" / f"{stem}.json", stem) or {}).get("tables")
        return (isinstance(listed, dict) and relative in listed.values()) or name in _decided_tables(output / WORK / "decisions" / stem)
    return True


def _curate_stage_report(path: Path, stem: str) -> dict[str, Any] | None:
    """The stage report at `path` when its index and name give its file name `stem`, else None."""
    report = _json_object(path)
    return report if report is not None and isinstance(report.get("index"), int) and f"{report['index']:02d}_{report.get('name')}" == stem else None


def _decided_tables(decisions: Path) -> list[str]:
    """The names of the tables a whole-dataset stage's decisions in `decisions` wrote
    (its `done.json`: stats.tables), none when it has not decided."""
    stats = (_json_object(decisions / "done.json") or {}).get("stats")
    tables = stats.get("tables") if isinstance(stats, dict) else None
    return tables if isinstance(tables, list) else []


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent, unreadable, not JSON: not curate's
        return None
    return record if isinstance(record, dict) else None


def refuse_foreign(output: Path, action: str) -> None:
    """OutputError unless every entry curate would replace is curate's own."""
    entries = curate_entries(output)
    if entries and not made_by_curate(output):
        raise OutputError(
            f"output {output} has {', '.join(entries)} but curate did not make it (no {MARKER} marker); "
            f"curate will not {action} them: move them away or choose another --output"
        )
    foreign = foreign_files(output)
    if foreign:
        raise foreign_error(str(output), [str(f) for f in foreign], action)


def foreign_error(output: str, foreign: list[str], action: str) -> OutputError:
    """Files (or a URL's objects) in the places curate replaces that curate did not write."""
    more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
    return OutputError(
        f"output {output} holds {foreign[0]}{more}, which curate did not write; curate will not {action} it: "
        "move it away or choose another --output"
    )


def clear_run(output: Path, action: str = "delete") -> None:
    """Delete curate's own entries (`--fresh`, a fresh start), after refuse_foreign said
    they are curate's. The manifest goes first, then the state: a kill half-way leaves a
    directory that is neither finished nor resumable, which the next run clears again."""
    refuse_foreign(output, action)
    for path in (output / "manifest.json", output / WORK / "state.json", output / WORK, output / CACHE, *(output / name for name in FINAL_NAMES)):
        remove(path)


def remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        raise storage_error(exc, path) or exc from None


def sweep_temporary(output: Path) -> None:
    """Remove the temporary files killed processes left wherever curate writes in the
    run directory (the lock says none is writing): its top level, the final entries, and
    all of `_work/` and `_cache/`. Left in `_work/`, one would be moved into place with
    `_work/data` or `_work/removed`, or into `_cache/` with the rest."""
    remove_temporary(output, recursive=False)
    for name in (WORK, CACHE, *FINAL_NAMES):
        remove_temporary(output / name)


# ---------------------------------------------------------------- input and output apart

_PROBES = ("data/part-00000.parquet", "removed/stage/part-00000.parquet", "reports/01_stage.table.parquet",
           f"{WORK}/seg-00/part-00000.arrow", f"{WORK}/removed/stage/part-00000.parquet",
           f"{WORK}/summary/01_stage/part-00000.parquet", f"{WORK}/decisions/01_stage/part-00000.parquet",
           f"{CACHE}/seg-00/part-00000.arrow")
"""Files like those curate writes: an input pattern that matches any of them would read
a run's own output as input the next time."""


def check_apart(inputs: list[Path], patterns: list[str], output: Path, named: str = "input.path") -> None:
    """OutputError when an input file lies in the output directory, or an input pattern
    (from `named`: input.path or --input) would match files curate writes there: a glob
    that matches them, or a folder whose walk would read them (the output below it). The
    first run writes nothing that its own input reads, but the next one would read it."""
    from curate.run.sources import read_in_folder  # here: sources imports this module (the run marker)

    output = output.resolve()
    for path in inputs:
        if path.is_relative_to(output) or path.resolve().is_relative_to(output):  # an input that is a link: where it lies and where it leads
            raise OutputError(
                f"input {path} lies inside the output directory {output}; curate would replace or delete it: "
                "choose an --output outside the input's folders"
            )
    for pattern in patterns:
        folder = Path(pattern).resolve()
        if folder.is_dir():
            for probe in _PROBES:
                written = output / probe
                if written.is_relative_to(folder) and read_in_folder(written.relative_to(folder).as_posix(), None):
                    raise OutputError(
                        f"{named} {pattern!r} is a folder holding the output directory {output}: the next run would read "
                        "curate's own output as input; choose an --output outside the input's folders"
                    )
        if glob.has_magic(pattern):
            absolute = Path(os.path.normpath(Path.cwd() / pattern))  # an absolute pattern stays itself
            for probe in _PROBES:
                if _glob_match(absolute.parts, (output / probe).parts):
                    raise OutputError(
                        f"{named} {pattern!r} would match curate's own output in {output} "
                        f"(e.g. {output / probe}); choose an --output outside the input's folders"
                    )


def _glob_match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """Whether glob `pattern` (split in parts; `**` any number of folders) matches `path`."""
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_glob_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and _glob_match(rest, path[1:])
