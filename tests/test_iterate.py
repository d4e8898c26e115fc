"""Iterating on a pipeline: every mistake found before the run (at once, with the closest
valid name), the column flow, and `--set` overrides."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from runs import assert_reconciles, cli, planned_workers, run, write_shards

from curate.config import InputConfig, load_pipeline, parse_pipeline
from curate.console import Reporter
from curate.errors import ConfigError, CurateError, InputDataError, ManyErrors
from curate.run.crash import VARIABLE
from curate.resources import build_id
from curate.run.preflight import preflight
from curate.stages import STAGES

REVIEWS = [
    "A quiet, patient film about a family farm; the last twenty minutes are devastating.",
    "I wanted to like it, but the plot holes are big enough to drive a truck through.",
    "The soundtrack carries scenes the script cannot. Worth seeing once on a big screen.",
    "Terrible pacing, wooden dialogue and a twist anyone could guess by the first act.",
    "Das Drehbuch ist schwach, aber die Hauptdarstellerin rettet den Film fast allein.",
    "ok",
]


def reviews(rows: int = 60, extra: dict[str, list] | None = None) -> pl.DataFrame:
    frame = pl.DataFrame({
        "review_id": [f"r{i:04d}" for i in range(rows)],
        "body": [REVIEWS[i % len(REVIEWS)] + ("" if i % len(REVIEWS) == 5 else f" (review {i})") for i in range(rows)],
        "rating": [1 + i % 10 for i in range(rows)],
    })
    return frame.with_columns(**{k: pl.Series(v) for k, v in (extra or {}).items()})


def pipeline_file(folder: Path, stages: list[dict], **input_spec) -> Path:
    path = folder / "pipeline.yaml"
    spec = {"input": {"path": "in/*.parquet", "text_column": "body", "id_column": "review_id", **input_spec}, "output": "run", "stages": stages}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def problems(path: Path, read_input: bool = True, overrides: tuple[str, ...] = ()) -> list[str]:
    return [str(e) for e in preflight(load_pipeline(path, overrides), read_input).errors]


# ---------------------------------------------------------------- the pipeline file


def test_every_error_in_the_file_at_once_with_the_closest_name():
    text = """input:
  path: in.parquet
  text_colum: body
stages:
  - stage: length_filter
    min_word: 3
  - stage: near-dedup
  - stage: quality
    treshold: 3
