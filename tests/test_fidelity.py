"""Data fidelity: every input column arrives in data/ and removed/ with its exact Arrow
type and its values, and every column a stage adds is the one it declares
(docs/run-layout.md lists them)."""

from __future__ import annotations

import datetime
import decimal
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from runs import run, write_pipeline

from curate.config import load_pipeline
from curate.files import write_parquet_atomic
from curate.run.segments import build_stages

ROWS = 40


def typed_columns() -> dict[str, pa.Array]:
    """One column per Arrow type the docs promise to keep, with a null in most."""
    n = ROWS
    day = datetime.datetime(2026, 1, 1, 12, 30)
    return {
        "string": pa.array([f"s{i}" if i % 7 else None for i in range(n)], pa.string()),
        "large_string": pa.array([f"l{i}" for i in range(n)], pa.large_string()),
        "binary": pa.array([bytes([i, 0, 255]) if i % 5 else None for i in range(n)], pa.binary()),
        "large_binary": pa.array([bytes([i]) for i in range(n)], pa.large_binary()),
        "dictionary": pa.array([["red", "green", None][i % 3] for i in range(n)]).dictionary_encode(),
        "decimal": pa.array([decimal.Decimal(f"{i}.{i % 100:02d}") if i % 4 else None for i in range(n)], pa.decimal128(12, 2)),
        "timestamp_tz": pa.array([day + datetime.timedelta(hours=i) if i % 6 else None for i in range(n)], pa.timestamp("us", tz="Europe/Berlin")),
        # a fixed offset is valid Arrow, and polars panics reading it unless told not to check
        "timestamp_offset": pa.array([day + datetime.timedelta(minutes=i) for i in range(n)], pa.timestamp("ms", tz="+05:30")),
        "time64_us": pa.array([datetime.time(i % 24, i, 0, i) if i % 3 else None for i in range(n)], pa.time64("us")),
        "date": pa.array([datetime.date(2020, 1, 1 + i % 28) for i in range(n)], pa.date32()),
        "list": pa.array([[i, i + 1] if i % 4 else None for i in range(n)], pa.list_(pa.int32())),
        "large_list": pa.array([[f"x{i}"] if i % 3 else [] for i in range(n)], pa.large_list(pa.string())),
        "struct": pa.array([{"a": i, "b": f"b{i}"} if i % 5 else None for i in range(n)], pa.struct([("a", pa.int16()), ("b", pa.string())])),
        "map": pa.array([[("k", i), ("j", -i)] if i % 2 else None for i in range(n)], pa.map_(pa.string(), pa.int64())),
        "null": pa.nulls(n, pa.null()),
        "uint8": pa.array([i % 256 for i in range(n)], pa.uint8()),
        # Arrow's canonical extension types (pyarrow writes them to Parquet): arrow.json was an internal error
        "json": pa.array([json.dumps({"i": i}) if i % 3 else None for i in range(n)], pa.json_()),
        "uuid": pa.array([bytes([i]) * 16 for i in range(n)], pa.uuid()),
        "bool8": pa.ExtensionArray.from_storage(pa.bool8(), pa.array([i % 2 for i in range(n)], pa.int8())),
    }


def texts() -> list[str | None]:
    # rows 0-3 are removed by length_filter (too few words), 4 and 5 repeat row 6 and 7
    # (removed by exact_dedup), the rest are kept
    out: list[str | None] = ["", None, "one", "two"]
    out += [f"a repeated text number {i} with some words" for i in (6, 7)]
    out += [f"a repeated text number {i} with some words" for i in range(6, ROWS)]
    return out


@pytest.fixture(scope="module")
def typed_run(tmp_path_factory) -> tuple[pa.Table, Path]:
    folder = tmp_path_factory.mktemp("typed")
    (folder / "in").mkdir()
    table = pa.table({"text": pa.array(texts(), pa.string()), **typed_columns()})
    pq.write_table(table, folder / "in" / "typed.parquet")
    pipeline = write_pipeline(folder, [{"stage": "length_filter", "min_words": 2}, {"stage": "exact_dedup"}])
    result = run(pipeline)
    return table, result.output


