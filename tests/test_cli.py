from __future__ import annotations

from pathlib import Path

import pytest
from runs import cli

from curate.config import parse_pipeline
from curate.errors import ConfigError
from curate.stages import STAGES, DatasetStage

REPO = Path(__file__).resolve().parent.parent


def test_stages_lists_every_stage_one_line_each():
    result = cli("stages")
    assert result.returncode == 0
    for kind, stage in STAGES.items():
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(kind))
        assert line.split()[1] == ("dataset" if issubclass(stage, DatasetStage) else "shard")


def test_stages_name_shows_parameters_and_defaults():
    result = cli("stages", "exact_dedup")
    assert result.returncode == 0
    line = next(line for line in result.stdout.splitlines() if "normalize.lowercase" in line)
    assert line.split()[1:3] == ["bool", "False"]
    assert "filter | annotate" in result.stdout
    unknown = cli("stages", "nope")
    assert unknown.returncode == 2 and "valid stages: " in unknown.stderr


def test_every_shipped_pipeline_passes_check():
    files = sorted((REPO / "pipelines").glob("*.yaml"))
    assert files, "pipelines/ must ship ready pipelines"
    result = cli("check", *map(str, files))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (") == len(files)


def test_check_names_the_bad_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input:\n  path: x.parquet\nstages:\n  - stage: exact_dedup\n    mode: drop\n")
    result = cli("check", str(bad))
    assert result.returncode == 2
    assert "bad.yaml, line 5: stages[0].mode: should be 'filter' or 'annotate' (got 'drop')" in result.stderr


def test_run_help_teaches():
    result = cli("run", "--help")
    assert result.returncode == 0
    for option in ("--input", "--output", "--workers", "--annotate-only", "--fresh", "--log-format", "--quiet", "Exit codes"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages:\n  - stage: exact_dedup\n", "p.yaml, line 1: input: missing required key"),
        ("input: {path: a}\nstages: []\n", "stages: needs a list of at least one stage"),
        ("input: {path: a}\nstages:\n  - exact_dedup\n", "stages[0]: each stage must be a mapping"),
        ("input: {path: a}\nstages:\n  - stage: exact_dedup\n    normalize: {lowercas: true}\n", "stages[0].normalize.lowercas: unknown key; valid keys: nfkc, lowercase"),
        ("input: {path: a}\nstages:\n  - stage: length_filter\n  - stage: length_filter\n", "stage name 'length_filter' is used twice"),
        ("- a\n- b\n", "a pipeline file is a mapping"),
        ("input: {path: a}\nstages:\n  - stage: exact_dedup\n    name: ../x\n", "stages[0].name: string should match pattern"),
        ("input: {path: a}\noutptu: x\nstages:\n  - stage: exact_dedup\n", "p.yaml, line 2: outptu: unknown key; valid keys: input, output, stages"),
    ],
)
def test_pipeline_errors_are_located(text, message):
    with pytest.raises(ConfigError) as error:
        parse_pipeline(text, "p.yaml")
    assert message in str(error.value)


def test_input_path_accepts_one_or_many():
    one = parse_pipeline("input: {path: a.parquet}\nstages:\n  - stage: exact_dedup\n", "p")
    many = parse_pipeline("input: {path: [a.parquet, 'b/*.parquet']}\nstages:\n  - stage: exact_dedup\n", "p")
    assert one.input.path == ["a.parquet"] and many.input.path == ["a.parquet", "b/*.parquet"]
    assert one.fingerprint() != many.fingerprint()


def test_stage_paths_resolve_against_the_pipeline_file(tmp_path):
    from curate.config import load_pipeline

    (tmp_path / "p.yaml").write_text("input: {path: a.parquet}\nstages:\n  - stage: near_dedup\n    index: state/near\n")
    spec = load_pipeline(tmp_path / "p.yaml")
    assert spec.stages[0].index == str(tmp_path / "state" / "near")
    assert spec.input.path == [str(tmp_path / "a.parquet")]


def test_a_rule_file_path_resolves_against_the_pipeline_file(tmp_path):
    from curate.config import load_pipeline

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mine.yaml").write_text("rules:\n  - {name: long_enough, metric: word_count, keep_if: '>=', threshold: 3}\n")
    (tmp_path / "conf" / "p.yaml").write_text("input: {path: a.parquet}\nstages:\n  - stage: quality\n    rules: [c4, mine.yaml]\n")
    spec = load_pipeline(tmp_path / "conf" / "p.yaml")  # from a working directory elsewhere
    assert spec.stages[0].rules == ["c4", str(tmp_path / "conf" / "mine.yaml")]
