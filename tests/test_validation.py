"""Validation suites through great-expectations: results match facts counted by hand,
suites are checked before the run, results reach validation.json, the manifest, GX's
Data Docs and report.html (escaped)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
import yaml
from runs import cli, run, write_pipeline, write_shards

from curate.checks.suites import SUITES_DIR, load_suite
from curate.config import load_pipeline
from curate.errors import ConfigError, CurateError

REPO = Path(__file__).resolve().parent.parent

ROWS = pl.DataFrame({
    "id": ["v1", "v2", "v3", "v3", "v5", "v6", "v7", "v8"],
    "text": ["good text one", None, "short", "x", "<script>alert(1)</script> long enough", "another fine text", "z" * 30, "fine"],
    "lang": ["en", "en", "fr", "xx", "<img src=x onerror=alert(1)>", "de", "en", None],
    "lang_score": [0.9, 0.95, 0.4, 0.8, 0.99, 0.7, 0.1, 0.6],
    "label": ["a", "b", "a", "c", "b", "a", "a", "zz"],
})

SUITE = {
    "description": "hand-checked facts",
    "expectations": [
        {"expect": "column_values_to_not_be_null", "column": "$text"},            # v2: 1
        {"expect": "column_values_to_be_unique", "column": "$id"},                # v3 twice: 2
        {"expect": "column_values_to_be_in_set", "column": "lang", "value_set": ["en", "fr", "de"]},  # xx, <img…>: 2 of 7
        {"expect": "column_values_to_be_between", "column": "lang_score", "min_value": 0.5},          # 0.4, 0.1: 2 of 8
        {"expect": "column_values_to_be_in_set", "column": "$label", "value_set": ["a", "b", "c"]},    # zz: 1
        {"expect": "column_value_lengths_to_be_between", "column": "$text", "min_value": 5, "max_value": 40},  # x, fine: 2 of 7
        {"expect": "ExpectColumnValuesToNotBeNull", "column": "lang"},            # GX's class name works too: 1
        {"expect": "table_row_count_to_be_between", "min_value": 8, "max_value": 8},
    ],
}


def _setup(tmp_path: Path, suite: dict, expectations: dict, **input_spec) -> Path:
    write_shards(tmp_path, [ROWS])
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "facts.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
    path = write_pipeline(tmp_path, [{"stage": "exact_dedup", "mode": "annotate"}], **input_spec)
    spec = yaml.safe_load(path.read_text())
    spec["expectations"] = expectations
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_suite_results_match_hand_checked_facts(tmp_path):
    path = _setup(tmp_path, SUITE, {"output": ["suites/facts.yaml"], "input": ["suites/facts.yaml"], "data_docs": True}, id_column="id", label_column="label",
                  bad_ids="keep")  # v3 twice, on purpose: the uniqueness expectation must see it
    result = run(path)
    assert os.environ["GX_ANALYTICS_ENABLED"] == "false"
    validation = json.loads((result.output / "reports" / "validation.json").read_text())
    assert validation["success"] is False
    assert [(s["target"], s["suite"], s["rows"]) for s in validation["suites"]] == [("output", "facts", 8), ("input", "facts", 8)]
    for suite in validation["suites"]:
        items = suite["expectations"]
        facts = [(e["expectation"], e["column"], e["status"], e.get("unexpected_count")) for e in items]
        assert facts == [
            ("expect_column_values_to_not_be_null", "text", "failed", 1),
            ("expect_column_values_to_be_unique", "id", "failed", 2),
            ("expect_column_values_to_be_in_set", "lang", "failed", 2),
            ("expect_column_values_to_be_between", "lang_score", "failed", 2),
            ("expect_column_values_to_be_in_set", "label", "failed", 1),
            ("expect_column_value_lengths_to_be_between", "text", "failed", 2),
            ("expect_column_values_to_not_be_null", "lang", "failed", 1),
            ("expect_table_row_count_to_be_between", None, "passed", None),
        ]
        assert items[2]["unexpected_percent"] == pytest.approx(200 / 7) and items[2]["missing_count"] == 1
        assert sorted(items[2]["unexpected_values"]) == ["<img src=x onerror=alert(1)>", "xx"]
        assert sorted(items[1]["unexpected_values"]) == ["v3", "v3"]
        assert sorted(items[3]["unexpected_values"]) == [0.1, 0.4]
        assert items[3]["unexpected_percent"] == 25.0
        assert sorted(items[5]["unexpected_values"]) == ["fine", "x"]
        assert items[7]["observed_value"] == 8
        assert (suite["evaluated"], suite["passed"], suite["failed"], suite["skipped"]) == (8, 1, 7, 0)
    assert set(validation["suites"][0]["seconds"]) == {"read", "to_pandas", "validate"}
    # The manifest keeps a summary; GX's Data Docs are in the run directory.
    summary = result.manifest["validation"]
    assert summary["success"] is False and summary["results"] == "reports/validation.json"
    assert summary["suites"][0]["failed_expectations"][:2] == ["expect_column_values_to_not_be_null(text)", "expect_column_values_to_be_unique(id)"]
    assert (result.output / "reports" / "data_docs" / "index.html").is_file() and summary["data_docs"] == "reports/data_docs/index.html"
    pages = [p.read_text() for p in (result.output / "reports" / "data_docs" / "validations").rglob("*.html")]
    assert len(pages) == 2 and all("&lt;img src=x onerror=alert(1)&gt;" in page for page in pages)
    assert not any("<img src=x onerror" in page for page in pages)  # GX's own pages do not escape; curate does it for them
    # Without gates a failed suite does not fail the run.
    assert result.manifest["exit_code"] == 0
    html = (result.output / "report.html").read_text()
    assert 'id="validation"' in html and "2 of 2 suites failed" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html.lower() and "<script" not in html.lower()


def test_placeholders_resolve_per_target_and_skip_what_does_not_exist(tmp_path):
    suite = {"expectations": [{"expect": "column_values_to_be_unique", "column": "$id"},
                              {"expect": "column_values_to_not_be_null", "column": "$label"}]}
    path = _setup(tmp_path, suite, {"output": ["suites/facts.yaml"], "input": ["suites/facts.yaml"]})  # no id or label column named
    result = run(path)
    output, input_ = json.loads((result.output / "reports" / "validation.json").read_text())["suites"]
    # In the output $id is curate's own curate_id (unique); in the input there is no id column.
    assert (output["expectations"][0]["column"], output["expectations"][0]["status"]) == ("curate_id", "passed")
    assert input_["expectations"][0]["status"] == "skipped" and "no usable id column (input.id_column is not set" in input_["expectations"][0]["note"]
    assert all(suite["expectations"][1]["status"] == "skipped" for suite in (output, input_))
    assert output["success"] is True and input_["success"] is True and (output["skipped"], output["evaluated"]) == (1, 1)


def test_an_input_id_column_replaced_by_row_ids_is_named_as_the_reason_its_expectations_are_skipped(tmp_path):
    suite = {"expectations": [{"expect": "column_values_to_be_unique", "column": "$id"}]}
    path = _setup(tmp_path, suite, {"input": ["suites/facts.yaml"]}, id_column="id", bad_ids="row_ids")  # v3 twice
    result = run(path)
    (input_,) = json.loads((result.output / "reports" / "validation.json").read_text())["suites"]
    assert input_["expectations"][0]["status"] == "skipped"
    assert "its duplicate or null ids were replaced by curate_id under input.bad_ids: row_ids" in input_["expectations"][0]["note"]


def test_shipped_basic_suite_on_the_demo_input(tmp_path):
    """pipelines/data/README.md: 6 null texts; 26 texts are empty (6 null + 12 empty strings
    + 8 of whitespace alone); ids demo-000001 … demo-004000 are unique."""
    spec = {"input": {"path": str(REPO / "pipelines" / "data" / "demo" / "*.parquet"), "id_column": "id"}, "output": "run",
            "stages": [{"stage": "length_filter", "mode": "annotate"}], "expectations": {"input": ["basic"]}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec))
    result = run(tmp_path / "p.yaml")
    (suite,) = json.loads((result.output / "reports" / "validation.json").read_text())["suites"]
    assert suite["rows"] == 4000 and suite["file"] == str(SUITES_DIR / "basic.yaml")
    counts = [(e["expectation"].removeprefix("expect_"), e["column"], e["unexpected_count"]) for e in suite["expectations"]]
    assert counts == [("column_values_to_not_be_null", "text", 6), ("column_value_lengths_to_be_between", "text", 12),
                      ("column_values_to_not_be_null", "id", 0), ("column_values_to_be_unique", "id", 0)]
    report = json.loads((result.output / "reports" / "01_length_filter.json").read_text())
    assert report["would_remove_by_reason"]["empty_text"] == 26  # 6 null + 12 empty strings + 8 of whitespace alone, counted by curate itself
    # GX's Data Docs load from CDNs when opened: only written when asked for
    assert not (result.output / "reports" / "data_docs").exists() and result.manifest["validation"]["data_docs"] is None


def test_every_shipped_suite_loads():
    names = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
    assert {"basic", "language", "demo"} <= set(names)
    for name in names:
        assert load_suite(name).expectations


@pytest.mark.parametrize(
    "suite, expectations, message",
    [
        ({"expectations": [{"expect": "column_values_to_be_nul", "column": "text"}]}, {"output": ["suites/facts.yaml"]},
         "'column_values_to_be_nul' is not a great-expectations expectation; did you mean column_values_to_be_null"),
        ({"expectations": [{"column": "text"}]}, {"output": ["suites/facts.yaml"]}, "expectations[0]: each entry is a mapping with `expect: NAME`"),
        ({"expectation": []}, {"output": ["suites/facts.yaml"]}, "a suite is a mapping with `expectations:`"),
        ({"expectations": [{"expect": "table_row_count_to_equal", "value": 1}]}, {"output": ["nonexistent"]}, "not found; suites in"),
        ({"expectations": [{"expect": "table_row_count_to_equal", "value": 1}]}, {"outputs": ["basic"]}, "expectations.outputs: unknown key (did you mean `output`?); valid keys: output, input, data_docs"),
        ({"expectations": [{"expect": "table_row_count_to_equal", "value": 1}]}, {"output": []}, "names no suite"),
        ({"expectations": [{"expect": "table_row_count_to_equal", "value": 1}]}, {"output": ["basic.yaml"]},
         "basic.yaml not found; the built-in suite is named basic (without .yaml)"),
        ({"expectations": [{"expect": "table_row_count_to_equal", "value": 1}]}, {"output": ["suites/"]}, "suites is a folder; name a suite file in it"),
        ({"expectations": [{"expect": "compound_columns_to_be_unique", "column_list": "text"}]}, {"output": ["suites/facts.yaml"]},
         "expectations[0]: column_list should be a list (got 'text'); write [text]"),
    ],
)
def test_suite_errors_stop_before_the_run(tmp_path, suite, expectations, message):
    path = _setup(tmp_path, suite, expectations)
    with pytest.raises(ConfigError) as error:
        load_pipeline(path)
    assert message in str(error.value)
    assert not (tmp_path / "run").exists()


def test_a_suite_column_its_target_can_never_have_stops_the_run_before_it_starts(tmp_path):
    # `lang` is an input column, so the output has it too; `lang_score_x` is in neither, and
    # `dup_of` is exact_dedup's: the output has it, the input does not.
    suite = {"expectations": [{"expect": "column_values_to_not_be_null", "column": "lang"},
                              {"expect": "column_values_to_be_between", "column": "lang_score_x", "min_value": 0},
                              {"expect": "column_pair_values_to_be_equal", "column_A": "$id", "column_B": "dup_of"}]}
    path = _setup(tmp_path, suite, {"output": ["suites/facts.yaml"], "input": ["suites/facts.yaml"]}, id_column="id", bad_ids="keep")
    from curate.run.preflight import preflight

    messages = [str(e) for e in preflight(load_pipeline(path)).errors]
    where = f"{path}: {tmp_path / 'suites' / 'facts.yaml'}"  # the pipeline, then the suite file and entry
    assert [m.split(" (did you mean")[0].split("; its columns")[0] for m in messages] == [
        f"{where}: expectations[1] (column_values_to_be_between): the output has no column 'lang_score_x'",
        f"{where}: expectations[1] (column_values_to_be_between): the input has no column 'lang_score_x'",
        f"{where}: expectations[2] (column_pair_values_to_be_equal): the input has no column 'dup_of'",
    ]
    assert "(did you mean `lang_score`?)" in messages[0]
    with pytest.raises(CurateError, match="the output has no column .lang_score_x.") as error:  # exit 2, and nothing written
        run(path)
    assert error.value.exit_code == 2 and not (tmp_path / "run").exists()


def test_an_edited_suite_makes_the_finished_run_stale_and_its_re_finish_reuses_every_stage(tmp_path):
    suite = {"expectations": [{"expect": "column_values_to_not_be_null", "column": "id"}]}
    path = _setup(tmp_path, suite, {"output": ["suites/facts.yaml"]}, id_column="id", bad_ids="keep")
    spec = yaml.safe_load(path.read_text())
    spec["stages"] = [{"stage": "length_filter", "min_words": 1, "mode": "annotate"}, *spec["stages"]]
    spec["gates"] = {"expectations": "must_pass"}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    first = run(path)
    assert first.manifest["exit_code"] == 0
    assert run(path).manifest == first.manifest  # unchanged: finished, nothing to do
    suite["expectations"].append({"expect": "column_values_to_be_in_set", "column": "lang", "value_set": ["en", "fr", "de"]})
    (tmp_path / "suites" / "facts.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))  # tightened: xx and <img…> fail it
    again = run(path)
    assert again.manifest["exit_code"] == 5
    assert again.manifest["validation"]["suites"][0]["failed_expectations"] == ["expect_column_values_to_be_in_set(lang)"]
    assert [s["work"] for s in again.manifest["stages"]] == ["reused", "ran"]  # as after a gates change: the last stage alone runs
    assert list(again.manifest["state"]["suite_files"]) == [str(tmp_path / "suites" / "facts.yaml")]
    assert again.manifest["state"]["suite_files"] != first.manifest["state"]["suite_files"]


def test_skipped_expectations_are_counted_warned_about_and_a_suite_that_checked_nothing_fails_must_pass(tmp_path):
    suite = {"expectations": [{"expect": "column_values_to_not_be_null", "column": "$label"},
                              {"expect": "table_row_count_to_be_between", "min_value": 100}]}  # 8 rows: fails
    path = _setup(tmp_path, suite, {"output": ["suites/facts.yaml", "suites/labels.yaml"]})  # the pipeline names no label column
    labels = {"expectations": [{"expect": "column_values_to_not_be_null", "column": "$label"},
                               {"expect": "column_values_to_be_in_set", "column": "$label", "value_set": ["a", "b"]}]}
    (tmp_path / "suites" / "labels.yaml").write_text(yaml.safe_dump(labels))
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**spec, "gates": {"expectations": "must_pass"}}, sort_keys=False))
    result = run(path)
    gate = result.manifest["gates"]["results"][0]
    assert gate["passed"] is False and gate["value"] == 2
    assert gate["message"] == ("2 of 2 expectation suites failed (1 expectations evaluated, 3 skipped): output.facts: table_row_count_to_be_between; "
                               "output.labels: evaluated none of its 2 expectations (all skipped)")
    # a table-level expectation names no column: no "(None)"
    assert result.manifest["validation"]["suites"][0]["failed_expectations"] == ["expect_table_row_count_to_be_between"]
    html = (result.output / "report.html").read_text()
    note = "$label: the pipeline names no input.label_column"
    assert f"validation suite <code>facts</code> on output: 1 of 2 expectations skipped ({note})" in html
    assert f"<strong>validation suite <code>labels</code> on output checked nothing</strong>: all 2 of its expectations were skipped ({note})" in html


def test_a_row_condition_may_name_a_column_no_other_expectation_names(tmp_path):
    # rows with lang "en": v1 (13 chars), v2 (null), v7 (30 chars); "fine" and "x" are not en
    suite = {"expectations": [{"expect": "column_value_lengths_to_be_between", "column": "text", "min_value": 10,
                               "row_condition": 'lang=="en"', "condition_parser": "pandas"}]}
    result = run(_setup(tmp_path, suite, ["suites/facts.yaml"]))
    (out,) = json.loads((result.output / "reports" / "validation.json").read_text())["suites"]
    (item,) = out["expectations"]
    assert (item["status"], item["element_count"], item["unexpected_count"]) == ("passed", 3, 0), item


def test_a_trial_run_validates_only_the_input_rows_it_read(tmp_path):
    suite = {"expectations": [{"expect": "column_values_to_not_be_null", "column": "$text"}]}  # v2, the 2nd row, has no text
    path = _setup(tmp_path, suite, {"input": ["suites/facts.yaml"]})
    first = run(path, limit=1)
    (suite_result,) = json.loads((first.output / "reports" / "validation.json").read_text())["suites"]
    assert (first.manifest["rows_in"], suite_result["rows"], suite_result["success"]) == (1, 1, True)
    assert not (first.output / "_work" / "trial_input").exists() and not (first.output / "_cache" / "trial_input").exists()
    sampled = run(path, tmp_path / "sampled", sample=0.5, seed=3)
    (suite_result,) = json.loads((sampled.output / "reports" / "validation.json").read_text())["suites"]
    assert 0 < sampled.manifest["rows_in"] < 8 and suite_result["rows"] == sampled.manifest["rows_in"]
    whole = run(path, tmp_path / "whole")
    assert whole.manifest["validation"]["suites"][0]["rows"] == 8 and whole.manifest["validation"]["success"] is False


def test_a_trial_keeps_an_input_id_column_named_curate_id_for_the_input_suites(tmp_path):
    # re-curating curate's output: its curate_id is the input's own id column
    suite = {"expectations": [{"expect": "column_values_to_not_be_null", "column": "$id"}]}
    path = _setup(tmp_path, suite, {"input": ["suites/facts.yaml"]}, id_column="curate_id", bad_ids="keep")
    for shard in (tmp_path / "in").glob("*.parquet"):
        pl.read_parquet(shard).rename({"id": "curate_id"}).write_parquet(shard)
    result = run(path, limit=3)
    (item,) = json.loads((result.output / "reports" / "validation.json").read_text())["suites"][0]["expectations"]
    assert (item["column"], item["status"], item["element_count"]) == ("curate_id", "passed", 3), item


def test_invalid_parameters_are_a_failed_expectation_not_a_crash(tmp_path):
    suite = {"expectations": [{"expect": "column_values_to_be_between", "column": "lang_score", "min_value": "high"},
                              {"expect": "column_values_to_not_be_null", "column": "id"}]}
    result = run(_setup(tmp_path, suite, ["suites/facts.yaml"], id_column="id", bad_ids="keep"))  # a list: output suites
    (out,) = json.loads((result.output / "reports" / "validation.json").read_text())["suites"]
    assert out["target"] == "output"
    assert out["expectations"][0]["status"] == "error" and "invalid parameters" in out["expectations"][0]["error"]
    assert out["expectations"][1]["status"] == "passed"
    assert out["success"] is False and result.manifest["exit_code"] == 0


def test_an_expectation_gx_cannot_store_loses_neither_its_result_nor_the_other_suites(tmp_path):
    # GX 1.24's checkpoint cannot store the quantile expectation's result (numpy booleans in
    # it): the suite is judged expectation by expectation, and the other suites keep theirs
    quantiles = {"expectations": [
        {"expect": "column_quantile_values_to_be_between", "column": "lang_score",
         "quantile_ranges": {"quantiles": [0.5], "value_ranges": [[0.9, 1.0]]}},  # GX's median (nearest of 8) is 0.8: fails
        {"expect": "column_values_to_not_be_null", "column": "id"},
    ]}
    path = _setup(tmp_path, {"expectations": [{"expect": "column_values_to_not_be_null", "column": "$text"}]},
                  {"output": ["basic", "suites/quantiles.yaml", "suites/facts.yaml"], "input": ["suites/quantiles.yaml"], "data_docs": True},
                  id_column="id", bad_ids="keep")
    (tmp_path / "suites" / "quantiles.yaml").write_text(yaml.safe_dump(quantiles, sort_keys=False))
    result = run(path)
    validation = json.loads((result.output / "reports" / "validation.json").read_text())
    outcome = {(s["target"], s["suite"]): [(e["expectation"].removeprefix("expect_"), e["status"]) for e in s["expectations"]] for s in validation["suites"]}
    assert outcome == {
        ("output", "basic"): [("column_values_to_not_be_null", "failed"), ("column_value_lengths_to_be_between", "passed"),
                              ("column_values_to_not_be_null", "passed"), ("column_values_to_be_unique", "failed")],
        ("output", "quantiles"): [("column_quantile_values_to_be_between", "failed"), ("column_values_to_not_be_null", "passed")],
        ("output", "facts"): [("column_values_to_not_be_null", "failed")],
        ("input", "quantiles"): [("column_quantile_values_to_be_between", "failed"), ("column_values_to_not_be_null", "passed")],
    }
    quantile = validation["suites"][1]["expectations"][0]
    assert quantile["observed_value"] == {"quantiles": [0.5], "values": [0.8]}
    assert "error" not in result.manifest["validation"] and result.manifest["exit_code"] == 0
    assert (result.output / "reports" / "data_docs" / "index.html").is_file()


def test_input_suites_read_json_lines_files_of_differing_types_as_the_run_does(tmp_path):
    # n is whole in a.jsonl and fractional in b.jsonl (the run's type: a float); `extra` is
    # only in b.jsonl (null in a's rows); the Parquet file beside them gives n as int64
    (tmp_path / "in").mkdir()
    rows = [{"id": f"r{i}", "text": f"some words for row {i}", "n": i if i < 5 else i + 0.5} for i in range(10)]
    (tmp_path / "in" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:5]))
    (tmp_path / "in" / "b.jsonl").write_text("".join(json.dumps(r | {"extra": "x"}) + "\n" for r in rows[5:8]))
    pl.DataFrame(rows[8:]).cast({"n": pl.Int64}, strict=False).with_columns(n=pl.Series([8, 9])).write_parquet(tmp_path / "in" / "c.parquet")
    suite = {"expectations": [{"expect": "column_values_to_be_between", "column": "n", "max_value": 7},  # 7.5, 8, 9
                              {"expect": "column_values_to_not_be_null", "column": "extra"}]}  # a's 5 rows and c's 2
    path = _setup(tmp_path, suite, {"output": ["basic"], "input": ["suites/facts.yaml"]}, id_column="id")
    spec = yaml.safe_load(path.read_text())
    spec["input"]["path"] = "in/"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    (tmp_path / "in" / "shard-000.parquet").unlink()  # _setup's own rows
    result = run(path)
    assert "error" not in result.manifest["validation"]
    output, input_ = json.loads((result.output / "reports" / "validation.json").read_text())["suites"]
    assert (output["suite"], output["success"]) == ("basic", True)
    between, not_null = input_["expectations"]
    assert (input_["rows"], between["unexpected_count"], sorted(between["unexpected_values"])) == (10, 3, [7.5, 8.0, 9.0])
    assert (not_null["unexpected_count"], not_null["element_count"]) == (7, 10)


def test_type_expectations_judge_pandas_default_dtypes(tmp_path):
    # GX's documented type names, as on a frame pd.read_parquet gives; the other
    # expectations on the same column keep working
    suite = {"expectations": [{"expect": "column_values_to_be_of_type", "column": "lang_score", "type_": "float64"},
                              {"expect": "column_values_to_be_of_type", "column": "lang_score", "type_": "int64"},
                              {"expect": "column_type_to_be", "column": "$text", "type_": "str"},
                              {"expect": "column_values_to_be_between", "column": "lang_score", "min_value": 0.5}]}
    result = run(_setup(tmp_path, suite, {"output": ["suites/facts.yaml"], "input": ["suites/facts.yaml"]}))
    for suite_result in json.loads((result.output / "reports" / "validation.json").read_text())["suites"]:
        facts = [(e["status"], e["observed_value"], e["unexpected_count"]) for e in suite_result["expectations"]]
        assert facts == [("passed", "float64", None), ("failed", "float64", None), ("passed", "str", None), ("failed", None, 2)]


def test_a_failed_suite_without_must_pass_is_a_warning_on_the_terminal_and_in_the_json_log(tmp_path):
    suite = {"expectations": [{"expect": "column_values_to_be_in_set", "column": "lang", "value_set": ["en", "fr", "de"]}]}  # xx, <img…>
    path = _setup(tmp_path, suite, ["suites/facts.yaml"])
    line = "validation: 1 of 1 suites failed (output.facts: column_values_to_be_in_set(lang)); results in reports/validation.json"
    ran = cli("run", str(path), cwd=tmp_path)
    assert ran.returncode == 0 and f"warning: {line}" in ran.stderr, ran.stderr
    again = cli("run", str(path), "--log-format", "json", "-q", cwd=tmp_path)  # finished: said again from the manifest
    events = [json.loads(text) for text in again.stderr.splitlines()]
    assert again.returncode == 0 and {"event": "warning", "check": "validation", "message": line}.items() <= next(e for e in events if e["event"] == "warning").items()
