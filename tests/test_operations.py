"""Nothing lost under real operations (issue 13), through the real CLI: one run per
output directory, --fresh next to input and foreign files, a kill at every named crash
point, SIGTERM / SIGHUP / SIGKILL of the main process, a fixed rerun after a failed run,
a full disk and a read-only mount."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from runs import (
    assert_reconciles,
    assert_same_output,
    cli,
    write_pipeline,
    write_shards,
)

from curate.run.crash import POINTS, SIGNAL_VARIABLE, VARIABLE
from curate.run.reaper import descendants

WORDS = ["apple", "river", "stone", "cloud", "green", "music", "paper", "light", "train", "honey", "chair", "storm"]
SMALL_STAGES = [
    {"stage": "length_filter", "min_words": 2},
    {"stage": "exact_dedup", "name": "exact"},
    {"stage": "slices", "columns": ["label"]},
]


def small_corpus(folder: Path, shards: int = 3, rows: int = 60) -> None:
    frames = []
    for s in range(shards):
        numbers = [s * rows + r for r in range(rows)]
        texts = ["tiny" if n % 17 == 0 else f"{WORDS[n % 12]} {WORDS[n * 7 % 12]} text number {n % 50}" for n in numbers]
        frames.append(pl.DataFrame({"text": texts, "label": [f"c{n % 3}" for n in numbers]}))
    write_shards(folder, frames)


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    """12 shards of 20,000 rows: a run that lasts long enough to be signalled mid-run."""
    folder = tmp_path_factory.mktemp("large")
    frames = [pl.DataFrame({"text": [f"row {(s * 7 + r) % 4000} of shard text" for r in range(20_000)], "label": ["a"] * 20_000}) for s in range(12)]
    write_shards(folder, frames)
    write_pipeline(folder, SMALL_STAGES[:2])
    return folder / "pipeline.yaml"


def start(pipeline: Path, output: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(output), *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def leftovers(run_dir: Path) -> list[str]:
    """What a finished run must not hold: _work/, temporary files, the lock."""
    return [str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.name in ("_work", ".curate-lock") or ".tmp-" in p.name]


# ---------------------------------------------------------------- one run per output directory


@pytest.mark.slow
def test_a_second_run_on_the_same_output_is_refused_and_the_first_completes(large, tmp_path):
    target = tmp_path / "out"
    first = start(large, target, "--workers", "1", "--quiet")
    wait_for(lambda: (target / "_work" / "markers").exists())
    first.send_signal(signal.SIGSTOP)  # however slow the machine, the second run meets the first mid-run
    try:
        second = cli("run", str(large), "--output", str(target))
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 4, second.stderr
    line = second.stderr.strip()
    assert line.count("\n") == 0 and f"in use by another curate run (PID {first.pid} on host {socket.gethostname()})" in line, line
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert_reconciles(target)
    assert json.loads((target / "manifest.json").read_text())["rows_in"] == 240_000
    assert leftovers(target) == []


# ---------------------------------------------------------------- curate deletes only what curate wrote


def test_fresh_never_deletes_the_input_inside_the_output(tmp_path):
    small_corpus(tmp_path / "proj" / "data")
    inputs = sorted((tmp_path / "proj" / "data" / "in").glob("*.parquet"))
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    for extra in ((), ("--fresh",)):
        result = cli("run", str(pipeline), "--input", str(tmp_path / "proj" / "data" / "in" / "*.parquet"), "--output", str(tmp_path / "proj"), *extra)
        assert result.returncode == 4, result.stderr
        assert "lies inside the output directory" in result.stderr and "--fresh" not in result.stderr, result.stderr
    assert sorted((tmp_path / "proj" / "data" / "in").glob("*.parquet")) == inputs


def test_an_input_pattern_that_would_read_the_output_is_refused_before_the_first_run(tmp_path):
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    result = cli("run", str(pipeline), "--input", str(tmp_path / "**" / "*.parquet"), "--output", str(tmp_path / "runs" / "today"))
    assert result.returncode == 4 and "would match curate's own output" in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists()


def test_an_input_folder_that_holds_the_output_is_refused_by_check_and_run_before_the_first_run(tmp_path):
    # The first setup of many: the data beside the pipeline, `path: .`, the default output runs/<name>.
    small_corpus(tmp_path)
    pipeline = tmp_path / "curate.yaml"
    pipeline.write_text(yaml.safe_dump({"input": {"path": "."}, "stages": SMALL_STAGES[:2]}, sort_keys=False))
    line = (f"input.path '{tmp_path}' is a folder holding the output directory {tmp_path / 'runs' / 'curate'}: the next run would "
            "read curate's own output as input; choose an --output outside the input's folders")
    for command in (("check",), ("run",), ("run", "--fresh")):
        result = cli(command[0], str(pipeline), *command[1:], cwd=tmp_path)
        assert result.returncode == 4, result.stderr
        assert result.stderr.strip().splitlines() == [f"error: {f'{pipeline}: ' if command[0] == 'check' else ''}{line}"]
    assert not (tmp_path / "runs").exists()
    # below a `_`-prefixed folder, which a folder input never enters, the output is apart from the input
    apart = cli("run", str(pipeline), "--output", str(tmp_path / "_runs" / "today"), "--quiet", cwd=tmp_path)
    assert apart.returncode == 0, apart.stderr
    assert json.loads((tmp_path / "_runs" / "today" / "manifest.json").read_text())["rows_in"] == 180


def test_a_folder_input_passes_by_curate_run_directories_below_it(tmp_path):
    # A run left inside the data folder (by an earlier curate, or moved there) is a run's
    # output, kept and removed rows alike, and its manifest and reports are no rows.
    small_corpus(tmp_path / "proj")
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    assert cli("run", str(pipeline), "--input", str(tmp_path / "proj"), "--output", str(tmp_path / "first"), "--quiet").returncode == 0
    shutil.copytree(tmp_path / "first", tmp_path / "proj" / "old-run")
    again = cli("run", str(pipeline), "--input", str(tmp_path / "proj"), "--output", str(tmp_path / "second"), "--quiet")
    assert again.returncode == 0, again.stderr
    manifest = json.loads((tmp_path / "second" / "manifest.json").read_text())
    assert manifest["rows_in"] == 180 and [Path(f["path"]).parent.name for f in manifest["inputs"]] == ["in"] * 3
    named = cli("check", str(pipeline), "--input", str(tmp_path / "first"), "--output", str(tmp_path / "third"))
    assert (named.returncode, named.stderr.strip()) == (3, (
        f"error: {pipeline}: input directory {tmp_path / 'first'} is a curate run directory (it holds .curate-run): its removed rows, "
        f"manifest and reports are not input; to curate the rows it kept, give {tmp_path / 'first' / 'data'}"))


LOOP = "is a symlink loop (links that lead to each other); fix the link or"


@pytest.mark.parametrize("command, code, message", [
    (("run", "--output", "{loop}"), 4, f"output {{loop}} {LOOP} choose another --output"),
    (("check", "--output", "{loop}"), 4, f"output {{loop}} {LOOP} choose another --output"),
    (("run", "--input", "{loop}"), 3, f"--input {{loop}} {LOOP} give another --input"),
    (("run", "--input", "{folder}/loo[p]"), 3, f"input {{loop}} {LOOP} change --input"),
], ids=["run output", "check output", "input", "input glob"])
def test_a_symlink_loop_is_named_with_its_exit_code_before_the_output_exists(tmp_path, command, code, message):
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    loop, back = tmp_path / "loop", tmp_path / "loop-back"
    loop.symlink_to(back)
    back.symlink_to(loop)
    result = cli(command[0], str(pipeline), *(arg.format(loop=loop, folder=tmp_path) for arg in command[1:]))
    assert (result.returncode, result.stderr) == (code, f"error: {message.format(loop=loop)}\n")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_fresh_refuses_around_foreign_files_and_deletes_nothing(tmp_path):
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    assert cli("run", str(pipeline), "-q").returncode == 0
    run_dir = tmp_path / "run"
    (run_dir / "reports" / "q3-financials.xlsx").write_bytes(b"numbers")
    (run_dir / "notes.txt").write_text("mine")
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    result = cli("run", str(pipeline), "--fresh")
    assert result.returncode == 4, result.stderr
    assert "q3-financials.xlsx, which curate did not write" in result.stderr
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before
    (run_dir / "reports" / "q3-financials.xlsx").unlink()
    again = cli("run", str(pipeline), "--fresh", "-q")
    assert again.returncode == 0, again.stderr
    assert (run_dir / "notes.txt").read_text() == "mine"  # outside the places curate replaces: kept


def test_a_users_copy_named_like_a_stage_report_is_never_deleted(tmp_path):
    """`reports/07_exact_before.json` has the name of a stage report: a rerun deleted it
    as a report of a stage that is gone. Curate's own reports say their index and name."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    assert cli("run", str(pipeline), "-q").returncode == 0
    run_dir = tmp_path / "run"
    mine = run_dir / "reports" / "07_exact_before.json"
    mine.write_text((run_dir / "reports" / "02_exact.json").read_text())  # a copy: index 2, name exact
    for extra in (RERUN, ("--fresh",)):
        result = cli("run", str(pipeline), *extra)
        assert result.returncode == 4 and f"holds {mine}, which curate did not write" in result.stderr, result.stderr
    assert json.loads(mine.read_text())["name"] == "exact"
    mine.unlink()
    again = cli("run", str(pipeline), "-q", *RERUN)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (run_dir / "reports").iterdir()) == ["01_length_filter.json", "02_exact.json"]