"""
    with pytest.raises(ManyErrors) as caught:
        parse_pipeline(text, "p.yaml")
    lines = str(caught.value).splitlines()
    assert lines == [
        "p.yaml, line 6: stages[0].min_word: unknown key (did you mean `min_words`?); valid keys: stage, name, mode, min_chars, max_chars, min_words, max_words",
        f"p.yaml, line 7: stages[1].stage: unknown stage 'near-dedup' (did you mean `near_dedup`?); valid stages: {', '.join(STAGES)}",
        f"p.yaml, line 9: stages[2].treshold: unknown key (did you mean `thresholds`?); valid keys: {', '.join(STAGES['quality'].Config.model_fields)}",
        f"p.yaml, line 3: input.text_colum: unknown key (did you mean `text_column`?); valid keys: {', '.join(InputConfig.model_fields)}",
    ]
    assert caught.value.exit_code == 2


def test_no_guess_when_nothing_is_close():
    with pytest.raises(ConfigError) as caught:
        parse_pipeline("input: {path: a}\nstages:\n  - stage: length_filter\n    zzz: 1\n", "p.yaml")
    assert "did you mean" not in str(caught.value) and "zzz: unknown key; valid keys:" in str(caught.value)


def test_check_reports_every_bad_file_and_exits_with_the_pipeline_code(tmp_path):
    write_shards(tmp_path, [reviews()])
    good = pipeline_file(tmp_path, [{"stage": "length_filter", "min_words": 3}])
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("min_words", "min_wrds"))
    clash = tmp_path / "clash.yaml"
    clash.write_text(good.read_text().replace("stage: length_filter\n  min_words: 3", "stage: langid\n  column: rating"))
    result = cli("check", str(bad), str(good), str(clash))
    assert result.returncode == 2, result.stderr
    assert f"{good}: ok (1 stage: length_filter)" in result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"error: {bad}, line 8: stages[0].min_wrds: unknown key (did you mean `min_words`?)")
    assert errors[1].startswith(f"error: {clash}: ") and "input column 'rating' would be overwritten: stage 'langid'" in errors[1]


# ---------------------------------------------------------------- the column flow


def test_a_column_an_earlier_stage_adds_can_be_read(tmp_path):
    write_shards(tmp_path, [reviews()])
    path = pipeline_file(tmp_path, [
        {"stage": "length_filter", "min_words": 3},
        {"stage": "langid"},
        {"stage": "near_dedup", "keep": "highest:lang_score"},
        {"stage": "slices", "columns": ["lang"], "numeric": {"text_words": {"quantiles": 2}, "rating": {"quantiles": 2}}},
    ])
    assert problems(path) == []
    assert preflight(load_pipeline(path)).input_columns == {"body": "input.text_column", "review_id": "input.id_column", "rating": "read by stage 'slices'"}


def test_a_read_before_the_stage_that_adds_it_says_move_it(tmp_path):
    write_shards(tmp_path, [reviews()])
    path = pipeline_file(tmp_path, [
        {"stage": "length_filter"},
        {"stage": "slices", "numeric": {"lang_score": {"quantiles": 4}}},
        {"stage": "langid"},
    ])
    found = preflight(load_pipeline(path)).errors
    assert [type(e) for e in found] == [ConfigError]
    assert str(found[0]) == (
        f"{path}, line 8: stages[1] (slices): reads column 'lang_score', which neither the input nor an earlier stage has; "
        "stage 'langid' adds it but runs later: move 'slices' after it"
    )


def test_a_read_nobody_provides_is_an_input_error_with_the_closest_name(tmp_path):
    write_shards(tmp_path, [reviews()])
    path = pipeline_file(tmp_path, [{"stage": "length_filter"}, {"stage": "quality", "rules": ["c4"], "report_by": ["ratings"]}])
    found = preflight(load_pipeline(path)).errors
    assert [type(e) for e in found] == [InputDataError]
    assert str(found[0]).startswith(f"{path}, line 8: stages[1] (quality): reads column 'ratings', which neither the input nor an earlier stage has (did you mean `rating`?); columns at this point: review_id, body, rating, curate_source, text_chars")
    # without the input's columns, a read cannot be judged: nothing is said
    assert problems(path, read_input=False) == []


def test_a_stage_adding_a_column_the_input_or_an_earlier_stage_has_is_an_error(tmp_path):
    write_shards(tmp_path, [reviews(extra={"lang": ["en"] * 60})])
    path = pipeline_file(tmp_path, [{"stage": "langid"}, {"stage": "exact_dedup"}, {"stage": "exact_dedup", "name": "again"}])
    found = problems(path)
    assert len(found) == 2
    assert "input column 'lang' would be overwritten: stage 'langid' (langid) adds it" in found[0]  # run/inspect's check
    assert found[1] == (
        f"{path}, line 9: stages[2] (again): adds column 'dup_hash', but stage 'exact_dedup' adds it before; curate never overwrites a column: "
        "exact_dedup has no option to rename its columns, so a pipeline holds one exact_dedup stage (or run the other in a pipeline of its own)"
    )
    # the earlier-stage clash needs no input; by design the dedup stages share dup_of and
    # dup_cluster_size, and a second length filter measures again
    assert len(problems(path, read_input=False)) == 1
    shared = pipeline_file(tmp_path, [{"stage": "length_filter"}, {"stage": "exact_dedup"}, {"stage": "near_dedup"}, {"stage": "length_filter", "name": "again"}])
    assert problems(shared) == []


def test_the_column_flow_knows_what_rewriting_stages_and_overlap_leave(tmp_path):
    write_shards(tmp_path, [reviews()])
    rewriting = [{"stage": "clean", "keep_original": "raw"}, {"stage": "line_dedup"}, {"stage": "overlap"}]
    reads = {"columns": ["clean_markup", "raw"], "numeric": {"line_dedup_lines_removed": {"quantiles": 2}, "overlap_fraction": {"quantiles": 2}}}
    path = pipeline_file(tmp_path, [*rewriting, {"stage": "slices", **reads}])
    assert problems(path) == []
    manifest = _run_cli(path, tmp_path / "run")  # what the check accepts, the run has
    assert manifest["rows_in"] == 60
    # filter mode replaces the text: `<name>_text` is gone; a column nobody adds is named
    path = pipeline_file(tmp_path, [*rewriting, {"stage": "slices", "columns": ["clean_text", "overlap_width"]}])
    assert problems(path) == [
        f"{path}, line 11: stages[3] (slices): reads column 'clean_text', which neither the input nor an earlier stage has; stage 'clean' keeps it only "
        "in annotate mode (in filter mode its new text replaces the text column): read the text column, or set `mode: annotate` on 'clean'",
        f"{path}, line 11: stages[3] (slices): reads column 'overlap_width', which neither the input nor an earlier stage has (did you mean `overlap_with`?); "
        "columns at this point: review_id, body, rating, curate_source, clean_chars_removed, clean_markup, clean_changed_by, raw, "
        "line_dedup_chars_removed, line_dedup_lines_removed, overlap_fraction, overlap_with",
    ]
    annotating = pipeline_file(tmp_path, [{"stage": "clean", "mode": "annotate"}, {"stage": "slices", "columns": ["clean_text"]}])
    assert problems(annotating) == []


def test_a_keep_original_column_read_in_annotate_mode_is_a_pipeline_error_that_says_where_the_texts_are(tmp_path):
    # annotate mode leaves the text column as the stage received it, so keep_original: adds nothing
    write_shards(tmp_path, [reviews()])
    slices = {"stage": "slices", "columns": ["raw"]}
    path = pipeline_file(tmp_path, [{"stage": "clean", "keep_original": "raw"}, slices])
    assert problems(path) == []
    error = (f"{path}, line 9: stages[1] (slices): reads column 'raw', which neither the input nor an earlier stage has; stage 'clean' adds it "
             "(its keep_original:) only in filter mode (in annotate mode, its `mode: annotate` or --annotate-only, the text column stays as 'clean' "
             "received it and its new text is in 'clean_text'): read the text column for that text, or 'clean_text' for the new one")
    assert [str(e) for e in preflight(load_pipeline(path), annotate_only=True).errors] == [error]
    ran = cli("run", str(path), "--annotate-only", "--quiet", cwd=tmp_path)
    assert (ran.returncode, ran.stderr.strip()) == (2, f"error: {error}")  # a pipeline error, as the mirror case
    assert not (tmp_path / "run").exists()
    annotating = pipeline_file(tmp_path, [{"stage": "clean", "keep_original": "raw", "mode": "annotate"}, slices])
    checked = cli("check", str(annotating), cwd=tmp_path)
    assert (checked.returncode, checked.stderr.strip()) == (2, f"error: {error.replace('line 9', 'line 10')}")
    assert problems(pipeline_file(tmp_path, [{"stage": "clean", "keep_original": "raw", "mode": "annotate"}, {"stage": "slices", "columns": ["clean_text"]}])) == []


def test_unreadable_inputs_and_the_column_flow_are_reported_together(tmp_path):
    write_shards(tmp_path, [reviews(), reviews(), reviews()])
    (tmp_path / "in" / "shard-001.parquet").write_bytes(b"not parquet")
    (tmp_path / "in" / "shard-002.parquet").write_bytes(b"")
    path = pipeline_file(tmp_path, [{"stage": "length_filter"}, {"stage": "slices", "columns": ["genre"]}])
    found = problems(path)
    assert len(found) == 3, found
    assert found[0].startswith(f"{path}: {tmp_path / 'in' / 'shard-001.parquet'}: not a readable Parquet file")
    assert found[1] == f"{path}: {tmp_path / 'in' / 'shard-002.parquet'}: the file is empty (0 bytes); remove it from the input or re-export it"
    assert found[2].startswith(f"{path}, line 8: stages[1] (slices): reads column 'genre', which neither the input nor an earlier stage has")


def test_run_checks_the_column_flow_before_it_touches_the_output(tmp_path):
    write_shards(tmp_path, [reviews()])
    path = pipeline_file(tmp_path, [{"stage": "length_filter"}, {"stage": "slices", "columns": ["lang"]}, {"stage": "langid"}])
    result = cli("run", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {path}, line 8: stages[1] (slices): reads column 'lang', which neither the input nor an earlier stage has; "
        "stage 'langid' adds it but runs later: move 'slices' after it"
    )
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- --set


def test_set_overrides_keys_by_dotted_path_and_stage_name(tmp_path):
    path = pipeline_file(tmp_path, [{"stage": "length_filter", "name": "length"}, {"stage": "quality", "rules": ["gopher_quality"]}])
    spec = load_pipeline(path, (
        "input.text_column=review",
        "stages.length.min_words=4",
        "stages.quality.thresholds.gopher_short_doc=10",
        "stages.quality.rules=[c4, gopher_quality]",
        "stages.length.max_chars=null",
    ))
    assert spec.input.text_column == "review"
    assert spec.stages[0].min_words == 4 and spec.stages[0].max_chars is None
    assert spec.stages[1].thresholds == {"gopher_short_doc": 10.0}
    assert spec.stages[1].rules == ["c4", "gopher_quality"]
    assert spec.fingerprint() != load_pipeline(path).fingerprint()


def test_set_is_validated_like_the_file_and_names_the_override(tmp_path):
    path = pipeline_file(tmp_path, [{"stage": "length_filter", "name": "length"}])
    with pytest.raises(CurateError) as caught:
        load_pipeline(path, ("stages.lenght.min_words=3", "stages.length.min_words=many", "stages.length.min_wrds=3", "input.id_column"))
    assert str(caught.value).splitlines() == [
        f"{path}: --set stages.lenght.min_words=3: no stage named 'lenght' (did you mean `length`?); stages: length",
        f"{path}: --set input.id_column: give KEY=VALUE, e.g. --set stages.quality.thresholds.gopher_short_doc=10",
        f"{path}: --set stages.length.min_words=many: stages[0].min_words: should be a valid integer, unable to parse string as an integer (got 'many')",
        (f"{path}: --set stages.length.min_wrds=3: stages[0].min_wrds: unknown key (did you mean `min_words`?); "
         "valid keys: stage, name, mode, min_chars, max_chars, min_words, max_words"),
    ]


@pytest.mark.parametrize("override, message", [
    ("stages[0].min_words=5", "stages are named, not numbered: --set stages.NAME.KEY=VALUE, e.g. stages.len.v2.min_words=…; stages: len.v2, langid, quality"),
    ("nosuch.deep.key=1", "nosuch: unknown key; valid keys: input, output, stages, expectations, gates"),
    ("input.id_column.foo=1", "input.id_column is a string, not a mapping with keys; set it whole, e.g. --set input.id_column=id"),
    ("stages.quality.rules.0=c4", "stages.quality.rules is a list, not a mapping with keys; set it whole, e.g. --set stages.quality.rules=[gopher_quality]"),
    ("stages.quality.thresholds.gopher_shrt_doc=10", "stages[2]: thresholds: no rule called 'gopher_shrt_doc' (did you mean `gopher_short_doc`?) in gopher_quality"),
    ("stages.len.min_words=5", "no stage named 'len' (did you mean `len.v2`?); stages: len.v2, langid, quality"),
    # found after validation, and still the override's: a rule set to read, a name another stage has
    ("stages.quality.rules=[gopher_qualty]", "stages[2].rules: rule set 'gopher_qualty' not found (did you mean `gopher_quality`?)"),
    ("stages.len.v2.name=langid", "stages[0].name: stage name 'langid' is used twice; give each stage a unique `name:`"),
])
def test_a_set_mistake_names_the_override_not_a_line_of_the_file(override, message):
    text = ("input:\n  path: a.parquet\n  id_column: id\nstages:\n  - stage: length_filter\n    name: len.v2\n"
            "  - stage: langid\n  - stage: quality\n    rules: [gopher_quality]\n")
    with pytest.raises(CurateError) as caught:
        parse_pipeline(text, "p.yaml", overrides=(override,))
    assert str(caught.value).split("; valid: ")[0].split(" (looked in ")[0] == f"p.yaml: --set {override}: {message}"


def test_set_addresses_a_stage_whose_name_holds_dots():
    text = "input: {path: a.parquet}\nstages:\n  - stage: length_filter\n    name: len.v2\n"
    spec = parse_pipeline(text, "p.yaml", overrides=("stages.len.v2.min_words=5", "gates.max_removed_fraction_by_stage.len.v2=0.5"))
    assert spec.stages[0].min_words == 5 and spec.gates.max_removed_fraction_by_stage == {"len.v2": 0.5}


def test_set_applies_to_the_run_and_is_recorded_in_the_manifest(tmp_path):
    write_shards(tmp_path, [reviews()])
    path = pipeline_file(tmp_path, [{"stage": "length_filter", "name": "length"}], text_column="nothing")
    result = cli("run", str(path), "--set", "input.text_column=body", "--set", "stages.length.min_words=3", "-q")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["overrides"] == ["input.text_column=body", "stages.length.min_words=3"]
    assert manifest["pipeline"]["input"]["text_column"] == "body"
    assert manifest["pipeline"]["stages"][0]["min_words"] == 3
    assert manifest["rows_removed"] == 10  # the `ok` reviews: one word


# ---------------------------------------------------------------- curate show


def _show(*args: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from curate.cli import app

    result = CliRunner().invoke(app, ["show", *args], env={"COLUMNS": "160", "NO_COLOR": "1"}, terminal_width=160)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("show")
    write_shards(folder, [reviews(30), reviews(30)])  # the second shard repeats the first: exact duplicates
    path = pipeline_file(folder, [{"stage": "length_filter", "name": "length", "min_words": 3}, {"stage": "exact_dedup", "name": "exact"}], id_column=None)
    run(path)
    return folder / "run"


def test_show_prints_the_summary_or_the_asked_view(finished_run):
    code, out = _show(str(finished_run))
    assert code == 0 and "curate run: complete" in out and "02 exact" in out


def test_show_stage_prints_sample_removed_rows_with_their_annotations(finished_run):
    code, out = _show(str(finished_run), "--stage", "exact", "--limit", "2")
    assert code == 0, out
    assert "curate run: complete" not in out  # the view asked for, not the summary above it
    assert "exact: exact_duplicate 25" in out  # 30 rows, 5 `ok` ones removed by length first
    assert out.count("exact_duplicate") == 1 + 2  # the title, then two rows
    assert "shard-001.parquet#0" in out and "shard-001.parquet#1" in out and "shard-001.parquet#2" not in out
    assert "dup_of shard-000.parquet#0" in out
    assert "A quiet, patient film about a family farm" in out


def test_show_filters_by_reason_and_names_near_misses(finished_run):
    code, out = _show(str(finished_run), "--stage", "length", "--reason", "too_few_words")
    assert code == 0 and out.count("too_few_words") == 1 + 10
    code, out = _show(str(finished_run), "--stage", "lenght")
    assert code == 2 and out.strip().splitlines() == ["error: --stage lenght: no stage of this run is named so (did you mean `length`?); stages: length, exact"]
    code, out = _show(str(finished_run), "--stage", "length", "--reason", "too_few_word")
    assert code == 2 and "(did you mean `too_few_words`?); its reasons: too_few_words" in out
    code, out = _show(str(finished_run), "--limit", "1")
    assert code == 2 and out.strip().splitlines() == ["error: --limit 1 needs --stage NAME: it sets how many of a stage's rows are shown"]


def test_show_of_an_annotating_run_lists_flagged_rows_and_says_a_row_was_flagged(finished_run, tmp_path):
    annotated = tmp_path / "annotated"
    run(finished_run.parent / "pipeline.yaml", annotated, annotate_only=True)
    code, out = _show(str(annotated), "--stage", "length", "--reason", "too_few_words")
    assert code == 0, out
    assert "length: nothing removed; flagged and kept: too_few_words 10. Its sample rows" in " ".join(out.split())
    report = json.loads((annotated / "reports" / "01_length.json").read_text())
    sampled = [s["curate_id"] for s in report["samples"]["too_few_words"]]
    listed = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│ shard-")]
    assert listed == sampled and len(listed) == 5  # the `ok` reviews, in run order, as report.html shows them
    assert out.count("too_few_words") == 1 + 5
    code, out = _show(str(annotated), "--stage", "length", "--reason", "too_few_chars")
    assert code == 2 and "stage 'length' flagged no row for it (did you mean `too_few_words`?); its reasons: too_few_words" in out
    code, out = _show(str(annotated), "--id", sampled[0])
    lines = [line for line in out.splitlines() if line.startswith("│ 0")]
    assert "kept (flagged: too_few_words)" in lines[0] and "flagged" not in lines[1]  # the first `ok`: the copy exact keeps
    duplicate = json.loads((annotated / "reports" / "02_exact.json").read_text())["samples"]["exact_duplicate"][0]
    code, out = _show(str(annotated), "--id", duplicate["curate_id"])
    lines = [line for line in out.splitlines() if line.startswith("│ 0")]
    assert "kept (flagged: exact_duplicate)" in lines[1] and f"dup_of {duplicate['dup_of']}" in out


def test_show_stage_lists_flagged_rows_a_later_stage_removed_and_says_where_they_are(tmp_path):
    write_shards(tmp_path, [reviews(30)])
    path = pipeline_file(tmp_path, [{"stage": "length_filter", "name": "flag", "mode": "annotate", "min_words": 3},
                                    {"stage": "length_filter", "name": "cut", "min_words": 3}], id_column=None)
    run(path)
    code, out = _show(str(tmp_path / "run"), "--stage", "flag")
    assert code == 0, out
    assert ("flag: nothing removed; flagged and kept: too_few_words 5. Its sample rows (the first of each reason, as in report.html); "
            "0 of 5 flagged rows are in data/, later stages removed the rest") in " ".join(out.split())
    sampled = [s["curate_id"] for s in json.loads((tmp_path / "run" / "reports" / "01_flag.json").read_text())["samples"]["too_few_words"]]
    listed = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│ shard-")]
    assert listed == sampled and len(listed) == 5
    assert " ".join(out.split()).count("too_few_words; then removed by cut: too_few_words") == 5


def test_show_id_follows_one_row_through_the_stages(finished_run):
    code, out = _show(str(finished_run), "--id", "shard-001.parquet#3")
    assert code == 0, out
    journey = out[out.index("curate_id shard-001.parquet#3"):]
    lines = [line for line in journey.splitlines() if line.startswith("│ 0")]
    assert "01 length" in lines[0] and "kept" in lines[0] and f"text_chars {len(REVIEWS[3]) + len(' (review 3)')}" in lines[0]
    assert "02 exact" in lines[1] and "removed: exact_duplicate" in lines[1]
    code, out = _show(str(finished_run), "--id", "shard-000.parquet#5")  # an `ok` review
    lines = [line for line in out[out.index("curate_id shard-000"):].splitlines() if line.startswith("│ 0")]
    assert "removed: too_few_words" in lines[0] and "not reached" in lines[1]
    code, out = _show(str(finished_run), "--id", "nope")
    assert code == 2 and "--id nope: no row of this run has curate_id 'nope'" in out


def test_show_reads_a_run_written_as_json_lines(tmp_path):
    """With output.format: jsonl, data/ and removed/ hold part-*.jsonl.gz: show found no
    row in them and said 'length: nothing removed', the reason unknown and a kept row not of the run."""
    write_shards(tmp_path, [reviews(30), reviews(30)])  # the second shard repeats the first
    path = pipeline_file(tmp_path, [{"stage": "length_filter", "name": "length", "min_words": 3},
                                    {"stage": "exact_dedup", "name": "exact", "mode": "annotate"}], id_column=None)
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), "output": {"path": "run", "format": "jsonl"}}, sort_keys=False))
    assert cli("run", str(path), "--output", str(tmp_path / "run"), "--quiet").returncode == 0
    assert sorted(p.name for p in (tmp_path / "run" / "removed" / "length").iterdir()) == ["part-00000.jsonl.gz", "part-00001.jsonl.gz"]
    code, out = _show(str(tmp_path / "run"), "--stage", "length", "--reason", "too_few_words", "--limit", "3")
    assert code == 0, out
    assert "length: too_few_words 10" in out and out.count("too_few_words") == 1 + 3
    assert [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│ shard-")] == [
        "shard-000.parquet#5", "shard-000.parquet#11", "shard-000.parquet#17"]
    code, out = _show(str(tmp_path / "run"), "--stage", "exact")
    listed = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│ shard-")]
    sampled = [s["curate_id"] for s in json.loads((tmp_path / "run" / "reports" / "02_exact.json").read_text())["samples"]["exact_duplicate"]]
    assert code == 0 and listed == sampled and len(listed) == 5 and "all flagged rows are in data/" in " ".join(out.split())
    code, out = _show(str(tmp_path / "run"), "--id", "shard-001.parquet#3")
    lines = [line for line in out.splitlines() if line.startswith("│ 0")]
    assert code == 0 and "kept" in lines[0] and "kept (flagged: exact_duplicate)" in lines[1] and "dup_of shard-000.parquet#3" in out


def test_show_finds_rows_by_binary_ids_that_are_not_utf8(tmp_path):
    """A binary id column of digests stopped `show --id` and the view of a stage that
    flagged rows with an internal error (polars cannot cast such bytes to text); such an
    id is asked for as the reports name it, as Python writes bytes (b'\\xff!')."""
    digests = [bytes([0xFF, i]) for i in range(60)]
    write_shards(tmp_path, [reviews(30).with_columns(review_id=pl.Series(digests[:30])), reviews(30).with_columns(review_id=pl.Series(digests[30:]))])
    path = pipeline_file(tmp_path, [{"stage": "length_filter", "name": "length", "min_words": 3}, {"stage": "exact_dedup", "name": "exact"}])
    run(path)
    code, out = _show(str(tmp_path / "run"), "--id", str(digests[33]))  # the second shard repeats the first
    assert code == 0, out
    lines = [line for line in out[out.index(f"review_id {digests[33]}"):].splitlines() if line.startswith("│ 0")]
    assert "kept" in lines[0] and "removed: exact_duplicate" in lines[1] and f"dup_of {digests[3]}" in out
    annotated = tmp_path / "annotated"
    run(path, annotated, annotate_only=True)
    code, out = _show(str(annotated), "--stage", "length", "--reason", "too_few_words")
    assert code == 0, out
    listed = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│ b'")]
    sampled = [s["review_id"] for s in json.loads((annotated / "reports" / "01_length.json").read_text())["samples"]["too_few_words"]]
    assert listed == sampled == [str(digests[i]) for i in range(5, 30, len(REVIEWS))]  # the `ok` reviews, in run order


def test_show_prints_data_as_text_never_as_markup_or_terminal_codes(tmp_path):
    """Texts and ids that rich would read as markup, and escape sequences a terminal would
    obey (clear the screen, retitle the window), are shown as they are, controls as symbols."""
    hostile = {"m1": "[/]", "m2": "[bold red]SPOOF[/bold red]", "m3": "[link=https://evil.example]click[/link]",
               "m4": "\x1b[2J\x1b[31mred\x1b]0;pwned\x07", "m5[/]": "x"}
    write_shards(tmp_path, [pl.DataFrame({"review_id": list(hostile), "body": list(hostile.values()), "rating": [1] * 5})])
    run(pipeline_file(tmp_path, [{"stage": "length_filter", "name": "length", "min_words": 4}]))  # removes every row
    code, out = _show(str(tmp_path / "run"), "--stage", "length")
    assert code == 0, out
    assert "\x1b" not in out and "\x07" not in out
    cells = " ".join(out.split())
    for shown in ("[/]", "[bold red]SPOOF[/bold red]", "[link=https://evil.example]click[/link]", "␛[2J␛[31mred␛]0;pwned␇", "m5[/]"):
        assert shown in cells, shown
    code, out = _show(str(tmp_path / "run"), "--id", "m4")
    assert code == 0 and "body: ␛[2J␛[31mred␛]0;pwned␇" in out and "\x1b" not in out
    code, out = _show(str(tmp_path / "run"), "--id", "m5[/]")
    assert code == 0 and "review_id m5[/]" in out


def test_show_says_an_unfinished_run_is_running_and_its_stages_removed_nothing_yet(tmp_path):
    import os
    import socket

    from curate.run.lock import RunLock

    (tmp_path / "_work").mkdir()
    (tmp_path / "_work" / "state.json").write_text(json.dumps({"pipeline": {"input": {}, "stages": [{"stage": "exact_dedup", "name": "exact"}]}}))
    code, out = _show(str(tmp_path), "--stage", "exact")
    assert code == 0 and "exact: no removed rows written yet (the run is unfinished: run the same command again to finish it)" in out
    with RunLock(tmp_path):
        code, out = _show(str(tmp_path))
        assert code == 0 and f"curate run: running (PID {os.getpid()} on host {socket.gethostname()}; rows removed so far)" in " ".join(out.split())
        code, out = _show(str(tmp_path), "--stage", "exact")
        assert f"exact: no removed rows written yet (the run is running (PID {os.getpid()} on host {socket.gethostname()}))" in out


def test_show_needs_a_run_directory(tmp_path):
    code, out = _show(str(tmp_path))
    assert code == 2 and f"{tmp_path} holds no curate run (no manifest.json, no _work/state.json); give a run directory written by curate run" in out


# ---------------------------------------------------------------- stage-level reuse

REUSE_STAGES = [
    {"stage": "length_filter", "name": "length", "min_words": 3},
    {"stage": "exact_dedup", "name": "exact"},
    {"stage": "quality", "rules": ["gopher_quality"], "thresholds": {"gopher_short_doc": 10},
     "disable": ["gopher_below_alpha_threshold", "gopher_few_stop_words"]},  # short reviews with an id suffix
    {"stage": "length_filter", "name": "long", "max_words": 20},
]


def _bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


class Notes(Reporter):
    """The run's notes, kept."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.decided: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)

    def warning(self, stage: str | None, message: str) -> None:
        self.notes.append(f"warning: {message}" if stage is None else f"warning: stage {stage} {message}")

    def deciding(self, stage: str) -> None:
        self.decided.append(stage)


