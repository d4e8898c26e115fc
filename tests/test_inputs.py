"""Input formats and locations: the same rows as Parquet, JSON Lines (plain, gzip,
zstd), CSV, TSV and an Arrow `datasets` folder give the same decisions; directories,
file:// URLs, --limit and --sample; bad input is one line, exit 3, before any output."""

from __future__ import annotations

import contextlib
import decimal
import functools
import gzip
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pytest
import xxhash
import yaml
import zstandard
from runs import read_dir, run

INPUT = 3

STAGES = [{"stage": "length_filter", "min_words": 3}, {"stage": "exact_dedup"}]


def corpus() -> pl.DataFrame:
    """Realistic awkward rows: duplicates, short texts, commas, quotes, a newline
    inside a text, non-ASCII, an empty text."""
    texts = [
        "The quick brown fox jumps over the lazy dog.",
        "Ein Satz auf Deutsch, mit Umlauten: äöü ß.",
        "too short",
        "The quick brown fox jumps over the lazy dog.",
        'She said "hello, world" and left the room quietly.',
        "A text with a line break\nin the middle of it, still one row.",
        "",
        "Un texte en français, avec des accents : é è à.",
        "Ein Satz auf Deutsch, mit Umlauten: äöü ß.",
        "Numbers 1, 2 and 3 are listed here for the count.",
    ] * 3
    return pl.DataFrame({"id": [f"doc-{i:03d}" for i in range(len(texts))], "text": texts, "score": [i / 7 for i in range(len(texts))]})


def write_as(frame: pl.DataFrame, folder: Path, kind: str) -> str:
    """Write the rows in one format (two files where a format allows it); returns input.path."""
    folder.mkdir(parents=True)
    halves = [frame.slice(0, 17), frame.slice(17)]
    lines = [[json.dumps(row, ensure_ascii=False) for row in half.iter_rows(named=True)] for half in halves]
    for i, half in enumerate(halves):
        text = "\n".join(lines[i]) + "\n"
        if kind == "parquet":
            half.write_parquet(folder / f"part-{i}.parquet")
        elif kind == "jsonl":
            (folder / f"part-{i}.jsonl").write_text(text, encoding="utf-8")
        elif kind == "jsonl.gz":
            (folder / f"part-{i}.jsonl.gz").write_bytes(gzip.compress(text.encode()))
        elif kind == "ndjson.zst":
            (folder / f"part-{i}.ndjson.zst").write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
        elif kind == "csv":
            pacsv.write_csv(half.to_arrow(), folder / f"part-{i}.csv")
        elif kind == "tsv":
            half.write_csv(folder / f"part-{i}.tsv", separator="\t")
        elif kind == "arrow":
            # The layout of a Hugging Face `save_to_disk` folder: Arrow stream files plus metadata.
            table = half.to_arrow().cast(pa.schema([("id", pa.large_string()), ("text", pa.large_string()), ("score", pa.float64())]))
            with pa.ipc.new_stream(folder / f"data-0000{i}-of-00002.arrow", table.schema) as writer:
                writer.write_table(table, max_chunksize=5)
        elif kind == "feather":  # the Arrow IPC *file* format (random access), as pyarrow and pandas write it
            feather.write_feather(half.to_arrow(), str(folder / f"part-{i}.feather"), chunksize=5)
    if kind == "arrow":
        (folder / "dataset_info.json").write_text(json.dumps({"features": {"id": {"dtype": "string"}, "text": {"dtype": "string"}}}))
        (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": f"data-0000{i}-of-00002.arrow"} for i in range(2)]}))
    return str(folder)


def pipeline_file(folder: Path, path: str, **input_spec) -> Path:
    spec = {"input": {"path": path, "id_column": "id", **input_spec}, "output": "run", "stages": STAGES}
    target = folder / "pipeline.yaml"
    target.write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


def decisions(run_dir: Path) -> tuple[list[str], dict[str, str]]:
    kept = read_dir(run_dir / "data")["id"].to_list()
    removed = pl.concat([pl.read_parquet(p) for p in sorted((run_dir / "removed").glob("*/part-*.parquet"))], how="diagonal_relaxed")
    return kept, dict(zip(removed["id"].to_list(), removed["curate_reason"].to_list()))


@pytest.mark.slow
def test_every_format_gives_the_same_decisions(tmp_path):
    rows = corpus()
    outcomes = {}
    for kind in ("parquet", "jsonl", "jsonl.gz", "ndjson.zst", "csv", "tsv", "arrow", "feather"):
        base = tmp_path / kind.replace(".", "_")
        path = write_as(rows, base / "in", kind)
        result = run(pipeline_file(base, path))
        assert result.manifest["rows_in"] == rows.height, kind
        kept = read_dir(result.output / "data")
        # Every input column arrives, with its values.
        assert kept.select("id", "text").equals(rows.filter(pl.col("id").is_in(kept["id"].to_list())).select("id", "text")), kind
        outcomes[kind] = decisions(result.output)
        read_as = {"ndjson.zst": "jsonl", "feather": "arrow"}.get(kind, kind.split(".")[0])
        assert [i["format"] for i in result.manifest["inputs"]][0].startswith(read_as), kind
    reference = outcomes["parquet"]
    assert len(reference[0]) == 6 and set(reference[1].values()) == {"too_few_words", "empty_text", "exact_duplicate"}
    for kind, outcome in outcomes.items():
        assert outcome == reference, kind


@pytest.mark.slow  # starts two worker processes
def test_directory_skips_hidden_and_underscore_files_and_reads_in_sorted_order(tmp_path):
    rows = corpus()
    folder = tmp_path / "in"
    (folder / "b").mkdir(parents=True)
    rows.slice(0, 10).write_ndjson(folder / "b" / "x.jsonl")
    rows.slice(10, 10).write_ndjson(folder / "a.jsonl")
    rows.slice(20).write_parquet(folder / "c.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden.jsonl").write_text("not json at all\n")
    (folder / "_temporary").mkdir()
    (folder / "_temporary" / "part.jsonl").write_text("{broken\n")
    result = run(pipeline_file(tmp_path, "in"), workers=2)  # the two JSON Lines files convert in parallel
    assert [i["source"] for i in result.manifest["inputs"]] == ["a.jsonl", "b/x.jsonl", "c.parquet"]
    assert result.manifest["rows_in"] == rows.height
    every = pl.concat([read_dir(result.output / "data"), *[read_dir(d) for d in sorted((result.output / "removed").iterdir())]], how="diagonal_relaxed")
    assert every.group_by("curate_source").len().sort("curate_source").rows() == [("a.jsonl", 10), ("b/x.jsonl", 10), ("c.parquet", 10)]


def test_file_url_and_default_ids_count_rows_across_converted_parts(tmp_path, monkeypatch):
    import curate.run.staging as staging

    monkeypatch.setattr(staging, "PART_TEXT_BYTES", 400)  # several parts from one small file
    rows = corpus().drop("id")
    rows.write_ndjson(tmp_path / "rows.jsonl")
    spec = {"input": {"path": f"file://{tmp_path / 'rows.jsonl'}"}, "output": "run", "stages": [{"stage": "length_filter", "min_words": 0}]}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec))
    result = run(tmp_path / "p.yaml")
    assert result.manifest["rows_in"] == rows.height
    kept = read_dir(result.output / "data")
    assert kept["curate_id"].to_list() == [f"rows.jsonl#{i}" for i in range(rows.height) if rows["text"][i]]
    assert kept.height < rows.height  # the empty texts went to removed/


def test_a_file_url_is_percent_decoded_and_its_scheme_read_in_any_case(tmp_path):
    """A file URL as `Path.as_uri()` writes it (RFC 8089: `my%20data`, `%C3%A9`)."""
    from curate.run.sources import locate

    folder = tmp_path / "my data"
    folder.mkdir()
    corpus().write_ndjson(folder / "train é.jsonl")
    url = (folder / "train é.jsonl").as_uri()
    assert "/my%20data/train%20%C3%A9.jsonl" in url
    result = run(pipeline_file(tmp_path, url))
    assert [(i["path"], i["rows"]) for i in result.manifest["inputs"]] == [(str(folder.resolve() / "train é.jsonl"), corpus().height)]
    assert [loc.url for loc in locate([url.replace("file://", "FILE://")])] == [str(folder.resolve() / "train é.jsonl")]


