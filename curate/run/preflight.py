"""Checks before a run: everything that can be known wrong before any work, found at once.

`curate check` and `curate run` run the same checks (the run before it touches its
output directory): each stage can be built (rule files parse, a label column exists
where a stage needs one), the files that decide a stage's output are present, what its
settings and files show without any input holds (an extra installed, langid's codes in
its model, whatever the input's format and with `--no-input` too), the input
files are readable Parquet with one schema, and the column flow holds: every column a
stage reads is an input column or is added by an earlier stage, and every column a stage
adds is not there yet (unless stages of one family share it by design). What the gates
and validation suites name must exist too: each `max_removed_fraction_by_reason` glob
matches a reason some stage can give, `max_removed_fraction_by_language` has a stage that
knows each row's language, and every column a suite names is in its target.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.checks.config import self_comparison
from curate.config import Pipeline
from curate.errors import ConfigError, CurateError, InputDataError, OutputError, did_you_mean
from curate.run.inspect import STAGE_COLUMN, check_reserved_columns
from curate.run.io import ID_COLUMN, SOURCE_COLUMN, check_column_types, not_a_directory, polars_schema
from curate.run.rundir import check_apart, refuse_foreign
from curate.run.segments import columns_of
from curate.run.sources import Location, empty_file, locate
from curate.run.staging import CsvOptions, refuse_duplicate_columns, sniff_columns
from curate.stages import STAGES, Stage
from curate.stages.base import REASON, RewritesText


@dataclass
class Preflight:
    stages: list[Stage | None]
    """Each stage built from its config; None where building it failed (see errors)."""
    input_columns: dict[str, str]
    """Columns the input files must have, and what each is for."""
    schema: pa.Schema | None
    """The input's schema, when its files are local Parquet (read from their footers)."""
    errors: list[CurateError]


def preflight(pipeline: Pipeline, read_input: bool = True, output: Path | None = None, input_from_option: bool = False) -> Preflight:
    """Every problem the pipeline, its stage files and (unless `read_input` is false) the
    input files' footers reveal, without running anything; with a local `output`, what
    the run would refuse there (a file, foreign files, input inside it). Inputs in an
    object store are checked by the run itself, after fetching them.
    `input_from_option`: the input paths came from `--input`."""
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
                frame_schema = polars_schema(schema)
                for stage in stages:
                    try:
                        if stage is not None:
                            stage.check(frame_schema)
                    except CurateError as error:
                        errors.append(error)
    if schema is not None:
        names = schema.names
    errors.extend(flow_problems(pipeline, stages, names))
    written_to = output or (Path(pipeline.output_path) if pipeline.output_path is not None and "://" not in pipeline.output_path else None)
    # a finished run there may be this very run, whose rerun does nothing: the run decides, from its state
    if written_to is not None and not (written_to / "manifest.json").is_file():
        errors.extend(e for e in [self_comparison(pipeline.gates, written_to)] if e is not None)
    if output is not None:
        errors += _output_problems(pipeline, output, locations if read_input else [], input_from_option)
    return Preflight(stages, needed, schema, [pipeline.in_file(error) for error in errors])


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
    key, sep, rest = str(error).partition(": ")
    family, dot, option = key.partition(".")
    if sep and dot and family == kind:
        return pipeline.error_at(("stages", index, option), rest, type(error))
    return pipeline.error_at(("stages", index), str(error), type(error), shown=f"stages[{index}] ({name})")


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
    if not errors and any(loc.format == "jsonl" for loc in locations) and any(column not in names for column in read):
        # a JSON Lines key may first appear after the records read: the whole files' keys
        # (a full parse, only when a column the pipeline reads was not among them)
        names, errors = _sniffed_names(locations, csv, whole=True)
    if errors:
        return None, errors
    if not names:  # every file empty or blank: the conversion says the input has no rows
        return None, []
    required = {column: role for column, role in read.items() if role.startswith("input.")}
    missing = [column for column in required if column not in names]
    if missing:
        what = "; ".join(f"{column!r} ({required[column]})" for column in missing)
        where = locations[0].url if len(locations) == 1 else f"{len(locations)} input files"
        errors.append(InputDataError(
            f"{where}: no column {what}; columns are: {', '.join(names)}. Set the right name in the pipeline's input section"
        ))
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


