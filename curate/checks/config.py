"""What a pipeline file says about checks: the `expectations:` and `gates:` keys.

Plain pydantic models with no behaviour beyond validation, so the pipeline loader
(curate/config.py) can use them without importing what runs the checks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from curate.errors import ConfigError, resolved

def _not_true_or_false(value: Any) -> Any:
    # pydantic reads `max_removed_fraction: true` as 1.0 (a gate that never fails) and
    # `min_rows_out: true` as 1: a YAML slip, not a limit
    if isinstance(value, bool):
        raise ValueError("a number, not true/false")
    return value


Fraction = Annotated[float, BeforeValidator(_not_true_or_false), Field(ge=0.0, le=1.0)]
Count = Annotated[int, BeforeValidator(_not_true_or_false), Field(ge=0)]


class ChangeGate(BaseModel):
    """`max_change_vs:` how far this run may drift from an earlier one."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    run: str
    """The earlier run directory (relative paths: to the pipeline file's folder), e.g. a
    `runs/latest` link a cron job moves after each good run."""
    max_removed_fraction_change: Fraction | None = None
    """Largest allowed change of the run's removed fraction, in fraction points (0.05 = 5 points)."""
    max_reason_rate_change: Fraction | None = None
    """Largest allowed change of any (stage, reason) removal rate, in fraction points."""
    if_missing: Literal["pass", "fail"] = "pass"
    """When the earlier run does not exist (the first scheduled run): pass or fail. A path
    that exists but holds no finished run (unfinished, being rewritten, not curate's)
    fails the gate either way."""

    @field_validator("run")
    @classmethod
    def _a_path(cls, value: str) -> str:
        if not value.strip():  # it would name the pipeline file's folder, never a run
            raise ValueError("is empty; give the earlier run's directory, e.g. runs/latest (a link moved after each good run)")
        return value

    @model_validator(mode="after")
    def _a_limit(self) -> ChangeGate:
        if self.max_removed_fraction_change is None and self.max_reason_rate_change is None:
            raise ValueError("sets no limit; add max_removed_fraction_change and/or max_reason_rate_change")
        return self


