"""The pipeline file: YAML, validated with pydantic, every error located in the file.

Relative paths in a pipeline file are resolved against the file's own folder, so a
pipeline runs the same from any working directory (cron, CI, Airflow).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    SerializeAsAny,
    Tag,
    ValidationInfo,
    ValidationError,
    field_validator,
)
from pydantic_core import to_jsonable_python

from curate import strict_yaml
from curate.checks.config import ExpectationsConfig, GatesConfig, gate_problems, pipeline_folder_comparison
from curate.errors import ConfigError, CurateError, did_you_mean, raise_all
from curate.schema_errors import MAPPING_BRANCH, SCALAR_BRANCH, LineMap, Problems, dotted
from curate.stages import STAGES, StageConfig


class CsvConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    separator: str = Field(",", min_length=1, max_length=1)
    """The field separator (a `.tsv` file uses a tab unless this is set)."""
    quote_char: str | None = Field('"', min_length=1, max_length=1)
    """The quoting character; null: fields are never quoted."""
    escape_char: str | None = Field(None, min_length=1, max_length=1)
    """A character that makes the next one literal (Spark writes `\\"` for a quote inside a
    quoted field: escape_char: "\\"); it is dropped wherever it stands, so a value's own
    backslash must be written twice. null: a quote inside a quoted field is doubled ("")."""
    infer_types: bool = True
    """Give a column a type where every value of the file is written as one (7, 0.5,
    True, 2021-04-01); false: every column is text, as written."""


class InputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: list[str] = Field(min_length=1)
    """A path, a glob, a directory, a URL (s3://, gs://, az://, abfs://, hf://, http(s)://,
    file://), or a list of them: docs/inputs-outputs.md."""
    format: Literal["parquet", "jsonl", "csv", "tsv", "arrow"] | None = None
    """The format of the files whose names say none (`dump.txt`; in a folder, names
    without an extension or ending in .txt); a name that says one (.parquet,
    .jsonl/.ndjson/.json, .csv, .tsv, .arrow/.feather, each of the text ones optionally
    .gz, .zst, .bz2 or .xz) is that format."""
    csv: CsvConfig = CsvConfig()
    storage_options: dict[str, Any] = {}
    """Passed to the remote filesystem (fsspec) as they are: endpoint, key, anon, token…
    Default: each store's own credentials (environment, config files)."""
    text_column: str = "text"
    id_column: str | None = None
    """Optional; without it curate adds `curate_id`, stable from file name and row number."""
    label_column: str | None = None
    bad_ids: Literal["error", "row_ids", "keep"] = "error"
    """When `id_column` has duplicate or null ids: `error` stops the run before any work
    (the first offenders named); `row_ids` uses curate's own row ids (`curate_id`) instead
    and keeps the id column as an ordinary column; `keep` runs with the ids as they are
    (`dup_of`, samples and reports may then name more than one row)."""

    @field_validator("path", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("id_column", "label_column")
    @classmethod
    def _own_column(cls, column: str | None, info: ValidationInfo) -> str | None:
        # fields validate in order (text, id, label): each is compared with the earlier ones
        for key in ("text_column", "id_column"):
            if key == info.field_name:
                break
            if column is not None and info.data.get(key) == column:
                raise ValueError(
                    f"{key} and {info.field_name} both name column {column!r}; each role needs its own column "
                    "(leave id_column out to use curate's own row ids)"
                )
        return column


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = None
    """The run directory: a local path, or a URL (s3://, gs://, az://, abfs://) to upload the finished run to; default: `--output`, else `runs/<pipeline file name>`."""
    storage_options: dict[str, Any] = {}
    """Passed to the remote filesystem (fsspec) as they are; default: the store's own credentials."""
    format: Literal["parquet", "jsonl"] = "parquet"
    """The files of data/ and removed/: Parquet (zstd), or JSON Lines compressed with gzip."""
    max_rows_per_file: int | None = Field(None, ge=1)
    """Cut each part into files of at most this many rows (`part-00003-0000.parquet`, …)."""


class Pipeline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: InputConfig
    output: Annotated[
        Annotated[str, Tag(SCALAR_BRANCH)] | Annotated[OutputConfig, Tag(MAPPING_BRANCH)],
        Discriminator(lambda value: MAPPING_BRANCH if isinstance(value, (dict, OutputConfig)) else SCALAR_BRANCH),
    ] | None = None
    """Run directory (or `{path, storage_options}`); default `runs/<pipeline file name>` in the current directory."""
    stages: list[SerializeAsAny[StageConfig]] = Field(min_length=1)
    expectations: ExpectationsConfig | None = None
    """Validation suites (great-expectations) for the output and input: docs/reports.md."""
    gates: GatesConfig | None = None
    """Limits a finished run must meet, else exit code 5: docs/scheduling.md."""
    _keys: Problems | None = PrivateAttr(None)
    """Where each key is written (the file's line, or the `--set` that set it): the
    checks after validation locate their errors by it."""

    def error_at(self, path: tuple, message: str, kind: type[CurateError] = ConfigError, shown: str | None = None) -> CurateError:
        """An error about the key at `path` (`("stages", 2)`), located in the pipeline file."""
        if self._keys is None:
            return kind(f"{shown or dotted(path)}: {message}")
        return self._keys.error(path, message, kind, shown)

    def in_file(self, error: CurateError) -> CurateError:
        """`error` prefixed with the pipeline file, unless it names it already."""
        source = self._keys.source if self._keys is not None else None
        if source is None or str(error).startswith(source):
            return error
        return type(error)(f"{source}: {error}")

    def fingerprint(self) -> str:
        """Hash of everything that decides the output (not where it is written, nor
        the credentials it is read with)."""
        unset = {key for key in ("expectations", "gates") if getattr(self, key) is None}  # hashes as before these keys
        payload = self.model_dump(mode="json", exclude={"output", *unset})
        # Input options at their defaults hash as before they existed.
        payload["input"] = {k: v for k, v in payload["input"].items() if k not in _INPUT_DEFAULTS or v != _INPUT_DEFAULTS[k]}
        payload["input"].pop("storage_options", None)
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @property
    def output_path(self) -> str | None:
        return self.output.path if isinstance(self.output, OutputConfig) else self.output

    @property
    def output_storage_options(self) -> dict[str, Any]:
        return self.output.storage_options if isinstance(self.output, OutputConfig) else {}

    @property
    def output_files(self) -> dict[str, Any] | None:
        """`output.format` and `output.max_rows_per_file` when not the defaults: they
        change the files a run writes, so they are part of its identity."""
        if not isinstance(self.output, OutputConfig) or (self.output.format == "parquet" and self.output.max_rows_per_file is None):
            return None
        return {"format": self.output.format, "max_rows_per_file": self.output.max_rows_per_file}

    def public_dump(self) -> dict[str, Any]:
        """The resolved pipeline as recorded in manifests: storage option values (keys,
        tokens) are masked."""
        payload = self.model_dump(mode="json", exclude={"output"})
        payload["input"]["storage_options"] = {k: "***" for k in payload["input"]["storage_options"]}
        return payload


_INPUT_DEFAULTS = {"format": None, "csv": CsvConfig().model_dump(mode="json"), "storage_options": {}}


_UNSET = object()
"""A key a recorded pipeline lacks (written by a curate that did not have it yet)."""


def pipeline_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two recorded pipelines (manifests' and run states' `pipeline`),
    as a reviewer reads it: `stages[2].min_words: 4 → 8` for an option of a stage both
    have (stages are matched by name; the index is the newer pipeline's), `stage 'near'
    removed`, `stage 'overlap' added after 'exact'`, `stages reordered: …`. An option one
    side lacks and the other holds at its default is no change: the curate that recorded
    the older pipeline did not have it yet, and the user wrote neither."""
    changes: list[str] = []
    top = _defaults(Pipeline)
    for key in dict.fromkeys([*old, *new]):
        if key == "stages":
            changes += _stage_changes(old.get(key) or [], new.get(key) or [])
        else:
            defaults = _defaults(InputConfig) if key == "input" else top.get(key, _UNSET)
            changes += _value_changes(old.get(key, _UNSET), new.get(key, _UNSET), key, defaults)
    return changes


def _stage_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    old_stages = {_stage_name(s): s for s in old}
    new_names = [_stage_name(s) for s in new]
    changes = [f"stage {name!r} removed" for name in old_stages if name not in new_names]
    for index, (name, stage) in enumerate(zip(new_names, new)):
        before = old_stages.get(name)
        if before is None:
            where = "first" if index == 0 else "at the end" if index == len(new) - 1 else f"after {new_names[index - 1]!r}"
            changes.append(f"stage {name!r} added {where}")
        elif before.get("stage") != stage.get("stage"):
            changes.append(f"stage {name!r}: {before.get('stage')} replaced by {stage.get('stage')}")
        else:
            kind = STAGES.get(stage.get("stage"))
            changes += _value_changes(before, stage, f"stages[{index}]", _defaults(kind.Config) if kind else _UNSET)
    kept_old = [name for name in old_stages if name in new_names]
    kept_new = [name for name in new_names if name in old_stages]
    if kept_old != kept_new:
        changes.append(f"stages reordered: {', '.join(kept_old)} → {', '.join(kept_new)}")
    return changes


def _stage_name(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or entry.get("stage"))


def _value_changes(old: Any, new: Any, path: str, defaults: Any) -> list[str]:
    if old == new:
        return []
    if (old is _UNSET or new is _UNSET) and (new if old is _UNSET else old) == defaults:
        return []  # an option added since the older pipeline was recorded, at its default
    if isinstance(old, dict) and isinstance(new, dict):
        inner = defaults if isinstance(defaults, dict) else {}
        return [change for key in dict.fromkeys([*old, *new])
                for change in _value_changes(old.get(key, _UNSET), new.get(key, _UNSET), f"{path}.{key}", inner.get(key, _UNSET))]
    shown = lambda value: "unset" if value is _UNSET else repr(value)  # noqa: E731
    return [f"{path}: {shown(old)} → {shown(new)}"]


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """A config model's options that have a default, each as a recorded pipeline holds it (JSON)."""
    return {name: to_jsonable_python(field.get_default(call_default_factory=True))
            for name, field in model.model_fields.items() if not field.is_required()}


def _stage_config(entry: Any, problems: Problems, index: int, base: Path | None) -> StageConfig | None:
    where = ("stages", index)
    if not isinstance(entry, dict):
        problems.add(where, "each stage must be a mapping with a `stage:` key")
        return None
    kind = entry.get("stage")
    if kind not in STAGES:
        shown = "missing" if kind is None else f"unknown stage {kind!r}{did_you_mean(kind, STAGES)}"
        problems.add(where + ("stage",), f"{shown}; valid stages: {', '.join(STAGES)}")
        return None
    return problems.validate(STAGES[kind].Config, entry, where, base)


def stage_config(entry: Any, source: str = "pipeline", index: int = 0, base: Path | None = None) -> StageConfig:
    """Validate one `stages:` entry against its stage's own config model."""
    problems = Problems(source, LineMap(None))
    config = _stage_config(entry, problems, index, base)
    raise_all(problems.errors)
    return config


def apply_overrides(data: dict[str, Any], overrides: list[str], source: str) -> tuple[dict[str, Any], dict[tuple, str], list[CurateError]]:
    """The pipeline's data with each `KEY=VALUE` set, where each override landed, and
    the overrides that could not be applied (named with the pipeline file `source`).

    KEY is a dotted path into the file (`input.text_column`,
    `stages.quality.thresholds.gopher_short_doc`: a stage by its name, which may hold
    dots itself); VALUE is YAML."""
    data = copy.deepcopy(data)
    landed: dict[tuple, str] = {}
    errors: list[CurateError] = []
    stages = data.get("stages") if isinstance(data.get("stages"), list) else []
    for override in overrides:
        # named now: an earlier override may have renamed a stage (stages.exact.name=dedup)
        names = [str(e.get("name") or e.get("stage")) for e in stages if isinstance(e, dict)]
        def refuse(message: str) -> None:
            errors.append(ConfigError(f"{source}: --set {override}: {message}"))  # noqa: B023 - called at once

        key, sep, text = override.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            refuse("give KEY=VALUE, e.g. --set stages.quality.thresholds.gopher_short_doc=10")
            continue
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            refuse(f"the value is not valid YAML ({getattr(exc, 'problem', exc)}); quote it")
            continue
        node: Any = data
        keys = parts
        path: list[Any] = parts
        if parts[0].startswith("stages[") or (parts[0] == "stages" and len(parts) > 1 and parts[1].isdigit() and parts[1] not in names):
            refuse(f"stages are named, not numbered: --set stages.NAME.KEY=VALUE, e.g. stages.{names[0] if names else 'quality'}.{parts[-1]}=…; stages: {', '.join(names)}")
            continue
        if parts[0] == "stages":
            # the longest run of parts that names a stage: a stage name may hold dots (`len.v2`)
            found = next((n for n in range(len(parts) - 1, 1, -1) if ".".join(parts[1:n]) in names), None)
            if found is None:
                given = parts[1] if len(parts) > 2 else ".".join(parts[1:])
                if len(parts) == 1:
                    refuse(f"name a stage and its key, e.g. stages.{names[0] if names else 'quality'}.mode=annotate")
                elif len(parts) < 3 and given in names:
                    refuse(f"name a stage and its key, e.g. stages.{given}.mode=annotate")
                else:
                    refuse(f"no stage named {given!r}{did_you_mean(given, names)}; stages: {', '.join(names)}")
                continue
            index = names.index(".".join(parts[1:found]))
            node, keys, path = stages[index], parts[found:], ["stages", index, *parts[found:]]
        elif parts[:2] == ["gates", "max_removed_fraction_by_stage"] and len(parts) > 3:
            keys = path = [*parts[:2], ".".join(parts[2:])]  # a stage name with dots
        for depth, step in enumerate(keys[:-1]):
            child = node.get(step)
            if child is None:
                child = node[step] = {}
            elif path[:1] == ["output"] and depth == 0 and isinstance(child, str):
                child = node[step] = {"path": child}  # `output: runs/x` is the short form of `output: {path: runs/x}`
            if not isinstance(child, dict):
                whole = ".".join(str(p) for p in parts[: len(parts) - len(keys) + depth + 1])
                refuse(f"{whole} is a {_yaml_kind(child)}, not a mapping with keys; set it whole, e.g. --set {whole}={_as_flow_yaml(child)}")
                break
            node = child
        else:
            node[keys[-1]] = value
            landed[tuple(path)] = override
    return data, landed, errors


def _yaml_kind(value: Any) -> str:
    return "list" if isinstance(value, list) else "true/false value" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else "string"


def _as_flow_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()


def parse_pipeline(text: str, source: str, base: Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Pipeline:
    """Parse and validate pipeline YAML (with `--set` overrides); `source` names it in
    errors. Every error in the file is reported at once."""
    parsed, errors = parse_pipeline_partly(text, source, base, overrides)
    raise_all(errors)
    assert parsed is not None
    return parsed


def parse_pipeline_partly(
    text: str, source: str, base: Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> tuple[Pipeline | None, list[CurateError]]:
    """The pipeline as far as it validates (a stage that does not is None, a key that does
    not is left out) and every error in it; None when what is left does not validate (an
    input section without a valid path). `curate check` checks the rest (files, input,
    column flow) on what did validate."""
    data, root = strict_yaml.load(text, source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a pipeline file is a mapping with keys input, stages and optionally output")
    data, landed, not_applied = apply_overrides(data, list(overrides), source)
    problems = Problems(source, LineMap(root), landed)
    problems.errors.extend(not_applied)
    raw_stages = data.get("stages")
    stages: list[StageConfig | None] = []
    if not isinstance(raw_stages, list) or not raw_stages:
        problems.add(("stages",), "needs a list of at least one stage, e.g. `- stage: exact_dedup`")
    else:
        stages = [_stage_config(entry, problems, i, base) for i, entry in enumerate(raw_stages)]
    seen: dict[str, int] = {}
    for i, stage in enumerate(stages):
        if stage is not None:
            first = seen.setdefault(stage.label, i)
            if first != i:
                # the name a --set gave is the mistake, not the file's stage that had it first
                named = first if problems.set_by(("stages", first, "name")) else i
                problems.add(("stages", named, "name"), f"stage name {stage.label!r} is used twice; give each stage a unique `name:`")
    skeleton = {**data, "stages": [{"stage": "exact_dedup"}]}
    parsed = problems.validate(Pipeline, skeleton, ()) or _without_mistakes(skeleton)
    if parsed is None:
        return None, problems.errors
    if parsed.gates is not None and stages:
        # a stage that did not validate is named as written: a gate naming it is not a second error
        named = [
            stage.label if stage is not None else str(entry.get("name") or entry.get("stage")) if isinstance(entry, dict) else None
            for stage, entry in zip(stages, raw_stages)
        ]
        unchecked = None in stages
        for where, message in gate_problems(parsed.gates, [n for n in named if n is not None], [s.stage for s in stages if s is not None], parsed.expectations is not None):
            if not (unchecked and where[1] in ("max_removed_fraction_by_language", "max_label_issue_rate")):  # the missing stage may be the one that failed
                problems.add(where, message)
    if parsed.expectations is not None:
        from curate.checks.suites import suite_problems  # reads the suite files it names

        for where, message in suite_problems(parsed.expectations.resolved(base or Path.cwd())):
            problems.add(where, message)
    parsed = parsed.model_copy(update={"stages": stages})
    parsed._keys = problems
    return parsed, problems.errors


def _without_mistakes(skeleton: dict[str, Any]) -> Pipeline | None:
    """The pipeline with every key that does not validate left out (their errors are
    recorded already), so a mistake in `gates:` or an unknown `input.bogus` does not hide
    the checks of the input files; None when the rest does not validate either."""
    pruned = copy.deepcopy(skeleton)
    try:
        Pipeline.model_validate(pruned, context={"base": None})
    except ValidationError as exc:
        for error in exc.errors():
            _drop(pruned, error["loc"])
    except CurateError:
        return None
    try:
        return Pipeline.model_validate(pruned, context={"base": None})
    except (ValidationError, CurateError):
        return None


def _drop(data: dict[str, Any], loc: tuple) -> None:
    """Delete the deepest mapping key on the path `loc` (a key that is wrong, or holds what is)."""
    container: Any = data
    deepest: tuple[dict[str, Any], str] | None = None
    for key in loc:
        if isinstance(container, dict) and key in container:
            deepest = (container, key)
            container = container[key]
        elif isinstance(container, list) and isinstance(key, int) and key < len(container):
            container = container[key]
        elif not (isinstance(key, str) and key.startswith("function-")) and key not in (SCALAR_BRANCH, MAPPING_BRANCH):
            break
    if deepest is not None:
        deepest[0].pop(deepest[1], None)


def _in_folder(base: Path, path: str) -> str:
    """A local path of the pipeline file as an absolute one (`~` is the home folder);
    URLs as they are."""
    return path if "://" in path else str(base / Path(path).expanduser())


def load_pipeline(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> Pipeline:
    """Read, validate and resolve a pipeline file (with `--set KEY=VALUE` overrides, whose
    values count as written in the file): relative paths become absolute."""
    pipeline, errors = load_pipeline_partly(path, overrides)
    raise_all(errors)
    assert pipeline is not None
    return pipeline


def load_pipeline_partly(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> tuple[Pipeline | None, list[CurateError]]:
    """`load_pipeline` as far as the file validates, and every error in it (`curate check`)."""
    if str(path) == "-" and not path.exists():
        raise ConfigError("-: a pipeline cannot be read from standard input (its relative paths start at its file's folder); "
                          "give the pipeline file's path")
    try:
        text = strict_yaml.read_limited(path, "pipeline file")
    except FileNotFoundError:
        raise ConfigError(f"{path}: pipeline file not found; check the path (ready pipelines are in pipelines/)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the pipeline file ({exc})") from None
    base = path.resolve().parent
    pipeline, errors = parse_pipeline_partly(text, str(path), base, overrides)
    if pipeline is None:
        return None, errors
    resolved_inputs = [_in_folder(base, p) for p in pipeline.input.path]
    output = None if pipeline.output_path is None else _in_folder(base, pipeline.output_path)
    if isinstance(pipeline.output, OutputConfig):
        output = pipeline.output.model_copy(update={"path": output})
    checks: dict[str, Any] = {}  # suite files and an earlier run for gates: relative to this file too
    if pipeline.expectations is not None:
        checks["expectations"] = pipeline.expectations.resolved(base)
    if pipeline.gates is not None:
        checks["gates"] = pipeline.gates.resolved(base)
        problem = pipeline_folder_comparison(checks["gates"], base)
        if problem is not None:
            errors = [*errors, pipeline.error_at(("gates", "max_change_vs", "run"), problem)]
    return pipeline.model_copy(
        update={"input": pipeline.input.model_copy(update={"path": resolved_inputs}), "output": output, **checks}
    ), errors
