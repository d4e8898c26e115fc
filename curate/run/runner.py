"""The runner: owns files, order, resume, parallelism, accounting and reports.

It checks every input before any work, decides between a fresh start, a resume and a
finished run, runs each segment's shard jobs on an executor (curate/run/segments.py says
what a job does), reconciles the counts, and moves `data/` and `removed/` into place,
then writes the reports, report.html and, last, `manifest.json`.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from curate import __version__
from curate.checks.config import self_comparison
from curate.config import Pipeline
from curate.console import Reporter
from curate.errors import (
    ConfigError,
    InputDataError,
    OutputError,
    StorageError,
    raise_all,
)
from curate.files import read_json, write_json_atomic
from curate.run.accounting import rows_read, stage_key, stage_reports
from curate.run.crash import crash_point
from curate.run.executors import Executor, LocalExecutor, RayExecutor, require_ray
from curate.run.export import export_parts
from curate.run.finish import PENDING_REPORT, place_output, place_report, remove_stale_reports, settle_finished, write_stage_reports
from curate.run.inspect import check_reserved_columns, check_stage_inputs, ids_fall_back
from curate.run.io import (
    ID_COLUMN,
    SOURCE_COLUMN,
    Shard,
    check_column_types,
    inspect_inputs,
    plan_shards,
    polars_schema,
    read_input,
)
from curate.run.lock import RunLock
from curate.run.column_flow import flow_problems, input_columns
from curate.run.preflight import schema_problems, settings_problems, sniffed_input
from curate.run.reuse import (
    REUSED,
    keep_unchanged,
    reuse_earlier,
    state_difference,
    unchanged_stages,
)
from curate.run.rundir import (
    CACHE,
    FINAL_NAMES,
    MARKER,
    WORK,
    check_apart,
    clear_run,
    final_entries,
    made_by_curate,
    refuse_foreign,
    refuse_other_claim,
    remove,
    sweep_temporary,
    write_marker,
)
from curate.run.segments import (
    Segment,
    ShardJob,
    build_stages,
    columns_of,
    decide,
    decided_before,
    finish_in_order,
    marker_path,
    plan_segments,
    run_shard,
    run_shard_in_order,
)
from curate.run.sources import Location, file_hash, is_url, locate
from curate.resources import build_id
from curate.run.run_schema import input_categories, type_text_parts, unify_schemas
from curate.run.staging import CsvOptions, InputFile, stage_inputs
from curate.run.upload import UPLOADED_LEDGER, RemoteRun
from curate.run.workers import auto_workers, estimated_bytes
from curate.stages import DatasetStage
from curate.stages.base import InOrderDecisions
from curate.tasks import in_order

PENDING_MANIFEST = "manifest.pending.json"
"""In `_work/`: the finished run's manifest while `output.format` files are written
(curate/run/export.py); a run killed then finishes that step when run again."""

TRIAL_INPUT = "trial_input"
"""In `_work/`, during the finish phase of a `--limit`/`--sample` trial with input suites:
the input rows the trial read, which those suites judge."""

FAILED = "failed.json"
"""In `_work/`: the data or pipeline error that stopped the run (the rerun after a fix
keeps what the fix cannot have changed and redoes the rest, instead of refusing the
changed pipeline or input)."""

@dataclass(frozen=True)
class RunOptions:
    workers: int | None = None
    """Worker processes; None: as many as repay their start-up (curate/run/workers.py). A
    rerun that reuses stages runs in this process when the work left would not repay a
    worker, whatever this says."""
    annotate_only: bool = False
    fresh: bool = False
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    """With the Ray executor: None starts a local Ray; `auto` or `ray://host:port` joins a cluster."""
    overrides: tuple[str, ...] = ()
    """The command line's `--set KEY=VALUE`s (already applied to the pipeline): recorded in the manifest."""
    limit: int | None = None
    """`--limit N`: only the first N input rows in run order."""
    sample: float | None = None
    """`--sample FRACTION`: each input row is kept with this probability (seeded by `seed`)."""
    seed: int = 0
    remote: RemoteRun | None = None
    """An output URL: the run happens in the local output directory and is uploaded when finished."""
    input_from_option: bool = False
    """The input paths came from `--input`, not `input.path`: errors name the option."""

    def slice(self) -> dict[str, Any] | None:
        """How the input was cut for a trial run (manifest and report), or None."""
        if self.limit is None and self.sample is None:
            return None
        return {"limit": self.limit, "sample": self.sample, "seed": self.seed if self.sample is not None else None}


