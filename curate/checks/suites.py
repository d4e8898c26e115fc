"""Validation suites: the pipeline's `expectations:` key and the suite files it names.

A suite is a YAML file, by default in `rules/expectations/<name>.yaml`:

    description: Text present, ids unique, lengths in bounds.
    expectations:
      - expect: column_values_to_not_be_null      # GX's expectation name, `expect_` optional
        column: $text                              # $text, $id, $label: the pipeline's columns
      - expect: column_value_lengths_to_be_between
        column: $text
        min_value: 20
        max_value: 100000
        mostly: 0.99                               # every other key is passed to GX as is

The pipeline names suites per target (`expectations: {output: [basic], input: [basic]}`).
Every suite is loaded and checked before the run does any work; curate/checks/validation.py
runs them with great-expectations.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate import strict_yaml
from curate.checks.config import ExpectationsConfig, is_suite_path
from curate.errors import ConfigError, did_you_mean
from curate.resources import rules_root

SUITES_DIR = rules_root() / "expectations"
"""Where suite names are looked up: rules/expectations/ (curate/_rules/expectations in a wheel)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# ------------------------------------------------------------------------------ suites


@dataclass(frozen=True)
class Expectation:
    type: str
    """GX's snake_case name, e.g. expect_column_values_to_not_be_null."""
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    description: str
    expectations: list[Expectation] = field(default_factory=list)


def suite_path(ref: str) -> Path:
    return Path(ref).expanduser() if is_suite_path(ref) else SUITES_DIR / f"{ref}.yaml"


def _gx_core_dir() -> Path | None:
    """GX's folder of core expectations, found without importing GX (that takes seconds)."""
    spec = importlib.util.find_spec("great_expectations")
    for location in (spec.submodule_search_locations or []) if spec else []:
        core = Path(location) / "expectations" / "core"
        if core.is_dir():
            return core
    return None


def known_expectations() -> list[str]:
    core = _gx_core_dir()
    if core is None:
        raise ConfigError("expectations: need the great-expectations package (pip install great-expectations)")
    return sorted(p.stem for p in core.glob("expect_*.py"))


def _expectation_name(raw: Any) -> str:
    text = str(raw).strip()
    if re.fullmatch(r"(Expect)?[A-Z][A-Za-z0-9]*", text):  # ExpectColumnValuesToNotBeNull
        text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", text).lower()
    return text if text.startswith("expect_") else f"expect_{text}"


def load_suite(ref: str) -> Suite:
    """Read and check a suite file: its structure and that each expectation is one GX has."""
    path = suite_path(ref)
    where = str(path)
    if path.is_dir():
        raise ConfigError(f"expectations: suite {ref!r}: {where} is a folder; name a suite file in it (a .yaml file)")
    if not path.is_file():
        available = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
        named = not is_suite_path(ref)
        hint = f"; suites in {SUITES_DIR}: {', '.join(available)}" if available and named else ""
        if not named and path.stem in available:  # `basic.yaml` is a path beside the pipeline file, not the built-in suite
            hint = f"; the built-in suite is named {path.stem} (without .yaml)"
        raise ConfigError(f"expectations: suite {ref!r}{did_you_mean(ref, available) if named else ''}: {where} not found{hint}")
    try:
        data, _ = strict_yaml.load(strict_yaml.read_limited(path, "suite file"), where)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read the suite ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list) or not data["expectations"]:
        raise ConfigError(f"{where}: a suite is a mapping with `expectations:`, a list of at least one `- expect: NAME` entry")
    unknown = set(data) - {"name", "description", "expectations"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}; valid keys: name, description, expectations")
    name = str(data.get("name") or path.stem)
    if not _NAME.match(name):
        raise ConfigError(f"{where}: name {name!r}: use letters, digits, _, - and . only")
    known = known_expectations()
    expectations = []
    for i, entry in enumerate(data["expectations"]):
        if not isinstance(entry, dict) or "expect" not in entry:
            raise ConfigError(f"{where}: expectations[{i}]: each entry is a mapping with `expect: NAME` (e.g. expect: column_values_to_not_be_null)")
        kind = _expectation_name(entry["expect"])
        if kind not in known:
            close = difflib.get_close_matches(kind, known, n=2, cutoff=0.6)
            hint = f"; did you mean {' or '.join(c.removeprefix('expect_') for c in close)}?" if close else ""
            raise ConfigError(f"{where}: expectations[{i}]: {entry['expect']!r} is not a great-expectations expectation{hint}")
        kwargs = {k: v for k, v in entry.items() if k != "expect"}
        if "batch_id" in kwargs or "result_format" in kwargs:
            raise ConfigError(f"{where}: expectations[{i}]: batch_id and result_format are set by curate; remove them")
        if "column_list" in kwargs and not isinstance(kwargs["column_list"], list):  # a string would be read letter by letter
            given = kwargs["column_list"]
            raise ConfigError(f"{where}: expectations[{i}]: column_list should be a list (got {given!r})" + (f"; write [{given}]" if isinstance(given, str) else ""))
        expectations.append(Expectation(kind, kwargs))
    return Suite(name, path, str(data.get("description") or ""), expectations)


def suite_problems(config: ExpectationsConfig) -> list[tuple[tuple, str]]:
    """Load every suite the pipeline names, each problem at once as (key path, message):
    a missing or malformed suite stops the run before any work, not after it."""
    problems: list[tuple[tuple, str]] = []
    names: dict[str, str] = {}
    for target, refs in (("output", config.output), ("input", config.input)):
        for index, ref in enumerate(refs):
            try:
                suite = load_suite(ref)
            except ConfigError as error:
                problems.append((("expectations", target, index), str(error).removeprefix("expectations: ")))
                continue
            if names.setdefault(suite.name, str(suite.path)) != str(suite.path):
                problems.append((("expectations", target, index), f"two suites are named {suite.name!r} ({names[suite.name]} and {suite.path}); give one another `name:`"))
    return problems
