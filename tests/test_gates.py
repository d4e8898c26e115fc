"""Gates: each fails and passes on real small runs; a failed gate keeps the data, marks
the manifest and exits with code 5; config errors are caught before the run."""

from __future__ import annotations

import json

import polars as pl
import pytest
import yaml
from runs import assert_reconciles, cli, read_dir, run, write_pipeline, write_shards

from curate.checks.config import GatesConfig
from curate.checks.gates import evaluate, label_issue_rate
from curate.config import load_pipeline
from curate.errors import GATE_FAILED, ConfigError
from curate.files import read_json

# 20 rows. length_filter(min_words=3) removes 2 too_few_words + 1 empty_text (3 of 20);
# exact_dedup then removes 3 duplicates of the 17 left; 14 rows are kept, 6 removed (30%).
SHARD_0 = ["a b c d", "a b c d", "one two", "", "e f g h", "i j k l", "m n o p", "q r s t", "u v w x", "a b c d"]
SHARD_1 = ["y z", "e f g h"] + [f"w{i} x{i} y{i} z{i}" for i in range(8)]


def _frames() -> list[pl.DataFrame]:
    return [
        pl.DataFrame({"id": [f"s0-{i}" for i in range(10)], "text": SHARD_0, "label": ["a", "b"] * 5}),
        pl.DataFrame({"id": [f"s1-{i}" for i in range(10)], "text": SHARD_1, "label": ["a", "b"] * 5}),
    ]


def _pipeline(folder, min_words: int = 3, gates: dict | None = None, expectations=None):
    write_shards(folder, _frames())
    path = write_pipeline(folder, [{"stage": "length_filter", "name": "length", "min_words": min_words}, {"stage": "exact_dedup", "name": "exact"}],
                          id_column="id", label_column="label")
    spec = yaml.safe_load(path.read_text())
    if gates is not None:
        spec["gates"] = gates
    if expectations is not None:
        spec["expectations"] = expectations
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _by_gate(manifest: dict) -> dict[str, dict]:
    return {g["gate"]: g for g in manifest["gates"]["results"]}


FAILING = {
    "max_removed_fraction": 0.29,
    "min_rows_out": 15,
    "max_removed_fraction_by_stage": {"exact": 0.17},
    "max_removed_fraction_by_reason": {"too_few_*": 0.09, "exact_duplicate": 0.5},
    "expectations": "must_pass",
}
PASSING = {  # every limit exactly at the run's value: a value equal to its limit passes
    "max_removed_fraction": 0.3,
    "min_rows_out": 14,
    "max_removed_fraction_by_stage": {"exact": 3 / 17},
    "max_removed_fraction_by_reason": {"too_few_*": 0.1},
    "expectations": "must_pass",
}


def test_each_gate_fails_on_real_data_and_the_data_is_still_written(tmp_path):
    # input suite `basic` fails: one input text is empty.
    result = run(_pipeline(tmp_path, gates=FAILING, expectations={"output": ["basic"], "input": ["basic"]}))
    manifest = result.manifest
    assert manifest["status"] == "gates_failed" and manifest["exit_code"] == GATE_FAILED == 5
    gates = _by_gate(manifest)
    assert gates["max_removed_fraction"] == {**gates["max_removed_fraction"], "passed": False, "value": 0.3, "limit": 0.29}
    assert "removed 30.0% of its input rows (6 of 20)" in gates["max_removed_fraction"]["message"]
    assert gates["min_rows_out"]["passed"] is False and gates["min_rows_out"]["value"] == 14
    assert gates["max_removed_fraction_by_stage[exact]"]["passed"] is False
    assert gates["max_removed_fraction_by_stage[exact]"]["value"] == round(3 / 17, 6)
    assert gates["max_removed_fraction_by_reason[too_few_*]"]["passed"] is False
    assert gates["max_removed_fraction_by_reason[too_few_*]"]["value"] == 0.1
    assert "too_few_words (2 of 20)" in gates["max_removed_fraction_by_reason[too_few_*]"]["message"]
    assert gates["max_removed_fraction_by_reason[exact_duplicate]"]["passed"] is True
    assert gates["expectations"]["passed"] is False
    assert "input.basic: column_value_lengths_to_be_between(text)" in gates["expectations"]["message"]
    assert len(manifest["gates"]["failed"]) == 5
    # The data is all there and reconciles; the manifest and the report record the failure.
    assert_reconciles(result.output)
    assert read_dir(result.output / "data").height == 14
    saved = json.loads((result.output / "manifest.json").read_text())
    assert saved["status"] == "gates_failed" and saved["gates"]["passed"] is False
    html = (result.output / "report.html").read_text()
    assert 'id="gates"' in html and "5 of 6 gates failed" in html


