"""The stage contract every stage honours.

A stage is a typed config (pydantic) plus a function from a polars frame to the same
frame with the stage's annotation columns and a `curate_reason` column: null keeps the
row, a string removes it and says why. Stages never touch files: the runner owns
reading, writing, order, resume, parallelism, accounting and reports (the one
exception: `decide`'s tasks may write into the folder the runner gives, `scratch`).

Two kinds:
- `ShardStage` sees one shard at a time (`annotate`); memory is bounded by a shard.
- `DatasetStage` needs every row before it can decide (dedup, label noise). The runner
  calls `summarize` per shard, spills the summaries to disk, hands all of them to
  `decide` as one lazy frame, and joins the decisions back onto each shard.

Stages that rewrite text (clean, line_dedup, quality with `clean_lines`) add one more
promise, `RewritesText`: the stage puts the new text in a column `<name>_text` and the
runner, which knows the mode, settles it (`settle_rewrite`).
"""

from __future__ import annotations

import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Protocol, Union

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from curate.errors import ConfigError
from curate.extras import extra_for, install_command, installed
from curate.tasks import Tasks, in_order

REASON = "curate_reason"
"""Column each stage returns: null keeps the row, otherwise the removal reason."""

PRIVATE_PREFIX = "__curate_"
"""Start of the name of every working column curate puts on the rows (the runner's row
numbers and flags, a stage's private columns): an input column may not start with it, so
a working column never meets a user's column (an Elasticsearch export has `_score`)."""

SHARD = "_shard"
POSITION = "_pos"
ORDER_KEYS = [SHARD, POSITION]
"""A row's place in the run: input shard index (inputs sorted by path) and row position
in that shard. Whole-dataset decisions are keyed by these; they also define "first"."""


NOT_APPLIED = {"removed": "would_remove", "kept": "would_keep"}
"""How a report names the counts of a stage's decisions when they do not take effect
(annotate mode, `--annotate-only`): a key `removed` or `removed_<what>` becomes
`would_remove` or `would_remove_<what>`, and `kept…` `would_keep…`, as the report's
`would_remove_by_reason` is named: every row stayed, so no count says rows were removed."""


def as_not_applied(stats: Any, names: Collection[str] = ()) -> Any:
    """`stats` with its decision counts named as `NOT_APPLIED` says, at any depth of mappings
    and lists (a per-language table, a what-if inside a rule's row); other values as they are.
    `names`: keys that are the user's own names (quality's rules and `report_by` columns),
    kept as written even where one starts like a count (a column `kept`)."""
    if isinstance(stats, dict):
        return {key if key in names else _not_applied_key(key): as_not_applied(value, names) for key, value in stats.items()}
    if isinstance(stats, list):
        return [as_not_applied(item, names) for item in stats]
    return stats


def _not_applied_key(key: Any) -> Any:
    """`key` as `NOT_APPLIED` names it: one of its words alone, or first before a `_`
    (`removed_share`); any other key as it is."""
    for done, would in NOT_APPLIED.items():
        if key == done or (isinstance(key, str) and key.startswith(done + "_")):
            return would + key.removeprefix(done)
    return key