def _run_cli(path: Path, output: Path, *args: str, reporter: Reporter | None = None, limit: int | None = None) -> dict:
    """`curate run PATH -o OUTPUT [--set K=V ...] [--fresh] [--limit N]`, in-process (fast)."""
    from curate.run.runner import RunOptions, run_pipeline

    overrides = tuple(a for a in args if "=" in a)
    spec = load_pipeline(path, overrides)
    result = run_pipeline(spec, output, RunOptions(workers=1, fresh="--fresh" in args, overrides=overrides, limit=limit), reporter or Reporter())
    assert_reconciles(output)
    return result.manifest


@pytest.mark.slow
def test_a_rerun_after_a_change_reuses_the_stages_before_it_and_matches_a_fresh_run(tmp_path):
    second = reviews(90).with_columns(pl.col("review_id").str.replace("r", "s"))  # the same texts, their own ids
    write_shards(tmp_path, [reviews(90), second])
    path = pipeline_file(tmp_path, REUSE_STAGES)
    first = _run_cli(path, tmp_path / "run")
    assert [s["work"] for s in first["stages"]] == ["ran"] * 4
    assert first["rows_kept"] > 0
    # the last stage's threshold moves: only that stage runs again, without --fresh
    moved = _run_cli(path, tmp_path / "run", "--set", "stages.long.max_words=16")
    assert [s["work"] for s in moved["stages"]] == ["reused", "reused", "reused", "ran"]
    assert moved["rows_removed"] > first["rows_removed"]
    reference = _run_cli(path, tmp_path / "reference", "--set", "stages.long.max_words=16")
    assert _bytes(tmp_path / "run") == _bytes(tmp_path / "reference")  # data/, removed/, report tables
    assert moved["stages"][3]["rows_removed"] == reference["stages"][3]["rows_removed"]
    # a change in the middle redoes that stage and every one after it; a stage that is gone leaves no report
    middle = _run_cli(path, tmp_path / "run", "--set", "stages.quality.thresholds.gopher_short_doc=16", "--set", "stages.long.max_words=16")
    assert [s["work"] for s in middle["stages"]] == ["reused", "reused", "ran", "ran"]
    fresh = _run_cli(path, tmp_path / "fresh", "--set", "stages.quality.thresholds.gopher_short_doc=16", "--set", "stages.long.max_words=16")
    assert _bytes(tmp_path / "run") == _bytes(tmp_path / "fresh")
    assert middle["rows_kept"] == fresh["rows_kept"]
    assert sorted(p.name for p in (tmp_path / "run" / "reports").iterdir()) == sorted(p.name for p in (tmp_path / "fresh" / "reports").iterdir())
    # the cache holds the last finished run's work only
    cached = json.loads((tmp_path / "run" / "_cache" / "state.json").read_text())
    assert cached["pipeline"]["stages"][2]["thresholds"] == {"gopher_short_doc": 16.0}
    assert not (tmp_path / "run" / "_work").exists()
    # a stage added at the end: the old last stage wrote its rows to data/, not for a next
    # segment, so it runs again with the new one
    spec = yaml.safe_load(path.read_text())
    longer = tmp_path / "longer.yaml"
    longer.write_text(yaml.safe_dump({**spec, "stages": [*spec["stages"], {"stage": "length_filter", "name": "tail", "max_words": 12}]}, sort_keys=False))
    grown = _run_cli(longer, tmp_path / "run", "--set", "stages.quality.thresholds.gopher_short_doc=16", "--set", "stages.long.max_words=16")
    assert [s["work"] for s in grown["stages"]] == ["reused", "reused", "reused", "ran", "ran"]
    grown_fresh = _run_cli(longer, tmp_path / "grown-fresh", "--set", "stages.quality.thresholds.gopher_short_doc=16", "--set", "stages.long.max_words=16")
    assert _bytes(tmp_path / "run") == _bytes(tmp_path / "grown-fresh") and grown["stages"][4]["rows_removed"] > 0