def test_messages_say_flagged_for_annotated_rows_and_never_print_a_value_equal_to_its_limit(tmp_path):
    gates = {"max_removed_fraction_by_reason": {"exact_*": 0.01}, "max_removed_fraction_by_stage": {"exact": 0.1499}}
    result = run(_pipeline(tmp_path, gates=gates), annotate_only=True)
    by_gate = _by_gate(result.manifest)
    assert by_gate["max_removed_fraction_by_reason[exact_*]"]["message"].startswith("stage exact flagged ")  # nothing was removed
    # 3 of 20 is 15.00%, over 14.99%: "15.0%, limit 15.0%" read as a pass
    assert "flagged 15.00% of the rows it saw (3 of 20); limit 14.99%" in by_gate["max_removed_fraction_by_stage[exact]"]["message"]


def test_the_language_gate_says_flagged_for_a_quality_stage_in_annotate_mode(tmp_path):
    report = {"stage": "quality", "name": "quality", "rows_in": 1312, "rows_kept": 1312, "rows_removed": 0, "removed_by_reason": {},
              "would_remove_by_reason": {"gopher_short_doc": 1177},
              "stats": {"wipe_out": {"warn_min_rows": 20},
                        "by_language": [{"language": "en", "rows": 1312, "would_remove": 1177, "would_remove_share": 1177 / 1312, "top_reason": "gopher_short_doc"}]}}
    manifest = {"rows_in": 1312, "rows_kept": 1312, "rows_removed": 0}
    (result,) = evaluate(GatesConfig(max_removed_fraction_by_language=0.1), tmp_path, manifest, [report], None)["results"]
    assert result["message"] == "stage quality flagged 89.7% of language 'en' (1,177 of 1,312 rows; most for gopher_short_doc); limit 10.0%"


def test_a_share_over_its_limit_by_one_row_in_a_million_prints_apart_from_it():
    from curate.checks.gates import _pct

    assert (_pct(500_001 / 10_000_000, 0.05), _pct(0.05, 500_001 / 10_000_000)) == ("5.00001%", "5.00000%")


def test_shares_near_0_and_100_percent_do_not_print_as_them():
    from curate.report.charts import fmt_pct
    from curate.stages.slices.statistics import percent

    assert [fmt_pct(1 / 3000), fmt_pct(2999 / 3000), fmt_pct(0.0), fmt_pct(1.0), fmt_pct(0.25)] == ["<0.1%", ">99.9%", "0.0%", "100.0%", "25.0%"]
    assert [percent(0.9996), percent(1.0)] == [">99.9%", "100%"]


def test_each_gate_passes_at_its_limit(tmp_path):
    result = run(_pipeline(tmp_path, gates=PASSING, expectations={"output": ["basic"]}))
    manifest = result.manifest
    gates = _by_gate(manifest)
    assert set(gates) == {"max_removed_fraction", "min_rows_out", "max_removed_fraction_by_stage[exact]",
                          "max_removed_fraction_by_reason[too_few_*]", "expectations"}
    assert all(g["passed"] for g in gates.values()), [g for g in gates.values() if not g["passed"]]
    assert manifest["status"] == "complete" and manifest["exit_code"] == 0
    assert gates["expectations"]["message"] == "all 1 expectation suites passed (4 expectations evaluated)"
    assert manifest["seconds"] >= manifest["validation"]["seconds"]  # the run's time includes its checks