def test_a_users_table_named_like_a_stage_reports_table_is_never_deleted(tmp_path):
    """`reports/03_slices.my_notes.parquet` beside curate's `03_slices.json` has the name of
    a table of it: --fresh deleted it. Curate's tables are those the report lists, or,
    while the finish phase places them before the report, those the stage's decisions list."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    assert cli("run", str(pipeline), "-q").returncode == 0
    run_dir = tmp_path / "run"
    mine = run_dir / "reports" / "03_slices.my_notes.parquet"
    pl.DataFrame({"note": ["c2 looks thin"]}).write_parquet(mine)
    for extra in (RERUN, ("--fresh",)):
        result = cli("run", str(pipeline), *extra)
        assert result.returncode == 4 and f"holds {mine}, which curate did not write" in result.stderr, result.stderr
    assert pl.read_parquet(mine)["note"].to_list() == ["c2 looks thin"]
    mine.unlink()
    # killed with its first table placed and no report yet: the table is the decisions'
    killed = start(pipeline, run_dir, "--fresh", "--quiet", "--workers", "1", env={VARIABLE: "finish:table"})
    assert killed.wait(timeout=120) == -signal.SIGKILL, killed.stderr.read()
    assert sorted(p.name for p in (run_dir / "reports").iterdir()) == ["01_length_filter.json", "02_exact.json", "03_slices.slices.parquet"]
    resumed = cli("run", str(pipeline), "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in (run_dir / "reports").iterdir()) == [
        "01_length_filter.json", "02_exact.json", "03_slices.json", "03_slices.slices.parquet", "03_slices.tests.parquet"]


def test_a_directory_curate_did_not_make_is_never_cleared(tmp_path):
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    mine = tmp_path / "run" / "data" / "part-00000.parquet"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"someone else's")
    for extra in ((), ("--fresh",)):
        result = cli("run", str(pipeline), *extra)
        assert result.returncode == 4 and "curate did not make it" in result.stderr, result.stderr
    assert mine.read_bytes() == b"someone else's"


def test_a_users_own_manifest_does_not_make_a_directory_curates(tmp_path):
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text('{"mine": 1}')
    (run_dir / "report.html").write_text("<html>mine</html>")
    result = cli("run", str(pipeline))
    assert result.returncode == 4 and "curate did not make it" in result.stderr, result.stderr
    assert (run_dir / "manifest.json").read_text() == '{"mine": 1}' and (run_dir / "report.html").read_text() == "<html>mine</html>"


# ---------------------------------------------------------------- any kill resumes


def _timeless(value):
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if "seconds" not in k and k not in ("started_at", "finished_at")}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


CHAIN = [
    # (point, what the killed run leaves): each run resumes the one killed before it.
    "shard:data@2",
    "shard:marker@2",
    "decide:tables@2",  # exact_dedup decides first, slices second (with tables)
    "decide:done",
    "finish:old_manifest",
    "finish:data",
    "finish:removed",
    "finish:table@2",
    "finish:stage_report@2",
    "finish:checks",
    "finish:report_html",
    "finish:manifest",
    "finish:cleanup",  # the rerun of the finished run deletes the _work/ left, and is killed doing so
]


@pytest.mark.slow
def test_a_kill_at_every_crash_point_resumes_to_identical_output(tmp_path):
    local_points = [p for p in POINTS if not p.startswith("upload:")]  # tests/test_s3.py walks those
    assert sorted({p.split("@")[0] for p in CHAIN}) == sorted(local_points), "every crash point is walked"
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    with_suites = yaml.safe_load(pipeline.read_text()) | {"expectations": {"output": ["basic"]}}  # reports/validation.json too
    pipeline.write_text(yaml.safe_dump(with_suites, sort_keys=False))
    reference = tmp_path / "reference"
    assert cli("run", str(pipeline), "-o", str(reference), "-q").returncode == 0
    target = tmp_path / "killed"
    for point in CHAIN:
        killed = start(pipeline, target, "--quiet", "--workers", "1", env={VARIABLE: point})
        assert killed.wait(timeout=120) == -signal.SIGKILL, f"{point} was not reached: {killed.stderr.read()}"
        # Only a manifest says "finished", and it appears only once everything else is in place.
        assert (target / "manifest.json").exists() == point.startswith(("finish:manifest", "finish:cleanup")), point
        # a report saying "complete" never stands beside no manifest
        assert (target / "report.html").exists() == point.startswith("finish:cleanup"), point
        if point == "finish:data":  # a write killed half-way leaves a temporary file: the next run sweeps it
            (target / "data" / ".part-00001.parquet.tmp-99999").write_bytes(b"half")
    resumed = cli("run", str(pipeline), "-o", str(target), "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "already holds this run" in resumed.stderr
    assert _files(target / "data") == _files(reference / "data")
    assert _files(target / "removed") == _files(reference / "removed")
    assert_same_output(target, reference)
    assert _timeless(json.loads((target / "manifest.json").read_text())) == _timeless(json.loads((reference / "manifest.json").read_text()))
    assert sorted(p.name for p in (target / "reports").iterdir()) == sorted(p.name for p in (reference / "reports").iterdir())
    validation = [_timeless(json.loads((d / "reports" / "validation.json").read_text())) for d in (target, reference)]
    assert validation[0]["success"] and validation[0]["suites"] == validation[1]["suites"]
    assert leftovers(target) == []


RERUN = ("--set", "stages.length_filter.min_words=4")
"""A changed pipeline: a rerun of a finished run redoes length_filter and what follows."""


@pytest.mark.slow
def test_a_killed_rerun_never_leaves_a_manifest_over_other_rows(tmp_path):
    """A finished run, then a changed rerun killed in its finish phase or mid-stage,
    then either pipeline again: each ends with exactly a fresh run's output."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    first, changed = tmp_path / "first", tmp_path / "changed"
    assert cli("run", str(pipeline), "-o", str(first), "-q").returncode == 0
    assert cli("run", str(pipeline), "-o", str(changed), "-q", *RERUN).returncode == 0
    target = tmp_path / "target"
    assert cli("run", str(pipeline), "-o", str(target), "-q").returncode == 0
    for point, then in (("finish:removed", ()), ("shard:marker@2", ()), ("shard:marker@2", RERUN), ("finish:data", RERUN)):
        killed = start(pipeline, target, "--quiet", "--workers", "1", *RERUN, env={VARIABLE: point})
        assert killed.wait(timeout=120) == -signal.SIGKILL, f"{point} was not reached: {killed.stderr.read()}"
        # in the finish phase the first run's output is being replaced: it is no longer finished
        assert (target / "manifest.json").exists() == point.startswith("shard"), point
        again = cli("run", str(pipeline), "-o", str(target), "--workers", "1", *then)
        assert again.returncode == 0, again.stderr
        reference = changed if then else first
        assert _files(target / "data") == _files(reference / "data"), point
        assert _files(target / "removed") == _files(reference / "removed"), point
        assert_same_output(target, reference)
        manifest = json.loads((target / "manifest.json").read_text())
        assert manifest["rows_kept"] == pl.read_parquet(target / "data" / "*.parquet").height, point
        if then:  # back to the first pipeline for the next kill
            assert cli("run", str(pipeline), "-o", str(target), "-q").returncode == 0
    # a first run killed after its manifest, before its work became the cache, then a
    # change to its second stage (the first one's work, removed rows included, is reused)
    later, reference = ("--set", "stages.exact.normalize.lowercase=true"), tmp_path / "later"
    assert cli("run", str(pipeline), "-o", str(reference), "-q", *later).returncode == 0
    fresh_target = tmp_path / "fresh-target"
    killed = start(pipeline, fresh_target, "--quiet", "--workers", "1", env={VARIABLE: "finish:manifest"})
    assert killed.wait(timeout=120) == -signal.SIGKILL
    assert cli("run", str(pipeline), "-o", str(fresh_target), "-q", *later).returncode == 0
    assert _files(fresh_target / "removed") == _files(reference / "removed")
    assert_same_output(fresh_target, reference)


