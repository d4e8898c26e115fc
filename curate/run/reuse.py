"""After a run stopped on a data or pipeline error, the rerun with the fix keeps the work
the fix cannot have changed: with the same input, curate version and settings, every
segment whose stages all come before the first changed stage (a stage's parameters or
its files) is kept, with the whole-dataset decisions between them; the rest is deleted
from `_work/` and redone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.run.rundir import remove
from curate.run.segments import Segment, stage_key
from curate.stages import Stage

WORK_ONLY = ("expectations", "gates")
"""Pipeline keys that only the finish phase reads: changing them invalidates no work."""


def unchanged_stages(old: dict[str, Any], new: dict[str, Any], stages: list[Stage]) -> int:
    """How many leading stages are the same in both run states (0: nothing reusable)."""
    if any(old.get(key) != new[key] for key in ("curate_version", "annotate_only", "inputs", "slice")):
        return 0
    if _settings(old.get("pipeline", {})) != _settings(new["pipeline"]):
        return 0
    count = 0
    for old_stage, new_stage, stage in zip(old["pipeline"]["stages"], new["pipeline"]["stages"], stages):
        changed_file = any(old.get("stage_files", {}).get(f) != new["stage_files"].get(f) for f in stage.files())
        if old_stage != new_stage or changed_file:
            break
        count += 1
    return count


def keep_unchanged(work: Path, segments: list[Segment], stages: list[Stage], unchanged: int) -> int:
    """Delete from `work` everything but the leading segments whose stages are all among
    the first `unchanged`; returns how many stages' work is kept."""
    kept = 0
    for segment in segments:
        indices = [i for i in (segment.head, *segment.body, segment.tail) if i is not None]
        if not indices or max(indices) >= unchanged:
            break
        kept = segment.index + 1
    if kept == len(segments):
        kept -= 1  # the last segment writes _work/data: redo it rather than trust a partial final output
    kept_stages = {stage_key(i, stages[i]) for s in segments[:kept] for i in (s.head, *s.body, s.tail) if i is not None}
    names = {stages[i].name for s in segments[:kept] for i in (s.head, *s.body) if i is not None}
    for path in sorted((work / "markers").glob("seg-*")) + sorted(work.glob("seg-*")):
        if int(path.name.removeprefix("seg-")) >= kept:
            remove(path)
    remove(work / "data")
    for folder, keep in (("removed", names), ("summary", kept_stages), ("decisions", kept_stages)):
        for path in sorted((work / folder).glob("*")):
            if path.name not in keep:
                remove(path)
    return len(kept_stages)


def _settings(pipeline: dict[str, Any]) -> dict[str, Any]:
    """What of a pipeline every stage's work depends on (its input section, say)."""
    return {k: v for k, v in pipeline.items() if k not in ("stages", *WORK_ONLY)}