def test_hive_partition_folders_are_folders_not_columns(tmp_path):
    # as docs/inputs-outputs.md says: the values are in curate_source, not columns of their own
    rows = corpus()
    for number, (year, month) in enumerate([("2024", "01"), ("2024", "02"), ("2025", "01")]):
        folder = tmp_path / "in" / f"year={year}" / f"month={month}"
        folder.mkdir(parents=True)
        rows.slice(number * 10, 10).write_parquet(folder / "part-0.parquet")
    result = run(pipeline_file(tmp_path, "in"))
    kept = read_dir(result.output / "data")
    assert kept.columns[:4] == ["id", "text", "score", "curate_source"] and "year" not in kept.columns and "month" not in kept.columns
    sources = ["year=2024/month=01/part-0.parquet", "year=2024/month=02/part-0.parquet", "year=2025/month=01/part-0.parquet"]
    assert [i["source"] for i in result.manifest["inputs"]] == sources
    assert set(kept["curate_source"]) == {sources[0]}  # the later partitions repeat its texts: exact duplicates


def test_a_file_whose_name_holds_glob_characters_is_that_file(tmp_path):
    from curate.run.sources import locate

    rows = corpus()
    rows.slice(0, 10).write_parquet(tmp_path / "export [1].parquet")
    rows.slice(10, 10).write_parquet(tmp_path / "export 1.parquet")  # what `[1]` matches as a glob
    assert [loc.url for loc in locate([str(tmp_path / "export [1].parquet")])] == [str(tmp_path / "export [1].parquet")]
    assert [loc.url for loc in locate([str(tmp_path / "export [0-9].parquet")])] == [str(tmp_path / "export 1.parquet")]  # no such file: a glob
    result = run(pipeline_file(tmp_path, "export [1].parquet"))
    assert result.manifest["rows_in"] == 10 and [i["source"] for i in result.manifest["inputs"]] == ["export [1].parquet"]


def test_a_linked_file_keeps_the_name_it_was_given_as_in_the_hugging_face_hub_cache(tmp_path):
    """The hub cache's snapshots/<rev>/ files are links to blobs/ named by their hash: the
    link's name says the format and the compression and is the rows' curate_source (the
    blob's was refused, or with input.format became every row's source)."""
    import hashlib

    import xxhash
    from typer.testing import CliRunner

    from curate.cli import app
    from curate.errors import OutputError
    from curate.run.rundir import check_apart

    rows = corpus()
    blobs, snapshot = tmp_path / "hub" / "blobs", tmp_path / "hub" / "snapshots" / "3f2a" / "data"
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for name, part in (("train.jsonl.gz", rows.slice(0, 20)), ("test.jsonl.gz", rows.slice(20))):
        data = gzip.compress(part.write_ndjson().encode())
        (blobs / hashlib.sha256(data).hexdigest()).write_bytes(data)
        (snapshot / name).symlink_to(Path("..", "..", "..", "blobs", hashlib.sha256(data).hexdigest()))
    train = snapshot / "train.jsonl.gz"
    expected = {"path": str(train), "format": "jsonl+gzip", "bytes": train.stat().st_size, "xxh3_64": xxhash.xxh3_64_hexdigest(train.read_bytes()),
                "source": "train.jsonl.gz", "rows": 20}
    for number, path in enumerate([str(train), str(tmp_path / "hub" / "snapshots" / "*" / "data" / "train.*")]):
        result = run(pipeline_file(tmp_path, path), output=tmp_path / f"run{number}")
        assert result.manifest["inputs"] == [expected], path
        assert set(read_dir(result.output / "data")["curate_source"]) == {"train.jsonl.gz"}
    given = CliRunner().invoke(app, ["run", str(pipeline_file(tmp_path, "nothing/*.jsonl")), "-q", "--input", str(train), "--output", str(tmp_path / "run2")])
    assert given.exit_code == 0, given.stderr
    assert json.loads((tmp_path / "run2" / "manifest.json").read_text())["inputs"] == [expected]
    with pytest.raises(OutputError, match="lies inside the output directory"):  # where a link leads counts, as where it lies
        check_apart([train], [], blobs)


def test_a_duplicate_id_is_named_by_its_row_in_the_file_across_converted_parts(tmp_path, monkeypatch):
    import curate.run.staging as staging

    monkeypatch.setattr(staging, "PART_TEXT_BYTES", 400)  # several parts from one small file
    rows = corpus()
    rows = pl.concat([rows, rows.head(1)])  # the last row repeats the first one's id
    rows.write_ndjson(tmp_path / "rows.jsonl")
    fails(pipeline_file(tmp_path, "rows.jsonl"), f"'doc-000' at rows.jsonl#0 and rows.jsonl#{rows.height - 1}")


def test_a_key_missing_from_some_lines_is_null_there(tmp_path):
    lines = [{"id": "a", "text": "first row of the file"}, {"id": "b", "text": "second row here", "lang": "en"}]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    (tmp_path / "more.jsonl").write_text(json.dumps({"id": "c", "text": "a third row", "lang": None}) + "\n")
    result = run(pipeline_file(tmp_path, "*.jsonl"))
    kept = read_dir(result.output / "data")
    assert kept.select("id", "lang").to_dicts() == [{"id": "c", "lang": None}, {"id": "a", "lang": None}, {"id": "b", "lang": "en"}]


def test_a_key_first_given_in_a_later_part_of_a_file_is_a_column(tmp_path, monkeypatch):
    import curate.run.staging as staging

    monkeypatch.setattr(staging, "PART_TEXT_BYTES", 400)  # several parts from one small file
    lines = [{"id": f"r{i}", "text": f"row number {i} of the file"} for i in range(40)] + [{"id": "last", "text": "the last row of all", "extra": 7}]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    kept = read_dir(run(pipeline_file(tmp_path, "rows.jsonl")).output / "data")
    assert kept.schema["extra"] == pl.Int64 and kept.filter(pl.col("extra").is_not_null())["id"].to_list() == ["last"]


def test_a_json_lines_file_of_null_texts_alone_is_curated_as_beside_another(tmp_path):
    # a daily batch with no text: refused alone ("text column 'text' has type null, not
    # string; point input.text_column at a text column"), accepted beside a file with text
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "a1", "text": "a row with enough words"}) + "\n")
    (tmp_path / "b.jsonl").write_text("".join(json.dumps({"id": f"b{i}", "text": None}) + "\n" for i in range(3)))
    both = run(pipeline_file(tmp_path, "*.jsonl"), tmp_path / "both")
    alone = run(pipeline_file(tmp_path, "b.jsonl"), tmp_path / "alone")
    for result in (both, alone):
        removed = read_dir(result.output / "removed" / "length_filter")
        assert removed.select("id", "text", "curate_reason").rows() == [("b0", None, "empty_text"), ("b1", None, "empty_text"), ("b2", None, "empty_text")]
        assert removed.schema["text"] == pl.String
    assert read_dir(both.output / "data")["id"].to_list() == ["a1"] and alone.manifest["rows_kept"] == 0


@pytest.mark.slow  # starts two worker processes
def test_limit_and_sample_are_recorded_and_deterministic(tmp_path):
    rows = corpus()
    rows.write_ndjson(tmp_path / "rows.jsonl")
    path = pipeline_file(tmp_path, "rows.jsonl")
    limited = run(path, tmp_path / "limited", limit=7)
    assert limited.manifest["rows_in"] == 7 and limited.manifest["slice"] == {"limit": 7, "sample": None, "seed": None}
    assert decisions(limited.output)[0] == ["doc-000", "doc-001", "doc-004", "doc-005"]
    assert limited.manifest["inputs"][0]["rows"] == 7  # the JSON Lines file was converted only up to the limit
    first = run(path, tmp_path / "s1", sample=0.5, seed=3)
    again = run(path, tmp_path / "s2", sample=0.5, seed=3, workers=2)
    other = run(path, tmp_path / "s3", sample=0.5, seed=4)
    assert 5 < first.manifest["rows_in"] < 25 and first.manifest["slice"] == {"limit": None, "sample": 0.5, "seed": 3}
    assert decisions(first.output) == decisions(again.output)
    assert decisions(first.output) != decisions(other.output)
    assert "--sample 0.5 --seed 3" in (first.output / "report.html").read_text()


def test_a_trial_run_and_check_do_not_hash_whole_input_files(tmp_path, monkeypatch):
    import curate.run.sources as sources
    from curate.config import load_pipeline
    from curate.run.preflight import preflight

    corpus().write_ndjson(tmp_path / "rows.jsonl")
    path = pipeline_file(tmp_path, "rows.jsonl")

    def whole_file(_):
        raise AssertionError("read the whole file")

    monkeypatch.setattr(sources, "file_hash", whole_file)
    assert preflight(load_pipeline(path)).errors == []
    limited = run(path, tmp_path / "limited", limit=7)
    stat = (tmp_path / "rows.jsonl").stat()
    assert limited.manifest["inputs"][0]["trial_identity"].startswith(f"size:{stat.st_size}:mtime_ns:{stat.st_mtime_ns}:head:")