def _input_part(path: Path, names: list[str]) -> pa.Table:
    return pq.read_table(path).select(names)


def test_every_arrow_type_round_trips_in_kept_and_removed_rows(typed_run):
    table, output = typed_run
    names = table.column_names
    kept = pa.concat_tables(_input_part(p, names) for p in sorted((output / "data").glob("part-*.parquet")))
    removed = {d.name: pa.concat_tables(_input_part(p, names) for p in sorted(d.glob("part-*.parquet"))) for d in sorted((output / "removed").iterdir())}
    assert set(removed) == {"length_filter", "exact_dedup"}
    for part in (kept, *removed.values()):
        assert part.schema.equals(table.schema), part.schema
    # values compared as Python objects: a dictionary column's dictionary may list its
    # values in another order, its rows are the same
    assert removed["length_filter"].to_pylist() == table.slice(0, 4).to_pylist()
    assert removed["exact_dedup"].to_pylist() == table.slice(6, 2).to_pylist()  # the later copies of rows 4 and 5
    assert kept.to_pylist() == pa.concat_tables([table.slice(4, 2), table.slice(8)]).to_pylist()


def test_parts_cut_by_rows_keep_every_arrow_type(typed_run, tmp_path):
    # output.max_rows_per_file rewrites each part: string came back as large_string, an
    # int32 as int64 and so on before the pieces were written with the part's own schema
    table, whole = typed_run
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "typed.parquet")
    pipeline = write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 2}, {"stage": "exact_dedup"}])
    spec = yaml.safe_load(pipeline.read_text())
    spec["output"] = {"path": str(tmp_path / "cut"), "max_rows_per_file": 3}
    pipeline.write_text(yaml.safe_dump(spec))
    output = run(pipeline, tmp_path / "cut").output
    pieces = sorted((output / "data").glob("part-*-*.parquet"))
    assert len(pieces) > 1 and all(pq.read_metadata(p).num_rows <= 3 for p in pieces)
    kept = pa.concat_tables(pq.read_table(p) for p in pieces)
    assert kept.schema.equals(pq.read_schema(min((whole / "data").glob("part-*.parquet"))), check_metadata=True)
    assert kept.select(table.column_names).to_pylist() == pa.concat_tables([table.slice(4, 2), table.slice(8)]).to_pylist()


def test_an_arrow_stream_keeps_every_arrow_type_and_its_schema_metadata(typed_run, tmp_path):
    # a datasets save_to_disk file: string came out large_string, list<string> large_list<large_string>,
    # dictionary<int32> dictionary<uint32>, and the ClassLabel names in the huggingface metadata were lost
    table, _ = typed_run
    features = {"text": {"dtype": "string", "_type": "Value"}, "uint8": {"names": [f"class_{i}" for i in range(256)], "_type": "ClassLabel"}}
    table = table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})
    (tmp_path / "in").mkdir()
    with pa.ipc.new_stream(tmp_path / "in" / "data-00000-of-00001.arrow", table.schema) as writer:
        writer.write_table(table, max_chunksize=7)
    output = run(write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 2}, {"stage": "exact_dedup"}], path="in")).output
    kept = pa.concat_tables(_input_part(p, table.column_names) for p in sorted((output / "data").glob("part-*.parquet")))
    removed = pa.concat_tables(_input_part(p, table.column_names) for p in sorted((output / "removed").glob("*/part-*.parquet")))
    for part in (kept, removed):
        assert part.schema.equals(table.schema) and part.schema.metadata == table.schema.metadata, part.schema
    assert kept.to_pylist() == pa.concat_tables([table.slice(4, 2), table.slice(8)]).to_pylist()