def _after(stage: Stage, annotate_only: bool) -> list[str]:
    """The columns `stage` leaves on the rows after it, in this run's mode."""
    return stage.columns_after(stage.applies(annotate_only))


def _lineage(pipeline: Pipeline) -> list[str]:
    """The columns curate adds to every input row before the first stage."""
    return [SOURCE_COLUMN] + ([] if pipeline.input.id_column else [ID_COLUMN])


def input_columns(pipeline: Pipeline, stages: list[Stage | None]) -> dict[str, str]:
    """Columns the input must have: the named ones, and what a stage reads before any
    earlier stage adds it."""
    spec = pipeline.input
    required = {spec.text_column: "input.text_column"}
    if spec.id_column:
        required[spec.id_column] = "input.id_column"
    if spec.label_column:
        required[spec.label_column] = "input.label_column"
    added = set(_lineage(pipeline))
    for stage in stages:
        if stage is None:
            continue
        for column in stage.required_columns():
            if column not in added:
                required.setdefault(column, f"read by stage {stage.name!r}")
        added.update(_after(stage, annotate_only=False))
    return required


def column_flow(pipeline: Pipeline, stages: list[Stage | None], input_names: list[str] | None, annotate_only: bool = False) -> list[CurateError]:
    """Errors in the column flow. Without the input's columns (`--no-input`), only what
    the stages add and the order they add it in are checked: any other read may be an
    input column. A rewriting stage leaves other columns in filter mode than under annotate mode
    (`Stage.columns_after`): `annotate_only` says which."""
    errors: list[CurateError] = []
    spec = pipeline.input
    named = [c for c in (spec.text_column, spec.id_column, spec.label_column) if c]  # the footer check reports these
    present: dict[str, str] = {c: "the input has it" for c in [*(input_names or []), *named]}
    present.update({c: "curate adds it to every row (lineage)" for c in _lineage(pipeline)})
    adders: dict[str, list[str]] = {}
    for stage in stages:
        for column in _after(stage, annotate_only) if stage is not None else []:
            adders.setdefault(column, []).append(stage.name)
    owners: dict[str, Stage] = {}
    kept_by: dict[str, str] = {}  # a keep_original: column -> the stage whose option it is
    for index, stage in enumerate(stages):
        if stage is None:
            continue
        def at(message: str, kind: type[CurateError] = ConfigError, key: str | None = None) -> CurateError:
            return pipeline.error_at(("stages", index, key) if key else ("stages", index), message, kind, shown=f"stages[{index}] ({stage.name})")

        kept = _kept_original(stage, annotate_only)
        if kept is not None:
            error = _keep_original_clash(stage, kept, present)
            if error is not None:
                errors.append(at(error, key="keep_original"))
        # A read before the stage that adds it is wrong whatever the input holds (the input
        # lacks the column, or that stage would overwrite it): found without the input too.
        for column in stage.required_columns():
            if column in present:
                continue
            message = (f"reads column {column!r}, which neither the input nor an earlier stage has" if input_names is not None
                       else f"reads column {column!r}, which no earlier stage adds")
            later = [name for name in adders.get(column, []) if name != stage.name]
            settled = [s for s in stages[:index] if s is not None and column in s.added_columns()]
            if settled:  # a rewriting stage's `<name>_text`, gone in filter mode
                errors.append(at(
                    f"{message}; stage {settled[0].name!r} keeps it only in annotate mode (in filter mode its new text "
                    f"replaces the text column): read the text column, or set `mode: annotate` on {settled[0].name!r}"
                ))
            elif later:  # the order is wrong: a pipeline error
                errors.append(at(f"{message}; stage {later[0]!r} adds it but runs later: move {stage.name!r} after it"))
            elif input_names is not None and None not in stages[:index]:  # the input lacks it (an invalid stage before may add it)
                errors.append(at(f"{message}{did_you_mean(column, [*present, *adders])}; columns at this point: {', '.join(present)}", InputDataError))
        declared = [column for column in _after(stage, annotate_only) if column != kept]  # kept: checked above
        for column in declared:
            earlier = owners.get(column)
            if earlier is not None and column in earlier.shared_columns and column in stage.shared_columns:
                continue
            # A clash with an input column is run/inspect's to report (check_reserved_columns).
            if column in present and present[column].startswith("stage "):
                if column in kept_by:
                    fix = f"set keep_original: of stage {kept_by[column]!r} to a new column name"
                elif stage.rename_option is not None:
                    fix = f"change one stage's output name (`curate stages {stage.kind}`)"
                else:
                    fix = f"{stage.kind} has no option to rename its columns, so a pipeline holds one {stage.kind} stage (or run the other in a pipeline of its own)"
                errors.append(at(f"adds column {column!r}, but {present[column]}; curate never overwrites a column: {fix}"))
        for column in declared:
            present.setdefault(column, f"stage {stage.name!r} adds it before")
            owners.setdefault(column, stage)
        if kept is not None:
            present.setdefault(kept, f"stage {stage.name!r} adds it before (its keep_original:)")
            kept_by.setdefault(kept, stage.name)
    return errors