def test_max_change_vs_an_earlier_run(tmp_path):
    # Earlier run: min_words 2 removes only the empty text, then 3 duplicates: 4 of 20.
    earlier = run(_pipeline(tmp_path / "a", min_words=2))
    assert earlier.manifest["rows_removed"] == 4
    # This run: min_words 3 (6 of 20): the removed fraction moves +10 points and
    # too_few_words goes from 0 to 2 of 20 rows (+10 points), the largest reason change.
    strict = {"run": "../a/run", "max_removed_fraction_change": 0.05, "max_reason_rate_change": 0.05}
    failed = run(_pipeline(tmp_path / "b", gates={"max_change_vs": strict}))
    gates = _by_gate(failed.manifest)
    assert failed.manifest["exit_code"] == 5
    assert gates["max_change_vs.removed_fraction"]["passed"] is False
    assert gates["max_change_vs.removed_fraction"]["value"] == pytest.approx(0.1)
    assert "(20.0% → 30.0%)" in gates["max_change_vs.removed_fraction"]["message"]
    assert gates["max_change_vs.reason_rate"]["passed"] is False
    assert "length/too_few_words: +10.0 points (0.0% → 10.0%)" in gates["max_change_vs.reason_rate"]["message"]
    # The report shows the changes since the earlier run.
    html = (failed.output / "report.html").read_text()
    assert 'id="compare"' in html and "+10.00 pp" in html
    loose = {**strict, "max_removed_fraction_change": 0.1, "max_reason_rate_change": 0.1}
    passed = run(_pipeline(tmp_path / "c", gates={"max_change_vs": {**loose, "run": "../a/run"}}))
    assert passed.manifest["exit_code"] == 0, passed.manifest["gates"]
    # No earlier run yet (a first scheduled run): pass by default, fail when asked to.
    first = run(_pipeline(tmp_path / "d", gates={"max_change_vs": {**loose, "run": "../nowhere"}}))
    assert first.manifest["exit_code"] == 0
    assert _by_gate(first.manifest)["max_change_vs"]["message"] == f"no earlier run to compare with at {tmp_path / 'nowhere'} (it does not exist); if_missing: pass"
    strict_first = run(_pipeline(tmp_path / "e", gates={"max_change_vs": {**loose, "run": "../nowhere", "if_missing": "fail"}}))
    assert strict_first.manifest["exit_code"] == 5


def test_an_earlier_run_that_is_unfinished_or_being_rewritten_fails_the_gate_whatever_if_missing_says(tmp_path):
    """if_missing is for the first scheduled run, when there is no earlier run yet: an
    earlier run whose rerun was killed in its finish phase (its manifest gone first), or
    is working there now, holds nothing to compare with, and must not pass as missing."""
    import os
    import socket
    import subprocess
    import sys

    from curate.run.crash import VARIABLE
    from curate.run.lock import RunLock

    earlier = run(_pipeline(tmp_path / "a", min_words=2)).output
    rerun = subprocess.run([sys.executable, "-m", "curate", "run", str(tmp_path / "a" / "pipeline.yaml"), "-q", "--set", "stages.length.min_words=3"],
                           capture_output=True, text=True, env={**os.environ, VARIABLE: "finish:old_manifest"}, timeout=120)
    assert rerun.returncode == -9 and not (earlier / "manifest.json").exists()
    lenient = {"run": "../a/run", "max_removed_fraction_change": 0.5, "if_missing": "pass"}
    today = run(_pipeline(tmp_path / "b", gates={"max_change_vs": lenient}))
    gate = _by_gate(today.manifest)["max_change_vs"]
    assert today.manifest["exit_code"] == 5 and gate["passed"] is False
    assert gate["message"] == (f"cannot compare with the earlier run: {earlier} has no manifest.json, so it holds no finished curate run; "
                               "the run is unfinished (or running): run the same `curate run` command again to finish it; "
                               "the gate fails whatever if_missing says (it is for an earlier run that does not exist yet)")
    with RunLock(earlier):  # the rerun working there now
        again = run(_pipeline(tmp_path / "b", gates={"max_change_vs": lenient}), fresh=True)
    assert _by_gate(again.manifest)["max_change_vs"]["message"].startswith(
        f"cannot compare with the earlier run: {earlier} is being rewritten by a curate run now (PID {os.getpid()} on host {socket.gethostname()}), its manifest gone; ")
    assert again.manifest["exit_code"] == 5