def test_a_changed_input_reruns_every_stage_and_fresh_deletes_the_cache(tmp_path):
    write_shards(tmp_path, [reviews(60)])
    path = pipeline_file(tmp_path, REUSE_STAGES[:2])
    _run_cli(path, tmp_path / "run")
    write_shards(tmp_path, [reviews(50)])
    again = _run_cli(path, tmp_path / "run")
    assert [s["work"] for s in again["stages"]] == ["ran", "ran"] and again["rows_in"] == 50
    assert (tmp_path / "run" / "_cache").is_dir()
    _run_cli(path, tmp_path / "run", "--fresh")
    fresh = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert fresh["rows_in"] == 50 and [s["work"] for s in fresh["stages"]] == ["ran", "ran"]
    assert (tmp_path / "run" / "_cache" / "state.json").exists()


def test_a_reference_file_gone_from_an_overlap_glob_reruns_that_stage_and_matches_a_fresh_run(tmp_path):
    """The rerun compared only the files the new glob matched: a removed test split went
    unnoticed, its contaminated rows stayed removed, and the note said the file 'changed'."""
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split()
    docs = [" ".join(f"{words[(i * 7 + k) % 16]}{i}{k}" for k in range(40)) + "." for i in range(6)]
    write_shards(tmp_path, [pl.DataFrame({"review_id": [f"d{i}" for i in range(6)], "body": docs})])
    refs = tmp_path / "refs"
    refs.mkdir()
    pl.DataFrame({"rid": ["a0"], "text": [" ".join(docs[1].split()[5:25])]}).write_parquet(refs / "a.parquet")  # holds d1's words
    pl.DataFrame({"rid": ["b0"], "text": [" ".join(docs[3].split()[5:25])]}).write_parquet(refs / "b.parquet")  # holds d3's words
    path = pipeline_file(tmp_path, [
        {"stage": "length_filter", "name": "length", "min_words": 5},
        {"stage": "overlap", "name": "decontam", "references": [str(refs / "*.parquet")], "reference_id_column": "rid"},
        {"stage": "exact_dedup", "name": "exact"},
    ])
    first = _run_cli(path, tmp_path / "run")
    assert sorted(read_ids(tmp_path / "run" / "removed" / "decontam")) == ["d1", "d3"]
    (refs / "a.parquet").rename(tmp_path / "a.parquet")
    notes = Notes()
    again = _run_cli(path, tmp_path / "run", reporter=notes)
    assert notes.notes == [f"{tmp_path / 'run'} holds a finished run with a different stage file ({refs / 'a.parquet'} is gone): "
                           "replacing it, reusing the work of length, redoing the rest"]
    assert [s["work"] for s in again["stages"]] == ["reused", "ran", "ran"]
    assert list(again["state"]["stage_files"]) == ["02_decontam"] and list(again["state"]["stage_files"]["02_decontam"]) == [str(refs / "b.parquet")]
    fresh = _run_cli(path, tmp_path / "fresh")
    assert read_ids(tmp_path / "run" / "removed" / "decontam") == read_ids(tmp_path / "fresh" / "removed" / "decontam") == ["d3"]
    assert _bytes(tmp_path / "run") == _bytes(tmp_path / "fresh") and again["rows_kept"] == fresh["rows_kept"] == first["rows_kept"] + 1
    # the file back: a new file of that stage, named so
    (tmp_path / "a.parquet").rename(refs / "a.parquet")
    notes = Notes()
    back = _run_cli(path, tmp_path / "run", reporter=notes)
    assert notes.notes[0].startswith(f"{tmp_path / 'run'} holds a finished run with a different stage file (new file {refs / 'a.parquet'}): ")
    assert [s["work"] for s in back["stages"]] == ["reused", "ran", "ran"] and sorted(read_ids(tmp_path / "run" / "removed" / "decontam")) == ["d1", "d3"]