def _plain_types(annotation: Any) -> set[Any]:
    """The types a field's annotation allows, through `Annotated` and unions."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _plain_types(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(_plain_types(arg) for arg in typing.get_args(annotation)))
    return {annotation}


def _true_for_a_number(value: Any, annotation: Any) -> tuple[str, bool] | None:
    """(where, the value) of a true/false in `value` where `annotation` wants a number: where
    is "" for `value` itself, else the path to it inside mappings, lists and nested models
    (`.en`, `[0]`, `.text_chars.edges[0]`); None when there is none."""
    kinds = _plain_types(annotation)
    if isinstance(value, bool):
        return ("", value) if bool not in kinds and kinds & {int, float} else None
    for kind in kinds:
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if isinstance(value, dict) and origin is dict and len(args) == 2:
            entries = [(f".{key}", item, args[1]) for key, item in value.items()]
        elif isinstance(value, dict) and isinstance(kind, type) and issubclass(kind, BaseModel):
            entries = [(f".{key}", item, kind.model_fields[key].annotation) for key, item in value.items() if key in kind.model_fields]
        elif isinstance(value, (list, tuple)) and origin in (list, tuple) and args:
            positional = origin is tuple and Ellipsis not in args  # tuple[float, float]: one type per place
            entries = [(f"[{i}]", item, args[i] if positional else args[0]) for i, item in enumerate(value) if not positional or i < len(args)]
        else:
            continue
        for where, item, item_annotation in entries:
            inner = _true_for_a_number(item, item_annotation)
            if inner is not None:
                return where + inner[0], inner[1]
    return None


class StageConfig(BaseModel):
    """Keys every stage accepts. Subclasses add the stage's own parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    stage: str
    """The stage type (see `curate stages`)."""
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Unique name in the pipeline; names the report and the `removed/` folder. Default: the type.
    Letters, digits, `_`, `-` and `.` only (it becomes a file name)."""
    mode: Literal["filter", "annotate"] = "filter"
    """filter: remove rows; annotate: add the columns and remove nothing."""

    path_keys: ClassVar[tuple[str, ...]] = ()
    """Parameters that are file paths (or lists holding some): relative ones resolve
    against the pipeline file's folder, before the stage's own checks read them."""

    @model_validator(mode="before")
    @classmethod
    def _paths_from_pipeline_folder(cls, data: Any, info: ValidationInfo) -> Any:
        base = (info.context or {}).get("base")
        if base is None or not isinstance(data, dict):
            return data
        resolved = dict(data)
        for key in cls.path_keys:
            value = data.get(key)
            if isinstance(value, str):
                if all(typing.get_origin(kind) is list for kind in _plain_types(cls.model_fields[key].annotation)):
                    continue  # a list's key given one name (rules: gopher_quality): validation names it as written
                resolved[key] = str(Path(base, Path(value).expanduser()))
            elif isinstance(value, list):  # names and paths may mix (quality rules): an entry with a file suffix is a path
                resolved[key] = [str(Path(base, Path(v).expanduser())) if isinstance(v, str) and Path(v).suffix else v for v in value]
        return resolved

    @field_validator("*", mode="before")
    @classmethod
    def _no_true_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads `min_words: true` as 1, and `min_score_by_lang: {en: yes}` as
        # {en: 1.0}: a YAML slip, not a number
        found = _true_for_a_number(value, cls.model_fields[info.field_name].annotation) if info.field_name is not None else None
        if found is not None:
            where, given = found  # the key inside (en, [0], text_chars.edges[1]); the location names the option
            raise ValueError(f"{where.removeprefix('.')}: a number, not true/false (got {given})" if where else "a number, not true/false")
        return value

    @model_validator(mode="after")
    def _bounds_in_order(self) -> StageConfig:
        # Every stage's `min_X` / `max_X` pair (chars, words, ...): a minimum above its
        # maximum would remove every row without a word.
        for key in type(self).model_fields:
            if not key.startswith("min_"):
                continue
            upper = f"max_{key.removeprefix('min_')}"
            low, high = getattr(self, key), getattr(self, upper, None)
            if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
                raise ValueError(f"{key} ({low}) is greater than {upper} ({high}); lower {key} or raise {upper}")
        return self

    @property
    def label(self) -> str:
        return self.name or self.stage


@dataclass(frozen=True)
class Criterion:
    """What decided a removal reason, for reviewers: an annotation column, the comparison
    that removes a row (`<`, `>=`, `not in`…; empty when the column explains without a
    threshold, like a model's score) and the threshold. `by`: thresholds that differ per
    value of another column (per language), as (column, {value: threshold}); the value
    `*` stands for any other non-null value."""

    column: str
    removes_if: str = ""
    threshold: float | str | list[str] | None = None
    by: tuple[str, dict[str, float]] | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "removes_if": self.removes_if, "threshold": self.threshold}
        if self.by:
            out["by"] = {"column": self.by[0], "thresholds": self.by[1]}
        return out


@dataclass(frozen=True)
class Explanation:
    """How a reviewer reads a stage's removed rows (the report's `explain`).

    `reasons`: reason → the criteria that decided it; a key ending in `:` covers every
    reason it starts (`lang_not_kept:` for `lang_not_kept:fr`). `reasons_column`: the
    annotation listing every reason a row failed, when there can be several.
    `twin_column`: the annotation holding the id of the row that was kept instead
    (duplicates); `similarity_column`: how alike the two are; `twin_indexed_column`: the
    annotation that is true where the kept copy is a document of the stage's index (kept
    by an earlier run), not a row of this run, whose rows may hold its id too.
    `unscored`: (column, value) when rows holding `value` in `column` were not measured
    and carry a placeholder score (langid's `und` rows, lang_score 0.0): the stage's
    histograms leave them out, and so do report.html's recounts."""

    reasons: dict[str, list[Criterion]] = field(default_factory=dict)
    reasons_column: str | None = None
    twin_column: str | None = None
    similarity_column: str | None = None
    twin_indexed_column: str | None = None
    unscored: tuple[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "reasons": {reason: [c.as_json() for c in criteria] for reason, criteria in self.reasons.items()},
            "reasons_column": self.reasons_column,
            "twin_column": self.twin_column,
            "similarity_column": self.similarity_column,
            "twin_indexed_column": self.twin_indexed_column,
            "unscored": {"column": self.unscored[0], "value": self.unscored[1]} if self.unscored else None,
        }


@dataclass(frozen=True)
class Columns:
    """The input's named columns, as the pipeline file declares them."""

    text: str = "text"
    id: str = "curate_id"
    label: str | None = None


class Stage(ABC):
    """Base of all stages. Subclasses set `kind`, `summary` and `Config`."""

    kind: ClassVar[str]
    summary: ClassVar[str]
    Config: ClassVar[type[StageConfig]]

    def __init__(self, config: StageConfig, columns: Columns):
        self.config = config
        self.columns = columns

    @property
    def name(self) -> str:
        return self.config.label

    def text(self) -> pl.Expr:
        """The text column with nulls as empty strings: curate's one rule for null text."""
        return pl.col(self.columns.text).fill_null("")

    cpu_seconds_per_gb: ClassVar[float] = 0.0
    """CPU seconds the stage's own work costs per GB of the input's text column, beyond
    reading and writing rows (bench/workers.py measures it): the automatic worker count
    weighs a run's work with it (curate/run/workers.py). 0 when unmeasured, so the
    estimate errs low."""

    worker_start_cpu_seconds: ClassVar[float] = 0.0
    """CPU seconds the stage adds to a worker process's start-up, beyond a pass-through's
    (bench/workers.py measures it): the automatic worker count starts a worker only when
    its work repays that (curate/run/workers.py). 0 where it is within the noise."""

    shared_columns: ClassVar[frozenset[str]] = frozenset()
    """Annotation columns this stage shares with other stages of its family by design
    (the dedup stages' `dup_of`, `dup_cluster_size`): a later stage of the family
    updates them. Any other column a stage adds must not exist yet."""

    def required_columns(self) -> list[str]:
        """Columns this stage reads: input columns, or columns an earlier stage adds. The
        runner checks the column flow and the input files before any work starts."""
        return [self.columns.text]

    rename_option: ClassVar[str | None] = None
    """The config key that renames this stage's annotation columns, when it has one."""

    @abstractmethod
    def added_columns(self) -> list[str]:
        """The annotation columns this stage adds to every row it sees (docs/run-layout.md
        lists them all; `[]` for none). The runner refuses an input column of the same
        name before any work, so a user's column is never overwritten, and the column
        flow (`curate check`) judges later stages' reads by them."""

    def columns_after(self, applied: bool) -> list[str]:
        """The columns this stage leaves on the rows it passes on (the column flow), when
        its decisions take effect (`applied`) or it only annotates: its added columns,
        unless the stage settles them otherwise (a rewriting stage's)."""
        return self.added_columns()

    def applies(self, annotate_only: bool) -> bool:
        """Whether the stage's decisions take effect in this run (rows removed, text
        rewritten, labels changed): not in annotate mode, nor under `--annotate-only`."""
        return not (annotate_only or self.config.mode == "annotate")

    def removes(self, annotate_only: bool) -> bool:
        """Whether rows with a reason leave the run (else they are flagged and kept).
        Default: whenever the decisions take effect; label_noise's relabel mode keeps its
        flagged rows."""
        return self.applies(annotate_only)

    def packages(self) -> dict[str, str]:
        """Optional packages (an extra of curate's) that this stage's settings need, as
        {distribution: the setting that needs it}. Default: none."""
        return {}

    def check_settings(self) -> None:
        """Mistakes the stage's settings and own files show without any input (a package
        `packages` names that is not installed, a code the model does not know, a damaged
        index): `curate check` (with `--no-input` too) and the run call this first, for
        every input format, so such a run leaves nothing behind. Raise ConfigError. A
        stage that adds checks calls this one first."""
        missing = {name: setting for name, setting in self.packages().items() if not installed(name)}
        if missing:
            raise ConfigError(_missing_packages_message(self.name, missing))

    def check(self, schema: pl.Schema) -> None:
        """Mistakes that the input's schema shows (a column of the wrong type): the runner
        calls this before any shard work, and before it touches the run directory when the
        input is local Parquet (`curate check` then too). Raise ConfigError or
        InputDataError. Checks that need the rows stay in the stage's work. A stage that
        adds checks calls this one first."""

    def check_input(self, rows: pl.LazyFrame) -> None:
        """Check the input's values before any work (`rows`: a lazy frame over every input
        file; collect only the columns needed). Raise curate's InputDataError when this
        stage cannot work on them, saying what it needs."""

    def files(self) -> list[str]:
        """Files whose content decides this stage's output (rule sets, models). Their
        content hashes are part of the run's identity: a changed file stops a resume."""
        return []

    def explain(self) -> Explanation:
        """Which annotations decided each removal reason, with their thresholds: the
        report shows them beside every removed sample. Default: nothing declared (the
        report then lists the stage's annotations)."""
        return Explanation()

    def report_explain(self, stats: dict[str, Any]) -> Explanation:
        """`explain()` for a finished run's report, given the stage's final `stats`: a stage
        whose thresholds depend on values only the data shows can name them there.
        Default: `explain()`."""
        return self.explain()

    def removal_reasons(self) -> list[str]:
        """Every reason this stage can give a row it removes or flags; one ending in `:`
        covers every reason it starts (`lang_not_kept:` for `lang_not_kept:fr`). A
        `max_removed_fraction_by_reason` glob that none of a pipeline's reasons can match
        stops the run before it starts. Default: the reasons `explain()` declares."""
        return list(self.explain().reasons)

    def language_column_written(self) -> str | None:
        """The column this stage writes each row's language to (langid), else None."""
        return None

    def language_column_read(self) -> str | None:
        """The column this stage reads each row's language from, when present (quality),
        else None. Absent while an earlier stage writes languages to another column, it
        is a pipeline mistake (`curate check`)."""
        return None

    def language_codes_given(self) -> frozenset[str] | None:
        """Every language code this stage can write to `language_column_written()`, when
        known (langid with the shipped model), else None."""
        return None

    def language_codes_written(self) -> list[tuple[str, str]]:
        """(code, where it is written) of the language codes the user's settings name for
        rows of `language_column_read()` (quality's own rule files' override keys): a code
        the stage writing that column can never give is a pipeline mistake."""
        return []

    def reports_languages(self, columns: set[str]) -> bool:
        """Whether the stage reports removal by language (`stats.by_language`, judged by
        `max_removed_fraction_by_language`) when its rows have `columns`."""
        return False

    def shard_stats(self, annotated: pl.DataFrame) -> dict[str, Any]:
        """Stage-specific statistics of one annotated shard (before rows are removed).

        Values must be additive across shards: numbers, dicts of numbers, or lists
        (concatenated in shard order). `finish_stats` turns the merged sums into the
        report's final numbers (means, shares). Columns the stage added whose name starts
        with `PRIVATE_PREFIX` are private working columns: they are here, and the runner
        drops them before anything is written.
        """
        return {}

    def finish_stats(self, merged: dict[str, Any], applied: bool = True) -> dict[str, Any]:
        """The report's stats from the shards' merged ones (and a whole-dataset stage's
        decision stats). `applied` is false when the decisions do not take effect (annotate
        mode, `--annotate-only`): words such as "removed" then say "would remove", and the
        counts are named so (`as_not_applied`). A stage whose stats count its removed or kept
        rows and that overrides this ends with it (or with `as_not_applied` itself)."""
        return merged if applied else as_not_applied(merged)


class ShardStage(Stage):
    """A stage that decides each row from its own shard."""

    @abstractmethod
    def annotate(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` plus annotation columns and `curate_reason`, same rows, same order."""


class DatasetStage(Stage):
    """A stage that decides each row from the whole dataset."""

    sees_removed: ClassVar[bool] = False
    """When true, `decide` also gets `removed=`: a lazy frame of every row the earlier
    stages removed (all their columns plus `curate_stage` and `curate_reason`). Such a
    stage placed first would see none: the column flow refuses it there."""

    stages_before: tuple[str, ...] = ()
    """The earlier stages' names in pipeline order; the runner sets it before `decide` of a
    stage that `sees_removed` (a removal's place in the pipeline)."""
    trial_run: bool = False
    """A `--limit`, `--sample` or `--annotate-only` run (set by the runner): what lies
    outside the run directory (near_dedup's index) stays as it was."""
    run_directory: str | None = None
    """The run directory's absolute path, or the output URL a run uploads to (set by the
    runner): what this run keeps outside the run directory (near_dedup's index part)
    belongs to it, and a later run into the same directory replaces it. None outside a
    run."""
    added_by: dict[str, str] = {}  # noqa: RUF012 - replaced whole by the runner, never mutated
    """Each column an earlier stage adds, and the first stage that adds it (set with
    `stages_before`): a row removed before that stage never had the column."""

    def tasks(self, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """`[work(item) for item in items]`. Inside a run, the runner's executor runs the
        calls in parallel (worker processes, or Ray tasks), so `decide` can split its work
        (hash partitions, LSH bands, folds); `work` must be a module-level function and
        each item picklable (a lazy frame over the summaries is)."""
        return self.task_runner(work, items)

    task_runner: Tasks = staticmethod(in_order)
    """Runs `tasks`; the runner sets its executor's here for the whole-dataset step."""

    scratch: Path | None = None
    """An empty folder under the run's `_work/` that `decide`'s tasks may write to (the
    runner creates it before `decide` and removes it once the tables `decide` returns are
    written): a partitioned copy of what later tasks read many times, or what one round
    of tasks hands to the next (overlap's partner pairs). None outside a run, where
    `decide` reads the summaries directly and hands frames over in memory."""

    summary_files: tuple[Path, ...] = ()
    """Inside a run, the summaries' file of each shard, in shard order (set with `scratch`):
    what needs one shard's summaries reads its file. A filter on the shard over the lazy
    frame of all of them opens every file, so reading each shard that way costs the square
    of the files. Empty outside a run."""

    @abstractmethod
    def summarize(self, frame: pl.DataFrame) -> pl.DataFrame:
        """What `decide` needs from each row of one shard, same rows, same order.

        The runner adds `_shard` and `_pos` and spills the result to disk.
        """

    @abstractmethod
    def decide(self, summaries: pl.LazyFrame) -> tuple[pl.DataFrame | pl.LazyFrame, dict[str, Any]]:
        """Decisions for every row: `_shard`, `_pos`, annotation columns, `curate_reason`,
        one row per summary row; plus whole-dataset statistics for the report. A lazy
        frame (not over `scratch`) is collected one shard at a time, so the main process
        never holds every row's decisions at once; a filter on the shard must not scan
        every summary file (near_dedup makes a shard's rows from its row count).

        A statistics key `tables` may map names to DataFrames (or LazyFrames, streamed,
        for instance over files in `scratch`): the runner writes each to
        `reports/NN_<stage name>.<table name>.parquet` and lists it in the report."""

    def decider_in_order(self) -> InOrderDecisions | None:
        """A decider for stages whose decision of a row needs only the rows before it in
        run order (exact_dedup's first occurrence): a serial run then decides each shard
        as it reads it and reads the input once, not twice (curate/run/segments.py,
        `run_shard_in_order`). It must give every row what `decide` gives it. None: the
        stage needs every row first."""
        return None

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The shard with this stage's decision columns joined (everything `decide`
        returned but the order keys), before the runner counts and removes rows. A stage
        that needs the shard's own rows to finish a decision does it here (line_dedup
        rewrites the text from the lines `decide` chose to drop, and drops its private
        decision columns). Default: as joined."""
        return frame


class InOrderDecisions(Protocol):
    """`DatasetStage.decider_in_order`'s decider: called with each shard's summary in run
    order (with `_shard` and `_pos`), it returns that shard's decisions as `decide`
    would; `stats` then gives the report's statistics."""

    def __call__(self, summary: pl.DataFrame) -> pl.DataFrame: ...

    def stats(self) -> dict[str, Any]: ...


# ---------------------------------------------------------------- stages that rewrite text


class RewriteConfig(StageConfig):
    """Keys of a stage that rewrites the text column (see `RewritesText`)."""

    keep_original: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Filter mode: a new column that keeps the text as this stage received it (every
    row). It must not exist yet. Annotate mode leaves the text column unchanged, so it
    adds nothing."""


class RewritesText:
    """Mixin of a stage whose job includes changing the text. The contract:

    - The stage computes the new text of every row and returns it in `<name>_text`
      (`rewrite_column`), with the characters removed per row (original minus new length,
      `chars_removed_column`, by default `<name>_chars_removed`; a rewrite that adds
      characters counts negative) and its other annotations. A shard stage does it in
      `annotate`; a whole-dataset stage in `apply`, on the shard, from its decisions.
    - The runner settles the rewrite (`settle_rewrite`), because only it knows the mode:
      filter mode: kept rows get the new text in the text column (same column, same
      type), removed rows keep the text they came with (so removed/ shows what was
      judged), `<name>_text` is dropped, and `keep_original:` names a column that keeps
      the old text. Annotate mode (the stage's or `--annotate-only`): input columns stay
      unchanged (a promise), the new text stays in `<name>_text`, and later stages see
      the old text.
    - A row the rewrite leaves empty gets the stage's own reason (`clean_empty`,
      `line_dedup_empty`), so nothing is lost silently.
    """

    name: str
    config: Any

    rename_option = "name"
    """Every column a rewriting stage adds starts with its name."""

    @property
    def rewrites(self) -> bool:
        """Whether this stage's configuration rewrites text (quality only with `clean_lines`)."""
        return True

    def rewrite_added_columns(self) -> list[str]:
        """The columns the contract adds (for `added_columns`): `<name>_text` (annotate
        mode keeps it) and the characters removed. The `keep_original:` column is the
        user's own choice of name; the column flow refuses one the rows already have."""
        return [self.rewrite_column, self.chars_removed_column] if self.rewrites else []

    def columns_after(self, applied: bool) -> list[str]:
        """Filter mode settles the rewrite (`settle_rewrite`): `<name>_text` is dropped and
        `keep_original:` adds its column; annotate mode keeps `<name>_text`."""
        added = self.added_columns()  # type: ignore[attr-defined]  # the Stage this mixin is mixed into
        if not (self.rewrites and applied):
            return added
        keep = [self.config.keep_original] if self.config.keep_original else []
        return [c for c in added if c != self.rewrite_column] + keep

    @property
    def rewrite_column(self) -> str:
        return f"{self.name}_text"

    @property
    def chars_removed_column(self) -> str:
        return f"{self.name}_chars_removed"

    def rewrite_columns(self, original: pl.Expr, new: pl.Expr) -> list[pl.Expr]:
        """`<name>_text` and the characters-removed column, from the text as received
        (nulls as empty) and the new text."""
        return [
            new.alias(self.rewrite_column),
            (original.str.len_chars().cast(pl.Int64) - new.str.len_chars().cast(pl.Int64)).alias(self.chars_removed_column),
        ]


def settle_rewrite(stage: Stage, annotated: pl.DataFrame, applied: bool) -> pl.DataFrame:
    """What the runner does with a rewriting stage's output (see `RewritesText`): in filter
    mode the new text replaces the text column of kept rows; in annotate mode nothing moves."""
    if not isinstance(stage, RewritesText) or not stage.rewrites or not applied:
        return annotated
    text, new = stage.columns.text, stage.rewrite_column
    keep = stage.config.keep_original
    if keep is not None:
        if keep in annotated.columns:
            raise ConfigError(f"stage {stage.name!r}: keep_original: column {keep!r} already exists in the data; name a new column")
        annotated = annotated.with_columns(pl.col(text).alias(keep))
    # A row whose text did not change keeps its value exactly (a null stays null).
    unchanged = pl.col(new) == pl.col(text).fill_null("")
    rewritten = pl.when(pl.col(REASON).is_not_null() | unchanged).then(pl.col(text)).otherwise(pl.col(new))
    return annotated.with_columns(rewritten.cast(annotated.schema[text]).alias(text)).drop(new)


def _missing_packages_message(stage: str, missing: dict[str, str]) -> str:
    """One line: which setting needs which package, and the install command."""
    by_setting: dict[str, list[str]] = {}
    for name, setting in missing.items():
        by_setting.setdefault(setting, []).append(name)
    needs = "; ".join(f"{setting} needs {', '.join(names)}" for setting, names in by_setting.items())
    install = install_command(missing, (extra for name in missing if (extra := extra_for(name))))
    settings = "that setting" if len(by_setting) == 1 else "those settings"
    return f"stage {stage!r}: {needs}, not installed here: {install}, or change {settings}"
