"""The column flow of a pipeline: which columns the rows have before each stage (the
input's, curate's lineage, what each earlier stage adds in this run's mode), checked
before any work: every column a stage reads is there, every column it adds is not (unless
stages of one family share it by design) nor one curate writes itself (`curate_column`:
langid's `column: curate_reason`), a rewriting stage's `keep_original:` names a new
column, a stage that reports on earlier stages' removals (slices) has some before it, and what gates and validation suites name exists: each
`max_removed_fraction_by_reason` glob matches a reason some stage can give,
`max_removed_fraction_by_language` has a stage that knows each row's language, quality's
language codes are ones the stage before it can write, and every column a suite names is
in its target. `preflight` (curate check) and the runner ask the same questions here.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from curate.config import Pipeline
from curate.errors import ConfigError, CurateError, InputDataError, did_you_mean
from curate.run.inspect import curate_column
from curate.run.io import ID_COLUMN, SOURCE_COLUMN
from curate.stages import Stage
from curate.stages.base import DatasetStage, RewritesText

if TYPE_CHECKING:
    from curate.checks.suites import Suite


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
    paths = spec.path[0] if len(spec.path) == 1 else f"{spec.path[0]} and {len(spec.path) - 1} more input paths"
    present: dict[str, str] = {c: f"the input ({paths}) has it" for c in [*(input_names or []), *named]}
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

        if index == 0 and isinstance(stage, DatasetStage) and stage.sees_removed:
            errors.append(at("comes first, but it reports on what earlier stages removed; put it after them (usually last in `stages:`)"))
        kept = _kept_original(stage, annotate_only)
        if kept is not None:
            error = _keep_original_clash(stage, kept, present, spec.id_column)
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
            unkept = [s for s in stages[:index] if isinstance(s, RewritesText) and s.rewrites and s.config.keep_original == column]
            if settled:  # a rewriting stage's `<name>_text`, gone in filter mode
                errors.append(at(
                    f"{message}; stage {settled[0].name!r} keeps it only in annotate mode (in filter mode its new text "
                    f"replaces the text column): read the text column, or set `mode: annotate` on {settled[0].name!r}"
                ))
            elif unkept:  # a `keep_original:` column, not added in annotate mode
                errors.append(at(
                    f"{message}; stage {unkept[0].name!r} adds it (its keep_original:) only in filter mode (in annotate mode, "
                    f"its `mode: annotate` or --annotate-only, the text column stays as {unkept[0].name!r} received it and its "
                    f"new text is in {unkept[0].rewrite_column!r}): read the text column for that text, or {unkept[0].rewrite_column!r} for the new one"
                ))
            elif later:  # the order is wrong: a pipeline error
                errors.append(at(f"{message}; stage {later[0]!r} adds it but runs later: move {stage.name!r} after it"))
            elif input_names is not None and None not in stages[:index]:  # the input lacks it (an invalid stage before may add it)
                errors.append(at(f"{message}{did_you_mean(column, [*present, *adders])}; columns at this point: {', '.join(present)}", InputDataError))
        declared = [column for column in _after(stage, annotate_only) if column != kept]  # kept: checked above
        # What the stage writes on the rows, before the runner settles it: a rewriting
        # stage's `<name>_text` also in filter mode, where it would overwrite an earlier
        # column and then drop it (`settle_rewrite`).
        written = [column for column in stage.added_columns() if column != kept]
        owned = next((column for column in written if curate_column(column, spec.id_column) is not None), None)
        if owned is not None:  # only an option (langid's column:) names a stage's columns so: one line for it
            option = stage.rename_option
            errors.append(at(f"{option}: the stage would add column {owned!r}, but {curate_column(owned, spec.id_column)}; "
                             f"curate never overwrites a column: set {option}: to another name", key=option))
        for column in written:
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
                what = "" if column in declared else " (its new text, before it replaces the text column)"
                errors.append(at(f"adds column {column!r}{what}, but {present[column]}; curate never overwrites a column: {fix}"))
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


def suite_columns(pipeline: Pipeline) -> Iterator[tuple[str, Suite, int, str]]:
    """(target, suite, entry index, column) for every column a suite names, after the
    placeholders (one without its column is skipped, as documented). A suite that does not
    load is reported where the pipeline names it (`suite_problems`)."""
    from curate.checks.suites import load_suite
    from curate.checks.validation import columns_used, placeholder_columns

    if pipeline.expectations is None:
        return
    placeholders = placeholder_columns(pipeline.input)
    for target, refs in (("output", pipeline.expectations.output), ("input", pipeline.expectations.input)):
        for ref in refs:
            try:
                suite = load_suite(ref)
            except ConfigError:
                continue
            for index, expectation in enumerate(suite.expectations):
                for named in columns_used(expectation.kwargs):
                    column = placeholders[target].get(named, named) if isinstance(named, str) else None
                    if column is not None:
                        yield target, suite, index, column


def _suite_problems(pipeline: Pipeline, input_names: list[str], output_columns: set[str]) -> list[CurateError]:
    """A suite column its target can never have would fail `must_pass` at the end of the run, as if the data were wrong."""
    available = {"output": output_columns, "input": set(input_names)}
    errors: list[CurateError] = []
    for target, suite, index, column in suite_columns(pipeline):
        if column in available[target]:
            continue
        expectation = suite.expectations[index]
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


def _keep_original_clash(stage: Stage, kept: str, present: dict[str, str], id_column: str | None) -> str | None:
    """Why `keep_original: kept` cannot be added, or None: a column curate adds
    (`curate_column`), one the stage adds itself, or one the rows already have: the
    input's (from Parquet footers, or the columns sniffed from a file the run converts,
    so it is found before the run directory exists) or an earlier stage's."""
    why = curate_column(kept, id_column)
    if why is None and kept in stage.added_columns():
        why = f"stage {stage.name!r} adds it itself"
    if why is None:
        why = present.get(kept)
    if why is None:
        return None
    return f"keep_original: names column {kept!r}, but {why}; curate never overwrites a column: set keep_original: to a new column name"
