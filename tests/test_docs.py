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


def test_there_are_snippets_for_every_stage():
    from curate.stages import STAGES

    shown = {m for _, block in snippets() for m in re.findall(r"stage: (\w+)", block)}
    assert set(STAGES) <= shown