@pytest.mark.slow
def test_files_put_in_the_output_during_a_rerun_stop_it_before_anything_moves(tmp_path):
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    target = tmp_path / "target"
    assert cli("run", str(pipeline), "-o", str(target), "-q").returncode == 0
    killed = start(pipeline, target, "--quiet", "--workers", "1", *RERUN, env={VARIABLE: "shard:marker@2"})
    assert killed.wait(timeout=120) == -signal.SIGKILL
    (target / "data" / "README.md").write_text("mine")
    resumed = cli("run", str(pipeline), "-o", str(target), *RERUN)
    assert resumed.returncode == 4 and "README.md, which curate did not write" in resumed.stderr, resumed.stderr
    assert (target / "data" / "README.md").read_text() == "mine"
    # in removed/ too, after a kill in the last stage's decisions
    (target / "data" / "README.md").unlink()
    killed = start(pipeline, target, "--quiet", "--workers", "1", *RERUN, env={VARIABLE: "decide:done"})
    assert killed.wait(timeout=120) == -signal.SIGKILL
    (target / "removed" / "exact").mkdir(parents=True, exist_ok=True)
    (target / "removed" / "exact" / "comments.txt").write_text("mine")
    resumed = cli("run", str(pipeline), "-o", str(target), *RERUN)
    assert resumed.returncode == 4 and "comments.txt, which curate did not write" in resumed.stderr, resumed.stderr
    assert (target / "removed" / "exact" / "comments.txt").read_text() == "mine" and (target / "manifest.json").exists()


