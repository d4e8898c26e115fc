"""The package layout is the architecture (docs/architecture.md): no import cycles, and
no part imports one above it. Checked on the source, so a cycle hidden behind import
order cannot pass, plus one fresh interpreter that imports the CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

import curate

PACKAGE = Path(curate.__file__).resolve().parent

# Which parts a part must never import (prefixes of module names).
FORBIDDEN = {
    "curate.stages": ("curate.run", "curate.report", "curate.checks", "curate.cli", "curate.config", "curate.console"),
    "curate.report": ("curate.run", "curate.stages", "curate.cli", "curate.checks.gates", "curate.checks.validation"),
    "curate.checks": ("curate.run", "curate.stages", "curate.cli"),
    "curate.config": ("curate.run", "curate.report", "curate.cli", "curate.checks.gates", "curate.checks.validation"),
    "curate.run": ("curate.cli",),
    "curate.tasks": ("curate.run", "curate.stages"),
    "curate.files": ("curate.run", "curate.stages"),
    "curate.jsonl_checks": ("curate.run", "curate.stages"),
    "curate.row_names": ("curate.run", "curate.stages"),
    "curate.evaluate": ("curate.run", "curate.stages", "curate.cli", "curate.checks"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """Modules `path` imports; with `top_level_only`, only those imported when the module
    itself is imported (not inside functions, which run later)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("curate"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("curate"))
    return found


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in _imports(path, top_level_only) if m in modules and m != name} for name, path in modules.items()}


def test_no_import_cycles():
    graph = _graph(top_level_only=True)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_no_part_imports_a_part_above_it():
    wrong = []
    for module, imported in _graph(top_level_only=False).items():
        for part, banned in FORBIDDEN.items():
            if module == part or module.startswith(part + "."):
                wrong += [f"{module} imports {m}" for m in imported if m.startswith(banned)]
    assert not wrong, "\n".join(sorted(wrong))


def test_every_subpackage_says_what_it_owns():
    for init in PACKAGE.rglob("__init__.py"):
        if init.parent == PACKAGE:
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 12, f"{init.relative_to(PACKAGE.parent)} needs a docstring saying what it owns"


def test_the_cli_imports_in_a_fresh_interpreter():
    result = subprocess.run([sys.executable, "-c", "import curate.cli, curate.run.runner, curate.report.html, curate.checks.gates"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_startup_imports_no_heavy_library():
    """`curate --help` and a run's set-up import no model or validation library: those load
    only in the stage or check that needs them (start-up is paid by every worker)."""
    heavy = ("sklearn", "great_expectations", "ray", "cleanlab", "scipy", "pandas", "fasttext", "datasketch")
    code = (
        "import sys, curate.cli, curate.stages, curate.run.runner, curate.config\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_help_imports_no_data_or_config_library():
    """`curate --help` loads typer and rich only: polars, pyarrow, numpy and pydantic load
    when a command needs them (pydantic alone was 50 ms of a 0.4 s `--help`)."""
    code = "import runpy, sys\nsys.argv = ['curate', '--help']\ntry:\n    runpy.run_module('curate', run_name='__main__')\nexcept SystemExit:\n    pass\n" \
           "print(','.join(m for m in ('polars', 'pyarrow', 'numpy', 'pydantic') if m in sys.modules), file=sys.stderr)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "Usage" in result.stdout
    assert result.stderr.strip() == ""


def test_shard_work_imports_no_pandas():
    """pyarrow's `pa.array` of a numpy array imports pandas (~0.25 CPU s in every worker):
    the stages' shard work builds Arrow arrays through polars instead."""
    code = (
        "import sys, polars as pl\n"
        "from curate.stages.base import Columns\n"
        "from curate.stages.langid import LangId, LangIdConfig\n"
        "from curate.stages.near_dedup import NearDedup, NearDedupConfig\n"
        "from curate.stages.quality import Quality, QualityConfig\n"
        "frame = pl.DataFrame({'id': ['a', 'b'], 'text': ['the cat sat on the mat and looked out of the window', 'der Hund lief schnell über die Straße']})\n"
        "columns = Columns(id='id')\n"
        "LangId(LangIdConfig(stage='langid', top_k=2), columns).annotate(frame)\n"
        "NearDedup(NearDedupConfig(stage='near_dedup', verify='shingles'), columns).summarize(frame)\n"
        "Quality(QualityConfig(stage='quality'), columns).annotate(frame)\n"
        "print('pandas' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def _pyproject() -> dict:
    return tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))


def test_dependency_floors_are_the_versions_the_code_needs():
    """pip keeps an installed version that meets a floor, so a floor below what the code
    relies on ran wrong: with polars 2.0 or 1.x the quality stage named rule 0 as the
    reason of every row and removed them all (polars below 1.35, without scan_ipc's
    glob=, stopped every run), and pyarrow below 24 cannot size the string_view batches
    of an Arrow file polars writes."""
    floors = {name: tuple(int(n) for n in version.split(".")) for name, _, version in
              (requirement.partition(">=") for requirement in _pyproject()["project"]["dependencies"])}
    assert floors["polars"] >= (2, 1) and floors["pyarrow"] >= (24,)
    # What the code relies on, as these versions do it:
    assert pl.Series(np.ma.masked_array(np.array([3, 1], dtype=np.int32), mask=[True, False])).to_list() == [None, 1]
    batch = pa.record_batch({"text": pa.array(["a text longer than 12 bytes", None], pa.string_view())})
    assert batch.nbytes == 1 + 2 * 16 + 27  # validity, two 16-byte views, the one text not inlined


# Standard-library names newer than Python 3.10, with the version that brought them.
NEWER_STDLIB = {
    "typing.Self": (3, 11), "typing.LiteralString": (3, 11), "typing.Never": (3, 11), "typing.assert_never": (3, 11),
    "typing.NotRequired": (3, 11), "typing.Required": (3, 11), "typing.Unpack": (3, 11), "tomllib": (3, 11),
    "enum.StrEnum": (3, 11), "datetime.UTC": (3, 11), "asyncio.TaskGroup": (3, 11), "hashlib.file_digest": (3, 11),
    "typing.override": (3, 12), "itertools.batched": (3, 12), "warnings.deprecated": (3, 13),
}


def test_requires_python_is_the_version_the_code_needs():
    """pip installs curate on any Python requires-python allows: on 3.10 `from typing
    import Self` (run/lock.py, existing_runs.py) stopped run, show, report and evaluate
    with a traceback. The floor covers every newer name the package and its tests
    import, and the README says it."""
    floor = tuple(int(n) for n in _pyproject()["project"]["requires-python"].removeprefix(">=").split("."))
    needs = {}
    for path in [*PACKAGE.rglob("*.py"), *Path(__file__).parent.glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            needs.update({f"{name} ({path.name})": NEWER_STDLIB[name] for name in names if NEWER_STDLIB.get(name, floor) > floor})
    version = ".".join(map(str, floor))
    assert not needs, f"requires-python >={version} lacks {needs}"
    assert floor >= (3, 11) and f"Python {version} or newer" in (PACKAGE.parent / "README.md").read_text(encoding="utf-8")


def test_every_subpackage_ships_in_the_wheel():
    """pyproject.toml lists packages one by one (rules/ ships as curate._rules): a new
    folder missing there would be absent from a non-editable install."""
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    folders = {_module_name(init) for init in PACKAGE.rglob("__init__.py")}
    assert folders <= listed, sorted(folders - listed)