def test_limit_reads_no_file_past_it(tmp_path):
    rows = corpus()
    rows.slice(0, 10).write_ndjson(tmp_path / "a.jsonl")
    (tmp_path / "b.jsonl").write_text("not even JSON: never read under --limit 5\n")
    result = run(pipeline_file(tmp_path, "*.jsonl"), limit=5)
    assert [(i["source"], i["rows"]) for i in result.manifest["inputs"]] == [("a.jsonl", 5), ("b.jsonl", 0)]
    assert result.manifest["rows_in"] == 5


# ---------------------------------------------------------------- bad input


def fails(pipeline: Path, *needles: str) -> str:
    """`curate run` through its command-line entry, in this process (no interpreter start-up)."""
    from typer.testing import CliRunner

    from curate.cli import app

    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["run", str(pipeline)])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == INPUT, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not (pipeline.parent / "run" / "manifest.json").exists() and not (pipeline.parent / "run" / "data").exists()
    return lines[0]


def test_a_line_that_is_not_json_names_file_and_line(tmp_path):
    good = [json.dumps({"id": str(i), "text": f"row number {i} of the file"}) for i in range(40)]
    good[22] = '{"id": "22", "text": "cut off'
    (tmp_path / "rows.jsonl.gz").write_bytes(gzip.compress(("\n".join(good) + "\n").encode()))
    pipeline = pipeline_file(tmp_path, "rows.jsonl.gz")
    fails(pipeline, "rows.jsonl.gz, line 23", "not JSON")
    good[22] = '{"id": "22", "text": "mended"}'
    (tmp_path / "rows.jsonl.gz").write_bytes(gzip.compress(("\n".join(good) + "\n").encode()))
    assert run(pipeline).manifest["rows_in"] == 40  # the fixed file runs without --fresh


def test_a_json_array_file_is_not_json_lines(tmp_path):
    (tmp_path / "rows.json").write_text(json.dumps([{"id": "1", "text": "one"}, {"id": "2", "text": "two"}]))
    fails(pipeline_file(tmp_path, "rows.json"), "rows.json, line 1", "array")


def test_unsupported_extension_and_scheme(tmp_path):
    (tmp_path / "rows.xlsx").write_bytes(b"PK")
    fails(pipeline_file(tmp_path, "rows.xlsx"), "rows.xlsx", "input.format")
    fails(pipeline_file(tmp_path, "ftp://host/rows.jsonl"), "unsupported URL scheme ftp://")
    (tmp_path / "rows.parquet.gz").write_bytes(b"x")
    fails(pipeline_file(tmp_path, "rows.parquet.gz"), f"error: {tmp_path / 'rows.parquet.gz'}: a compressed parquet")  # the whole path: inputs may sit in several folders


def test_a_missing_extra_names_it(tmp_path, monkeypatch):
    import importlib.util

    from curate.errors import ConfigError, InputDataError
    from curate.run.sources import locate
    from curate.run.upload import RemoteRun

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gcsfs" else real(name, *a))
    with pytest.raises(ConfigError, match=r"^input gs://bucket/crawl/\*.jsonl.gz: gs:// needs gcsfs, not installed here: pip install gcsfs \(or pip install -e '\.\[gcs\]' from curate's folder\)$") as missing:
        locate(["gs://bucket/crawl/*.jsonl.gz"])
    # a setup problem (exit 2), not bad input as an unknown scheme is (exit 3): docs/inputs-outputs.md says which
    with pytest.raises(InputDataError, match=r"^input foo://bucket/x.parquet: unsupported URL scheme foo://") as unknown:
        locate(["foo://bucket/x.parquet"])
    assert (missing.value.exit_code, unknown.value.exit_code) == (2, 3)
    with pytest.raises(ConfigError, match=r"^output gs://bucket/runs/today: gs:// needs gcsfs, not installed here"):  # the same exit code
        RemoteRun("gs://bucket/runs/today", {}).manifest()


def test_an_output_url_curate_cannot_write_to():
    from curate.errors import OutputError
    from curate.run.upload import RemoteRun

    with pytest.raises(OutputError, match=r"output https://example.org/run: unsupported URL scheme https://; curate writes to local paths, file:// and s3://"):
        RemoteRun("https://example.org/run", {})


def test_conflicting_schemas_across_files(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "1", "text": "a row of text", "meta": {"x": 1}}) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "2", "text": "another row", "meta": [1, 2]}) + "\n")
    fails(pipeline_file(tmp_path, "*.jsonl"), "b.jsonl", "column 'meta'", "conflict")
    # a list against a plain value: polars would call String their common type
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.jsonl").write_text(json.dumps({"id": "1", "text": "a row of text", "tags": "news"}) + "\n")
    (plain / "b.jsonl").write_text(json.dumps({"id": "2", "text": "another row", "tags": ["news", "sport"]}) + "\n")
    fails(pipeline_file(plain, "*.jsonl"), "b.jsonl: column 'tags' is List(String) here but String in", "a.jsonl; the schemas conflict")
    # The same conflict inside one file's part: the key and both lines.
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.jsonl").write_text(json.dumps({"id": "1", "text": "a row", "meta": {"x": 1}}) + "\n" + json.dumps({"id": "2", "text": "b", "meta": [1]}) + "\n")
    fails(pipeline_file(one, "*.jsonl"), "a.jsonl, line 2: key 'meta' is a list here but an object on line 1", "one type in every line")


