"""Checks before a run: everything that can be known wrong before any work, found at once.

`curate check` and `curate run` run the same checks (the run before it touches its
output directory): each stage can be built (rule files parse, a label column exists
where a stage needs one), the files that decide a stage's output are present, what its
settings and files show without any input holds (an extra installed, langid's codes in
its model, whatever the input's format and with `--no-input` too), the input
files are readable Parquet with one schema whose values pass what the run checks of
them before any work (ids that name one row each, a stage's `check_input`), and the
column flow holds (`column_flow`: what each stage reads is there, what it adds is not,
and what gates and suites name exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from curate.checks.config import self_comparison
from curate.config import Pipeline
from curate.errors import CurateError, InputDataError, ManyErrors, OutputError
from curate.run.column_flow import flow_problems, input_columns, suite_columns
from curate.run.inspect import check_reserved_columns, check_stage_inputs, ids_fall_back
from curate.run.io import check_column_types, no_column, not_a_directory, polars_schema
from curate.run.rundir import check_apart, refuse_foreign
from curate.run.segments import columns_of
from curate.run.sources import Location, empty_file, locate
from curate.run.staging import CsvOptions, input_names, refuse_duplicate_columns, sniff_columns
from curate.stages import STAGES, Stage


@dataclass
class Preflight:
    stages: list[Stage | None]
    """Each stage built from its config; None where building it failed (see errors)."""
    input_columns: dict[str, str]
    """Columns the input files must have, and what each is for."""
    schema: pa.Schema | None
    """The input's schema, when its files are local Parquet (read from their footers)."""
    errors: list[CurateError]


def preflight(pipeline: Pipeline, read_input: bool = True, output: Path | None = None, input_from_option: bool = False,
              annotate_only: bool = False) -> Preflight:
    """Every problem the pipeline, its stage files and (unless `read_input` is false) the
    input files' footers reveal, without running anything; with a local `output`, what
    the run would refuse there (a file, foreign files, input inside it). Inputs in an
    object store are checked by the run itself, after fetching them.
    `input_from_option`: the input paths came from `--input`; `annotate_only`: the run's
    `--annotate-only`, under which stages leave other columns."""
    errors: list[CurateError] = []
    columns = columns_of(pipeline)
    stages: list[Stage | None] = []
    for index, config in enumerate(pipeline.stages):
        try:  # a stage that did not validate (`curate check` goes on with the others) is None
            stages.append(STAGES[config.stage](config, columns) if config is not None else None)
        except CurateError as error:
            errors.append(_stage_error(pipeline, index, config.stage, config.label, error))
            stages.append(None)
    settled: list[Stage | None] = []  # the stages whose files are all there (else their checks would read no file)
    for index, stage in enumerate(stages):
        try:
            files = stage.files() if stage is not None else []
        except CurateError as error:  # a glob of reference files that matches nothing, say
            errors.append(_stage_error(pipeline, index, stage.kind, stage.name, error))
            settled.append(None)
            continue
        absent = [path for path in files if "://" not in path and not Path(path).exists()]
        for path in absent:
            errors.append(pipeline.error_at(("stages", index), f"file {path} does not exist; fix the path", shown=f"stages[{index}] ({stage.name})"))
        settled.append(None if absent else stage)
    errors.extend(settings_problems(settled))
    needed = input_columns(pipeline, stages)
    schema = None
    names: list[str] | None = None
    locations: list[Location] = []
    if read_input:
        spec = pipeline.input
        try:
            locations = locate(spec.path, spec.format, spec.storage_options, from_option=input_from_option)
        except InputDataError as error:
            errors.append(error)
            locations = []
        paths = [Path(loc.url) for loc in locations if not loc.remote and loc.format == "parquet"]
        if locations and not any(loc.remote for loc in locations) and len(paths) < len(locations):
            names, found = sniffed_input(pipeline, stages, locations)
            errors.extend(found)
        elif paths and len(paths) == len(locations):
            # Stage reads are the column flow's to explain (an earlier stage may add them).
            named = {column: role for column, role in needed.items() if role.startswith("input.")}
            schema, found = _footers(paths, named, columns.text, spec.id_column)
            errors.extend(found)
            if schema is not None and not found:  # what each stage can tell from the input's schema
                built = [stage for stage in stages if stage is not None]
                try:
                    check_reserved_columns(schema.names, built, spec.id_column, paths[0])
                except CurateError as error:
                    errors.append(error)
                found = schema_problems(pipeline, stages, polars_schema(schema))
                errors.extend(found)
                if not found:  # the columns are there, of types the stages take: their values
                    errors.extend(_value_problems(pipeline, built, paths))
    if schema is not None:
        names = schema.names
    errors.extend(flow_problems(pipeline, stages, names, annotate_only))
    written_to = output or (Path(pipeline.output_path) if pipeline.output_path is not None and "://" not in pipeline.output_path else None)
    # a finished run there may be this very run, whose rerun does nothing: the run decides, from its state
    if written_to is not None and not (written_to / "manifest.json").is_file():
        errors.extend(e for e in [self_comparison(pipeline.gates, written_to)] if e is not None)
    if output is not None:
        errors += _output_problems(pipeline, output, locations if read_input else [], input_from_option)
    return Preflight(stages, needed, schema, [pipeline.in_file(error) for error in errors])