def test_a_feather_file_polars_writes_with_categorical_columns_keeps_their_values_and_index_types(tmp_path):
    # polars writes a Categorical to Arrow as dictionary<string_view, uint32>, which
    # pyarrow's Parquet writer cannot write: every such file was an internal error while
    # converting, after `curate check` said ok. Parquet gives a dictionary's values back
    # as string, and the index types stay (an Enum's uint8 widened to int32, as every narrower one)
    (tmp_path / "in").mkdir()
    pl.DataFrame({
        "text": ["The council approved the new cycle lanes on Monday.", "Short.", "Tickets for the summer festival go on sale in May."],
        "source": pl.Series(["news", "forum", "news"], dtype=pl.Categorical),
        "tags": pl.Series([["local", "transport"], [], ["events"]], dtype=pl.List(pl.Categorical)),
        "licence": pl.Series(["cc-by", "cc-by-sa", "cc-by"], dtype=pl.Enum(["cc-by", "cc-by-sa"])),
    }).write_ipc(tmp_path / "in" / "posts.feather")
    assert pa.ipc.open_file(tmp_path / "in" / "posts.feather").schema.field("source").type == pa.dictionary(pa.uint32(), pa.string_view())
    output = run(write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 2}], path="in")).output
    kept = pq.read_table(min((output / "data").glob("part-*.parquet")))
    removed = pq.read_table(min((output / "removed" / "length_filter").glob("part-*.parquet")))
    for part in (kept, removed):
        assert part.schema.field("source").type == pa.dictionary(pa.uint32(), pa.string())
        assert part.schema.field("tags").type.value_type == pa.dictionary(pa.uint32(), pa.string())
        assert part.schema.field("licence").type == pa.dictionary(pa.int32(), pa.string(), ordered=True)
    assert kept.select(["source", "tags", "licence"]).to_pylist() == [
        {"source": "news", "tags": ["local", "transport"], "licence": "cc-by"}, {"source": "news", "tags": ["events"], "licence": "cc-by"}]
    assert removed.select(["text", "source", "tags", "licence"]).to_pylist() == [{"text": "Short.", "source": "forum", "tags": [], "licence": "cc-by-sa"}]


REVIEWS = ["The battery lasts two full days of heavy use.", "Too short.", "The screen is sharp but the speakers crackle.",
           "Arrived late and the box was crushed.", "Meh.", "Best headphones I have owned in ten years."]


def write_reviews(path: Path, ratings: list[str], categories: list[str]) -> None:
    import pandas as pd

    pd.DataFrame({"text": REVIEWS[:len(ratings)], "rating": pd.Categorical(ratings, categories=categories, ordered=True),
                  "shop": pd.Categorical(["north", "south", "north", "south", "north", "south"][:len(ratings)])}).to_parquet(path, index=False)


@pytest.mark.parametrize("output_spec", [{}, {"max_rows_per_file": 2}])
def test_an_ordered_category_column_keeps_its_category_list_and_order_in_every_part(tmp_path, output_spec):
    # pandas' ordered Categorical (low < mid < high) came out with its categories in the
    # order a part first gave them (high < mid < low) and unused ones dropped, so max()
    # and sorting flipped; unordered ones (shop) keep writing as before
    import pandas as pd

    (tmp_path / "in").mkdir()
    write_reviews(tmp_path / "in" / "reviews.parquet", ["high", "mid", "low", "low", "mid", "high"], ["low", "mid", "high", "top"])
    pipeline = write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 3}])
    if output_spec:
        spec = yaml.safe_load(pipeline.read_text())
        pipeline.write_text(yaml.safe_dump({**spec, "output": {"path": "run", **output_spec}}, sort_keys=False))
    output = run(pipeline, tmp_path / "run").output
    kept = pd.concat([pd.read_parquet(p) for p in sorted((output / "data").glob("part-*.parquet"))])
    removed = pd.read_parquet(min((output / "removed" / "length_filter").glob("part-*.parquet")))
    for frame in (kept, removed):
        assert frame["rating"].cat.ordered and list(frame["rating"].cat.categories) == ["low", "mid", "high", "top"]
    assert list(kept["rating"]) == ["high", "low", "low", "high"] and kept["rating"].max() == "high" and kept["rating"].min() == "low"
    assert list(removed["rating"]) == ["mid", "mid"] and list(removed["text"]) == ["Too short.", "Meh."]
    assert list(kept["shop"].astype(str)) == ["north", "north", "south", "south"] and not removed["shop"].cat.ordered