def test_true_in_one_file_or_part_and_a_number_in_another_stop_the_run(tmp_path, monkeypatch):
    """As within one part: polars' common type of Boolean and Int64 would make true 1."""
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "1", "text": "a row of text", "flags": {"ok": True}}) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "2", "text": "another row", "flags": {"ok": 0}}) + "\n")
    fails(pipeline_file(tmp_path, "*.jsonl"), "b.jsonl: column 'flags' is Struct({'ok': Int64}) here but Struct({'ok': Boolean}) in", "a.jsonl; the schemas conflict")
    import curate.run.staging as staging

    # the two values in different parts of one file, beyond the first records that curate
    # reads before the run (those find it with both line numbers)
    monkeypatch.setattr(staging._text_blocks, "__defaults__", (40_000,))
    one = tmp_path / "one"
    one.mkdir()
    lines = [{"id": str(i), "text": f"row number {i} of the file", "k": True if i < 10 else None} for i in range(1_100)] + [{"id": "1100", "text": "the last row", "k": 1.5}]
    (one / "a.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    fails(pipeline_file(one, "a.jsonl"), "a.jsonl: column 'k' is Float64 here but Boolean in")


def test_a_byte_order_mark_and_windows_line_ends_are_read(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b'\xef\xbb\xbf{"id": "1", "text": "hello world, a first line"}\r\n{"id": "2", "text": "[1] a citation, a string"}\r\n')
    result = run(pipeline_file(tmp_path, "a.jsonl"))
    assert read_dir(result.output / "data").select("id", "text").rows() == [("1", "hello world, a first line"), ("2", "[1] a citation, a string")]


def test_integers_beyond_64_bits_are_kept_exactly(tmp_path):
    # a uint64 hash in one file, small integers in another: polars' common type is Int128,
    # which Arrow and Parquet do not have
    (tmp_path / "a.jsonl").write_text('{"id": "a", "text": "one two three four", "h": 18446744073709551615}\n')
    (tmp_path / "b.jsonl").write_text('{"id": "b", "text": "five six seven eight", "h": -5}\n')
    result = run(pipeline_file(tmp_path, "*.jsonl"))
    kept = read_dir(result.output / "data")
    assert kept.schema["h"] == pl.Decimal(38, 0)
    assert [int(v) for v in kept.sort("id")["h"]] == [18446744073709551615, -5]


CSV_AS_EXPORTED = (
    # what pandas, R and hand-written exports put in a CSV: ids and codes with leading
    # zeros, ids beyond 64 bits, times with an offset, version numbers, R's NA
    "id,text,zip,account,at,flag,prob,price,note,day,stamp,utc\n"
    "1,alpha beta gamma,02134,12345678901234567890123,2021-04-01 10:00:00+02:00,True,1e-05,10,NA,2021-04-01,2021-04-01 10:00:00,2021-04-01T10:00:00Z\n"
    "2,delta epsilon zeta,10001,12345678901234567890124,2021-04-02 11:30:00+02:00,False,3e-05,12.50,,2021-04-02,2021-04-02T11:30:00.250,2021-04-02T11:30:00Z\n"
    "3,eta theta iota,,,,NA,,9.99,n/a,,,\n"
)


def test_csv_values_arrive_as_written_and_typed_only_where_nothing_changes(tmp_path):
    (tmp_path / "export.csv").write_text(CSV_AS_EXPORTED)
    kept = read_dir(run(pipeline_file(tmp_path, "export.csv")).output / "data").sort("id")
    assert {name: kept.schema[name] for name in ("id", "zip", "account", "at", "flag", "prob", "price", "note", "day", "stamp", "utc")} == {
        "id": pl.Int64, "zip": pl.String, "account": pl.String, "at": pl.String, "flag": pl.Boolean, "prob": pl.Float64,
        "price": pl.Float64, "note": pl.String, "day": pl.Date, "stamp": pl.Datetime("us"), "utc": pl.Datetime("us", "UTC"),
    }
    assert kept["zip"].to_list() == ["02134", "10001", ""]  # text stays as written, the empty field too
    assert kept["account"].to_list() == ["12345678901234567890123", "12345678901234567890124", ""]
    assert kept["at"].to_list() == ["2021-04-01 10:00:00+02:00", "2021-04-02 11:30:00+02:00", ""]
    assert kept["note"].to_list() == ["NA", "", "n/a"]
    assert kept["flag"].to_list() == [True, False, None]  # NA is a missing value in a typed column
    assert kept["prob"].to_list() == [1e-05, 3e-05, None]
    assert kept["price"].to_list() == [10.0, 12.5, 9.99]
    assert [str(v) for v in kept["stamp"]] == ["2021-04-01 10:00:00", "2021-04-02 11:30:00.250000", "None"]


def test_csv_infer_types_false_keeps_every_column_text(tmp_path):
    (tmp_path / "export.csv").write_text(CSV_AS_EXPORTED)
    typed = run(pipeline_file(tmp_path, "export.csv"), tmp_path / "typed")
    as_text = run(pipeline_file(tmp_path, "export.csv", csv={"infer_types": False}), tmp_path / "as_text")
    assert read_dir(typed.output / "data").schema["id"] == pl.Int64
    kept = read_dir(as_text.output / "data").sort("id")
    assert all(kept.schema[name] == pl.String for name in CSV_AS_EXPORTED.split("\n")[0].split(","))
    assert kept.select("id", "flag", "prob").rows() == [("1", "True", "1e-05"), ("2", "False", "3e-05"), ("3", "NA", "")]


def test_a_csv_columns_type_does_not_depend_on_where_files_or_parts_are_cut(tmp_path, monkeypatch):
    import curate.run.staging as staging

    # an optional field empty in a whole daily file is null beside the numbers of another
    (tmp_path / "days").mkdir()
    (tmp_path / "days" / "day1.csv").write_text("id,text,score\n1,alpha beta gamma,7\n2,delta epsilon zeta,8\n")
    (tmp_path / "days" / "day2.csv").write_text("id,text,score\n3,eta theta iota,\n4,kappa lambda mu,\n")
    days = read_dir(run(pipeline_file(tmp_path / "days", "."), tmp_path / "days_run").output / "data").sort("id")
    assert days.schema["score"] == pl.Int64 and days["score"].to_list() == [7, 8, None, None]
    # integers and decimals in one file are floats, as in two files
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "prices.csv").write_text("id,text,price\n1,alpha beta gamma,10\n2,delta epsilon zeta,12.5\n")
    one = read_dir(run(pipeline_file(tmp_path / "one", "prices.csv"), tmp_path / "one_run").output / "data")
    assert one.schema["price"] == pl.Float64 and sorted(one["price"]) == [10.0, 12.5]
    # a code with a leading zero in the file's last part keeps the whole column text,
    # the earlier parts' values as written
    monkeypatch.setattr(staging, "PART_TEXT_BYTES", 100)
    monkeypatch.setattr(staging, "CSV_BLOCK_BYTES", 64)
    parts = []
    monkeypatch.setattr(staging, "_add_kinds", lambda kinds, frame, csv, add=staging._add_kinds: (parts.append(frame.height), add(kinds, frame, csv))[1])
    codes = [str(100 + i) for i in range(30)] + ["007"]
    (tmp_path / "codes.csv").write_text("id,text,code\n" + "".join(f"{i},row number {i} here,{code}\n" for i, code in enumerate(codes)))
    result = run(pipeline_file(tmp_path, "codes.csv"), tmp_path / "codes_run")
    assert len(parts) > 3
    kept = read_dir(result.output / "data").sort("id")
    assert kept.schema["code"] == pl.String and kept["code"].to_list() == codes


def _column_across(tmp_path: Path, name: str, files: dict[str, object]) -> pl.Series:
    """Column `name` of every kept row (sorted by id) when `files` (a CSV's text, or a
    frame written as Parquet) are one run's input."""
    folder = tmp_path / name
    folder.mkdir()
    for file, content in files.items():
        if isinstance(content, str):
            (folder / file).write_text(content)
        else:
            content.write_parquet(folder / file)  # type: ignore[attr-defined]
    pipeline = pipeline_file(folder, sorted(files))
    spec = yaml.safe_load(pipeline.read_text())
    spec["stages"] = [{"stage": "length_filter", "min_words": 0}]
    pipeline.write_text(yaml.safe_dump(spec))
    return read_dir(run(pipeline, folder / "run").output / "data").sort("id")["v"]


def test_a_csv_columns_type_comes_from_every_file_of_the_run_and_nothing_is_rewritten(tmp_path):
    import datetime

    header = "id,text,v\n"
    # a date in one file, a number in another: text, each value as written (not days since 1970)
    when = _column_across(tmp_path, "when", {"a.csv": header + "1,first row,2021-04-01\n", "b.csv": header + "2,second row,5\n"})
    assert when.dtype == pl.String and when.to_list() == ["2021-04-01", "5"]
    # typed in one file, text in another: text in both, as written (NA stays NA, 2 stays 2)
    mixed = _column_across(tmp_path, "mixed", {"a.csv": header + "1,first row,2\n2,second row,NA\n", "b.csv": header + "3,third row,n/a-7\n"})
    assert mixed.to_list() == ["2", "NA", "n/a-7"]
    # 0/1 in one file, True/False in another: text, as written (no conflict to fix in a CSV)
    flags = _column_across(tmp_path, "flags", {"a.csv": header + "1,first row,0\n", "b.csv": header + "2,second row,True\n"})
    assert flags.to_list() == ["0", "True"]
    # a file whose column is all NA (R's empty column) beside numbers: numbers, NA null
    numbers = _column_across(tmp_path, "na", {"a.csv": header + "1,first row,NA\n", "b.csv": header + "2,second row,2.5\n"})
    assert numbers.dtype == pl.Float64 and numbers.to_list() == [None, 2.5]
    # a Parquet file's timestamp[ns] beside a CSV's datetimes: ns, nothing cut
    stamps = pl.DataFrame({"id": [1], "text": ["first row"], "v": [datetime.datetime(2021, 4, 1, 10, 0, 0, 123456)]}).with_columns(
        pl.col("v").cast(pl.Datetime("ns")) + pl.duration(nanoseconds=789))
    moments = _column_across(tmp_path, "ns", {"a.parquet": stamps, "b.csv": header + "2,second row,2021-04-02 11:00\n"})
    assert moments.dtype == pl.Datetime("ns") and moments.dt.nanosecond().to_list() == [123456789, 0]
    # a Parquet date beside a CSV's integers: text (the dates as their ISO text, not counts)
    dates = pl.DataFrame({"id": [1], "text": ["first row"], "v": [datetime.date(2021, 4, 1)]})
    assert _column_across(tmp_path, "date", {"a.parquet": dates, "b.csv": header + "2,second row,7\n"}).to_list() == ["2021-04-01", "7"]
    # year 0 is no date: text
    assert _column_across(tmp_path, "year0", {"a.csv": header + "1,first row,0000-01-01\n"}).to_list() == ["0000-01-01"]
    # a 19-digit integer beside a float column: text (a float64 would change its digits)
    floats = pl.DataFrame({"id": [1], "text": ["first row"], "v": [0.5]})
    assert _column_across(tmp_path, "big", {"a.parquet": floats, "b.csv": header + "2,second row,1234567890123456789\n"}).to_list() == ["0.5", "1234567890123456789"]
    # microseconds beside a Parquet timestamp[ms]: microseconds, nothing cut
    ms = pl.DataFrame({"id": [1], "text": ["first row"], "v": [datetime.datetime(2021, 4, 1, 10, 0, 0, 123000)]}).with_columns(pl.col("v").cast(pl.Datetime("ms")))
    fine = _column_across(tmp_path, "ms", {"a.parquet": ms, "b.csv": header + "2,second row,2021-04-01 10:00:00.123456\n"})
    assert fine.dt.microsecond().to_list() == [123000, 123456]
    # a timestamp in another time zone: no common type, text
    berlin = pl.DataFrame({"id": [1], "text": ["first row"], "v": [datetime.datetime(2021, 4, 1, 10)]}).with_columns(pl.col("v").dt.replace_time_zone("Europe/Berlin"))
    zoned = _column_across(tmp_path, "tz", {"a.parquet": berlin, "b.csv": header + "2,second row,2021-04-01 10:00:00\n"})
    assert zoned.dtype == pl.String and zoned[1] == "2021-04-01 10:00:00"


