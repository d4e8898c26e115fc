"""Named crash points, for tests that prove a killed run resumes (contributors only).

`CURATE_CRASH_AT=<point>` makes the process SIGKILL itself the first time it reaches
`<point>`; `CURATE_CRASH_AT=<point>@<n>` the n-th time (counted per process).
`CURATE_CRASH_SIGNAL=SIGTERM` (or SIGINT, SIGHUP) sends that signal instead, as a
scheduler stopping the job there would. Unset, `crash_point` is one dictionary lookup. POINTS lists every point; tests/test_operations.py
walks them all and compares each resumed run with an uninterrupted one.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "CURATE_CRASH_AT"
SIGNAL_VARIABLE = "CURATE_CRASH_SIGNAL"

POINTS = (
    "shard:data",  # a shard's rows written, its marker not yet
    "shard:marker",  # a shard's marker written
    "decide:tables",  # a whole-dataset stage's report tables written, its decisions not yet
    "decide:done",  # a whole-dataset stage's decisions written and recorded
    "finish:old_manifest",  # an earlier run's manifest deleted, its output not yet replaced
    "finish:data",  # _work/data moved to data/, removed/ not yet
    "finish:removed",  # removed/ moved into place
    "finish:table",  # one report table moved into reports/
    "finish:stage_report",  # one stage report written
    "finish:checks",  # validation suites and gates run (reports/validation.json written)
    "finish:report_html",  # report.html written into _work/
    "finish:manifest",  # manifest.json written, report.html and _work/ not yet placed
    "finish:cleanup",  # part of _work/ deleted
    "upload:file",  # with an output URL: one file of the run uploaded
    "upload:manifest",  # with an output URL: the manifest uploaded, the local copy still there
)

_reached: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] == int(nth or 1):
        os.kill(os.getpid(), signal.Signals[os.environ.get(SIGNAL_VARIABLE, "SIGKILL")])