def test_a_latest_link_is_followed_at_gate_time_and_moving_it_leaves_a_finished_run_finished(tmp_path):
    """The cron set-up of docs/scheduling.md: `run: runs/latest`, a link moved to each
    run that passed. Rerunning a finished day after the link moved to it does nothing."""
    (tmp_path / "runs").mkdir()
    loose = {"run": "runs/latest", "max_removed_fraction_change": 0.1, "max_reason_rate_change": 0.1, "if_missing": "fail"}
    day0 = run(_pipeline(tmp_path, min_words=2), tmp_path / "runs" / "day0")
    (tmp_path / "runs" / "latest").symlink_to("day0")
    path = _pipeline(tmp_path, gates={"max_change_vs": loose})
    assert load_pipeline(path).gates.max_change_vs.run == str(tmp_path / "runs" / "latest")  # the link, not where it leads
    day1 = run(path, tmp_path / "runs" / "day1")
    assert day1.manifest["exit_code"] == 0
    compared = {g["gate"]: g["compared_with"] for g in day1.manifest["gates"]["results"] if g["gate"].startswith("max_change_vs")}
    assert compared == {"max_change_vs.removed_fraction": str(day0.output.resolve()), "max_change_vs.reason_rate": str(day0.output.resolve())}
    (tmp_path / "runs" / "latest").unlink()
    (tmp_path / "runs" / "latest").symlink_to("day1")  # published
    from curate.run.preflight import preflight

    assert preflight(load_pipeline(path), output=tmp_path / "runs" / "day1").errors == []  # curate check -o runs/day1 agrees
    again = run(path, tmp_path / "runs" / "day1")
    assert again.manifest == day1.manifest  # nothing redone: the manifest is the first run's
    assert result_exit(tmp_path / "runs" / "day1") == 0
    with pytest.raises(ConfigError, match=r"runs/latest links to this run's output directory"):  # --fresh would redo it against itself
        run(path, tmp_path / "runs" / "day1", fresh=True)
    assert read_json(tmp_path / "runs" / "day1" / "manifest.json") == day1.manifest


def test_an_earlier_run_that_is_the_output_directory_stops_the_run_before_it_touches_it(tmp_path):
    earlier = run(_pipeline(tmp_path))
    before = (earlier.output / "manifest.json").read_text()
    path = _pipeline(tmp_path, gates={"max_change_vs": {"run": "run", "max_removed_fraction_change": 0.01}})  # output: run
    with pytest.raises(ConfigError, match=r"gates.max_change_vs.run: .*/run is this run's output directory .*compare the run with itself"):
        run(path)
    assert (earlier.output / "manifest.json").read_text() == before
    from curate.run.preflight import preflight

    assert preflight(load_pipeline(path)).errors == []  # `curate check` leaves a finished run there to the run: it may be this one
    spec = yaml.safe_load(path.read_text())
    spec["output"] = spec["gates"]["max_change_vs"]["run"] = "new_run"
    path.write_text(yaml.safe_dump(spec))
    (error,) = preflight(load_pipeline(path)).errors  # `curate check` says so for a directory without a finished run
    assert "is this run's output directory" in str(error)