def _value_problems(pipeline: Pipeline, stages: list[Stage], paths: list[Path]) -> list[CurateError]:
    """What the run's checks of a local Parquet input's values, which it makes before its
    run directory exists, refuse: ids that name no single row (unless input.bad_ids
    says what to do), and each stage's own (`check_input`: label_noise's two classes)."""
    errors: list[CurateError] = []
    spec = pipeline.input
    try:
        if spec.id_column is not None:
            ids_fall_back(paths, input_names([str(path) for path in paths]), [0] * len(paths), spec.id_column, spec.bad_ids)
    except CurateError as error:
        errors.append(error)
    try:
        check_stage_inputs(paths, stages)
    except CurateError as error:
        errors.append(error)
    return errors


def settings_problems(stages: list[Stage | None]) -> list[CurateError]:
    """What each stage's settings and own files show without any input (`Stage.check_settings`:
    a missing extra, a code the model lacks; each message names its stage): the same for
    every input format and without one, before the run directory is touched."""
    errors: list[CurateError] = []
    for stage in stages:
        try:
            if stage is not None:
                stage.check_settings()
        except CurateError as error:
            errors.append(error)
    return errors


def schema_problems(pipeline: Pipeline, stages: list[Stage | None], schema: pl.Schema) -> list[CurateError]:
    """What each stage's `check` finds in the input's schema (every one a stage finds,
    not its first), located at the stage in the pipeline file like the other checks' errors."""
    errors: list[CurateError] = []
    for index, stage in enumerate(stages):
        try:
            if stage is not None:
                stage.check(schema)
        except CurateError as error:
            found = error.errors if isinstance(error, ManyErrors) else [error]
            errors.extend(_stage_error(pipeline, index, stage.kind, stage.name, e) for e in found)
    return errors


def _output_problems(pipeline: Pipeline, output: Path, locations: list[Location], input_from_option: bool) -> list[CurateError]:
    """What the run would refuse at its local output before any work, found without writing."""
    if output.exists() and not output.is_dir():
        return [not_a_directory(output)]
    errors: list[CurateError] = []
    local = [p for p in pipeline.input.path if "://" not in p]
    try:
        check_apart([Path(loc.url) for loc in locations if not loc.remote], local, output, "--input" if input_from_option else "input.path")
    except OutputError as error:
        errors.append(error)
    if output.is_dir():
        try:
            refuse_foreign(output, "replace")
        except OutputError as error:
            errors.append(error)
    return errors


def _stage_error(pipeline: Pipeline, index: int, kind: str, name: str, error: CurateError) -> CurateError:
    """A stage's error located at its key in the pipeline file: a message `overlap.references: …`
    at `stages[2].references`, any other at the stage."""
    # the place names the stage: a message's own naming of it goes (`stage 'x': `, `quality (x): `)
    message = str(error).removeprefix(f"stage {name!r}: ").removeprefix(f"{kind} ({name}): ")
    key, sep, rest = message.partition(": ")
    family, dot, option = key.partition(".")
    if sep and dot and family == kind:
        return pipeline.error_at(("stages", index, option), rest, type(error))
    return pipeline.error_at(("stages", index), f"{key}{sep}{rest}", type(error), shown=f"stages[{index}] ({name})")


