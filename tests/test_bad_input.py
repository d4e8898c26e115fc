"""Bad input gets one clear line naming the file, column or key, a documented exit
code, no traceback, and no output that looks complete."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from runs import cli, write_pipeline, write_shards

CONFIG, INPUT, OUTPUT = 2, 3, 4


def fails(pipeline: Path, code: int, *needles: str, extra: tuple[str, ...] = ()) -> str:
    result = cli("run", str(pipeline), *extra)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not (pipeline.parent / "run" / "manifest.json").exists()
    assert not (pipeline.parent / "run" / "data").exists()
    return lines[0]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_shards(tmp_path, [pl.DataFrame({"text": ["a good text", "another text"], "n": [1, 2]})])
    return tmp_path


def pipeline(folder: Path, **input_spec) -> Path:
    return write_pipeline(folder, [{"stage": "exact_dedup"}], **input_spec)


def test_file_that_is_not_parquet(folder):
    (folder / "in" / "shard-001.parquet").write_text("id,text\n1,hello\n")
    fails(pipeline(folder), INPUT, "shard-001.parquet", "not a readable Parquet file", "re-export")


def test_truncated_parquet(folder):
    data = (folder / "in" / "shard-000.parquet").read_bytes()
    (folder / "in" / "shard-000.parquet").write_bytes(data[: len(data) // 2])
    fails(pipeline(folder), INPUT, "shard-000.parquet", "not a readable Parquet file")


def test_empty_file(folder):
    (folder / "in" / "shard-001.parquet").write_bytes(b"")
    fails(pipeline(folder), INPUT, "shard-001.parquet", "empty (0 bytes)")


def test_zero_rows(tmp_path):
    write_shards(tmp_path, [pl.DataFrame({"text": []}, schema={"text": pl.String})])
    fails(pipeline(tmp_path), INPUT, "zero rows")


def test_missing_text_column(folder):
    fails(pipeline(folder, text_column="body"), INPUT, "no column 'body'", "input.text_column", "columns are: text, n")


def test_missing_label_column(folder):
    fails(pipeline(folder, label_column="label"), INPUT, "no column 'label'", "input.label_column")


def test_text_column_not_string(folder):
    fails(pipeline(folder, text_column="n"), INPUT, "text column 'n' has type int64, not string")


def test_binary_text_column(tmp_path):
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"text": pa.array([b"abc"], pa.binary())}), tmp_path / "in" / "b.parquet")
    fails(pipeline(tmp_path), INPUT, "binary: decode it to UTF-8")


def test_invalid_utf8(tmp_path):
    (tmp_path / "in").mkdir()
    target = tmp_path / "in" / "bad.parquet"
    pq.write_table(pa.table({"text": ["good text", "bad XXtext"]}), target, compression="none", use_dictionary=False, write_statistics=False)
    target.write_bytes(target.read_bytes().replace(b"XX", b"\xff\xfe"))
    fails(pipeline(tmp_path), INPUT, "bad.parquet", "not valid UTF-8")


def test_mixed_schemas(folder):
    pl.DataFrame({"text": ["x"], "n": ["not a number"]}).write_parquet(folder / "in" / "shard-001.parquet")
    fails(pipeline(folder), INPUT, "shard-001.parquet", "column 'n' is large_string, not int64")


def test_null_and_empty_texts_are_handled_not_fatal(tmp_path):
    write_shards(tmp_path, [pl.DataFrame({"text": [None, "", None, "fine text"]}, schema={"text": pl.String})])
    result = cli("run", str(write_pipeline(tmp_path, [{"stage": "length_filter"}, {"stage": "exact_dedup"}])), "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "manifest.json").exists()


def test_output_is_a_file(folder):
    (folder / "run").write_text("not a directory")
    fails(pipeline(folder), OUTPUT, "exists and is not a directory", "--output")


def test_output_below_a_file(folder):
    (folder / "blocker").write_text("")
    fails(pipeline(folder), OUTPUT, "a parent of it is a file", extra=("--output", str(folder / "blocker" / "run")))


def test_input_matches_nothing(folder):
    fails(pipeline(folder), INPUT, "matches no file", extra=("--input", str(folder / "missing" / "*.parquet")))


def test_malformed_yaml(folder):
    path = folder / "pipeline.yaml"
    path.write_text("input:\n  path: [in/*.parquet\nstages:\n  - stage: exact_dedup\n")
    fails(path, CONFIG, "pipeline.yaml, line", "malformed YAML")


def test_unknown_stage(folder):
    path = write_pipeline(folder, [{"stage": "exact_dedup"}, {"stage": "fuzzy_dedup"}])
    fails(path, CONFIG, "line 6", "stages[1].stage", "unknown stage 'fuzzy_dedup'", "valid stages: clean, exact_dedup")


def test_unknown_key_names_valid_keys(folder):
    path = write_pipeline(folder, [{"stage": "length_filter", "min_char": 3}])
    fails(path, CONFIG, "stages[0].min_char", "unknown key", "valid keys:", "min_chars")


def test_wrong_type(folder):
    path = write_pipeline(folder, [{"stage": "length_filter", "min_chars": "many"}])
    fails(path, CONFIG, "stages[0].min_chars", "valid integer", "'many'")


def test_missing_pipeline_file(tmp_path):
    fails(tmp_path / "nope.yaml", CONFIG, "nope.yaml", "not found")


def test_debug_shows_the_traceback(folder):
    (folder / "in" / "shard-001.parquet").write_bytes(b"")
    result = cli("run", str(pipeline(folder)), "--debug")
    assert result.returncode != 0 and "Traceback" in result.stderr