def read_ids(folder: Path) -> list[str]:
    return pl.read_parquet(folder / "*.parquet")["review_id"].to_list()


def test_a_run_made_by_another_build_of_curate_is_never_reused(tmp_path, monkeypatch):
    # __version__ stays the same while the code changes: the state names the build (a
    # hash of curate's source and built-in rules), and another build's finished run and
    # its cached work are redone, not taken for this build's
    write_shards(tmp_path, [reviews(60)])
    path = pipeline_file(tmp_path, REUSE_STAGES[:2])
    first = _run_cli(path, tmp_path / "run")
    assert first["state"]["build"] == build_id() and len(build_id()) == 16
    monkeypatch.setattr("curate.run.runner.build_id", lambda: "0123456789abcdef")
    notes = Notes()
    again = _run_cli(path, tmp_path / "run", reporter=notes)
    assert [s["work"] for s in again["stages"]] == ["ran", "ran"]
    assert again["state"]["build"] == "0123456789abcdef" and again["rows_kept"] == first["rows_kept"]
    assert notes.notes == [f"warning: {tmp_path / 'run'} holds a finished run with a different build of curate: replacing it, nothing of it can be reused, running every stage"]


def test_a_finished_run_of_another_pipeline_and_input_is_replaced_with_a_warning_quiet_json_keeps(tmp_path):
    # by design a local rerun replaces the finished run (docs/iterating.md); a wrong
    # --output does so too, so a scheduler's quiet JSON log must still say it
    write_shards(tmp_path, [reviews(60)])
    first = pipeline_file(tmp_path, REUSE_STAGES[:1])
    assert cli("run", str(first), "-o", str(tmp_path / "run"), "-q").returncode == 0
    other = tmp_path / "other"
    (other / "in").mkdir(parents=True)
    reviews(20).write_parquet(other / "in" / "part.parquet")
    second = pipeline_file(other, [{"stage": "exact_dedup"}])
    ran = cli("run", str(second), "-o", str(tmp_path / "run"), "--log-format", "json", "-q")
    assert ran.returncode == 0, ran.stderr
    events = [json.loads(line) for line in ran.stderr.splitlines()]
    assert [e["event"] for e in events] == ["warning", "run_finished"]
    assert events[0]["message"].startswith(f"{tmp_path / 'run'} holds a finished run with a different ")
    assert events[0]["message"].endswith(": replacing it, nothing of it can be reused, running every stage") and "stage" not in events[0]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert (manifest["rows_in"], [s["name"] for s in manifest["stages"]]) == (20, ["exact_dedup"])