def test_a_json_object_beside_csv_text_stops_the_run(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "a", "text": "first row", "v": {"k": 2, "w": "y"}}) + "\n")
    (tmp_path / "b.csv").write_text("id,text,v\nb,second row,plain text\n")
    fails(pipeline_file(tmp_path, ["a.jsonl", "b.csv"]), "column 'v' is Struct", "text in a CSV file beside it")


def test_a_date_beside_a_number_in_parquet_or_json_lines_stops_the_run(tmp_path):
    import datetime

    pl.DataFrame({"id": ["a"], "text": ["first row"], "v": [datetime.date(2021, 4, 1)]}).write_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "b", "text": "second row", "v": 5}) + "\n")
    fails(pipeline_file(tmp_path, ["a.parquet", "b.jsonl"]), "column 'v' is Int64 here but Date in")


def test_csv_files_as_exporters_write_them(tmp_path):
    # one column: polars writes a null as an empty line, which is a row
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "texts.csv").write_text("text\nfirst row here\n\nthird row here\n")
    spec = {"input": {"path": "texts.csv"}, "output": "run", "stages": [{"stage": "length_filter", "min_words": 1}]}
    (tmp_path / "one" / "p.yaml").write_text(yaml.safe_dump(spec))
    one = run(tmp_path / "one" / "p.yaml", tmp_path / "one" / "run")
    assert one.manifest["rows_in"] == 3 and one.manifest["rows_removed"] == 1
    # a Spark folder: an empty part holds no rows; its escaped quotes with input.csv.escape_char
    (tmp_path / "spark").mkdir()
    (tmp_path / "spark" / "part-00000.csv").write_text('id,text\n1,"she said \\"hello\\" and left"\n')
    (tmp_path / "spark" / "part-00001.csv").write_text("")
    (tmp_path / "spark" / "_SUCCESS").write_text("")
    kept = read_dir(run(pipeline_file(tmp_path, "spark", csv={"escape_char": "\\"}), tmp_path / "spark_run").output / "data")
    assert kept["text"].to_list() == ['she said "hello" and left']


def test_a_utf16_csv_a_ragged_row_and_an_unclosed_quote_say_what_is_wrong(tmp_path):
    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "excel.csv").write_bytes("id,text\n1,hello world\n".encode("utf-16"))
    fails(pipeline_file(tmp_path / "u", "excel.csv"), "excel.csv: the file is UTF-16", "save it as UTF-8")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "ragged.csv").write_text("id,text\n1,hello world\n2,hello, world\n")
    fails(pipeline_file(tmp_path / "r", "ragged.csv"), "ragged.csv: cannot read it as CSV", "a row has another number of fields than the header line")
    # a quote never closed would take the rest of the file into one field: its rows lost in it
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "open.csv").write_text('id,text\n1,"hello world\n2,second row\n3,third row\n')
    fails(pipeline_file(tmp_path / "q", "open.csv"), "open.csv: a quoted field is never closed", "'text' holds 3 more lines")
    # a quote inside an unquoted field is text
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "inch.csv").write_text('id,text\n1,a 5" screen and more\n2,"quoted, with a comma"\n')
    kept = read_dir(run(pipeline_file(tmp_path / "t", "inch.csv"), tmp_path / "t" / "run").output / "data").sort("id")
    assert kept["text"].to_list() == ['a 5" screen and more', "quoted, with a comma"]


def test_a_parquet_file_beside_its_csv_export_keeps_its_types(tmp_path):
    import datetime

    rows = pl.DataFrame({"id": [1, 2], "text": ["first row of the month", "second row of the month"], "prob": [0.75, 3e-05],
                         "keep": [False, True], "day": [datetime.date(2021, 3, 1), datetime.date(2021, 3, 2)]})
    rows.write_parquet(tmp_path / "march.parquet")
    (tmp_path / "april.csv").write_text("id,text,prob,keep,day\n4,first row of april,0.5,True,2021-04-01\n5,second row of april,1e-07,False,2021-04-02\n")
    kept = read_dir(run(pipeline_file(tmp_path, ["march.parquet", "april.csv"])).output / "data").sort("id")
    assert kept.select("prob", "keep", "day").schema == pl.Schema({"prob": pl.Float64, "keep": pl.Boolean, "day": pl.Date})
    assert kept.select("id", "prob", "keep").rows() == [(1, 0.75, False), (2, 3e-05, True), (4, 0.5, True), (5, 1e-07, False)]


def test_a_parquet_files_arrow_types_hold_beside_json_lines_where_the_values_keep_them(tmp_path):
    import pyarrow.parquet as pq

    table = pa.table({"id": pa.array(["a", "b"], pa.string()), "text": pa.array(["one two three four", "five six seven eight"], pa.string()),
                      "n": pa.array([1, 2], pa.int32()), "tags": pa.array([["x"], ["y"]], pa.list_(pa.string()))})
    pq.write_table(table, tmp_path / "a.parquet")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "c", "text": "nine ten eleven twelve", "n": 3, "tags": ["z"]}) + "\n")
    result = run(pipeline_file(tmp_path, ["a.parquet", "b.jsonl"]))
    written = pq.read_schema(sorted((result.output / "data").glob("*.parquet"))[0])
    # string and list<string> as the Parquet file has them; int32 beside JSON's integers
    # is their common type, int64
    assert [str(written.field(name).type) for name in ("id", "text", "n", "tags")] == ["string", "string", "int64", "list<element: string>"]


def test_parquet_files_must_agree_beside_json_lines_and_their_integers_must_survive_a_float(tmp_path):
    """The Parquet files of a run declare the same types whatever other formats are beside
    them; an int64 or decimal column that a JSON float makes a float keeps every value
    exactly, or the run stops naming the file, column and value."""
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a"], "text": ["one two three four"], "n": pa.array([1], pa.int32())}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": ["b"], "text": ["five six seven eight"], "n": pa.array([2], pa.int64())}), tmp_path / "b.parquet")
    (tmp_path / "c.jsonl").write_text(json.dumps({"id": "c", "text": "nine ten eleven twelve"}) + "\n")
    fails(pipeline_file(tmp_path, ["a.parquet", "b.parquet", "c.jsonl"]), "b.parquet: schema differs from", "a.parquet (column 'n' is int64, not int32)")

    big = tmp_path / "big"
    big.mkdir()
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": ["a row of text", "another row of text"], "n": pa.array([7, 4611686018427387905], pa.int64()),
                             "price": pa.array([decimal.Decimal("19.99"), decimal.Decimal("0.07")], pa.decimal128(10, 2))}), big / "a.parquet")
    (big / "b.jsonl").write_text(json.dumps({"id": "j1", "text": "a third row", "n": 0.5, "price": 1.5}) + "\n")
    fails(pipeline_file(big, ["a.parquet", "b.jsonl"]), "a.parquet: column 'n' holds 4611686018427387905 here (int64), which the type all input files' values of it take (double) cannot hold exactly")
    # within one JSON Lines file: polars reads the key as floats; inside lists and objects too
    one = tmp_path / "one"
    one.mkdir()
    (one / "a.jsonl").write_text("".join(json.dumps(line) + "\n" for line in [
        {"id": "a", "text": "a row of text", "n": 1e20, "m": {"v": [0.5]}},
        {"id": "b", "text": "another row of text", "n": 0.5, "m": {"v": [4611686018427387905]}},
    ]))
    fails(pipeline_file(one, "a.jsonl"), "a.jsonl, line 2: key 'm.v' is the integer 4611686018427387905 here and a float on other lines", "write it as a string")
    # 2^53 + 1, read as the float 2^53; a key whose name JSON may escape
    (one / "a.jsonl").write_text('{"id": "a", "text": "a row of text", "x\\u00e9": 0.5}\n{"id": "b", "text": "another row", "x\\u00e9": 9007199254740993}\n')
    fails(pipeline_file(one, "a.jsonl"), "a.jsonl, line 2: key 'xé' is the integer 9007199254740993 here")
    beside_csv = tmp_path / "beside_csv"
    beside_csv.mkdir()
    (beside_csv / "a.parquet").write_bytes((big / "a.parquet").read_bytes())
    (beside_csv / "c.csv").write_text("id,text,n,price\nc1,a csv row,0.25,2.5\n")
    fails(pipeline_file(beside_csv, ["a.parquet", "c.csv"]), "a.parquet: column 'n' holds 4611686018427387905 here (int64)")
    # inside lists too; and a decimal whose digits cannot hold another file's integer
    nested = tmp_path / "nested"
    nested.mkdir()
    pq.write_table(pa.table({"id": ["p1"], "text": ["a row of text"], "v": pa.array([[1234567890123456789]], pa.list_(pa.int64())),
                             "d": pa.array([decimal.Decimal("0.5")], pa.decimal128(38, 36))}), nested / "a.parquet")
    (nested / "b.jsonl").write_text(json.dumps({"id": "j1", "text": "a third row", "v": [0.5], "d": 0.25}) + "\n")
    fails(pipeline_file(nested, ["a.parquet", "b.jsonl"]), "a.parquet: column 'v' holds [1234567890123456789] here (large_list<item: int64>)")
    narrow = tmp_path / "narrow"
    narrow.mkdir()
    (narrow / "a.parquet").write_bytes((nested / "a.parquet").read_bytes())
    (narrow / "b.jsonl").write_text(json.dumps({"id": "j1", "text": "a third row", "v": [5], "d": 1234}) + "\n")
    fails(pipeline_file(narrow, ["a.parquet", "b.jsonl"]), "b.jsonl: column 'd' holds 1234 here (int64), which the type all input files' values of it take (decimal128(38, 36)) cannot hold exactly")
    # a CSV's integers beside a decimal column take the decimal, as JSON's do
    csv_decimal = tmp_path / "csv_decimal"
    csv_decimal.mkdir()
    pq.write_table(pa.table({"id": ["p1"], "text": ["a row of text"], "price": pa.array([decimal.Decimal("19.99")], pa.decimal128(10, 2))}), csv_decimal / "a.parquet")
    (csv_decimal / "b.csv").write_text("id,text,price\nc1,a csv row,7\n")
    kept = read_dir(run(pipeline_file(csv_decimal, ["a.parquet", "b.csv"])).output / "data").sort("id")
    assert kept.select("id", "price").rows() == [("c1", decimal.Decimal("7.00")), ("p1", decimal.Decimal("19.99"))]
    # integers and decimals a float holds exactly become floats, as documented
    pq.write_table(pa.table({"id": ["p1"], "text": ["a row of text"], "n": pa.array([7], pa.int64()),
                             "price": pa.array([decimal.Decimal("19.99")], pa.decimal128(10, 2))}), big / "a.parquet")
    kept = read_dir(run(pipeline_file(big, ["a.parquet", "b.jsonl"])).output / "data").sort("id")
    assert kept.select("id", "n", "price").rows() == [("j1", 0.5, 1.5), ("p1", 7.0, 19.99)]