def test_an_earlier_run_that_is_a_symlink_loop_stops_the_run_before_it_touches_the_output(tmp_path):
    path = _pipeline(tmp_path, gates={"max_change_vs": {"run": "runs/latest", "max_removed_fraction_change": 0.01}})
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "latest").symlink_to("previous")
    (tmp_path / "runs" / "previous").symlink_to("latest")  # a link moved by hand the wrong way
    result = cli("run", str(path))
    assert (result.returncode, result.stderr) == (2, f"error: gates.max_change_vs.run {tmp_path / 'runs' / 'latest'} is a symlink loop "
                                                     "(links that lead to each other); fix the link or point it at the earlier run's directory\n")
    assert not (tmp_path / "run").exists()
    assert cli("check", str(path)).returncode == 2


def test_a_home_folder_in_the_earlier_run_and_suite_paths_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    run(_pipeline(tmp_path / "home", min_words=2))
    (tmp_path / "home" / "suites").mkdir()
    (tmp_path / "home" / "suites" / "mine.yaml").write_text("expectations:\n  - {expect: table_row_count_to_be_between, min_value: 1}\n")
    gate = {"run": "~/run", "max_removed_fraction_change": 0.01, "if_missing": "fail"}
    path = _pipeline(tmp_path / "b", gates={"max_change_vs": gate}, expectations={"output": ["~/suites/mine.yaml"]})
    spec = load_pipeline(path)
    assert (spec.gates.max_change_vs.run, spec.expectations.output) == (str(tmp_path / "home" / "run"), [str(tmp_path / "home" / "suites" / "mine.yaml")])
    gates = _by_gate(run(path).manifest)
    assert "(20.0% → 30.0%)" in gates["max_change_vs.removed_fraction"]["message"]  # compared, not "no earlier run"


def test_label_issue_rate_counts_the_label_issue_column_in_every_output_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "removed" / "noise").mkdir(parents=True)
    (tmp_path / "removed" / "length").mkdir(parents=True)
    pl.DataFrame({"id": ["a", "b", "c", "d"], "label_issue": [True, False, False, None]}).write_parquet(tmp_path / "data" / "part-00000.parquet")
    pl.DataFrame({"id": ["e"], "label_issue": [True]}).write_parquet(tmp_path / "removed" / "noise" / "part-00000.parquet")
    pl.DataFrame({"id": ["f", "g"]}).write_parquet(tmp_path / "removed" / "length" / "part-00000.parquet")  # removed before the stage
    report = {"stage": "label_noise", "name": "noise", "annotation_columns": ["label_issue", "label_quality"], "rows_in": 5,
              "rows_kept": 4, "rows_removed": 1, "removed_by_reason": {"label_issue": 1}}
    assert label_issue_rate(tmp_path, report) == (2, 4)  # null: not assessed
    manifest = {"rows_in": 7, "rows_kept": 4, "rows_removed": 3}
    failed = evaluate(GatesConfig(max_label_issue_rate=0.4), tmp_path, manifest, [report], None)
    assert failed["passed"] is False and failed["results"][0]["value"] == 0.5
    assert failed["failed"] == ["max_label_issue_rate[noise]: stage noise found label issues in 50.0% of the rows it assessed (2 of 4); limit 40.0%"]
    assert evaluate(GatesConfig(max_label_issue_rate=0.5), tmp_path, manifest, [report], None)["passed"] is True