def test_a_reruns_note_names_every_change_or_the_first_three_and_how_many_more(tmp_path):
    """The note named only the first change (stages[0].min_words: 3 → 8) of a rerun that
    also set exact's mode: read as 'only this changed'."""
    write_shards(tmp_path, [reviews(60)])
    path = pipeline_file(tmp_path, [*REUSE_STAGES[:2], {"stage": "length_filter", "name": "long", "max_words": 20}])
    _run_cli(path, tmp_path / "run")
    notes = Notes()
    _run_cli(path, tmp_path / "run", "stages.long.max_words=16", "stages.exact.mode=annotate", reporter=notes)
    assert notes.notes == [f"{tmp_path / 'run'} holds a finished run with a different pipeline (stages[1].mode: 'filter' → 'annotate'; "
                           "stages[2].max_words: 20 → 16): replacing it, reusing the work of length, redoing the rest"]
    notes = Notes()
    _run_cli(path, tmp_path / "run", "stages.length.min_words=4", "stages.length.min_chars=5", "stages.long.max_words=19",
             "stages.long.min_words=2", "stages.long.mode=annotate", reporter=notes)
    assert notes.notes == [f"warning: {tmp_path / 'run'} holds a finished run with a different pipeline (stages[0].min_chars: 1 → 5; "
                           "stages[0].min_words: 3 → 4; stages[1].mode: 'annotate' → 'filter'; and 3 more): replacing it, "
                           "nothing of it can be reused, running every stage"]