def test_files_whose_ordered_category_lists_differ_are_refused_naming_both(tmp_path):
    from curate.errors import InputDataError

    (tmp_path / "in").mkdir()
    write_reviews(tmp_path / "in" / "a.parquet", ["high", "low", "mid"], ["low", "mid", "high"])
    write_reviews(tmp_path / "in" / "b.parquet", ["high", "low", "mid"], ["high", "mid", "low"])
    with pytest.raises(InputDataError, match=r"^\S+b\.parquet: ordered category column 'rating' has the categories \['high', 'mid', 'low'\] here but "
                                             r"\['low', 'mid', 'high'\] in \S+a\.parquet; give it the same categories in the same order in every file$"):
        run(write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 3}]))
    assert not (tmp_path / "run").exists()


def test_added_columns_are_the_declared_ones_with_documented_types(typed_run):
    table, output = typed_run
    schema = pq.read_schema(min((output / "data").glob("part-*.parquet")))
    added = schema.names[len(table.column_names):]
    stages = build_stages(load_pipeline(output.parent / "pipeline.yaml"))
    assert added == ["curate_source", "curate_id", *[c for s in stages for c in s.added_columns()]]
    for report in sorted((output / "reports").glob("[0-9][0-9]_*.json")):
        data = json.loads(report.read_text())
        declared = next(s for s in stages if s.name == data["name"]).added_columns()
        assert data["annotation_columns"] == declared
    types = {name: str(schema.field(name).type) for name in added}
    assert types == {
        "curate_source": "large_string", "curate_id": "large_string", "text_chars": "uint32", "text_words": "uint32",
        "dup_hash": "large_string", "dup_of": "large_string",
    }


def test_files_whose_columns_differ_only_in_order_or_nullability_are_one_schema(tmp_path):
    # Spark, or pyarrow given a schema, declares a column `not null`; another export
    # writes the same columns in another order. Refused as "column order differs" before.
    (tmp_path / "in").mkdir()
    first = pa.table({"id": ["a1", "a2"], "text": ["one two three four", "five"], "x": pa.array([1, None], pa.int64())})
    strict = pa.schema([pa.field("x", pa.int64(), nullable=False), pa.field("text", pa.string()), pa.field("id", pa.string(), nullable=False)])
    pq.write_table(first, tmp_path / "in" / "1.parquet")
    pq.write_table(pa.table({"x": [3, 4], "text": ["nine ten eleven twelve", "thirteen"], "id": ["b1", "b2"]}, schema=strict), tmp_path / "in" / "2.parquet")
    result = run(write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 2}], id_column="id"))
    kept = pa.concat_tables(pq.read_table(p) for p in sorted((result.output / "data").glob("part-*.parquet")))
    removed = pa.concat_tables(pq.read_table(p) for p in sorted((result.output / "removed" / "length_filter").glob("part-*.parquet")))
    for part in (kept, removed):  # the first file's order and types, nullable where any file is
        assert part.schema.names[:3] == ["id", "text", "x"] and part.schema.field("x").nullable and part.schema.field("id").nullable
        assert [part.schema.field(n).type for n in ("id", "text", "x")] == [pa.string(), pa.string(), pa.int64()]
    assert kept.select(["id", "text", "x"]).to_pylist() == [
        {"id": "a1", "text": "one two three four", "x": 1}, {"id": "b1", "text": "nine ten eleven twelve", "x": 3}]
    assert removed.select(["id", "x"]).to_pylist() == [{"id": "a2", "x": None}, {"id": "b2", "x": 4}]
    # every file not null: the declared type is kept
    pq.write_table(pa.table({"x": [5], "text": ["fourteen fifteen"], "id": ["c1"]}, schema=strict), tmp_path / "in" / "1.parquet")
    strict_run = run(write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 2}], id_column="id"), tmp_path / "strict")
    assert not pq.read_schema(min((strict_run.output / "data").glob("part-*.parquet"))).field("x").nullable