@pytest.mark.parametrize(
    "gates, message",
    [
        ({"max_removed_fraction_by_stage": {"exactt": 0.1}}, "gates.max_removed_fraction_by_stage.exactt: no stage is named 'exactt'; stages: length, exact"),
        ({"max_label_issue_rate": 0.1}, "gates.max_label_issue_rate: needs a label_noise stage in the pipeline"),
        ({"max_removed_fraction_by_language": 0.5}, "gates.max_removed_fraction_by_language: needs a quality stage in the pipeline"),
        ({"expectations": "must_pass"}, "gates.expectations: must_pass needs suites under the pipeline's `expectations:` key"),
        ({"max_removed_fraction": 1.5}, "gates.max_removed_fraction: should be less than or equal to 1"),
        ({"min_rows": 3}, "gates.min_rows: unknown key (did you mean `min_rows_out`?); valid keys: max_removed_fraction, min_rows_out,"),
        ({"max_change_vs": {"run": "x"}}, "gates.max_change_vs: sets no limit"),
        # the pipeline file's folder (or an empty path, which names it) never holds a run: every run would fail the gate
        ({"max_change_vs": {"run": "", "max_removed_fraction_change": 0.1}}, "gates.max_change_vs.run: is empty; give the earlier run's directory"),
        ({"max_change_vs": {"run": ".", "max_removed_fraction_change": 0.1}}, "is the pipeline file's folder, which cannot be an earlier run"),
        ({"max_change_vs": {"run": "..", "max_removed_fraction_change": 0.1}}, "is a folder above the pipeline file, which cannot be an earlier run"),
        # true would be a 100% limit that never fails, false a zero tolerance, and 1 row
        ({"max_removed_fraction": True}, "gates.max_removed_fraction: a number, not true/false (got True)"),
        ({"min_rows_out": True}, "gates.min_rows_out: a number, not true/false (got True)"),
        ({"max_removed_fraction_by_stage": {"length": False}}, "gates.max_removed_fraction_by_stage.length: a number, not true/false (got False)"),
        ({"max_change_vs": {"run": "../x", "max_removed_fraction_change": True}},
         "gates.max_change_vs.max_removed_fraction_change: a number, not true/false (got True)"),
    ],
)
def test_gate_config_errors_are_located_before_the_run(tmp_path, gates, message):
    path = _pipeline(tmp_path, gates=gates)
    with pytest.raises(ConfigError) as error:
        load_pipeline(path)
    assert message in str(error.value)
    assert str(error.value).startswith(f"{path}, line ")
    assert not (tmp_path / "run").exists()


def _preflight_errors(path) -> list[str]:
    from curate.run.preflight import preflight

    return [str(e) for e in preflight(load_pipeline(path)).errors]


def test_a_reason_glob_no_stage_can_give_stops_the_run_with_the_reasons_there_are(tmp_path):
    path = _pipeline(tmp_path, gates={"max_removed_fraction_by_reason": {"too_few_word": 0.01, "exact_*": 0.5}})
    assert _preflight_errors(path) == [
        f"{path}, line 14: gates.max_removed_fraction_by_reason.too_few_word: no stage of this pipeline gives a reason it matches (did you mean `too_few_words`?); "
        "the stages' reasons: empty_text, exact_duplicate, too_few_chars, too_few_words"
    ]
    with pytest.raises(ConfigError, match="too_few_word: no stage"):
        run(path)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("pattern, known", [("lang_not_kept:*", True), ("lang_not_kept:fr", True), ("lang_*", True),
                                            ("lang_not_kep:*", False), ("contaminated", False)])
def test_reasons_a_stage_gives_with_a_prefix_match_their_globs(tmp_path, pattern, known):
    path = _pipeline(tmp_path, gates={"max_removed_fraction_by_reason": {pattern: 0.5}})
    spec = yaml.safe_load(path.read_text())
    spec["stages"].append({"stage": "langid", "keep": ["en"]})
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    errors = _preflight_errors(path)
    assert (errors == []) is known, errors
    if not known:
        assert "the stages' reasons: empty_text, exact_duplicate, lang_low_score, lang_not_kept:*, lang_too_short, too_few_chars" in errors[0]


def test_a_language_gate_needs_a_stage_that_knows_the_rows_language(tmp_path):
    path = _pipeline(tmp_path, gates={"max_removed_fraction_by_language": 0.5})
    spec = yaml.safe_load(path.read_text())
    spec["stages"].append({"stage": "quality", "rules": ["gopher_quality"]})  # no lang column, no langid, no lang: English for all, no by-language report
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    (error,) = _preflight_errors(path)
    assert error.startswith(f"{path}, line 16: gates.max_removed_fraction_by_language: no stage reports removal by language")
    with pytest.raises(ConfigError, match="no stage reports removal by language"):
        run(path)
    assert not (tmp_path / "run").exists()
    for known in ({"lang": "en"}, {"lang_column": "label"}):  # a fixed language, or a column of the input
        spec["stages"][-1] = {"stage": "quality", "rules": ["gopher_quality"], **known}
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        assert _preflight_errors(path) == [], known
    spec["stages"][-1:] = [{"stage": "langid"}, {"stage": "quality", "rules": ["gopher_quality"]}]  # langid writes `lang` before quality
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert _preflight_errors(path) == []