def test_a_changed_dataset_stage_reuses_the_shard_stage_before_it(tmp_path):
    second = reviews(90).with_columns(pl.col("review_id").str.replace("r", "s"))
    write_shards(tmp_path, [reviews(90), second])
    path = pipeline_file(tmp_path, REUSE_STAGES[:3])
    first = _run_cli(path, tmp_path / "run")
    # exact_dedup's summary (the hashes) depends on its own parameters; length's rows do not
    changed = _run_cli(path, tmp_path / "run", "--set", "stages.exact.normalize.punctuation=true")
    assert [s["work"] for s in changed["stages"]] == ["reused", "ran", "ran"]
    assert changed["stages"][0]["seconds"] == first["stages"][0]["seconds"]  # the finished run's record, not a new one
    reference = _run_cli(path, tmp_path / "reference", "--set", "stages.exact.normalize.punctuation=true")
    assert _bytes(tmp_path / "run") == _bytes(tmp_path / "reference")
    assert changed["rows_kept"] == reference["rows_kept"]


def test_a_killed_run_reruns_with_a_changed_pipeline_without_fresh(tmp_path):
    second = reviews(90).with_columns(pl.col("review_id").str.replace("r", "s"))
    write_shards(tmp_path, [reviews(90), second])
    path = pipeline_file(tmp_path, REUSE_STAGES)
    # killed when quality (the third segment) has finished one of the two shards
    command = [sys.executable, "-m", "curate", "run", str(path), "--workers", "1", "-q"]
    killed = subprocess.run(command, env={**os.environ, VARIABLE: "shard:marker@5"}, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "run" / "manifest.json").exists()
    moved = cli("run", str(path), "--workers", "1", "--set", "stages.long.max_words=16")
    assert moved.returncode == 0, moved.stderr
    note = " ".join(moved.stderr.split())
    assert "holds an unfinished run with a different pipeline (stages[3].max_words: 20 → 16): keeping the work of its first 3 stage(s)" in note, note
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [s["work"] for s in manifest["stages"]] == ["reused", "reused", "reused", "ran"]
    reference = _run_cli(path, tmp_path / "reference", "--set", "stages.long.max_words=16")
    assert _bytes(tmp_path / "run") == _bytes(tmp_path / "reference")
    assert manifest["rows_kept"] == reference["rows_kept"]