def flow_problems(pipeline: Pipeline, stages: list[Stage | None], input_names: list[str] | None, annotate_only: bool = False) -> list[CurateError]:
    """The column flow's errors (`column_flow`), then what the gates and suites ask of the
    stages and columns. Without the input's columns, what depends on them is not checked."""
    errors = column_flow(pipeline, stages, input_names, annotate_only)
    if None in stages:  # a stage that could not be built: its error is reported already
        return errors
    built: list[Stage] = [stage for stage in stages if stage is not None]
    errors += _reason_problems(pipeline, built)
    errors += _language_code_problems(pipeline, built)
    if input_names is not None:
        along = _columns_along(pipeline, built, input_names, annotate_only)
        errors += _language_problems(pipeline, built, along)
        errors += _language_column_problems(pipeline, built, along)
        errors += _suite_problems(pipeline, input_names, along[-1])
    return errors


def _columns_along(pipeline: Pipeline, stages: list[Stage], input_names: list[str], annotate_only: bool) -> list[set[str]]:
    """The columns the rows have before each stage, and last those of the output."""
    present = {*input_names, *_lineage(pipeline)}
    along = [set(present)]
    for stage in stages:
        present |= set(_after(stage, annotate_only))
        along.append(set(present))
    return along


def _may_match(pattern: str, reason: str) -> bool:
    """Whether a reason glob can match `reason`, or, for a reason ending in `:`, one of the
    reasons it starts (`lang_not_kept:*` and `lang_not_kept:fr` match `lang_not_kept:`)."""
    if not reason.endswith(":"):
        return fnmatch.fnmatchcase(reason, pattern)
    literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    return pattern.startswith(reason) or (literal != pattern and reason.startswith(literal))


def _reason_problems(pipeline: Pipeline, stages: list[Stage]) -> list[CurateError]:
    """A reason glob no stage can give would pass every night without judging anything."""
    if pipeline.gates is None or not pipeline.gates.max_removed_fraction_by_reason:
        return []
    reasons = sorted({reason for stage in stages for reason in stage.removal_reasons()})
    shown = [f"{reason}*" if reason.endswith(":") else reason for reason in reasons]
    return [
        pipeline.error_at(
            ("gates", "max_removed_fraction_by_reason", pattern),
            f"no stage of this pipeline gives a reason it matches{did_you_mean(pattern, shown)}; "
            f"the stages' reasons: {', '.join(shown) or 'none (no stage removes rows)'}",
        )
        for pattern in pipeline.gates.max_removed_fraction_by_reason
        if not any(_may_match(pattern, reason) for reason in reasons)
    ]


def _language_problems(pipeline: Pipeline, stages: list[Stage], along: list[set[str]]) -> list[CurateError]:
    """A by-language limit with no stage that knows the rows' languages judges nothing."""
    if pipeline.gates is None or pipeline.gates.max_removed_fraction_by_language is None:
        return []
    if any(stage.reports_languages(along[index]) for index, stage in enumerate(stages)):
        return []
    return [pipeline.error_at(
        ("gates", "max_removed_fraction_by_language"),
        "no stage reports removal by language: a quality stage does only when it knows "
        "each row's language (its lang_column from a langid stage before it or from the input, or its `lang:` setting); "
        "add a langid stage before quality, set quality's lang_column or lang, or remove the gate"
    )]