class GatesConfig(BaseModel):
    """The pipeline's `gates:` key. Every gate is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    max_removed_fraction: Fraction | None = None
    """The run may remove at most this fraction of its input rows."""
    min_rows_out: Count | None = None
    """The run must keep at least this many rows."""
    max_removed_fraction_by_stage: dict[str, Fraction] = {}
    """Per stage name: at most this fraction of the rows the stage saw."""
    max_removed_fraction_by_reason: dict[str, Fraction] = {}
    """Per reason (a glob, e.g. `lang_not_kept:*`): at most this fraction of the rows the
    stage that gives the reason saw, in every stage."""
    max_removed_fraction_by_language: Fraction | None = None
    """Per language, in every stage that reports removal by language (`quality` that knows
    each row's language): at most this fraction of that language's rows (languages with fewer rows than the
    stage's `warn_min_rows` are not judged)."""
    max_label_issue_rate: Fraction | None = None
    """label_noise stages: at most this fraction of the rows they saw may be label issues."""
    expectations: Literal["must_pass"] | None = None
    """`must_pass`: every expectation suite must pass (a skipped expectation does not fail
    its suite, but a suite whose every expectation was skipped does)."""
    max_change_vs: ChangeGate | None = None

    def resolved(self, base: Path) -> GatesConfig:
        """`max_change_vs.run` as an absolute path (`~` expanded, relative to `base`). A link
        such as `runs/latest` stays a link: the gate follows it when it runs, so moving
        the link does not change this run's identity (the pipeline's fingerprint)."""
        if self.max_change_vs is None:
            return self
        run = os.path.normpath(base / Path(self.max_change_vs.run).expanduser())
        return self.model_copy(update={"max_change_vs": self.max_change_vs.model_copy(update={"run": run})})

    def is_empty(self) -> bool:
        # 0 is a limit like any other (a zero-tolerance gate): only unset keys are absent
        return all(getattr(self, name) in (None, {}) for name in type(self).model_fields)


def gate_problems(gates: GatesConfig, stage_names: list[str], stage_kinds: list[str], has_expectations: bool) -> list[tuple[tuple, str]]:
    """Problems that can be seen before the run: (key path, message)."""
    problems = []
    for name in gates.max_removed_fraction_by_stage:
        if name not in stage_names:
            problems.append((("gates", "max_removed_fraction_by_stage", name), f"no stage is named {name!r}; stages: {', '.join(stage_names)}"))
    if gates.max_removed_fraction_by_language is not None and "quality" not in stage_kinds:
        problems.append((("gates", "max_removed_fraction_by_language"), "needs a quality stage in the pipeline (it reports removal by language)"))
    if gates.max_label_issue_rate is not None and "label_noise" not in stage_kinds:
        problems.append((("gates", "max_label_issue_rate"), "needs a label_noise stage in the pipeline"))
    if gates.expectations == "must_pass" and not has_expectations:
        problems.append((("gates", "expectations"), "must_pass needs suites under the pipeline's `expectations:` key"))
    return problems


def pipeline_folder_comparison(gates: GatesConfig, base: Path) -> str | None:
    """Why `max_change_vs.run` (resolved) cannot hold the earlier run, when it is the
    pipeline file's folder or a folder above it (`run: .`): a run directory holds only
    what curate writes, never the pipeline file, so every run would fail the gate (exit 5)."""
    if gates.max_change_vs is None:
        return None
    run = Path(gates.max_change_vs.run)
    try:
        leads_to = run.resolve()
    except (OSError, RuntimeError):  # a link loop: the gate reports it when it runs
        return None
    if not base.resolve().is_relative_to(leads_to):
        return None
    where = "the pipeline file's folder" if leads_to == base.resolve() else "a folder above the pipeline file"
    return (f"{run} is {where}, which cannot be an earlier run (a run directory holds only what curate writes); "
            "name the earlier run's directory, e.g. runs/latest (a link moved after each good run)")


def self_comparison(gates: GatesConfig | None, output: Path) -> ConfigError | None:
    """The error when `max_change_vs.run` leads to the run's own output directory (an
    in-place daily job, or a `latest` link moved to it): the drift gate would compare
    the run with itself. A `max_change_vs.run` that is a symlink loop raises it."""
    if gates is None or gates.max_change_vs is None:
        return None
    if resolved(gates.max_change_vs.run, "gates.max_change_vs.run", ConfigError, "point it at the earlier run's directory") != output.resolve():
        return None
    run = gates.max_change_vs.run
    how = "links to" if Path(run).is_symlink() else "is"
    return ConfigError(
        f"gates.max_change_vs.run: {run} {how} this run's output directory {output}, so the gate would compare the run with itself; "
        "name the earlier run's directory (e.g. a runs/latest link moved after each good run), or write this run to another --output"
    )


class ExpectationsConfig(BaseModel):
    """The pipeline's `expectations:` key. A plain list means `output:`."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    output: list[str] = []
    """Suites run on the run's output (`data/`): names in rules/expectations/ or YAML paths."""
    input: list[str] = []
    """Suites run on the input files, before curation."""
    data_docs: bool = False
    """Also write GX's Data Docs HTML to reports/data_docs/. Off by default: the pages
    load JavaScript, CSS and GX's logo from CDNs when opened (offline they show no
    tables), where report.html is self-contained and has the same results."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"output": [value]}
        if isinstance(value, list):
            return {"output": value}
        return value

    @field_validator("output", "input")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for ref in value:
            if not ref.strip():
                raise ValueError("a suite name is empty; name a file in rules/expectations/ (e.g. basic) or a .yaml path")
        if len(set(value)) != len(value):
            raise ValueError("a suite is listed twice")
        return value

    @model_validator(mode="after")
    def _something(self) -> ExpectationsConfig:
        if not self.output and not self.input:
            raise ValueError("names no suite; list suites under output: or input:, e.g. output: [basic]")
        return self

    def resolved(self, base: Path) -> ExpectationsConfig:
        """Suite paths relative to the pipeline file's folder become absolute."""
        def fix(ref: str) -> str:
            if not is_suite_path(ref):
                return ref
            path = Path(ref).expanduser()  # `~` is the home folder, as in input.path
            return str(path) if path.is_absolute() else str((base / path).resolve())

        return self.model_copy(update={"output": [fix(r) for r in self.output], "input": [fix(r) for r in self.input]})


def is_suite_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml"))