def test_the_inputs_schema_metadata_is_kept_where_every_file_has_the_same(tmp_path):
    # a Hugging Face export's features (ClassLabel names) were dropped from the output parts
    features = {b"huggingface": json.dumps({"info": {"features": {"text": {"dtype": "string", "_type": "Value"}, "label": {"names": ["neg", "pos"], "_type": "ClassLabel"}}}}).encode()}
    (tmp_path / "in").mkdir()
    for name, texts in (("1", ["one two three", "four"]), ("2", ["five six seven", "eight"])):
        pq.write_table(pa.table({"text": texts, "label": [0, 1]}).replace_schema_metadata(features), tmp_path / "in" / f"{name}.parquet")
    result = run(write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 2}]))
    parts = sorted((result.output / "data").glob("part-*.parquet")) + sorted((result.output / "removed" / "length_filter").glob("part-*.parquet"))
    assert len(parts) == 4 and all(pq.read_schema(p).metadata == features for p in parts)
    # files that disagree: no file's metadata describes the output
    pq.write_table(pa.table({"text": ["nine ten eleven"], "label": [1]}).replace_schema_metadata({b"huggingface": b"{}"}), tmp_path / "in" / "2.parquet")
    other = run(write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 2}]), tmp_path / "other")
    assert all(pq.read_schema(p).metadata is None for p in (other.output / "data").glob("part-*.parquet"))


@pytest.mark.slow
def test_every_stage_adds_exactly_the_columns_it_declares(tmp_path):
    topics = {"food": "bread soup cheese apple dinner", "sport": "football match goal team score"}
    rows = [f"the {w} is what we talk about when people meet in the town {i}" for i in range(30) for w in topics["food" if i % 2 else "sport"].split()[:1]]
    labels = ["food" if i % 2 else "sport" for i in range(30)]
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"text": rows + rows[:4], "label": labels + labels[:4]}), tmp_path / "in" / "a.parquet")
    stages = [
        {"stage": "clean", "keep_original": "raw_text"}, {"stage": "line_dedup", "mode": "annotate"},
        {"stage": "length_filter", "min_words": 3}, {"stage": "exact_dedup"}, {"stage": "near_dedup"},
        {"stage": "langid", "top_k": 2}, {"stage": "quality", "rules": ["gopher_repetition", "c4"], "mode": "annotate"},
        {"stage": "label_noise", "mode": "relabel"}, {"stage": "slices", "columns": ["lang"]},
    ]
    result = run(write_pipeline(tmp_path, stages, label_column="label"))
    built = build_stages(load_pipeline(tmp_path / "pipeline.yaml"))
    declared = {s.name: s.added_columns() for s in built}
    present = {"text", "label", "curate_source", "curate_id"}
    for report, stage in zip(result.reports, built):  # a report lists the columns new at its stage, and the dup_of it rewrites
        # filter mode puts a rewriting stage's new text in the text column: <name>_text is not kept, keep_original is
        after = set(stage.columns_after(stage.config.mode == "filter"))
        assert set(report["annotation_columns"]) == after - (present - stage.shared_columns), report["name"]
        present |= after
    assert declared["langid"] == ["lang", "lang_score", "lang_top"] and "original_label" in declared["label_noise"]


