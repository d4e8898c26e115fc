"""The pipeline snippets in README.md and docs/ are valid pipelines (after the
`input:` a snippet leaves out is added)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from curate.config import parse_pipeline

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)


def snippets() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for i, block in enumerate(BLOCK.findall(doc.read_text(encoding="utf-8"))):
            if re.search(r"^stages:", block, re.M):
                found.append((f"{doc.relative_to(REPO)}#{i}", block))
    return found


@pytest.mark.parametrize(("where", "block"), snippets(), ids=[w for w, _ in snippets()])
def test_documented_pipeline_snippets_are_valid(where, block):
    data = yaml.safe_load(block)
    data["input"] = {"path": "data/*.parquet", "label_column": "label", **(data.get("input") or {})}
    parse_pipeline(yaml.safe_dump(data), where)


def test_no_install_command_fetches_curate_from_pypi():
    """`curate` on PyPI is another project (CKAN utilities for Python 2): `pip install
    'curate[s3]'` downloads and runs it wherever this curate is not installed (a fresh Ray
    worker, a CI image). The docs and curate's messages install packages by name, or an
    extra from curate's folder (`pip install -e '.[s3]'`)."""
    sources = [*DOCS, *sorted((REPO / "curate").rglob("*.py"))]
    wrong = [f"{path.relative_to(REPO)}: {hit}" for path in sources for hit in re.findall(r"\S*\bcurate\[\S*", path.read_text(encoding="utf-8"))]
    assert wrong == []


def test_there_are_snippets_for_every_stage():
    from curate.stages import STAGES

    shown = {m for _, block in snippets() for m in re.findall(r"stage: (\w+)", block)}
    assert set(STAGES) <= shown


def test_the_documented_rule_file_combines_as_the_page_says(tmp_path):
    """docs/stages/quality.md: its rule file example runs with gopher_quality, and not with
    fineweb, whose short_line it contradicts."""
    from curate.errors import ConfigError
    from curate.stages.quality.rules import load_rule_set

    page = (REPO / "docs" / "stages" / "quality.md").read_text(encoding="utf-8")
    example = next(block for block in BLOCK.findall(page) if block.startswith("name: my_rules"))
    mine = tmp_path / "my_rules.yaml"
    mine.write_text(example)
    assert "Combining: `rules: [gopher_quality, ./my_rules.yaml]` runs both" in page
    combined = load_rule_set(["gopher_quality", str(mine)])
    assert [rule.name for rule in combined.rules][-3:] == ["too_short", "chanting", "choppy"]
    with pytest.raises(ConfigError, match=r"my_rules.yaml: params.short_line: differs from the value set in .*fineweb.yaml"):
        load_rule_set(["fineweb", str(mine)])


def test_stage_pages_name_every_normalize_step():
    """Each stage with `normalize:` names all its steps on its page (their defaults differ by stage)."""
    from curate.stages import STAGES

    for kind in STAGES:
        field = STAGES[kind].Config.model_fields.get("normalize")
        if field is None:
            continue
        page = (REPO / "docs" / "stages" / f"{kind}.md").read_text(encoding="utf-8")
        unnamed = [step for step in field.annotation.model_fields if not re.search(rf"`{step}`|\b{step}: (true|false)", page)]
        assert not unnamed, (kind, unnamed)


def test_a_normalize_description_that_gives_defaults_names_every_step_on_by_default():
    """`curate stages overlap` said NFKC and lowercase; whitespace is on by default too."""
    from curate.stages import STAGES

    for kind in STAGES:
        field = STAGES[kind].Config.model_fields.get("normalize")
        if field is None or "default" not in (field.description or "").lower():
            continue
        on = [step for step, value in field.default.model_dump().items() if value]
        assert all(step.lower() in field.description.lower() for step in on), (kind, on, field.description)