def test_a_serial_run_deciding_in_run_order_resumes_with_any_worker_count(tmp_path):
    """exact_dedup first and one worker: each shard is read once, summarised, decided
    from the shards before it and written (segments.run_shard_in_order). Killed between
    a shard's two halves, it resumes serially (the decider rebuilt from the summaries
    on disk) or with two workers (the two-pass way), to the output of an uninterrupted
    two-worker run; so does a two-worker run killed before its decisions, resumed with
    one worker."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, [{"stage": "exact_dedup", "name": "exact"}, {"stage": "length_filter", "min_words": 2}], label_column="label")
    reference = tmp_path / "reference"
    assert cli("run", str(pipeline), "-o", str(reference), "-q", "--workers", "2").returncode == 0
    assert 0 < pl.read_parquet(reference / "removed" / "exact" / "*.parquet").height < 180
    cases = [  # (kill at, with --workers, resume with --workers); per shard: summary, marker, rows, marker
        ("shard:data@4", "1", "2"),
        ("shard:marker@3", "1", "1"),
        ("decide:tables", "2", "1"),  # every summary written, no decision yet
    ]
    for point, workers, resume in cases:
        target = tmp_path / f"killed-{point}-{workers}"
        killed = start(pipeline, target, "--quiet", "--workers", workers, env={VARIABLE: point})
        assert killed.wait(timeout=120) == -signal.SIGKILL, f"{point} was not reached: {killed.stderr.read()}"
        if workers == "1":  # one pass: killed in shard 1, shard 2 not read yet (two passes summarise every shard first)
            assert (target / "_work" / "markers" / "seg-01" / "part-00000.json").exists()
            assert not (target / "_work" / "summary" / "01_exact" / "part-00002.parquet").exists()
        resumed = cli("run", str(pipeline), "-o", str(target), "--workers", resume, "-q")
        assert resumed.returncode == 0, resumed.stderr
        assert _files(target / "data") == _files(reference / "data"), point
        assert _files(target / "removed") == _files(reference / "removed"), point
        assert_same_output(target, reference)


# ---------------------------------------------------------------- signals, and no orphans


@pytest.mark.slow
@pytest.mark.parametrize("received, log_format", [(signal.SIGTERM, "rich"), (signal.SIGHUP, "json")])
def test_sigterm_and_sighup_stop_a_run_like_ctrl_c(large, tmp_path, received, log_format):
    target = tmp_path / "out"
    main = start(large, target, "--workers", "2", "--log-format", log_format)
    wait_for(lambda: len(list((target / "_work" / "markers").glob("*/part-*.json"))) >= 1)
    workers = set(descendants(main.pid))
    assert workers, "the run should have worker processes"
    main.send_signal(received)
    stderr = main.communicate(timeout=60)[1]
    assert main.returncode == 128 + received.value, stderr
    last = stderr.strip().splitlines()[-1]
    message = f"stopped by {received.name}; run the same command again to resume"
    if log_format == "json":
        event = json.loads(last)
        assert isinstance(event.pop("time"), float) and event == {"event": "error", "message": message, "exit_code": 128 + received.value}
    else:
        assert last == f"error: {message}" and "Traceback" not in stderr
    wait_for(lambda: not alive(workers), seconds=10)
    assert not (target / ".curate-lock").exists()
    if received == signal.SIGTERM:  # resuming after a signal is resuming after Ctrl-C: once is enough
        resumed = cli("run", str(large), "--output", str(target), "--workers", "2", "-q")
        assert resumed.returncode == 0, resumed.stderr
        assert_reconciles(target)


def test_an_in_process_run_gives_its_caller_its_signal_handlers_back(tmp_path):
    """`curate run` called in-process (a test, a notebook) ignores stop signals while it
    prints its result; an ignored signal is inherited by every process started later, so
    the caller's handlers must come back (a later run could not be stopped by Ctrl-C)."""
    from typer.testing import CliRunner

    from curate.cli import app

    small_corpus(tmp_path, shards=1, rows=20)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    before = {received: signal.getsignal(received) for received in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    for args in (["--output", str(tmp_path / "target")], ["--output", str(tmp_path / "pipeline.yaml")]):  # a run, and an error
        assert CliRunner().invoke(app, ["run", str(pipeline), "--workers", "1", "-q", *args]).exit_code in (0, 4)
        assert {received: signal.getsignal(received) for received in before} == before


@pytest.mark.parametrize("received, named", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C (SIGINT)")])
def test_a_stop_signal_after_the_manifest_leaves_a_finished_run_with_its_own_exit_code(tmp_path, received, named):
    """A scheduler's SIGTERM (or a Ctrl-C) that arrives once manifest.json is written, while
    _work/ becomes _cache/, must not report a finished run as "not finished" (130/143)."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    target = tmp_path / "target"
    stopped = start(pipeline, target, "--workers", "1", env={VARIABLE: "finish:manifest", SIGNAL_VARIABLE: received.name})
    stderr = stopped.communicate(timeout=120)[1]
    assert stopped.returncode == 0, stderr
    assert f"{named} came after the run finished: the run stands as finished" in " ".join(stderr.split())
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["status"] == "complete" and (target / "_work").exists()  # the signal cut the settling short
    assert (target / "report.html").is_file()  # the page the last line names
    again = cli("run", str(pipeline), "-o", str(target), "-q")
    assert again.returncode == 0, again.stderr
    assert json.loads((target / "manifest.json").read_text()) == manifest and leftovers(target) == []
    assert_reconciles(target)


@pytest.mark.parametrize("command", ["run", "show"])
def test_a_reader_that_goes_away_neither_stops_the_run_nor_changes_its_exit_code(tmp_path, command):
    """`curate run … 2>&1 | head -1`: the pipe closes before the progress, the notes and the
    summary table are written; the run finishes and exits with its own code, with no
    "internal error" (that exit code means a bug in curate)."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    target = tmp_path / "target"
    if command == "show":
        assert cli("run", str(pipeline), "-o", str(target), "-q").returncode == 0
    arguments = ["run", str(pipeline), "--output", str(target), "--workers", "2"] if command == "run" else ["show", str(target), "--stage", "exact"]
    gone = subprocess.Popen([sys.executable, "-m", "curate", *arguments], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    gone.stdout.close()  # the reader leaves before the first line
    gone.stderr.close()
    assert gone.wait(timeout=120) == 0
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["rows_in"] == 180 and leftovers(target) == []
    assert_reconciles(target)


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["local", "ray"])
def test_no_process_of_the_run_outlives_a_sigkilled_main_process(large, tmp_path, executor):
    target = tmp_path / "out"
    main = start(large, target, "--workers", "2", "--log-format", "json", "--executor", executor)
    wait_for(lambda: len(list((target / "_work" / "markers").glob("*/part-*.json"))) >= 1)
    workers = set(descendants(main.pid))
    assert workers
    main.kill()
    main.wait()
    wait_for(lambda: not alive(workers), seconds=10)
    if executor == "local":
        # read to its end: multiprocessing's resource tracker, which outlives the main process
        # and removes the pool's semaphores, warned of "leaked semaphore objects" here
        lines = main.stderr.read().splitlines()
        assert lines and all(json.loads(line)["event"] for line in lines), lines


# ---------------------------------------------------------------- a failed run can be rerun after the fix


@pytest.mark.slow
def test_a_run_stopped_by_bad_data_reruns_after_the_fix_without_fresh(tmp_path):
    small_corpus(tmp_path)
    bad = tmp_path / "in" / "shard-002.parquet"
    texts = pa.array(["good text here", "bad XXtext here"], pa.large_string())
    pq.write_table(pa.table({"text": texts, "label": pa.array(["c0", "c1"], pa.large_string())}), bad,
                   compression="none", use_dictionary=False, write_statistics=False)
    bad.write_bytes(bad.read_bytes().replace(b"XX", b"\xff\xfe"))
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    failed = cli("run", str(pipeline), "--workers", "1")
    assert failed.returncode == 3 and "not valid UTF-8" in failed.stderr, failed.stderr
    assert (tmp_path / "run" / "_work").exists()
    pl.DataFrame({"text": ["good text here", "fixed text here"], "label": ["c0", "c1"]}).write_parquet(bad)
    fixed = cli("run", str(pipeline), "--workers", "1")
    assert fixed.returncode == 0, fixed.stderr
    note = " ".join(fixed.stderr.split())  # the terminal wraps long notes
    assert "stopped on an error" in note and "its input (" in note and "changed since: starting over" in note, note
    assert_reconciles(tmp_path / "run")


@pytest.mark.slow
def test_a_run_stopped_by_a_pipeline_error_reruns_after_the_fix_without_fresh(tmp_path):
    small_corpus(tmp_path)
    # A missing column is found before the run (the column flow); a slice column's type is
    # seen in the shard work (an earlier stage may add the column).
    wrong = [*SMALL_STAGES[:2], {"stage": "slices", "columns": ["label"], "numeric": {"curate_source": {"quantiles": 2}}}]
    pipeline = write_pipeline(tmp_path, wrong, label_column="label")
    failed = cli("run", str(pipeline), "--workers", "1")
    assert failed.returncode == 2 and "column 'curate_source' is String, not numeric" in failed.stderr, failed.stderr
    assert (tmp_path / "run" / "_work").exists()
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    fixed = cli("run", str(pipeline), "--workers", "1")
    assert fixed.returncode == 0, fixed.stderr
    # length_filter and exact_dedup come before the fixed stage: their work is kept.
    note = " ".join(fixed.stderr.split())  # the terminal wraps long notes
    assert "changed since: keeping the work of its first 2 stage(s), redoing the rest" in note, note
    assert_reconciles(tmp_path / "run")
    reference = cli("run", str(pipeline), "-o", str(tmp_path / "reference"), "-q")
    assert reference.returncode == 0, reference.stderr
    assert _files(tmp_path / "run") == _files(tmp_path / "reference")
    assert_same_output(tmp_path / "run", tmp_path / "reference")


# ---------------------------------------------------------------- environment errors are named


@pytest.fixture
def small_tmpfs(tmp_path) -> Iterator[Path]:
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}): needs root on Linux")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_named_with_exit_4_and_no_temporary_file(tmp_path, small_tmpfs):
    rng = __import__("random").Random(7)
    texts = [" ".join("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=8)) for _ in range(12)) for _ in range(6000)]
    write_shards(tmp_path, [pl.DataFrame({"text": texts[:3000]}), pl.DataFrame({"text": texts[3000:]})])
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    result = cli("run", str(pipeline), "--output", str(small_tmpfs / "run"), "--workers", "1")
    assert result.returncode == 4, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and str(small_tmpfs) in line and "the disk is full" in line and "ENOSPC" in line, line
    assert [p for p in small_tmpfs.rglob("*") if ".tmp-" in p.name] == []


def test_a_full_disk_at_the_lock_is_named_and_leaves_no_folder_behind(tmp_path, small_tmpfs):
    """The probe of a new output writes an empty file, which a full tmpfs still takes: the
    disk is first found full when the lock records its holder."""
    small_corpus(tmp_path)
    fill = os.open(small_tmpfs / "fill", os.O_WRONLY | os.O_CREAT)
    with pytest.raises(OSError, match="No space left"):
        while True:
            os.write(fill, b"x" * 4096)
    os.close(fill)
    output = small_tmpfs / "nested" / "run"
    result = cli("run", str(write_pipeline(tmp_path, SMALL_STAGES[:2])), "--output", str(output), "-q")
    assert (result.returncode, result.stderr) == (4, f"error: {output / '.curate-lock'}: the disk is full: free space or choose another --output (ENOSPC)\n")
    assert sorted(p.name for p in small_tmpfs.iterdir()) == ["fill"]  # the folders it made are gone


def test_a_read_only_index_is_named_with_exit_4(tmp_path, small_tmpfs):
    small_corpus(tmp_path)
    index = small_tmpfs / "index"
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    pipeline = write_pipeline(tmp_path, [{"stage": "near_dedup", "index": str(index)}])
    result = cli("run", str(pipeline), "--workers", "1")
    assert result.returncode == 4, result.stderr
    assert str(index) in result.stderr and "read-only" in result.stderr and "internal error" not in result.stderr, result.stderr


def test_a_read_only_output_is_named_with_exit_4(tmp_path, small_tmpfs):
    small_corpus(tmp_path)
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    result = cli("run", str(write_pipeline(tmp_path, SMALL_STAGES[:2])), "--output", str(small_tmpfs / "run"))
    assert result.returncode == 4 and "read-only" in result.stderr.lower(), result.stderr


def test_a_finished_run_on_a_read_only_mount_is_finished_when_run_again(tmp_path, small_tmpfs):
    """An archived run remounted read-only, and a scheduler's retry of its command: the
    finished run's own exit code (the lock, which cannot be written, is not needed); a
    changed pipeline names the read-only file system, not its permissions."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    target = small_tmpfs / "run"
    assert cli("run", str(pipeline), "--output", str(target), "-q").returncode == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    again = cli("run", str(pipeline), "--output", str(target))
    assert again.returncode == 0, again.stderr
    assert f"{target} already holds this run, finished; nothing to do" in " ".join(again.stderr.split())
    changed = cli("run", str(pipeline), "--output", str(target), *RERUN)
    assert (changed.returncode, changed.stderr) == (4, f"error: {target}: the file system is read-only: choose a writable --output (EROFS)\n")


def test_a_file_size_limit_is_named_with_exit_4_and_the_run_resumes_without_it(tmp_path):
    """Batch systems cap a job's file size (RLIMIT_FSIZE, `ulimit -f`): a write past it
    fails with EFBIG, an environment to fix, not curate's bug."""
    import resource

    small_corpus(tmp_path, rows=600)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    target = tmp_path / "target"
    limit = 16_000  # a shard's Arrow file in _work/ is about 30 kB
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(target), "--workers", "1"]
    capped = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert capped.returncode == 4, capped.stderr
    assert capped.stderr == f"error: {target / '_work' / 'seg-00' / 'part-00000.arrow'}: the file exceeds the file-size limit " \
                            "(ulimit -f, or the file system's largest file): raise the limit or choose another --output (EFBIG)\n"
    assert [p for p in target.rglob("*") if ".tmp-" in p.name] == []
    assert cli("run", str(pipeline), "--output", str(target), "-q").returncode == 0
    assert_reconciles(target)


def paused(pipeline: Path, output: Path, point: str) -> subprocess.Popen:
    """A serial run stopped (SIGSTOP) at crash point `point`, to change the file system
    under it before it goes on (SIGCONT): the race made deterministic."""
    run = start(pipeline, output, "--quiet", "--workers", "1", env={VARIABLE: point, SIGNAL_VARIABLE: "SIGSTOP"})
    wait_for(lambda: run.poll() is not None or Path(f"/proc/{run.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T", seconds=60)
    assert run.poll() is None, f"{point} was not reached: {run.stderr.read()}"
    return run


def test_a_run_directory_deleted_under_a_shard_is_named_with_exit_4(tmp_path):
    small_corpus(tmp_path)
    target = tmp_path / "target"
    run = paused(write_pipeline(tmp_path, SMALL_STAGES[:2]), target, "shard:data@2")
    shutil.rmtree(target)  # a cleanup job, or a user starting over
    run.send_signal(signal.SIGCONT)
    stderr = run.communicate(timeout=60)[1]
    assert run.returncode == 4, stderr
    # the first segment's rows of the shard, which the second reads (polars' error names no filename)
    assert stderr == f"error: {target / '_work' / 'seg-00' / 'part-00000.arrow'}: the path vanished while curate was using it: was it deleted or unmounted? (ENOENT)\n"


@pytest.mark.parametrize("point", ["shard:data", "decide:done"], ids=["before its shard is read", "after every shard is read"])
def test_an_input_file_rewritten_while_the_run_works_stops_it_unfinished(tmp_path, point):
    """An upstream job rewrites a partition while curate works (after the run hashed it):
    the run curated 30 of its 60 rows, or the old ones, and its manifest recorded the old
    hash and row count, exit 0. Its size and modification time are compared when it is
    read and before the run is finished."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    target = tmp_path / "target"
    run = paused(pipeline, target, point)
    rewritten = tmp_path / "in" / "shard-002.parquet"
    before = rewritten.stat().st_size
    pl.read_parquet(rewritten).head(30).write_parquet(rewritten)
    run.send_signal(signal.SIGCONT)
    stderr = run.communicate(timeout=60)[1]
    assert (run.returncode, stderr) == (3, f"error: {rewritten}: the input file changed while the run read it ({before} bytes when the run "
                                           f"started, {rewritten.stat().st_size} now); run the same command again once it is written\n")
    assert not (target / "manifest.json").exists()
    # touched, or copied with its times (rsync -t, cp -p): the same bytes, and the run finishes
    touched = paused(pipeline, tmp_path / "touched", point)
    os.utime(tmp_path / "in" / "shard-001.parquet", ns=(1_000_000_000, 1_000_000_000))
    touched.send_signal(signal.SIGCONT)
    assert touched.communicate(timeout=60)[1] == "" and touched.returncode == 0
    again = cli("run", str(pipeline), "-o", str(target), "-q")
    assert again.returncode == 0, again.stderr
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["rows_in"] == 150 and [i["rows"] for i in manifest["inputs"]] == [60, 60, 30]
    assert_reconciles(target)


VANISHED = "the path vanished while curate was using it: was it deleted or unmounted? (ENOENT)"


@pytest.mark.parametrize("point, named", [
    ("finish:checks", "{target}: the run directory vanished while the run worked (deleted or moved?); nothing is marked finished: run the same command again to run it anew"),
    ("finish:stage_report@2", "{target}/reports/03_slices.json: " + VANISHED),
])
def test_a_run_directory_deleted_in_the_finish_phase_is_not_made_again_as_a_finished_run(tmp_path, point, named):
    """An atomic write makes the folders it needs: the report and the manifest made the
    deleted directory again, holding a manifest "complete" and no data/, and every rerun
    said "nothing to do"."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    target = tmp_path / "target"
    run = paused(pipeline, target, point)
    shutil.rmtree(target)
    run.send_signal(signal.SIGCONT)
    stderr = run.communicate(timeout=60)[1]
    assert (run.returncode, stderr) == (4, f"error: {named.format(target=target)}\n")
    assert not target.exists()
    again = cli("run", str(pipeline), "-o", str(target), "-q")
    assert again.returncode == 0, again.stderr
    assert_reconciles(target)


@pytest.mark.parametrize("output, named, cause", [
    ("x" * 300, "{output}", "the path is too long for the file system: choose a shorter --output (ENAMETOOLONG)"),
    ("run", "{output}/manifest.json", "a folder is where curate writes a file: move it away or choose another --output (EISDIR)"),
], ids=["name too long", "a folder in the way"])
def test_a_path_the_file_system_refuses_is_named_with_exit_4(tmp_path, output, named, cause):
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2])
    (tmp_path / "run" / "manifest.json").mkdir(parents=True)  # a folder where the run writes its manifest
    result = cli("run", str(pipeline), "--output", str(tmp_path / output), "-q")
    assert (result.returncode, result.stderr) == (4, f"error: {named.format(output=tmp_path / output)}: {cause}\n")