# ---------------------------------------------------------------- the run


@dataclass
class RunResult:
    output: Path
    status: str
    manifest: dict[str, Any]
    reports: list[dict[str, Any]]


class Runner:
    def __init__(self, pipeline: Pipeline, output: Path, options: RunOptions, reporter: Reporter):
        self.pipeline = pipeline
        self.output = output
        self.options = options
        self.reporter = reporter
        self.stages = build_stages(pipeline)
        self.segments = plan_segments(self.stages)
        self.work = output / WORK
        self.input_types: pa.Schema | None = None
        """The input's Arrow schema, once checked: its columns keep these types in the output."""
        self.input_categories: dict[str, pa.Array] = {}
        """The input's ordered category lists, once checked: the output's dictionaries keep them."""
        self._executor: Executor | None = None
        self._lock: RunLock | None = None
        self.finished: dict[str, Any] | None = None
        """The manifest, once the run is finished (written, or uploaded to an output URL):
        a stop signal after that leaves the run finished (`_finished_anyway`)."""

    # -- checks before any work

    def _locate(self) -> list[Location]:
        spec = self.pipeline.input
        return locate(spec.path, spec.format, spec.storage_options, trial=self.options.limit is not None, from_option=self.options.input_from_option)

    def _inputs(self, locations: list[Location]) -> list[InputFile]:
        """The inputs as local Parquet (other formats converted under _work/inputs/, on
        the executor when one runs), checked before any shard work."""
        columns = columns_of(self.pipeline)
        # The input section's columns; what a stage reads is the column flow's to check
        # (an earlier stage may add it).
        required = {c: role for c, role in input_columns(self.pipeline, self.stages).items() if role.startswith("input.")}
        csv = CsvOptions.of(self.pipeline.input)
        tasks = self._executor.tasks if self._executor is not None else in_order
        files = type_text_parts(unify_schemas(stage_inputs(locations, self.work / "inputs", csv, self.options.limit, tasks), columns.text), tasks)
        schema = inspect_inputs(files, required, csv.separator)
        check_column_types(schema, columns.text, self.pipeline.input.id_column, files[0].path)
        self.input_types = schema
        self.input_categories = input_categories(files, schema)
        id_column = self.pipeline.input.id_column
        # the checks below read the local Parquet parts (an input in another format is read from its conversion)
        parts = [part.path for f in files for part in f.parts]
        part_sources = [f.source for f in files for _ in f.parts]
        first_rows = [sum(p.rows for p in f.parts[:i]) for f in files for i in range(len(f.parts))]  # each part's first row in its file
        if id_column and ids_fall_back(parts, part_sources, first_rows, id_column, self.pipeline.input.bad_ids):
            self.reporter.note(f"input.id_column {id_column!r} has duplicate or null ids: rows are identified by curate_id instead (input.bad_ids: row_ids)")
            self._use_row_ids()
        check_reserved_columns(schema.names, self.stages, self.pipeline.input.id_column, files[0].path)
        raise_all(flow_problems(self.pipeline, self.stages, schema.names, self.options.annotate_only))  # every mistake at once, as `curate check`
        raise_all(schema_problems(self.pipeline, self.stages, polars_schema(schema)))  # before the run directory is touched
        check_stage_inputs(parts, self.stages)
        return files

    def _use_row_ids(self) -> None:
        self.pipeline = self.pipeline.model_copy(update={"input": self.pipeline.input.model_copy(update={"id_column": None})})
        self.stages = build_stages(self.pipeline)
        self.segments = plan_segments(self.stages)

    def _state(self, locations: list[Location]) -> dict[str, Any]:
        return {
            "curate_version": __version__,
            "build": build_id(),
            "pipeline_hash": self.pipeline.fingerprint(),
            "pipeline": self.pipeline.public_dump(),
            "annotate_only": self.options.annotate_only,
            "slice": self.options.slice(),
            "output_files": self.pipeline.output_files,
            "inputs": [loc.describe() for loc in locations],
            # per stage: a file gone from a stage's glob changes that stage as a new or edited one does
            "stage_files": {
                stage_key(i, stage): {path: file_hash(Path(path)) for path in files}
                for i, stage in enumerate(self.stages)
                if (files := stage.files())
            },
            "suite_files": self._suite_files(),
        }

    def _suite_files(self) -> dict[str, str]:
        """The content hash of every suite file the pipeline names: an edited suite makes
        the finished run stale (its re-finish reuses every stage, as a gates change does)."""
        expectations = self.pipeline.expectations
        if expectations is None:
            return {}
        from curate.checks.suites import suite_path

        paths = {str(suite_path(ref)) for ref in [*expectations.output, *expectations.input]}
        return {path: file_hash(Path(path)) for path in sorted(paths)}

    def _refuse_comparing_with_itself(self, state: dict[str, Any]) -> None:
        """A `max_change_vs` gate whose earlier run is this output directory stops the run
        before it changes anything, unless the directory holds this very run, finished
        (a `latest` link moved to it after it passed: running it again does nothing; with
        `--fresh` it would be run again, and compared with itself)."""
        error = self_comparison(self.pipeline.gates, self.output)
        if error is None:
            return
        manifest_path = self.output / "manifest.json"
        if not self.options.fresh and manifest_path.exists() and not state_difference(read_json(manifest_path).get("state", {}), state):
            return
        raise error

    def _prepare(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """Decide between fresh start, resume, and an already finished run (returned).
        Called with the run directory locked."""
        if made_by_curate(self.output):
            sweep_temporary(self.output)
        if self.options.fresh:
            clear_run(self.output)
        manifest_path = self.output / "manifest.json"
        state_path = self.work / "state.json"
        if manifest_path.exists():
            manifest = read_json(manifest_path)
            if state_path.exists() and not state_difference(read_json(state_path), manifest.get("state", {})):
                # the finished run's own _work/, killed before its last step made it the
                # cache: finish that step (its rows are placed; the cache links them back).
                # An unfinished attempt at another pipeline stays for that pipeline's resume.
                settle_finished(self.output)
            change = state_difference(manifest.get("state", {}), state)
            if not change:
                return manifest
            if state_path.exists() and not state_difference(read_json(state_path), state):
                refuse_foreign(self.output, "replace")  # files put in data/ or removed/ since it started
                (self.work / FAILED).unlink(missing_ok=True)
                self.reporter.note(f"resuming the unfinished rerun in {self.output}")
                return None
            # A finished run with another pipeline or input: keep what the change cannot have
            # changed; the old output stays until this run's finish phase replaces it.
            refuse_foreign(self.output, "replace")
            reused = reuse_earlier(self.output, self.segments, self.stages, state)
            names = ", ".join(self.stages[i].name for i in reused)
            if reused:  # iterating: a stage's setting changed, the work before it stays
                self.reporter.note(f"{self.output} holds a finished run with a different {change}: replacing it, reusing the work of {names}, redoing the rest")
            else:
                # A warning, not a note: kept by --log-format json --quiet, since a wrong --output
                # (yesterday's date, another team's folder) replaces a run this way.
                self.reporter.warning(None, f"{self.output} holds a finished run with a different {change}: replacing it, nothing of it can be reused, running every stage")
            return None
        if (self.work / PENDING_MANIFEST).exists():
            pending = read_json(self.work / PENDING_MANIFEST)
            if not state_difference(pending.get("state", {}), state):  # killed while writing the output format
                return self._commit(pending)
        if state_path.exists():
            change = state_difference(read_json(state_path), state)
            failed = self.work / FAILED
            if change:
                # Stopped on an error, killed, or stopped by a signal: keep the work the change cannot have changed.
                if failed.exists():
                    earlier = f"the earlier run in {self.output} stopped on an error ({read_json(failed)['message']}); its {change} changed since"
                else:
                    earlier = f"{self.output} holds an unfinished run with a different {change}"
                # A kill in the finish phase moved its rows out of _work/: nothing to keep.
                unchanged = 0 if final_entries(self.output) else unchanged_stages(read_json(state_path), state, self.stages)
                kept = keep_unchanged(self.work, self.segments, self.stages, unchanged) if unchanged else []
                if kept:
                    self.reporter.note(f"{earlier}: keeping the work of its first {len(kept)} stage(s), redoing the rest")
                    write_json_atomic(kept, self.work / REUSED)
                    failed.unlink(missing_ok=True)
                    write_json_atomic(state, state_path)
                    return None
                self.reporter.note(f"{earlier}: starting over")
                clear_run(self.output)
            else:
                failed.unlink(missing_ok=True)  # this attempt may get further; it records its own error
                self.reporter.note(f"resuming the unfinished run in {self.output}")
                return None
        clear_run(self.output, "replace")  # curate's own leftovers only, e.g. of a run killed during --fresh
        write_marker(self.output, self._uploads_to)
        write_json_atomic(state, state_path)
        return None

    def _remote_finished(self, remote: RemoteRun, state: dict[str, Any]) -> dict[str, Any] | None:
        """The finished run already at the output URL, or None; a different finished run
        there stops the run (exit 4) unless --fresh."""
        manifest = remote.manifest()
        if manifest is not None and self.options.fresh:
            remote.clear()
            return None
        remote.curate_objects("replace")  # objects curate did not write stop the run before any work
        if manifest is not None:
            change = state_difference(manifest.get("state", {}), state)
            if change:
                raise OutputError(f"{remote.url} holds a finished run with a different {change}; use --fresh to replace it, or another output")
        return manifest

    @property
    def _uploads_to(self) -> str | None:
        """The output URL this run directory is the local copy for (None: a local run)."""
        return self.options.remote.url if self.options.remote else None

    def _upload(self, remote: RemoteRun, state: dict[str, Any], manifest: dict[str, Any]) -> None:
        self.reporter.note(f"uploading the run to {remote.url}")
        try:
            remote.upload(self.output, state)
        finally:
            if remote.manifest_uploaded:  # a stop signal from here on leaves the run finished
                self.finished = manifest
        self._drop_local_copy()

    def _drop_local_copy(self) -> None:
        # The local copy goes, its reuse cache too: the bucket holds the run, and a scheduled
        # job writing to a bucket must not fill its machine's disk. A --work-dir folder keeps
        # anything else in it.
        for name in (*FINAL_NAMES, WORK, CACHE, MARKER, UPLOADED_LEDGER):
            remove(self.output / name)

    # -- execution

    def run(self) -> RunResult:
        if self.options.executor == "ray":
            require_ray(self.options.ray_address)  # before the run directory is touched
        raise_all(settings_problems(self.stages))  # for every input format, as `curate check`
        locations = self._locate()
        local = [p for p in self.pipeline.input.path if not is_url(p)]
        check_apart([Path(loc.url) for loc in locations if not loc.remote], local, self.output, "--input" if self.options.input_from_option else "input.path")
        if locations and not any(loc.remote for loc in locations) and any(loc.format != "parquet" for loc in locations):
            # Converted inputs: their columns, read from each file's header or first
            # records, are checked before the run directory is touched (as `curate check`).
            # With --limit, a file that cannot be read so is the conversion's to report (a
            # file past the limit is never converted).
            names, errors = sniffed_input(self.pipeline, self.stages, locations)
            if names is not None:
                raise_all(errors + flow_problems(self.pipeline, self.stages, names, self.options.annotate_only))
            if self.options.limit is None:
                raise_all(errors)
        refuse_other_claim(self.output, self._uploads_to)
        try:
            with contextlib.ExitStack() as locked:
                try:
                    self._lock = locked.enter_context(RunLock(self.output))
                except StorageError:  # cannot be written (read-only, full), so not locked either
                    finished = self._finished_in_place(locations)
                    if finished is None:
                        raise
                    return finished
                try:
                    return self._run(locations)
                except BaseException:
                    # An error, Ctrl-C or SIGTERM: stop the workers now, not after their jobs.
                    self._close(abort=True)
                    raise
                finally:
                    self._close(abort=False)
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM / SIGHUP (cli.Stopped)
            if self.finished is None:
                raise
            return self._finished_anyway(stop)

    def _finished_anyway(self, stop: KeyboardInterrupt) -> RunResult:
        """A stop signal that came after the run finished (its manifest written, or uploaded
        to the output URL) does not make it unfinished: the run's own result and exit code.
        What it cut short (`_work/` becoming `_cache/`, the local copy's removal) the next
        run of the same command does."""
        manifest = self.finished
        assert manifest is not None
        self.reporter.note(f"{str(stop) or 'Ctrl-C (SIGINT)'} came after the run finished: the run stands as finished")
        reports: list[dict[str, Any]] = []
        if self.options.remote is None:  # the page a reviewer opens, and the summary, as after any run
            place_report(self.output)
            reports = self._stage_reports()
        self.reporter.finished(reports, manifest)
        return RunResult(self.output, manifest["status"], manifest, reports)

    def _stage_reports(self) -> list[dict[str, Any]]:
        """The finished run's stage reports, in stage order."""
        return [read_json(p) for p in sorted((self.output / "reports").glob("[0-9][0-9]_*.json"))]

    def _close(self, abort: bool) -> None:
        if self._executor is not None:
            self._executor.close(abort)
            self._executor = None

    def _checked_state(self, locations: list[Location]) -> tuple[list[InputFile] | None, dict[str, Any]]:
        """The inputs checked (local Parquet; None for inputs to convert) and the run's
        state. Local Parquet is checked before the run directory is touched; other inputs
        are converted into _work/inputs/ first, so they are checked once it exists."""
        converted = any(loc.remote or loc.format != "parquet" for loc in locations)
        files = None if converted else self._inputs(locations)  # its ids may fall back to curate_id: the state's pipeline
        return files, self._state(locations)

    def _finished_in_place(self, locations: list[Location]) -> RunResult | None:
        """For an output that cannot be written (an archived run on a read-only mount, a
        full disk): the run it holds, when it is this very run, finished, which needs no
        write (what a rerun would settle, a killed run's `_work/`, stays); else None."""
        manifest_path = self.output / "manifest.json"
        if self.options.fresh or self.options.remote is not None or not manifest_path.is_file():
            return None
        state = self._checked_state(locations)[1]
        manifest = read_json(manifest_path)
        if state_difference(manifest.get("state", {}), state):
            return None
        return self._nothing_to_do(manifest)

    def _nothing_to_do(self, manifest: dict[str, Any]) -> RunResult:
        """This very run, finished: its result and exit code again."""
        reports = self._stage_reports()
        self.finished = manifest
        self.reporter.note(f"{self.output} already holds this run, finished; nothing to do (use --fresh to run again)")
        self.reporter.finished(reports, manifest)
        return RunResult(self.output, manifest["status"], manifest, reports)

    def _run(self, locations: list[Location]) -> RunResult:
        started_at, clock = datetime.now(timezone.utc), time.perf_counter()
        files, state = self._checked_state(locations)
        remote = self.options.remote
        if remote is not None:
            uploaded = self._remote_finished(remote, state)
            if uploaded is not None:
                self.finished = uploaded
                if (self.output / "manifest.json").exists():  # killed after the upload, before the local copy went
                    self._drop_local_copy()
                remote.release()  # a claim beside a finished run is an upload's leftover, killed after its manifest
                self.reporter.note(f"{remote.url} already holds this run, finished; nothing to do (use --fresh to run again)")
                self.reporter.finished([], uploaded)
                return RunResult(self.output, uploaded["status"], uploaded, [])
        self._refuse_comparing_with_itself(state)
        finished = self._prepare(state)
        if finished is not None and remote is None:
            return self._nothing_to_do(finished)
        if finished is not None:  # killed while uploading: finish the upload
            reports = self._stage_reports()
            self._upload(remote, state, finished)
            self.reporter.finished(reports, finished)
            return RunResult(self.output, finished["status"], finished, reports)
        try:
            files, reports, rows_in = self._process(locations, files)
        except (ConfigError, InputDataError) as error:
            # Recorded, so that the rerun after the fix proceeds without --fresh (curate/run/reuse.py).
            write_json_atomic({"message": str(error), "exit_code": error.exit_code}, self.work / FAILED)
            raise
        for report in reports:
            for message in report.get("warnings", []):
                self.reporter.warning(report["name"], message)
        manifest = self._finish(reports, state, files, rows_in, started_at, clock)
        if remote is not None:
            self._upload(remote, state, manifest)
        self.reporter.finished(reports, manifest)
        return RunResult(self.output, manifest["status"], manifest, reports)

    def _process(self, locations: list[Location], files: list[InputFile] | None) -> tuple[list[InputFile], list[dict[str, Any]], int]:
        """Converting the inputs (when not local Parquet), every segment's shard jobs and
        every whole-dataset decision: the files, the reports and the run's input rows."""
        reused = set(read_json(self.work / REUSED)) if (self.work / REUSED).exists() else set()
        auto = self._auto_workers(locations, files, reused)
        # A rerun whose work left is small starts no worker processes, whatever --workers says:
        # their start-up (imports, building every stage) would cost more than that work.
        workers = 1 if reused and auto == 1 else self.options.workers or auto
        if self.options.executor == "ray":
            self._executor = RayExecutor(self.options.ray_address, self.options.workers or os.cpu_count() or 1)
        else:
            self._executor = LocalExecutor(workers)
        if files is None:
            files = self._inputs(locations)
        markers: list[list[dict[str, Any]]] = []
        decided: dict[int, dict[str, Any]] = {}
        shards = self._shards(files)
        rows_in = sum(s.rows for s in shards)
        for segment in self.segments:
            decider = self._decider_in_order(segment)
            if decider is not None:  # this segment and the next, together
                first, second, decided[segment.tail] = self._run_in_order(segment, shards, rows_in, decider)
                markers += [first, second]
            elif len(markers) == segment.index:  # not run with the segment before it
                label = " → ".join(self.stages[i].name for i in self._segment_stages(segment)) or "read"
                markers.append(self._run_segment(segment, shards, label, rows_in))
            rows_in = sum(m["rows_out"] for m in markers[segment.index])
            if segment.tail is not None and segment.tail not in decided:
                stage = self.stages[segment.tail]
                assert isinstance(stage, DatasetStage)
                if not decided_before(segment.tail, self.stages, self.work):  # a reused decision is read, not made
                    self.reporter.deciding(stage.name)
                stage.task_runner = self._executor.tasks
                stage.trial_run = bool(self.options.limit or self.options.sample or self.options.annotate_only)
                stage.run_directory = self._uploads_to or str(self.output.resolve())
                decided[segment.tail] = decide(stage, segment.tail, self.stages, self.work, len(shards))
        rows_in = sum(rows_read(m) for m in markers[0])  # after --sample
        return files, stage_reports(self.stages, markers, decided, rows_in, self.options.annotate_only), rows_in

    def _shards(self, files: list[InputFile]) -> list[Shard]:
        sample = (self.options.sample, self.options.seed) if self.options.sample is not None else None
        return plan_shards(files, self.pipeline.input.text_column, self.options.limit, sample)

    def _validated_input(self, files: list[InputFile]) -> tuple[list[Path], pa.Schema | None]:
        """The input files the input suites judge, and the schema to read them with: every
        input part, with the run's types where formats were converted (a JSON Lines
        number whole in one file is a float beside another's 0.5), or for a
        `--limit`/`--sample` trial only the rows it read, written to `_work/trial_input/`
        with the run's types (a trial's suites judge what it curated, not rows it never read)."""
        parts = [p.path for f in files for p in f.parts]
        expectations = self.pipeline.expectations
        if self.options.slice() is None or expectations is None or not expectations.input:
            return parts, next((f.arrow_schema for f in files if f.arrow_schema is not None), None)
        folder = self.work / TRIAL_INPUT
        remove(folder)
        folder.mkdir(parents=True)
        paths = []
        id_column = self.pipeline.input.id_column
        # the input's own columns: curate's lineage goes, and curate_id too unless the input holds it
        lineage = [SOURCE_COLUMN] if id_column == ID_COLUMN else [SOURCE_COLUMN, ID_COLUMN]
        for index, shard in enumerate(self._shards(files)):
            rows = read_input(shard, id_column, self.pipeline.input.text_column)
            paths.append(folder / f"part-{index:05d}.parquet")
            rows.drop(lineage, strict=False).write_parquet(paths[-1])
        return paths, None

    def _auto_workers(self, locations: list[Location], files: list[InputFile] | None, reused: set[int]) -> int:
        """The automatic worker count, from the shards' sizes and their text columns'
        (or, for inputs still to be converted on the workers, from their sizes on disk,
        whose columns are not known apart yet); `reused` stages cost nothing."""
        cores = os.cpu_count() or 1
        fraction = self.options.sample if self.options.sample is not None else 1.0
        if files is None:
            size = text_size = sum(estimated_bytes(loc) for loc in locations)
            shards = None
        else:
            planned = self._shards(files)
            size, text_size, shards = sum(s.bytes for s in planned), sum(s.text_bytes for s in planned), len(planned)
        return auto_workers(self.stages, self.segments, size * fraction, text_size * fraction, shards, cores, reused)

    def _segment_stages(self, segment: Segment) -> list[int]:
        return ([segment.head] if segment.head is not None else []) + segment.body

    def _shard_job(self, segment: Segment, shard: int, unit: Shard) -> tuple[dict[str, Any] | None, ShardJob]:
        """A shard's marker when the segment is done with it, and the job that does it."""
        path = marker_path(self.work, segment.index, shard)
        marker = read_json(path) if path.exists() else None
        summarized = stage_key(segment.tail, self.stages[segment.tail]) if segment.tail is not None else None
        if marker is not None and (summarized is None or summarized in marker["stages"]):
            return marker, ShardJob(self.pipeline, self.options.annotate_only, self.work, segment.index, shard, unit, self.input_types, self.input_categories)
        # not done, or a rerun kept its rows and redoes the changed dataset stage's summary
        return None, ShardJob(self.pipeline, self.options.annotate_only, self.work, segment.index, shard, unit, self.input_types, self.input_categories, marker)

    def _decider_in_order(self, segment: Segment) -> InOrderDecisions | None:
        """The decider of the dataset stage this segment summarises for, when a serial run
        can decide its rows shard by shard as it reads them: the stage has one, the
        segment only reads and summarises (the stage comes first), and its decisions
        are not made yet (a resumed two-pass run goes on the two-pass way)."""
        if segment.tail is None or not segment.passthrough or not self._executor.serial:
            return None
        if decided_before(segment.tail, self.stages, self.work):
            return None
        stage = self.stages[segment.tail]
        assert isinstance(stage, DatasetStage)
        return stage.decider_in_order()

    def _run_in_order(
        self, segment: Segment, shards: list[Shard], rows: int, decider: InOrderDecisions
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        """This segment and the next, around a stage deciding in run order, shard by
        shard (segments.run_shard_in_order): both segments' markers and the decisions'
        record."""
        following = self.segments[segment.index + 1]
        assert segment.tail is not None and following.head == segment.tail
        label = " → ".join(self.stages[i].name for i in self._segment_stages(following))
        progress = self.reporter.segment(f"{label} (one pass)", total_rows=rows, total_shards=len(shards))
        first: list[dict[str, Any]] = []
        second: list[dict[str, Any]] = []
        deciding = 0.0
        for shard, unit in enumerate(shards):
            done_first, first_job = self._shard_job(segment, shard, unit)
            done_second, second_job = self._shard_job(following, shard, unit)
            marker_first, marker_second, seconds = run_shard_in_order(first_job, second_job, (done_first, done_second), decider)
            first.append(marker_first)
            second.append(marker_second)
            deciding += seconds
            progress.advance(rows_read(marker_first), 1)
        progress.close()
        return first, second, finish_in_order(segment.tail, self.stages, self.work, deciding, decider)

    def _run_segment(self, segment: Segment, shards: list[Shard], label: str, rows: int) -> list[dict[str, Any]]:
        results: dict[int, dict[str, Any]] = {}
        todo: list[ShardJob] = []
        for shard, unit in enumerate(shards):
            marker, job = self._shard_job(segment, shard, unit)
            if marker is not None:
                results[shard] = marker
            else:
                todo.append(job)
        progress = self.reporter.segment(label, total_rows=rows, total_shards=len(shards))
        progress.advance(sum(rows_read(m) for m in results.values()), len(results))
        for shard, marker in self._executor.map(run_shard, todo):
            results[shard] = marker
            progress.advance(rows_read(marker), 1)
        progress.close()
        return [results[shard] for shard in range(len(shards))]

    # -- reports and the finished run

    def _finish(self, reports, state, files, rows_in, started_at, clock) -> dict[str, Any]:
        """The finish phase (curate/run/finish.py says why any kill in it resumes).
        `clock`: `time.perf_counter()` when this attempt started; the manifest's `seconds`
        run from then to the end of the checks (validation and gates included)."""
        from curate.checks.gates import (
            check_run,  # validation suites and gates; may set status gates_failed, exit 5
        )
        from curate.report.html import render_report

        # The output changes from here: an input rewritten since the run located it and
        # files curate did not write stop the run before anything moves, and an earlier
        # run's manifest goes first, so that a kill below leaves an unfinished run
        # directory, never a manifest over other rows.
        _check_unchanged(files)
        refuse_foreign(self.output, "replace")
        remove(self.output / "manifest.json")
        remove(self.output / "report.html")  # the earlier run's: it would describe other rows
        crash_point("finish:old_manifest")
        place_output(self.output)
        reused = set(read_json(self.work / REUSED)) if (self.work / REUSED).exists() else set()
        for report in reports:
            report["work"] = "reused" if report["index"] - 1 in reused else "ran"
        write_stage_reports(self.output, reports)
        remove_stale_reports(self.output, reports)
        rows_kept = reports[-1]["rows_kept"]
        manifest = {
            "curate_version": __version__,
            "status": "complete",
            "exit_code": 0,
            "started_at": started_at.isoformat(timespec="seconds"),
            "finished_at": None,  # both set once the checks below are done
            "seconds": None,
            # the pipeline that ran: an input converted in the run directory is checked, and
            # its ids may fall back to curate_id (input.bad_ids), after the state was taken
            "pipeline_hash": self.pipeline.fingerprint(),
            "pipeline": self.pipeline.public_dump(),
            "annotate_only": self.options.annotate_only,
            "overrides": list(self.options.overrides),
            "slice": state["slice"],
            "inputs": [f.describe() for f in files],
            "rows_in": rows_in,
            "rows_kept": rows_kept,
            "rows_removed": rows_in - rows_kept,
            "stages": [
                {k: r[k] for k in ("index", "name", "stage", "mode", "work", "rows_in", "rows_kept", "rows_removed", "seconds")}
                | {"status": "complete", "report": f"reports/{r['index']:02d}_{r['name']}.json"}
                for r in reports
            ],
            "state": state,
        }
        comparison = check_run(self.pipeline, self.output, manifest, reports, *self._validated_input(files))
        _check_unchanged(files)  # the input suites read the files again
        remove(self.work / TRIAL_INPUT)
        manifest["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest["seconds"] = round(time.perf_counter() - clock, 3)
        crash_point("finish:checks")
        self._check_in_place()  # before report.html's write would make _work/ (and the directory) again
        render_report(self.output, manifest, reports, comparison=comparison, path=self.work / PENDING_REPORT)
        crash_point("finish:report_html")
        return self._commit(manifest)

    def _commit(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The output format's files (when not Parquet parts as they are), then the manifest."""
        files = self.pipeline.output_files
        if files is not None:
            write_json_atomic(manifest, self.work / PENDING_MANIFEST)
            export_parts(self.output, files["format"], files["max_rows_per_file"])
        self._check_in_place()
        write_json_atomic(manifest, self.output / "manifest.json")
        if self.options.remote is None:  # a run to a URL is finished once uploaded
            self.finished = manifest
        crash_point("finish:manifest")
        (self.work / PENDING_MANIFEST).unlink(missing_ok=True)
        settle_finished(self.output)
        return manifest

    def _check_in_place(self) -> None:
        """StorageError (exit 4) when the run directory was deleted or moved while the run
        worked: an atomic write makes the folders it needs, so the manifest would otherwise
        stand "complete" in a new directory without the run's rows."""
        assert self._lock is not None
        if not self._lock.in_place():
            raise StorageError(f"{self.output}: the run directory vanished while the run worked (deleted or moved?); "
                               "nothing is marked finished: run the same command again to run it anew")


def _check_unchanged(files: list[InputFile]) -> None:
    """Every input file as the run located (and hashed) it: a file rewritten after its
    shards were read makes the manifest's `inputs` describe rows the run never read."""
    for file in files:
        file.location.check_unchanged()


def run_pipeline(pipeline: Pipeline, output: Path, options: RunOptions, reporter: Reporter) -> RunResult:
    return Runner(pipeline, output, options, reporter).run()