def test_a_rerun_plans_its_workers_on_the_stages_that_run(tmp_path, monkeypatch):
    from curate.console import Reporter
    from curate.run import runner

    planned = planned_workers(monkeypatch)
    write_shards(tmp_path, [reviews(60), reviews(60).with_columns(pl.col("review_id").str.replace("r", "s"))])
    path = pipeline_file(tmp_path, REUSE_STAGES)
    for overrides in ((), ("stages.long.max_words=16",)):
        runner.run_pipeline(load_pipeline(path, overrides), tmp_path / "run", runner.RunOptions(workers=2, overrides=overrides), Reporter())
    # --workers 2 is honoured for a whole run; the rerun redoes one stage of four on a small input
    assert planned == [2, 1]


def test_compare_names_a_changed_input_and_a_trial_slice(tmp_path):
    """Two runs of the same pipeline: the input file rewritten in place, then a --limit
    trial. The comparison puts the change in rows down to them, never to the pipeline."""
    write_shards(tmp_path, [reviews(60)])
    path = pipeline_file(tmp_path, [{"stage": "length_filter", "name": "length", "min_words": 3}])
    before = run(path, tmp_path / "before").manifest
    shard = tmp_path / "in" / "shard-000.parquet"
    reviews(60).with_columns(body=pl.when(pl.col("rating") > 5).then(pl.lit("ok")).otherwise("body")).write_parquet(shard)
    after = run(path, tmp_path / "after").manifest
    trial = run(path, tmp_path / "trial", limit=20).manifest
    assert (before["rows_kept"], after["rows_kept"], trial["rows_in"]) == (50, 26, 20)  # "ok" has too few words: 10 rows before, 34 after

    result = cli("report", str(tmp_path / "after"), "--compare", str(tmp_path / "before"), "--json")
    assert result.returncode == 0, result.stderr
    c = json.loads(result.stdout)["comparison"]
    old_hash, new_hash = before["inputs"][0]["xxh3_64"], after["inputs"][0]["xxh3_64"]
    assert c["input_changes"] == [f"{shard.resolve()}: other content (60 → 60 rows, xxh3_64 {old_hash} → {new_hash})"]
    assert c["pipeline_changes"] == [] and c["run_changes"] == []
    page = (tmp_path / "after" / "report.html").read_text()
    assert "Input changes" in page and new_hash in page and "Same pipeline parameters" not in page
    terminal = cli("report", str(tmp_path / "after"), "--compare", str(tmp_path / "before"))
    assert f"input: {shard.resolve()}: other content" in " ".join(terminal.stdout.split())

    # The trial's quick identity cannot be compared with a hash: same rows and bytes, no input change.
    c = json.loads(cli("report", str(tmp_path / "trial"), "--compare", str(tmp_path / "after"), "--json").stdout)["comparison"]
    assert c["run_changes"] == ["trial slice: none: every input row → --limit 20 (the first rows in run order)"]
    assert c["input_changes"] == [] and c["pipeline_changes"] == []
    assert "Run setting changes" in (tmp_path / "trial" / "report.html").read_text()


def test_a_trial_then_the_whole_input_says_so_and_a_reused_decision_is_not_announced(tmp_path):
    write_shards(tmp_path, [reviews(60)])
    path = pipeline_file(tmp_path, REUSE_STAGES[:3])
    _run_cli(path, tmp_path / "run", limit=20)
    whole = Notes()
    _run_cli(path, tmp_path / "run", reporter=whole)
    assert whole.notes == [f"warning: {tmp_path / 'run'} holds a finished run with a different --limit/--sample (--limit 20 (the first rows in "
                           "run order) → none: every input row): replacing it, nothing of it can be reused, running every stage"]
    assert whole.decided == ["exact"]
    # a later stage changes: exact's decisions are read again, not made (and not announced)
    later = Notes()
    moved = _run_cli(path, tmp_path / "run", "--set", "stages.quality.thresholds.gopher_short_doc=12", reporter=later)
    assert [s["work"] for s in moved["stages"]] == ["reused", "reused", "ran"] and later.decided == []