@pytest.mark.slow
def test_a_dictionary_encoded_text_column_goes_through_every_text_stage(tmp_path):
    # pandas' category dtype and many exports write text as dictionary<string>: every
    # stage reads it as text, and it arrives dictionary-encoded, with its values
    rows = [f"the cat number {i} sat on the mat, as cats do on a sunny day." for i in range(20)] * 2 + ["too short"]
    table = pa.table({"text": pa.array(rows).dictionary_encode()})
    (tmp_path / "in").mkdir()
    pq.write_table(table, tmp_path / "in" / "a.parquet")
    stages = [
        {"stage": "clean"}, {"stage": "line_dedup", "mode": "annotate"}, {"stage": "length_filter", "min_words": 3},
        {"stage": "langid"}, {"stage": "quality", "mode": "annotate"}, {"stage": "exact_dedup"}, {"stage": "near_dedup"},
    ]
    result = run(write_pipeline(tmp_path, stages))
    parts = sorted((result.output / "data").glob("part-*.parquet")) + sorted((result.output / "removed").glob("*/part-*.parquet"))
    out = pa.concat_tables(pq.read_table(p).select(["text"]) for p in parts)
    assert out.schema.field("text").type == table.schema.field("text").type
    assert sorted(out.column("text").to_pylist()) == sorted(rows)
    assert {r["name"]: r["rows_removed"] for r in result.reports if r["rows_removed"]} == {"length_filter": 1, "exact_dedup": 20}


def test_a_dictionary_with_int8_indices_is_written_with_int32_indices_in_every_part(tmp_path):
    # pandas writes a category column of fewer than 128 values with int8 indices. line_dedup
    # gives the copies of a post other text than the first, so 100 texts became 200 and
    # the write back to int8 was an internal error after all the work; every part gets
    # int32 indices, so that data/ reads as one dataset (pyarrow, pandas)
    small = pa.dictionary(pa.int8(), pa.string())
    posts = [f"This is the boilerplate line number {i} of the site.\nPost {i:03d}" for i in range(100) for _ in range(3)]
    others = ["A letter to the editor about the new tram line.", "Minutes of the parish council meeting in March."]
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"text": pa.array(posts).dictionary_encode().cast(small)}), tmp_path / "in" / "a.parquet")
    pq.write_table(pa.table({"text": pa.array(others).dictionary_encode().cast(small)}), tmp_path / "in" / "b.parquet")
    result = run(write_pipeline(tmp_path, [{"stage": "line_dedup", "min_repeats": 3, "min_unit_chars": 10}]))
    posts_part, others_part = (pq.read_table(p) for p in sorted((result.output / "data").glob("part-*.parquet")))
    assert posts_part.schema.field("text").type == pa.dictionary(pa.int32(), pa.string())
    assert posts_part.column("text").to_pylist() == [text for i in range(100) for text in (posts[3 * i], f"Post {i:03d}", f"Post {i:03d}")]
    assert others_part.schema.field("text").type == pa.dictionary(pa.int32(), pa.string()) and others_part.column("text").to_pylist() == others
    assert pq.ParquetDataset(result.output / "data").read().num_rows == 302


@pytest.mark.parametrize(("distinct", "dictionary"), [(9_000, False), (30, True)])
def test_texts_get_a_dictionary_only_where_values_repeat(tmp_path, distinct, dictionary):
    # a removed/ part of repeated texts stays small; distinct texts are not offered a
    # dictionary they would outgrow (the choice is made on a sample of the rows)
    frame = pl.DataFrame({"text": [f"text {i % distinct} " + "words " * 40 for i in range(10_000)]})
    write_parquet_atomic(frame, tmp_path / "part.parquet", pa.schema([("text", pa.string())]))
    column = pq.ParquetFile(tmp_path / "part.parquet").metadata.row_group(0).column(0)
    assert column.has_dictionary_page is dictionary
    assert pq.read_table(tmp_path / "part.parquet").column("text").to_pylist() == frame["text"].to_list()