@pytest.mark.parametrize(("values", "kind"), [
    (["0", "-12", "42"], "int"),
    (["007", "42"], "text"),
    (["+5", "42"], "text"),
    (["-0", "1"], "float"),  # not int: -0 would come back as 0
    (["9223372036854775807"], "int"),
    (["9223372036854775808"], "text"),  # beyond 64 bits, and not a float's digits either
    (["10", "12.5", "1e-05", "1E+16", "-0.0", "12.50"], "float"),
    (["9007199254740993"], "int"),
    (["9007199254740993", "0.5"], "text"),  # a float would make it ...992
    ([".5", "-.25", "5."], "float"),
    (["1,5"], "text"),
    (["True", "False", "NA", ""], "bool"),
    (["true", "false"], "bool"),
    (["1", "0"], "int"),
    (["2021-04-01", "2021-02-28"], "date"),
    (["2021-02-30"], "text"),
    (["2021-04-01 10:00:00", "2021-04-01T10:00:00.123456"], "datetime"),
    (["2021-04-01T10:00:00.1234567"], "text"),  # beyond microseconds
    (["2021-04-01T10:00:00Z"], "datetime_utc"),
    (["2021-04-01T10:00:00Z", "2021-04-01T10:00:00"], "text"),
    (["2021-04-01 10:00:00+02:00"], "text"),
    (["", ""], "null"),
    (["NA", ""], "text"),  # only missing-value spellings: the text as written
    (["inf", "-inf", "1.5"], "float"),  # what pandas writes for infinities
    (["Infinity"], "text"),
    (["0.10000000000000001", "0.30000000000000004"], "float"),  # %.17g: the digits of the double
    (["0.1000000000000000055511151231257827"], "text"),  # beyond 17 digits: not a double's
    (["1e400"], "text"),  # beyond a float: inf
    (["1e-400"], "text"),  # below a float: 0.0
])
def test_csv_column_kinds(values, kind):
    from curate.run.csv_types import column_kinds

    assert column_kinds(pl.Series(values, dtype=pl.String)).decided() == kind


def test_csv_kinds_of_parts_combine_as_of_the_whole_column():
    from curate.run.csv_types import column_kinds

    values = ["10", "", "12.5", "NA", "007"]
    for cut in range(len(values) + 1):
        parts = column_kinds(pl.Series(values[:cut], dtype=pl.String)) & column_kinds(pl.Series(values[cut:], dtype=pl.String))
        assert parts == column_kinds(pl.Series(values, dtype=pl.String))
        assert parts.decided() == "text"


def test_bz2_and_xz_files_are_read_and_other_compressions_refused_by_name(tmp_path):
    import bz2
    import lzma

    rows = corpus()
    text = [rows.slice(0, 17).write_ndjson(), rows.slice(17).write_ndjson()]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl.bz2").write_bytes(bz2.compress(text[0].encode()))
    (folder / "b.json.xz").write_bytes(lzma.compress(text[1].encode()))
    result = run(pipeline_file(tmp_path, "in"))
    assert [(i["source"], i["format"], i["rows"]) for i in result.manifest["inputs"]] == [("a.jsonl.bz2", "jsonl+bz2", 17), ("b.json.xz", "jsonl+xz", 13)]
    every = pl.concat([read_dir(result.output / "data"), *[read_dir(d) for d in sorted((result.output / "removed").iterdir())]], how="diagonal_relaxed")
    assert every.select(rows.columns).sort("id").equals(rows)
    # a compression curate cannot read: refused by name, in a folder as named alone, never skipped
    (folder / "c.jsonl.lz4").write_bytes(b"\x04\x22\x4d\x18")
    (tmp_path / "next").mkdir()
    fails(pipeline_file(tmp_path / "next", str(folder)), "c.jsonl.lz4: lz4 compression is not supported (gzip, zstd, bz2 and xz are)")
    fails(pipeline_file(tmp_path / "next", str(folder / "c.jsonl.lz4"), format="jsonl"), "c.jsonl.lz4: lz4 compression is not supported")
    (folder / "d.jsonl.xz").write_bytes(lzma.compress(text[0].encode())[:-20])
    fails(pipeline_file(tmp_path / "next", str(folder / "d.jsonl.xz")), "d.jsonl.xz: cannot decompress or read it", "the file may be truncated or not xz")


def test_a_compressed_file_whose_name_says_no_compression_is_refused_and_read_once_renamed(tmp_path):
    """gzip bytes under a plain name: a small CSV has no line break in them, which pyarrow
    took for an empty file (0 rows, exit 0); JSON Lines 'looked UTF-16'."""
    from typer.testing import CliRunner

    from curate.cli import app

    rows = corpus()
    folder = tmp_path / "in"
    folder.mkdir()
    pacsv.write_csv(rows.slice(0, 10).to_arrow(), folder / "a.csv")
    (folder / "b.csv").write_bytes(gzip.compress(b"id,text,score\nb-1,a gzip row of csv text,0.5\n", mtime=0))
    (folder / "c.jsonl").write_bytes(gzip.compress(rows.slice(10).write_ndjson().encode(), mtime=0))
    pipeline = pipeline_file(tmp_path, "in")
    for command, named in (("check", f"{pipeline}: "), ("run", "")):  # each file, one line, before any output
        refused = CliRunner().invoke(app, [command, str(pipeline)])
        assert refused.exit_code == INPUT and refused.stderr.splitlines() == [
            f"error: {named}{folder / name}: the file is gzip-compressed (its first bytes say so), but its name does not end in .gz; rename it {name}.gz or decompress it"
            for name in ("b.csv", "c.jsonl")
        ], refused.stderr
    assert not (tmp_path / "run").exists()
    for name in ("b.csv", "c.jsonl"):
        (folder / name).rename(folder / f"{name}.gz")
    result = run(pipeline)
    assert [(i["source"], i["format"], i["rows"]) for i in result.manifest["inputs"]] == [("a.csv", "csv", 10), ("b.csv.gz", "csv+gzip", 1), ("c.jsonl.gz", "jsonl+gzip", 20)]
    every = pl.concat([read_dir(result.output / "data"), *[read_dir(d) for d in sorted((result.output / "removed").iterdir())]], how="diagonal_relaxed")
    assert every.filter(pl.col("id") == "b-1")["text"].to_list() == ["a gzip row of csv text"] and every.height == rows.height + 1


