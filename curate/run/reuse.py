"""What a rerun keeps of earlier work. A stage's work depends on the input (file content
hashes), curate's build (the hash of its source and built-in rules the run state
records), the settings every stage sees (the `input:` section, `--annotate-only`), its
own parameters and files, and the stages before it. So with the same input, build and
settings, every segment whose stages all come before the first
changed stage (a stage's parameters or its files) is kept, with the whole-dataset
decisions between them; the rest is redone. Each stage's rows are a segment of their own
(curate/run/segments.py), so a change to the last stage redoes that stage alone. A
segment ends with the summary the next dataset stage needs, which depends on that
stage's parameters: when that stage is the first changed one, the segment's rows are
kept and its summary alone is redone.

Two reruns keep work this way:
- after a run stopped on a data or pipeline error, or killed, the rerun with a fix or a
  change keeps the work in `_work/` that the change cannot have changed;
- after a finished run, a rerun with a changed pipeline starts from `_cache/`: the
  finished run's `_work/` (its markers, per-stage rows, summaries and decisions), kept
  when it finished, with its removed rows and report tables linked back from the run
  directory. The old run's `data/`, `removed/`, reports and manifest stay in place until
  the new run's finish phase replaces them. `_cache/` holds only the last finished
  run's work: each finished run replaces it, and deleting it costs only reuse.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from curate.config import pipeline_changes
from curate.files import input_identity, read_json, write_json_atomic
from curate.report.compare import slice_text
from curate.run.crash import crash_point
from curate.run.rundir import CACHE, WORK, remove
from curate.run.accounting import stage_key
from curate.run.segments import Segment
from curate.stages import Stage

REUSED = "reused.json"
"""In `_work/`: the indices of the stages whose work this run kept (not ran)."""

CHANGES_NAMED = 3
"""Pipeline changes a rerun's note names; any more are counted (a note naming only the
first read as 'only this changed')."""


WORK_ONLY = ("expectations", "gates")
"""Pipeline keys that only the finish phase reads: changing them invalidates no work."""


def unchanged_stages(old: dict[str, Any], new: dict[str, Any], stages: list[Stage]) -> int:
    """How many leading stages are the same in both run states (0: nothing reusable)."""
    if any(old.get(key) != new[key] for key in ("curate_version", "build", "annotate_only", "inputs", "slice")):
        return 0
    if _settings(old.get("pipeline", {})) != _settings(new["pipeline"]):
        return 0
    count = 0
    for index, (old_stage, new_stage, stage) in enumerate(zip(old["pipeline"]["stages"], new["pipeline"]["stages"], stages)):
        key = stage_key(index, stage)
        # both ways: a file gone from the stage's files (a reference glob's) is as much a change as a new or edited one
        if old_stage != new_stage or old.get("stage_files", {}).get(key, {}) != new["stage_files"].get(key, {}):
            break
        count += 1
    return count


def keep_unchanged(work: Path, segments: list[Segment], stages: list[Stage], unchanged: int) -> list[int]:
    """Delete from `work` everything but the work of the first `unchanged` stages: the
    leading segments whose stages are all among them, and the rows of the segment after
    them when only its last step, a changed dataset stage's summary, is not (its shards'
    markers then lack that stage, so the run redoes the summary alone). Returns the
    indices of the stages whose work is kept."""
    kept = kept_segments(segments, unchanged)
    # A segment's rows are kept in seg-NN/ for the next one, except the earlier run's last
    # segment, which wrote them to _work/data (since placed): a stage added after it redoes it.
    while kept and not _rows_kept(work, segments[kept - 1]):
        kept -= 1
    rows_only = rows_kept_segment(segments, unchanged, kept)
    if rows_only is not None and not _rows_kept(work, rows_only):
        rows_only = None
    kept_stages = {stage_key(i, stages[i]) for s in segments[:kept] for i in _indices(s)}
    names = {stages[i].name for s in segments[:kept] for i in (s.head, *s.body) if i is not None}
    if rows_only is not None:
        tail = stage_key(rows_only.tail, stages[rows_only.tail])
        for path in sorted((work / "markers" / f"seg-{rows_only.index:02d}").glob("*.json")):
            marker = read_json(path)
            if marker["stages"].pop(tail, None) is not None:
                write_json_atomic(marker, path)  # before its summary goes: a kill in between redoes it
        names |= {stages[i].name for i in (rows_only.head, *rows_only.body) if i is not None}
    ends = kept + (rows_only is not None)
    for path in sorted((work / "markers").glob("seg-*")) + sorted(work.glob("seg-*")):
        if int(path.name.removeprefix("seg-")) >= ends:
            remove(path)
    remove(work / "data")
    for folder, keep in (("removed", names), ("summary", kept_stages), ("decisions", kept_stages)):
        for path in sorted((work / folder).glob("*")):
            if path.name not in keep:
                remove(path)
    redone = {i for s in segments[kept:] for i in _indices(s) if s is not rows_only or i == s.tail}
    return sorted({i for s in segments for i in _indices(s)} - redone)


def kept_segments(segments: list[Segment], unchanged: int) -> int:
    """How many leading segments have only stages among the first `unchanged`."""
    kept = 0
    for segment in segments:
        if max(_indices(segment)) >= unchanged:
            break
        kept = segment.index + 1
    # the last segment writes _work/data: redo it rather than trust a partial final output
    return min(kept, len(segments) - 1)


def rows_kept_segment(segments: list[Segment], unchanged: int, kept: int) -> Segment | None:
    """The segment after the `kept` ones when its rows are still right and only its
    summary for the next dataset stage is not: that stage is the first changed one (a
    dataset stage's summary depends on its own parameters)."""
    segment = segments[kept] if kept < len(segments) else None
    if segment is None or segment.passthrough or segment.tail is None:
        return None
    rows = [i for i in (segment.head, *segment.body) if i is not None]
    return segment if max(rows) < unchanged <= segment.tail else None


def reuse_earlier(output: Path, segments: list[Segment], stages: list[Stage], state: dict[str, Any]) -> list[int]:
    """Make `_work/` this run's start from the earliest work that is still right: an
    unfinished attempt's `_work/`, else the finished run's `_cache/`. Returns the reused
    stages' indices; `_work/` then holds the new state."""
    work, cache = output / WORK, output / CACHE
    finished = False
    if not (work / "state.json").exists() and (cache / "state.json").exists():
        remove(work)
        _link_back(output, cache)
        cache.rename(work)
        finished = True
    old = read_json(work / "state.json") if (work / "state.json").exists() else None
    # A finished run written in another format (output.format: jsonl) holds its removed
    # rows only as that format: none to link back, so none of its stages can be reused.
    exported = finished and old is not None and old.get("output_files") is not None
    unchanged = unchanged_stages(old, state, stages) if old is not None and not exported else 0
    reused: list[int] = []
    if unchanged:
        reused = keep_unchanged(work, segments, stages, unchanged)
    else:
        remove(work)
    (work / "failed.json").unlink(missing_ok=True)
    write_json_atomic(reused, work / REUSED)
    write_json_atomic(state, work / "state.json")
    return reused


def keep_as_cache(output: Path) -> None:
    """The finish phase's last step: `_work/` becomes `_cache/` for the next run,
    replacing the one before (a kill between the two leaves `_work/` with the manifest
    written, which the next run of the same command turns into the cache)."""
    work, cache = output / WORK, output / CACHE
    if not work.exists():
        return
    remove(cache)
    crash_point("finish:cleanup")
    for name in ("data", "removed", REUSED):  # placed, or this run's own record
        remove(work / name)
    work.rename(cache)


def _link_back(output: Path, cache: Path) -> None:
    """The finished run moved its removed rows and report tables out of its work: link
    them back (hard links: no copy; the old files stay until the new run replaces them)."""
    for folder in sorted((output / "removed").glob("*")):
        for part in sorted(folder.glob("part-*.parquet")):
            _link(part, cache / "removed" / folder.name / part.name)
    for decisions in sorted((cache / "decisions").glob("*")):
        for table in sorted((output / "reports").glob(f"{glob.escape(decisions.name)}.*.parquet")):
            _link(table, decisions / "tables" / table.name.removeprefix(f"{decisions.name}."))


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    os.link(source, target)


def _rows_kept(work: Path, segment: Segment) -> bool:
    """Whether the rows `segment` passes on are in `work` (a pass-through segment passes
    the input itself on)."""
    return segment.passthrough or (work / f"seg-{segment.index:02d}").is_dir()


def _indices(segment: Segment) -> list[int]:
    return [i for i in (segment.head, *segment.body, segment.tail) if i is not None]


def _settings(pipeline: dict[str, Any]) -> dict[str, Any]:
    """What of a pipeline every stage's work depends on (its input section, say)."""
    return {k: v for k, v in pipeline.items() if k not in ("stages", *WORK_ONLY)}


def state_difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Name what differs between two run states, or None."""
    if old.get("curate_version") != new["curate_version"]:
        return f"curate version ({old.get('curate_version')} → {new['curate_version']})"
    if old.get("build") != new.get("build"):  # curate's code or built-in rules changed: its work may differ
        return "build of curate"
    if old.get("annotate_only") != new["annotate_only"]:
        return "--annotate-only setting"
    if old.get("output_files") != new.get("output_files"):
        return f"output format ({old.get('output_files')} → {new.get('output_files')})"
    if old.get("slice") != new.get("slice"):
        return f"--limit/--sample ({slice_text(old.get('slice'))} → {slice_text(new.get('slice'))})"
    if old.get("pipeline_hash") != new["pipeline_hash"]:
        changes = pipeline_changes(old.get("pipeline") or {}, new["pipeline"])
        shown = "; ".join(changes[:CHANGES_NAMED]) + (f"; and {len(changes) - CHANGES_NAMED} more" if len(changes) > CHANGES_NAMED else "")
        return f"pipeline ({shown})" if changes else "pipeline"
    old_stage_files, new_stage_files = old.get("stage_files", {}), new["stage_files"]
    for key in sorted(old_stage_files.keys() | new_stage_files.keys()):
        change = _file_difference(old_stage_files.get(key, {}), new_stage_files.get(key, {}))
        if change:
            return f"stage file ({change})"
    # a run finished by a curate that did not record suite files is not re-finished for that alone
    for path in sorted(old["suite_files"].keys() | new["suite_files"].keys()) if "suite_files" in old else []:
        if old["suite_files"].get(path) != new["suite_files"].get(path):
            return f"expectation suite file ({path} changed)"
    old_inputs = {i["path"]: input_identity(i) for i in old.get("inputs", [])}
    change = _file_difference(old_inputs, {i["path"]: input_identity(i) for i in new["inputs"]})
    return f"input ({change})" if change else None


def _file_difference(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The first file (by path) that is new, gone or changed between two {path: identity} maps."""
    for path in sorted(old.keys() | new.keys()):
        if path not in old:
            return f"new file {path}"
        if path not in new:
            return f"{path} is gone"
        if old[path] != new[path]:
            return f"{path} changed"
    return None