def test_cli_exits_5_with_one_line_per_failed_gate_and_json_summary(tmp_path):
    gates = {"max_removed_fraction": 0.25, "min_rows_out": 15, "max_removed_fraction_by_stage": {"length": 0.5}}
    path = _pipeline(tmp_path, gates=gates, expectations={"input": ["basic"]})
    result = cli("run", str(path), "--log-format", "json")
    assert result.returncode == 5, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]  # GX prints nothing of its own
    failed = [e for e in events if e["event"] == "gate_failed"]
    assert [e["gate"] for e in failed] == ["max_removed_fraction", "min_rows_out"]
    finished = events[-1]
    assert finished["event"] == "run_finished" and finished["status"] == "gates_failed" and finished["exit_code"] == 5
    assert finished["gates"]["passed"] is False and len(finished["gates"]["results"]) == 3
    assert finished["gates"]["failed"][0].startswith("max_removed_fraction: the run removed 30.0%")
    (suite,) = finished["validation"]["suites"]  # the empty input text, as a scheduler sees it
    assert (suite["target"], suite["success"], suite["failed_expectations"]) == ("input", False, ["expect_column_value_lengths_to_be_between(text)"])
    assert (tmp_path / "run" / "data" / "part-00001.parquet").is_file()
    # The finished run again: nothing to do, same exit code, one plain line per failed gate.
    again = cli("run", str(path))
    assert again.returncode == 5
    lines = [line for line in again.stderr.splitlines() if line.startswith("gate failed: ")]
    assert lines == [
        "gate failed: max_removed_fraction: the run removed 30.0% of its input rows (6 of 20); limit 25.0%",
        "gate failed: min_rows_out: the run kept 14 rows; at least 15 required",
    ]


def test_quiet_json_log_keeps_the_events_a_scheduler_acts_on_and_every_error_is_a_timed_json_line(tmp_path):
    path = _pipeline(tmp_path, gates={"min_rows_out": 15})
    result = cli("run", str(path), "--quiet", "--log-format", "json")
    assert result.returncode == 5, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["event"] for e in events] == ["gate_failed", "run_finished"]  # no note, segment_started or deciding
    assert events[0]["message"] == "the run kept 14 rows; at least 15 required" and events[1]["gates"]["failed"]
    # an option error while the command line is parsed, and a pipeline error: JSON too, with a time
    for args in (["--workers", "0"], ["--set", "gates.min_rows_out=-1"]):
        failed = cli("run", str(path), "--log-format", "json", *args)
        (event,) = [json.loads(line) for line in failed.stderr.splitlines()]
        assert failed.returncode == 2 and event["event"] == "error" and event["exit_code"] == 2 and event["time"] > 0, failed.stderr
    assert "--workers" in json.loads(cli("run", str(path), "--log-format=json", "-w", "0").stderr)["message"]