def test_check_finds_what_the_first_records_show(tmp_path):
    """`curate check` reads a JSON Lines file's first records as the conversion does;
    a key `{}` there is refused only when they are the whole file (a later line may give
    the object its keys)."""
    from typer.testing import CliRunner

    from curate.cli import app

    def check(lines: list[str]) -> str:
        (tmp_path / "a.jsonl").write_text("".join(line + "\n" for line in lines))
        result = CliRunner().invoke(app, ["check", str(pipeline_file(tmp_path, "a.jsonl"))])
        return f"{result.exit_code} {result.stderr}"

    row = '{"id": "%d", "text": "row number %d", "meta": %s, "n": %s}'
    found = check([row % (1, 1, '{"a": 1}', 1), row % (2, 2, '{"a": 2}', 10**38)])
    assert found.startswith("3 ") and "a.jsonl, line 2: key 'n' holds an integer of 39 digits" in found
    found = check([row % (1, 1, "{}", 1), row % (2, 2, "{}", 2)])
    assert found.startswith("3 ") and "a.jsonl, line 1: key 'meta' is an empty object ({})" in found
    late = [row % (i, i, "{}", i) for i in range(1_000)] + [row % (1_000, 1_000, '{"source": "web"}', 1)]
    assert check(late).startswith("0 ")
    result = run(pipeline_file(tmp_path, "a.jsonl"))
    assert read_dir(result.output / "data")["meta"].struct.field("source").to_list()[-2:] == [None, "web"]


def write_stream(path: Path, table: pa.Table) -> None:
    """An Arrow stream file, as `datasets` writes its data and cache files."""
    with pa.ipc.new_stream(path, table.schema) as writer:
        writer.write_table(table)


def test_a_datasets_folder_is_the_files_its_state_json_lists_not_its_caches(tmp_path):
    rows = corpus()
    folder = Path(write_as(rows, tmp_path / "hf", "arrow"))
    # what load_from_disk(...).map(...) and .shuffle() leave in the folder: a cache of transformed
    # rows, which sorts first and would win as "first" in dedup, and an indices mapping
    write_stream(folder / "cache-5f3c2a9b1d7e4f60.arrow", rows.with_columns(pl.col("text").str.to_uppercase()).to_arrow())
    write_stream(folder / "cache-0a1b2c3d4e5f6a7b.arrow", pa.table({"indices": pa.array(range(rows.height - 1, -1, -1), pa.uint64())}))
    result = run(pipeline_file(tmp_path, str(folder)))
    assert [i["source"] for i in result.manifest["inputs"]] == ["data-00000-of-00002.arrow", "data-00001-of-00002.arrow"]
    assert result.manifest["rows_in"] == rows.height and "indices" not in read_dir(result.output / "data").columns
    assert decisions(result.output)[0] == ["doc-000", "doc-001", "doc-004", "doc-005", "doc-007", "doc-009"]
    state = json.loads((folder / "state.json").read_text())
    (tmp_path / "again").mkdir()
    # older datasets versions saved a shuffled or filtered dataset with its mapping: its rows are not the files' rows
    (folder / "indices.arrow").write_bytes((folder / "cache-0a1b2c3d4e5f6a7b.arrow").read_bytes())
    (folder / "state.json").write_text(json.dumps({**state, "_indices_data_files": [{"filename": "indices.arrow"}]}))
    fails(pipeline_file(tmp_path / "again", str(folder)), f"{folder}/state.json: the dataset has an indices mapping", "dataset.flatten_indices().save_to_disk(...)")
    (folder / "state.json").write_text(json.dumps({"_data_files": [*state["_data_files"], {"filename": "data-00002-of-00002.arrow"}]}))
    fails(pipeline_file(tmp_path / "again", str(folder)), f"{folder}/state.json: lists data-00002-of-00002.arrow in _data_files, which is not in the folder")


def test_a_directory_follows_linked_folders_and_stops_at_what_it_cannot_reach(tmp_path, monkeypatch):
    """As a glob does, a shard linked into the folder is read (a link back up is not
    walked again); a link to nothing or a folder curate may not list stops the run
    naming it, instead of leaving its rows out."""
    import os

    rows = corpus()
    folder, shard = tmp_path / "in", tmp_path / "shared" / "shard2"
    folder.mkdir()
    shard.mkdir(parents=True)
    rows.slice(0, 15).write_ndjson(folder / "a.jsonl")
    rows.slice(15).write_ndjson(shard / "b.jsonl")
    (folder / "shard2").symlink_to("../shared/shard2")
    (shard / "up").symlink_to("../../in")  # in/shard2/up is in/ again
    result = run(pipeline_file(tmp_path, "in"))
    assert [(i["source"], i["rows"]) for i in result.manifest["inputs"]] == [("a.jsonl", 15), ("shard2/b.jsonl", 15)]
    assert result.manifest["rows_in"] == rows.height
    (tmp_path / "next").mkdir()
    (folder / "c.jsonl").symlink_to("/mnt/unmounted/c.jsonl")
    for path in (str(folder), str(folder / "*.jsonl")):
        fails(pipeline_file(tmp_path / "next", path), f"input {folder}/c.jsonl is a link to /mnt/unmounted/c.jsonl, which does not exist; fix the link")
    (folder / "c.jsonl").unlink()
    locked = folder / "locked"
    locked.mkdir()
    rows.write_ndjson(locked / "l.jsonl")
    listable = os.scandir

    def scandir(path):  # another user's folder (mode 700): the tests run as root, who may list any folder
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return listable(path)

    monkeypatch.setattr(os, "scandir", scandir)
    fails(pipeline_file(tmp_path / "next", str(folder)), f"input {locked}: permission denied; fix its permissions or move it out of the input")


def test_input_format_is_for_names_that_say_no_format(tmp_path):
    """A Hadoop export: parts without an extension beside a README and a Parquet summary.
    input.format reads the parts; the summary stays Parquet; the README is not data."""
    rows = corpus()
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "part-00000").write_text(rows.slice(0, 10).write_ndjson())
    (folder / "part-00001.gz").write_bytes(gzip.compress(rows.slice(10, 10).write_ndjson().encode()))
    (folder / "part-00002.txt").write_text(rows.slice(20, 5).write_ndjson())
    rows.slice(25).write_parquet(folder / "summary.parquet")
    (folder / "README.md").write_text("# Export of 2026-11-20\nSee the wiki.\n")
    result = run(pipeline_file(tmp_path, "export", format="jsonl"))
    inputs = [(i["source"], i["format"], i["rows"]) for i in result.manifest["inputs"]]
    assert inputs == [("part-00000", "jsonl", 10), ("part-00001.gz", "jsonl+gzip", 10), ("part-00002.txt", "jsonl", 5), ("summary.parquet", "parquet", 5)]
    (tmp_path / "named").mkdir()
    result = run(pipeline_file(tmp_path / "named", str(folder / "summary.parquet"), format="jsonl"))
    assert [(i["format"], i["rows"]) for i in result.manifest["inputs"]] == [("parquet", 5)]
    (tmp_path / "docs" / "notes").mkdir(parents=True)
    (tmp_path / "docs" / "notes" / "README.md").write_text("# Notes\n")
    fails(pipeline_file(tmp_path / "docs", "notes", format="jsonl"), "holds no supported file", "with input.format jsonl: names without an extension or ending in .txt")