@pytest.mark.parametrize(
    "stages, labels, code, needle",
    [
        ([{"stage": "label_noise"}], [0.0, 1.0], 3, "label column 'label' is Float64"),
        ([{"stage": "langid", "keep": ["eng"]}], ["a", "b"], 2, "eng (did you mean en"),
    ],
    ids=["float labels", "unknown language code"],
)
def test_mistakes_the_schema_shows_stop_the_run_before_the_output_exists(tmp_path, stages, labels, code, needle):
    write_shards(tmp_path, [pl.DataFrame({"text": ["some words here", "other words there"], "label": labels})])
    result = cli("run", str(write_pipeline(tmp_path, stages, label_column="label")))
    assert result.returncode == code and needle in result.stderr, result.stderr
    assert not (tmp_path / "run").exists()


def _worker_signals(_: int) -> tuple[bool, set[int]]:
    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN, {int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, set())}


def test_workers_start_with_ctrl_c_held_and_then_ignore_it():
    """A terminal's Ctrl-C reaches every process of the group: a worker that is still
    starting its interpreter would die of it with a traceback. Workers are spawned with
    the stop signals blocked; then they ignore SIGINT (the main process stops them) and
    take SIGTERM and SIGHUP as usual."""
    from curate.run.executors import LocalExecutor

    executor = LocalExecutor(2)
    try:
        results = executor.tasks(_worker_signals, [0, 1])
    finally:
        executor.close()
    assert results == [(True, set()), (True, set())]
    assert signal.getsignal(signal.SIGINT) != signal.SIG_IGN and not signal.pthread_sigmask(signal.SIG_BLOCK, set())  # the main process is as before