def _language_column_problems(pipeline: Pipeline, stages: list[Stage], along: list[set[str]]) -> list[CurateError]:
    """A stage that reads languages from a column the rows lack, while an earlier stage
    writes them to another: it would judge every row as having no language (quality's
    English rules for German and Japanese alike)."""
    errors: list[CurateError] = []
    for index, stage in enumerate(stages):
        read = stage.language_column_read()
        written = [(s.name, s.language_column_written()) for s in stages[:index] if s.language_column_written()]
        if read is None or read in along[index] or not written:
            continue
        writer, column = written[-1]
        errors.append(pipeline.error_at(
            ("stages", index),
            f"reads each row's language from column {read!r}, which neither the input nor an earlier stage has, "
            f"while stage {writer!r} writes languages to {column!r}: set lang_column: {column}",
            shown=f"stages[{index}] ({stage.name})",
        ))
    return errors


def _language_code_problems(pipeline: Pipeline, stages: list[Stage]) -> list[CurateError]:
    """Language codes a user wrote for rows (quality's override keys) that the stage writing
    those rows' language can never give (`jp` after langid's lid.176, which says `ja`):
    rules that never apply. Codes from the input's own column or a custom model are not known."""
    from curate.stages.quality.languages import code_problem

    errors: list[CurateError] = []
    for index, stage in enumerate(stages):
        read = stage.language_column_read()
        writers = [s for s in stages[:index] if s.language_column_written() == read]
        given = writers[-1].language_codes_given() if read is not None and writers else None
        for code, where in stage.language_codes_written() if given is not None else ():
            problem = code_problem(code, given)
            if problem:
                errors.append(pipeline.error_at(("stages", index), f"{where}: {problem}", shown=f"stages[{index}] ({stage.name})"))
    return errors


def _suite_problems(pipeline: Pipeline, input_names: list[str], output_columns: set[str]) -> list[CurateError]:
    """A suite column its target can never have would fail `must_pass` at the end of the run, as if the data were wrong."""
    from curate.checks.suites import load_suite
    from curate.checks.validation import columns_used, placeholder_columns

    if pipeline.expectations is None:
        return []
    placeholders = placeholder_columns(pipeline.input)
    available = {"output": output_columns, "input": set(input_names)}
    errors: list[CurateError] = []
    for target, refs in (("output", pipeline.expectations.output), ("input", pipeline.expectations.input)):
        for ref in refs:
            try:
                suite = load_suite(ref)
            except ConfigError:  # reported where the pipeline names it (`suite_problems`)
                continue
            for index, expectation in enumerate(suite.expectations):
                for named in columns_used(expectation.kwargs):
                    column = placeholders[target].get(named, named) if isinstance(named, str) else None
                    if column is None or column in available[target]:  # a placeholder without its column is skipped, as documented
                        continue
                    errors.append(ConfigError(
                        f"{suite.path}: expectations[{index}] ({expectation.type.removeprefix('expect_')}): the {target} has no column "
                        f"{column!r}{did_you_mean(column, available[target])}; its columns: {', '.join(sorted(available[target]))}. "
                        f"Fix the column in the suite, or add the stage that writes it"
                    ))
    return errors


def _kept_original(stage: Stage, annotate_only: bool) -> str | None:
    """The column a rewriting stage's `keep_original:` adds in this run (filter mode only), or None."""
    if isinstance(stage, RewritesText) and stage.rewrites and stage.applies(annotate_only):
        return stage.config.keep_original
    return None


def _keep_original_clash(stage: Stage, kept: str, present: dict[str, str]) -> str | None:
    """Why `keep_original: kept` cannot be added, or None: a column curate adds (lineage,
    the reason), one the stage adds itself, or one an earlier stage adds. (An input
    column is the stage's `check` to refuse, from the input's schema.)"""
    taken = {STAGE_COLUMN: "curate adds it to removed/ rows", REASON: "curate adds it (why a row was removed)"}
    if kept in taken:
        why = taken[kept]
    elif kept in stage.added_columns():
        why = f"stage {stage.name!r} adds it itself"
    elif present.get(kept, "").startswith(("stage ", "curate ")):
        why = present[kept]
    else:
        return None
    return f"keep_original: names column {kept!r}, but {why}; curate never overwrites a column: set keep_original: to a new column name"