def test_directory_without_supported_files(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("hello")
    fails(pipeline_file(tmp_path, "in"), "holds no supported file")


# ---------------------------------------------------------------- output format


def read_jsonl_dir(folder: Path) -> pl.DataFrame:
    files = sorted(folder.glob("part-*.jsonl.gz"))
    return pl.concat([pl.read_ndjson(gzip.decompress(f.read_bytes())) for f in files if gzip.decompress(f.read_bytes()).strip()], how="vertical")


def test_output_as_jsonl_gz_cut_by_rows_and_an_export_killed_midway(tmp_path, monkeypatch):
    import curate.run.runner as runner

    rows = corpus()
    path = write_as(rows, tmp_path / "in", "jsonl")
    reference = run(pipeline_file(tmp_path, path), tmp_path / "reference")
    spec = yaml.safe_load((tmp_path / "pipeline.yaml").read_text())
    spec["output"] = {"path": "jsonl-run", "format": "jsonl", "max_rows_per_file": 4}
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(spec))
    real = runner.export_parts

    def killed(run_dir, fmt, max_rows):
        part = sorted((run_dir / "data").glob("part-*.parquet"))[0]
        (run_dir / "data" / "part-00000-0000.jsonl.gz").write_bytes(b"half a file")  # as if killed mid-write
        raise KeyboardInterrupt(part)

    monkeypatch.setattr(runner, "export_parts", killed)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "pipeline.yaml", tmp_path / "jsonl-run")
    assert not (tmp_path / "jsonl-run" / "manifest.json").exists()
    monkeypatch.setattr(runner, "export_parts", real)
    from curate.config import load_pipeline
    from curate.console import Reporter
    from curate.run.runner import RunOptions, run_pipeline

    result = run_pipeline(load_pipeline(tmp_path / "pipeline.yaml"), tmp_path / "jsonl-run", RunOptions(workers=1), Reporter())
    out = result.output
    assert not list((out / "data").glob("*.parquet")) and not list((out / "removed").rglob("*.parquet"))
    names = sorted(p.name for p in (out / "data").iterdir())
    assert names[:2] == ["part-00000-0000.jsonl.gz", "part-00000-0001.jsonl.gz"] and names[-1] == "part-00001-0000.jsonl.gz"
    kept = read_jsonl_dir(out / "data")
    assert kept.select("id", "text").equals(read_dir(reference.output / "data").select("id", "text"))
    assert max(len(gzip.decompress(p.read_bytes()).splitlines()) for p in (out / "data").iterdir()) == 4
    removed = read_jsonl_dir(out / "removed" / "exact_dedup")
    assert sorted(removed["id"]) == sorted(read_dir(reference.output / "removed" / "exact_dedup")["id"])
    assert result.manifest["state"]["output_files"] == {"format": "jsonl", "max_rows_per_file": 4}


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler] | functools.partial) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 while the block runs: its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Routes(http.server.BaseHTTPRequestHandler):
    """Answers each path (its query aside) from `routes`: (status, headers, body). A route
    with `Transfer-Encoding: chunked` sends no Content-Length, as a server streaming
    what it generates does."""

    protocol_version = "HTTP/1.1"
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def _answer(self, with_body: bool) -> None:
        status, headers, body = self.routes.get(urlsplit(self.path).path, (404, {}, b""))
        chunked = headers.get("Transfer-Encoding") == "chunked"
        self.send_response(status)
        for name, value in {**headers, **({} if chunked else {"Content-Length": str(len(body))})}.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if chunked else body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_single_file_over_http(tmp_path):
    """http(s):// reads one file, streamed (a server on 127.0.0.1, stopped after)."""
    from curate.errors import InputDataError
    from curate.run.sources import locate

    rows = corpus()
    served = tmp_path / "www"
    served.mkdir()
    (served / "rows.jsonl.gz").write_bytes(gzip.compress(rows.write_ndjson().encode()))
    with serving(functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))) as base:
        url = f"{base}/rows.jsonl.gz"
        result = run(pipeline_file(tmp_path, url))
        with pytest.raises(InputDataError, match=r"^input http://\S+/gone.jsonl.gz: no such file at that URL \(HTTP 404 File not found\); check the URL$"):
            locate([url.replace("rows", "gone")])
    assert result.manifest["inputs"][0]["path"] == url and result.manifest["rows_in"] == rows.height
    # fsspec calls any failure FileNotFoundError: a server that does not answer is not a missing file
    (tmp_path / "down").mkdir()
    fails(pipeline_file(tmp_path / "down", url), f"input {url}: cannot reach the store (ClientConnectorError: Cannot connect to host 127.0.0.1", "check the URL, endpoint and network")
    assert decisions(result.output)[0] == ["doc-000", "doc-001", "doc-004", "doc-005", "doc-007", "doc-009"]


def test_an_http_refusal_says_whose_it_is(tmp_path):
    """401 and 403 are the credentials' (an expired signed URL), a 5xx the server's: each
    its own line, exit 3, not a missing file."""
    from curate.errors import InputDataError
    from curate.run.sources import locate

    class Served(Routes):
        routes = {"/signed.jsonl.gz": (403, {}, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"),
                  "/private.jsonl": (401, {"WWW-Authenticate": "Bearer"}, b""),
                  "/busy.jsonl": (503, {"Retry-After": "120"}, b"")}

    with serving(Served) as base:
        fails(pipeline_file(tmp_path, f"{base}/signed.jsonl.gz"),
              f"input {base}/signed.jsonl.gz: access denied (HTTP 403 Forbidden); check the credentials (input.storage_options) or, for a signed URL, whether it has expired")
        with pytest.raises(InputDataError, match=r"^input http://\S+/private.jsonl: access denied \(HTTP 401 Unauthorized\); check the credentials"):
            locate([f"{base}/private.jsonl"])
        with pytest.raises(InputDataError, match=r"^input http://\S+/busy.jsonl: server error \(HTTP 503 Service Unavailable\); try again later$"):
            locate([f"{base}/busy.jsonl"])


def test_a_signed_urls_format_and_compression_come_from_its_path_not_its_query(tmp_path):
    """A presigned URL's query (its `?` no glob either): the file is read as its path
    says, and an expired one is refused as such, not as a glob matching nothing."""
    from curate.errors import InputDataError
    from curate.run.sources import locate

    rows = corpus()
    signed = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=9f1c2e"

    class Served(Routes):
        routes = {"/exports/dump.jsonl.gz": (200, {"ETag": '"5d41402abc4b2a76"'}, gzip.compress(rows.write_ndjson().encode())),
                  "/exports/old.jsonl.gz": (403, {}, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")}

    with serving(Served) as base:
        result = run(pipeline_file(tmp_path, f"{base}/exports/dump.jsonl.gz{signed}"))
        with pytest.raises(InputDataError, match=r"^input http://\S+/old.jsonl.gz\?X-Amz-\S+: access denied \(HTTP 403 Forbidden\)"):
            locate([f"{base}/exports/old.jsonl.gz{signed}"])
    assert [(i["format"], i["rows"]) for i in result.manifest["inputs"]] == [("jsonl+gzip", rows.height)]
    assert decisions(result.output)[0] == ["doc-000", "doc-001", "doc-004", "doc-005", "doc-007", "doc-009"]


def test_an_http_file_changed_at_the_same_size_or_grown_unsaid_is_read_again(tmp_path):
    """An HTTP file is known by its Last-Modified (or ETag), else by the hash of its bytes,
    never by its size alone: the same pipeline on the changed file runs again."""
    from curate.run.sources import locate

    rows = corpus()
    edited = rows.with_columns(pl.col("text").str.replace("quick brown", "QUICK BROWN"))
    grown = pl.concat([rows, rows.with_columns(pl.format("late-{}", "id"), pl.format("{} (a later crawl)", "text"))])
    body = lambda frame: frame.write_ndjson().encode()  # noqa: E731
    assert len(body(edited)) == len(body(rows))

    class Served(Routes):
        routes = {"/dated.jsonl": (200, {"Last-Modified": "Tue, 01 Dec 2026 10:00:00 GMT"}, body(rows)),
                  "/streamed.jsonl": (200, {"Transfer-Encoding": "chunked"}, body(rows))}

    (tmp_path / "streamed").mkdir()
    with serving(Served) as base:
        dated = pipeline_file(tmp_path, f"{base}/dated.jsonl")
        assert run(dated).manifest["inputs"][0]["etag"] == "Last-Modified:Tue, 01 Dec 2026 10:00:00 GMT"
        Served.routes["/dated.jsonl"] = (200, {"Last-Modified": "Tue, 01 Dec 2026 10:00:01 GMT"}, body(edited))
        rerun = run(dated)
        streamed = pipeline_file(tmp_path / "streamed", f"{base}/streamed.jsonl")
        first = run(streamed)
        assert locate([f"{base}/streamed.jsonl"], trial=True)[0].identity == f"head:{xxhash.xxh3_64_hexdigest(body(rows))}"  # --limit: its first MiB
        Served.routes["/streamed.jsonl"] = (200, {"Transfer-Encoding": "chunked"}, body(grown))
        again = run(streamed)
    assert "The QUICK BROWN fox jumps over the lazy dog." in read_dir(rerun.output / "data")["text"].to_list()
    assert [(i["etag"], i["bytes"], i["rows"]) for i in (first.manifest["inputs"][0], again.manifest["inputs"][0])] == [
        (f"xxh3_64:{xxhash.xxh3_64_hexdigest(body(rows))}", len(body(rows)), rows.height),
        (f"xxh3_64:{xxhash.xxh3_64_hexdigest(body(grown))}", len(body(grown)), grown.height),
    ]