@pytest.mark.slow
def test_every_numeric_gate_set_to_zero_is_a_real_limit(tmp_path):
    """0 is a zero-tolerance limit, not "no gate": each numeric gate at 0 is evaluated,
    fails when the run removed or flagged anything, and passes when nothing moved."""
    frames = _frames()
    wrong = {4, 6}  # rows whose given label the probabilities contradict
    frames = [f.with_columns(pl.Series("probs", [[0.02, 0.98] if (i in wrong) == (label == "a") else [0.98, 0.02]
                                                 for i, label in enumerate(f["label"])]), pl.lit("en").alias("lang"))
              for f in frames]
    write_shards(tmp_path, frames)
    stages = [{"stage": "length_filter", "name": "length", "min_words": 3}, {"stage": "exact_dedup", "name": "exact"},
              {"stage": "label_noise", "probabilities_column": "probs", "classes": ["a", "b"]},
              {"stage": "quality", "rules": ["short.yaml"], "warn_min_rows": 0}]  # removes the 8 longer texts of shard 1
    (tmp_path / "short.yaml").write_text("rules:\n  - {name: short_only, metric: char_count, keep_if: '<=', threshold: 7}\n")
    earlier = run(write_pipeline(tmp_path, stages, id_column="id", label_column="label"), tmp_path / "earlier")
    assert earlier.manifest["rows_removed"] == 6 + 8
    zero = {
        "max_removed_fraction": 0,
        "min_rows_out": 0,
        "max_removed_fraction_by_stage": {"exact": 0},
        "max_removed_fraction_by_reason": {"too_few_words": 0.0},
        "max_label_issue_rate": 0,
        "max_removed_fraction_by_language": 0,
        "max_change_vs": {"run": "earlier", "max_removed_fraction_change": 0, "max_reason_rate_change": 0},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), "gates": zero}, sort_keys=False))
    gates = _by_gate(run(path).manifest)
    assert {name: (g["passed"], g["limit"]) for name, g in gates.items()} == {
        "max_removed_fraction": (False, 0),
        "min_rows_out": (True, 0),
        "max_removed_fraction_by_stage[exact]": (False, 0),
        "max_removed_fraction_by_reason[too_few_words]": (False, 0.0),
        "max_label_issue_rate[label_noise]": (False, 0),
        "max_removed_fraction_by_language": (False, 0),
        "max_change_vs.removed_fraction": (True, 0),  # the same run again: nothing moved
        "max_change_vs.reason_rate": (True, 0),
    }
    assert gates["max_label_issue_rate[label_noise]"]["value"] > 0
    assert result_exit(tmp_path / "run") == GATE_FAILED
    # a run that removes one row fewer moves both change gates off 0: they fail
    changed = yaml.safe_load(path.read_text())
    changed["stages"][0]["min_words"] = 2
    path.write_text(yaml.safe_dump(changed, sort_keys=False))
    gates = _by_gate(run(path, tmp_path / "changed").manifest)
    assert gates["max_change_vs.removed_fraction"]["passed"] is False and gates["max_change_vs.reason_rate"]["passed"] is False
    # the zero-tolerance gate alone (once read as "no gates configured")
    path.write_text(yaml.safe_dump({**changed, "gates": {"max_removed_fraction": 0.0}}, sort_keys=False))
    alone = run(path, tmp_path / "alone").manifest
    assert alone["exit_code"] == GATE_FAILED and _by_gate(alone)["max_removed_fraction"]["passed"] is False


def result_exit(run_dir) -> int:
    return json.loads((run_dir / "manifest.json").read_text())["exit_code"]


def test_the_language_gate_says_so_when_every_language_is_under_warn_min_rows(tmp_path):
    # 440 enwiki rows, quality removing 278 with warn_min_rows 1000: nothing judged, and no 0% value
    report = {"stage": "quality", "name": "quality", "rows_in": 440, "rows_kept": 162, "rows_removed": 278,
              "removed_by_reason": {"gopher_short_doc": 278},
              "stats": {"wipe_out": {"warn_min_rows": 1000},
                        "by_language": [{"language": "en", "rows": 440, "removed": 278, "removed_share": 278 / 440, "top_reason": "gopher_short_doc"}]}}
    manifest = {"rows_in": 440, "rows_kept": 162, "rows_removed": 278}
    (result,) = evaluate(GatesConfig(max_removed_fraction_by_language=0.01), tmp_path, manifest, [report], None)["results"]
    assert (result["passed"], result["value"]) == (True, None)
    assert result["message"] == ("no language reached the stage's warn_min_rows (1,000), so none was judged: "
                                 "en 440 rows, 63.2% removed (stage quality); limit 1.0%")