def sniffed_input(pipeline: Pipeline, stages: list[Stage | None], locations: list[Location]) -> tuple[list[str] | None, list[CurateError]]:
    """Local inputs that the run converts first (JSON Lines, CSV, Arrow): their columns
    read cheaply up front (`sniff_columns`), so that a missing named column is found
    before the run directory exists. The run's schema is the union of every file's
    columns, so a named column is missing when no file has it. Types are known only
    after the conversion, which checks them. Returns the columns (None when a file
    could not be read) and the errors."""
    spec = pipeline.input
    csv = CsvOptions.of(spec)
    names, errors = _sniffed_names(locations, csv, whole=False)
    read = input_columns(pipeline, stages)
    named = [*read, *(column for _, _, _, column in suite_columns(pipeline))]
    if not errors and any(loc.format == "jsonl" for loc in locations) and any(column not in names for column in named):
        # a JSON Lines key may first appear after the records read: the whole files' keys
        # (a full parse, only when a column the pipeline reads or a suite names was not among them)
        names, errors = _sniffed_names(locations, csv, whole=True)
    if errors:
        return None, errors
    if not names:  # every file empty or blank: the conversion says the input has no rows
        return None, []
    required = {column: role for column, role in read.items() if role.startswith("input.")}
    missing = {column: role for column, role in required.items() if column not in names}
    if missing:
        where = locations[0].url if len(locations) == 1 else f"{len(locations)} input files"
        errors.append(no_column(where, missing, names, csv.separator if any(loc.format in ("csv", "tsv") for loc in locations) else None))
        return names, errors
    try:
        check_reserved_columns(names, [stage for stage in stages if stage is not None], spec.id_column, Path(locations[0].url))
    except CurateError as error:
        errors.append(error)
    return names, errors


def _sniffed_names(locations: list[Location], csv: CsvOptions, whole: bool) -> tuple[list[str], list[CurateError]]:
    """The union of the files' columns (`sniff_columns`), and the files that could not be read."""
    names: list[str] = []
    errors: list[CurateError] = []
    for location in locations:
        if location.size == 0:
            continue  # the conversion names an empty file
        try:
            columns = sniff_columns(location, csv, whole)
        except InputDataError as error:
            errors.append(error)
            continue
        names += [column for column in columns if column not in names]
    return names, errors


def _footers(paths: list[Path], required: dict[str, str], text_column: str, id_column: str | None) -> tuple[pa.Schema | None, list[CurateError]]:
    """Every input's footer, every problem at once: unreadable files, missing named
    columns, a text column that is not text, an id column of lists or structs (schemas
    that differ are the run's to unify). Returns the first readable
    file's schema and the errors."""
    errors: list[CurateError] = []
    first: tuple[Path, pa.Schema] | None = None
    lacking: dict[tuple[str, ...], list[tuple[Path, list[str]]]] = {}  # one line for the files that lack the same columns
    for path in paths:
        if path.stat().st_size == 0:
            errors.append(empty_file(path))
            continue
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError) as exc:
            errors.append(InputDataError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]}); re-export it or remove it from the input"))
            continue
        try:
            refuse_duplicate_columns(schema.names, str(path))
        except InputDataError as error:
            errors.append(error)
            continue
        missing = tuple(column for column in required if column not in schema.names)
        if missing:
            lacking.setdefault(missing, []).append((path, schema.names))
        if first is None:
            first = (path, schema)
            try:
                check_column_types(schema, text_column, id_column, str(path))
            except InputDataError as error:
                errors.append(error)
    for missing, files in lacking.items():
        what = "; ".join(f"{column!r} ({required[column]})" for column in missing)
        (path, names), more = files[0], len(files) - 1
        where = f"{path}" if not more else f"{path} and {more:,} more of the {len(paths):,} input files"
        errors.append(InputDataError(
            f"{where}: no column {what}; columns are{f' (in {path.name})' if more else ''}: {', '.join(names)}. Set the right name in the pipeline's input section"
        ))
    return (first[1] if first else None), errors