SIGHUP_TO_THE_TRACKER = """
import os, signal, time
from multiprocessing import resource_tracker
from curate.run.executors import LocalExecutor
executor = LocalExecutor(2)
executor.tasks(abs, [-1, -2])
tracker = resource_tracker._resource_tracker._pid
os.kill(tracker, signal.SIGHUP)
time.sleep(0.2)
print(open(f"/proc/{tracker}/stat").read().rsplit(")", 1)[1].split()[0])
executor.close()
"""


def test_a_closed_terminals_sighup_neither_kills_the_resource_tracker_nor_prints_its_tracebacks():
    """A closed terminal sends SIGHUP to the whole process group, multiprocessing's
    resource tracker included, which ignores SIGINT and SIGTERM only: killed, it was
    relaunched by the pool's shutdown, which printed a warning and KeyError tracebacks
    after the `--log-format json` error event. Run in a process of its own: the tracker
    is one per process."""
    done = subprocess.run([sys.executable, "-c", SIGHUP_TO_THE_TRACKER], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "S" and done.stderr == ""  # asleep, waiting for the pool's messages


@pytest.mark.slow
def test_show_reads_a_run_killed_in_its_finish_phase(tmp_path):
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    target = tmp_path / "target"
    killed = start(pipeline, target, "--quiet", "--workers", "1", env={VARIABLE: "finish:removed"})
    assert killed.wait(timeout=120) == -signal.SIGKILL
    removed = {d.name: pl.read_parquet(d / "*.parquet").height for d in (target / "removed").iterdir()}
    assert removed["length_filter"] > 0 and not (target / "_work" / "removed").exists()  # moved into place already
    shown = cli("show", str(target))
    assert shown.returncode == 0 and "unfinished" in shown.stdout, shown.stderr
    rows = {line.split("│")[1].strip().split()[-1]: line.split("│")[2].strip() for line in shown.stdout.splitlines() if line.startswith("│ 0")}
    assert rows == {name: f"{removed.get(name, 0):,}" for name in ("length_filter", "exact", "slices")}
    kept_id = pl.read_parquet(target / "data" / "*.parquet")["curate_id"][0]
    journey = cli("show", str(target), "--id", kept_id)
    assert journey.returncode == 0 and "kept" in journey.stdout, journey.stderr


def test_a_rerun_that_removes_nothing_leaves_no_removed_rows_of_the_run_before(tmp_path):
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    target = tmp_path / "target"
    assert cli("run", str(pipeline), "-o", str(target), "-q").returncode == 0
    assert list((target / "removed").glob("*/part-*.parquet"))
    again = cli("run", str(pipeline), "-o", str(target), "-q", "--annotate-only")
    assert again.returncode == 0, again.stderr
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["rows_removed"] == 0 and not (target / "removed").exists()
    assert pl.read_parquet(target / "data" / "*.parquet").height == manifest["rows_in"]


@pytest.mark.slow
def test_a_rerun_after_a_run_written_as_json_lines_keeps_every_removed_row(tmp_path):
    """A run exported to JSON Lines keeps no Parquet removed rows to link back: its
    rerun after a change runs every stage, and gives a fresh run's output."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES, label_column="label")
    spec = yaml.safe_load(pipeline.read_text())
    pipeline.write_text(yaml.safe_dump({**spec, "output": {"path": "run", "format": "jsonl"}}, sort_keys=False))
    target, fresh = tmp_path / "target", tmp_path / "fresh"
    assert cli("run", str(pipeline), "-o", str(target), "-q").returncode == 0
    change = ("--set", "stages.exact.normalize.lowercase=true")
    assert cli("run", str(pipeline), "-o", str(target), "-q", *change).returncode == 0
    assert cli("run", str(pipeline), "-o", str(fresh), "-q", *change).returncode == 0
    rows = lambda d: {f.parent.name: pl.read_ndjson(f).height for f in sorted((d / "removed").glob("*/part-*.jsonl.gz"))}  # noqa: E731
    assert rows(target) == rows(fresh) and rows(fresh)["length_filter"] > 0


@pytest.mark.slow
def test_a_killed_worker_is_named_and_the_run_resumes(tmp_path):
    """A worker killed without a word (the OOM killer, say; here a crash point inside the
    worker) is not curate's bug: one line, exit 137, and the same command resumes."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2], label_column="label")
    reference, target = tmp_path / "reference", tmp_path / "target"
    assert cli("run", str(pipeline), "-o", str(reference), "-q").returncode == 0
    killed = start(pipeline, target, "--quiet", "--workers", "2", env={VARIABLE: "shard:data"})
    stderr = killed.communicate(timeout=120)[1]
    assert killed.returncode == 137, stderr
    assert stderr.strip().splitlines() == ["error: a worker process was killed (out of memory? the kernel's log says: dmesg | grep -i oom); "
                                           "run the same command again to resume, with fewer --workers if memory is short"]
    assert cli("run", str(pipeline), "-o", str(target), "-q", "--workers", "2").returncode == 0
    assert_same_output(target, reference)


def test_a_temporary_file_left_anywhere_in_the_work_reaches_neither_the_output_nor_the_cache(tmp_path):
    """The finish phase moves _work/data and _work/removed into place as they are, and
    the rest of _work/ becomes _cache/: a half-written file a kill left in any of its
    folders (a marker, a shard's Arrow file, a summary, a decision) is swept first."""
    small_corpus(tmp_path)
    pipeline = write_pipeline(tmp_path, SMALL_STAGES[:2], label_column="label")
    target = tmp_path / "target"
    killed = start(pipeline, target, "--quiet", "--workers", "1", env={VARIABLE: "decide:done"})
    assert killed.wait(timeout=120) == -signal.SIGKILL
    folders = [target, *(p for p in (target / "_work").rglob("*") if p.is_dir()), target / "_work" / "data", target / "_work" / "removed" / "exact"]
    assert {"markers/seg-00", "seg-00", "summary", "decisions"} <= {p.relative_to(target / "_work").as_posix() for p in folders[1:]}
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".part-00001.parquet.tmp-99999").write_bytes(b"half")
    (target / ".curate-write-test.tmp-99999").write_bytes(b"")  # the writability probe
    assert cli("run", str(pipeline), "-o", str(target), "-q").returncode == 0
    assert (target / "_cache" / "markers").is_dir() and leftovers(target) == []


def test_a_show_probing_the_lock_does_not_turn_a_starting_run_away(tmp_path):
    # `curate show` takes a shared lock for a moment to see whether a run is working
    import fcntl
    import threading

    from curate.existing_runs import LOCK_NAME
    from curate.run.lock import RunLock

    tmp_path.joinpath(LOCK_NAME).write_text("")
    probe = os.open(tmp_path / LOCK_NAME, os.O_RDONLY)
    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
    threading.Timer(0.05, os.close, args=(probe,)).start()  # released after 50 ms, as a show's probe is
    with RunLock(tmp_path) as lock:
        assert lock.path.exists()
