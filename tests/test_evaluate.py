"""`curate evaluate`: the fixed model on a run's input rows and on its curated rows, scored
on one test set (docs/evaluate.md)."""

from __future__ import annotations

import gzip
import json
import os
import socket
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
import zstandard
from runs import cli, read_dir, run, write_pipeline, write_shards

from curate.errors import ConfigError, InputDataError, OutputError
from curate.evaluate import evaluate, macro_f1, paired_bootstrap, read_test, relabelled_from, texts_entered_in, training_sets
from curate.report.compare import load_run

TOPICS = ["food", "sport", "tech"]


def topic_texts(rows_per_topic: int, seed: int) -> pl.DataFrame:
    """Three topics with their own vocabularies and shared filler words."""
    rng = np.random.default_rng(seed)
    vocab = {t: [f"{t}{i}" for i in range(60)] for t in TOPICS}
    filler = [f"w{i}" for i in range(80)]
    texts, labels = [], []
    for topic in TOPICS:
        for _ in range(rows_per_topic):
            texts.append(" ".join([*rng.choice(vocab[topic], 6), *rng.choice(filler, 12)]))
            labels.append(topic)
    return pl.DataFrame({"text": texts, "label": labels})


def noisy_run(tmp_path: Path, mode: str) -> Path:
    """A run of label_noise on 240 rows whose labels are 20% wrong."""
    frame = topic_texts(80, seed=1)
    rng = np.random.default_rng(2)
    wrong = rng.random(frame.height) < 0.2
    shifted = [TOPICS[(TOPICS.index(t) + 1) % 3] for t in frame["label"]]
    frame = frame.with_columns(pl.Series("label", np.where(wrong, shifted, frame["label"].to_numpy())), pl.Series("true", frame["label"]))
    write_shards(tmp_path, [frame[:120], frame[120:]])
    pipeline = write_pipeline(tmp_path, [{"stage": "label_noise", "mode": mode}], label_column="label")
    return run(pipeline, tmp_path / mode).output


def test_macro_f1_and_the_paired_bootstrap_against_hand_computed_values() -> None:
    # classes 0, 1: F1 = 2/3 and 0.8 -> 0.7333; class 2 never seen: left out
    confusion = np.array([[1, 1, 0], [0, 2, 0], [0, 0, 0]])
    assert macro_f1(confusion) == pytest.approx((2 / 3 + 0.8) / 2)
    y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    same = paired_bootstrap(y, y, y, 2, rounds=50, seed=0)
    assert (same["accuracy_a"] == 1).all() and (same["f1_b"] == 1).all()
    worse = paired_bootstrap(y, y, 1 - y, 2, rounds=50, seed=0)
    assert (worse["accuracy_b"] == 0).all()


def test_filter_run_is_evaluated_against_its_input(tmp_path: Path) -> None:
    run_dir = noisy_run(tmp_path, "filter")
    test = tmp_path / "test.parquet"
    topic_texts(100, seed=9).write_parquet(test)
    result = evaluate(run_dir, test, seed=0, rounds=300)
    kept = read_dir(run_dir / "data").height
    assert result["input"]["train_rows"] == 240 and result["curated"]["train_rows"] == kept < 240
    assert result["test_rows"] == 300 and result["classes"] == 3
    for side in ("input", "curated"):
        assert 0.5 < result[side]["accuracy"] <= 1 and 0 < result[side]["macro_f1"] <= 1
    acc = result["accuracy"]
    assert acc["difference"] == pytest.approx(result["curated"]["accuracy"] - result["input"]["accuracy"], abs=1e-6)
    assert acc["ci_low"] <= acc["difference"] <= acc["ci_high"]
    written = json.loads((run_dir / "reports" / "evaluation.json").read_text())
    assert written == json.loads(json.dumps(result))
    html = (run_dir / "report.html").read_text()
    assert 'id="evaluation"' in html and "did curating help?" in html and result["verdict"].split(":")[0] in html
    # evaluation.json is curate's own file: --fresh replaces it rather than refusing
    again = run(tmp_path / "pipeline.yaml", run_dir, fresh=True)
    assert again.status == "complete" and not (run_dir / "reports" / "evaluation.json").exists()


def test_an_evaluation_is_never_written_beside_another_run_than_the_one_it_read(tmp_path: Path, monkeypatch) -> None:
    """docs/iterating.md's loop: a rerun of the directory may finish while evaluate
    trains (here: between training and the bootstrap), or still work in it at the end."""
    import curate.evaluate
    from curate.run.lock import RunLock

    run_dir = noisy_run(tmp_path, "filter")
    test = tmp_path / "test.parquet"
    topic_texts(30, seed=9).write_parquet(test)
    with RunLock(run_dir):  # a rerun working in the directory
        with pytest.raises(OutputError) as busy:
            evaluate(run_dir, test, rounds=50)
    assert str(busy.value) == (f"{run_dir} is in use by a curate run (PID {os.getpid()} on host {socket.gethostname()}); "
                               "wait for it to finish, then run curate evaluate again")
    bootstrap = curate.evaluate.paired_bootstrap

    def rerun_meanwhile(*args, **kwargs):
        run(tmp_path / "pipeline.yaml", run_dir, annotate_only=True)  # replaces the filtered rows
        return bootstrap(*args, **kwargs)

    monkeypatch.setattr(curate.evaluate, "paired_bootstrap", rerun_meanwhile)
    with pytest.raises(OutputError) as replaced:
        evaluate(run_dir, test, rounds=50)
    assert replaced.value.exit_code == 4 and str(replaced.value) == (
        f"{run_dir} holds another run than the one curate evaluate read (a rerun replaced it meanwhile); nothing written: run curate evaluate again")
    assert json.loads((run_dir / "manifest.json").read_text())["annotate_only"] is True
    assert not (run_dir / "reports" / "evaluation.json").exists() and 'id="evaluation"' not in (run_dir / "report.html").read_text()
    monkeypatch.undo()
    result = evaluate(run_dir, test, rounds=50)  # the run in place now
    assert result["curated"]["train_rows"] == result["input"]["train_rows"] == 240  # annotate-only kept every row
    assert 'id="evaluation"' in (run_dir / "report.html").read_text()


def test_relabel_run_trains_the_input_on_the_labels_it_entered_with(tmp_path: Path) -> None:
    run_dir = noisy_run(tmp_path, "relabel")
    out = read_dir(run_dir / "data")
    assert relabelled_from(load_run(run_dir), "label") == "original_label"
    assert relabelled_from(load_run(run_dir), "true") is None  # relabel changes the pipeline's label column only
    sets = training_sets(run_dir, "text", "label", "original_label")
    assert sorted(sets.labels_input.tolist()) == sorted(out["original_label"].to_list())
    assert sorted(sets.labels_curated.tolist()) == sorted(out["label"].to_list())
    assert (out["label"] != out["original_label"]).sum() > 0  # something was relabelled
    # relabelling moved labels towards the truth
    assert (out["label"] == out["true"]).sum() > (out["original_label"] == out["true"]).sum()


def test_a_run_written_as_json_lines_is_evaluated_as_the_same_run_in_parquet(tmp_path: Path) -> None:
    """evaluate read only data/'s and removed/'s Parquet parts: a run written with
    output.format: jsonl had 'no kept rows' (exit 3). Here a third shard's texts are all
    too short, so its data/ part is an empty .jsonl.gz."""
    frame = topic_texts(80, seed=1)
    wrong = np.random.default_rng(2).random(frame.height) < 0.2
    frame = frame.with_columns(pl.Series("label", np.where(wrong, [TOPICS[(TOPICS.index(t) + 1) % 3] for t in frame["label"]], frame["label"].to_numpy())))
    short = pl.DataFrame({"text": [f"{t}1 w2" for t in TOPICS * 4], "label": TOPICS * 4})
    write_shards(tmp_path, [frame[:120], frame[120:], short])
    pipeline = write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 5}, {"stage": "label_noise", "mode": "relabel"}], label_column="label")
    parquet = run(pipeline, tmp_path / "parquet").output
    pipeline.write_text(yaml.safe_dump({**yaml.safe_load(pipeline.read_text()), "output": {"path": "jsonl", "format": "jsonl"}}, sort_keys=False))
    assert cli("run", str(pipeline), "--quiet", cwd=tmp_path).returncode == 0
    jsonl = tmp_path / "jsonl"
    assert sorted(p.name for p in (jsonl / "data").iterdir()) == ["part-00000.jsonl.gz", "part-00001.jsonl.gz", "part-00002.jsonl.gz"]

    def rows(run_dir: Path) -> tuple[list, list]:
        sets = training_sets(run_dir, "text", "label", relabelled_from(load_run(run_dir), "label"))
        return sorted(zip(sets.texts_input, sets.labels_input.tolist())), sorted(zip(sets.texts_curated, sets.labels_curated.tolist()))

    (given, curated), (given_jsonl, curated_jsonl) = rows(parquet), rows(jsonl)
    assert given == sorted(zip([*frame["text"], *short["text"]], [*frame["label"], *short["label"]]))  # every input row, as it entered
    assert len(curated) == 240 and curated != sorted(zip(frame["text"], frame["label"]))  # the kept rows, relabelled
    assert (given_jsonl, curated_jsonl) == (given, curated)
    test = tmp_path / "test.parquet"
    topic_texts(30, seed=9).write_parquet(test)
    result = evaluate(jsonl, test, rounds=50)
    assert (result["input"]["train_rows"], result["curated"]["train_rows"]) == (252, 240)


def test_the_input_rows_keep_the_text_they_entered_with_where_a_rewriting_stage_kept_it(tmp_path: Path) -> None:
    """The input side took every row's text from data/ and removed/ as written: for rows
    clean rewrote, the cleaned text, though keep_original held the HTML they came in with;
    a run whose gain is the cleaning measured exactly 0. Here short texts leave before
    clean, and rows with little text but tags after it."""
    frame = topic_texts(20, seed=1).with_columns(pl.format("<html><body><nav>{} menu</nav><p>{}</p></body></html>", pl.col("label"), pl.col("text")).alias("text"))
    short = pl.DataFrame({"text": ["tiny", "<p>food1</p> <b>w2</b> <i>w3 w4</i> <i>w5</i>"] * 3, "label": TOPICS * 2})
    write_shards(tmp_path, [frame, short])
    stages = [{"stage": "length_filter", "name": "before", "min_words": 3}, {"stage": "clean", "markup": "html", "keep_original": "raw_text"},
              {"stage": "length_filter", "name": "after", "min_words": 6}]
    kept_run = run(write_pipeline(tmp_path, stages, label_column="label"), tmp_path / "kept").output
    assert [read_dir(kept_run / "removed" / name).height for name in ("before", "after")] == [3, 3]
    sets = training_sets(kept_run, "text", "label", texts_entered=texts_entered_in(load_run(kept_run), "text"))
    assert sorted(zip(sets.texts_input, sets.labels_input.tolist())) == sorted(zip([*frame["text"], *short["text"]], [*frame["label"], *short["label"]]))
    assert sorted(sets.texts_curated) == sorted(read_dir(kept_run / "data")["text"]) and not any("<p>" in t for t in sets.texts_curated)
    # without keep_original the text as entered is gone: the rows clean passed on are compared as it left them
    lost_run = run(write_pipeline(tmp_path, [{**s, "keep_original": None} if s["stage"] == "clean" else s for s in stages], label_column="label"),
                   tmp_path / "lost").output
    assert texts_entered_in(load_run(lost_run), "text") == {}
    sets = training_sets(lost_run, "text", "label")
    assert sorted(sets.texts_input) == sorted([*read_dir(lost_run / "data")["text"], "tiny", "tiny", "tiny", *read_dir(lost_run / "removed" / "after")["text"]])


def test_a_users_own_original_label_column_is_never_taken_for_the_input_labels(tmp_path: Path) -> None:
    # an older labelling kept beside the label, wrong on every second row; no stage relabels
    frame = topic_texts(60, seed=1)
    frame = frame.with_columns(pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("food")).otherwise(pl.col("label")).alias("original_label"))
    write_shards(tmp_path, [frame])
    run_dir = run(write_pipeline(tmp_path, [{"stage": "exact_dedup"}], label_column="label"), tmp_path / "dedup").output
    assert relabelled_from(load_run(run_dir), "label") is None
    test = tmp_path / "test.parquet"
    topic_texts(30, seed=9).write_parquet(test)
    result = evaluate(run_dir, test, rounds=50)
    assert result["input"] == {**result["curated"], "cpu_seconds": result["input"]["cpu_seconds"]}  # the same rows, the same labels
    assert result["accuracy"] == {"difference": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    assert result["verdict"].startswith("no significant difference: +0.00 points")
    # a relabel stage would write the column: the run refuses the input rather than overwrite it
    with pytest.raises(InputDataError, match="input column 'original_label' would be overwritten: stage 'label_noise'"):
        run(write_pipeline(tmp_path, [{"stage": "label_noise", "mode": "relabel"}], label_column="label"), tmp_path / "relabel")
    assert not (tmp_path / "relabel").exists()


def test_cli_prints_the_comparison_and_takes_a_model_by_import_path(tmp_path: Path) -> None:
    run_dir = noisy_run(tmp_path, "filter")
    test = tmp_path / "test.jsonl"
    topic_texts(40, seed=5).write_ndjson(test)
    done = cli("evaluate", str(run_dir), "--test", str(test), "--model", "sklearn.naive_bayes.MultinomialNB", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "TF-IDF + sklearn.naive_bayes.MultinomialNB" in done.stdout and "accuracy" in done.stdout and "macro-F1" in done.stdout
    assert json.loads((run_dir / "reports" / "evaluation.json").read_text())["test_rows"] == 120
    missing = cli("evaluate", str(run_dir), "--test", str(tmp_path / "nope.parquet"), cwd=tmp_path)
    assert missing.returncode == 3 and missing.stderr.startswith("error: --test") and "Traceback" not in missing.stderr
    bad_model = cli("evaluate", str(run_dir), "--test", str(test), "--model", "sklearn.nothing.Here", cwd=tmp_path)
    assert bad_model.returncode == 2 and "cannot import" in bad_model.stderr
    # scikit-learn warns that LogisticRegressionCV's defaults will change: --model cannot set them
    cv = cli("evaluate", str(run_dir), "--test", str(test), "--model", "sklearn.linear_model.LogisticRegressionCV", cwd=tmp_path)
    assert cv.returncode == 0 and cv.stderr == "" and "TF-IDF + sklearn.linear_model.LogisticRegressionCV" in cv.stdout


def test_errors_name_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no manifest.json"):
        evaluate(tmp_path, tmp_path / "t.parquet")
    run_dir = noisy_run(tmp_path, "annotate")
    test = tmp_path / "test.parquet"
    topic_texts(5, seed=3).rename({"label": "topic"}).write_parquet(test)
    with pytest.raises(InputDataError) as no_label:
        evaluate(run_dir, test)
    assert str(no_label.value) == (
        f"--test {test}: no label column 'label' (columns: text, topic); name the test file's label column with --test-label-column"
    )
    # --label-column names the run's column: the run has no 'topic', and the message says so
    with pytest.raises(InputDataError) as not_in_run:
        evaluate(run_dir, test, label_column="topic")
    assert str(not_in_run.value).startswith("--label-column topic: the run's data has no such column (columns: ")
    assert "(--test-label-column names the test file's column)" in str(not_in_run.value)
    # the advice works: the test file's own column name
    result = evaluate(run_dir, test, test_label_column="topic", rounds=50)
    assert (result["label_column"], result["test_label_column"], result["test_rows"]) == ("label", "topic", 15)
    assert result["curated"]["accuracy"] > 0.8
    refusals = {
        "builtins.dict": "not a classifier (it builds dict)",
        "os.system": "cannot build it with no arguments",
        "sklearn.cluster.KMeans": "not a classifier (it builds KMeans)",
        "sklearn.linear_model.LinearRegression": "not a classifier (it builds LinearRegression)",
        "os.sep": "not a class or function",
        "sklearn.naive_bayes.GaussianNB": "it needs dense features and curate gives it sparse TF-IDF ones",
        "sklearn.ensemble.HistGradientBoostingClassifier": "it needs dense features and curate gives it sparse TF-IDF ones",
    }
    for model, why in refusals.items():
        with pytest.raises(ConfigError) as refused:
            evaluate(run_dir, test, model=model, label_column="topic")
        assert str(refused.value).startswith(f"--model {model}: {why}")
    # a column a stage added is not in the rows as they came in (an internal error, KeyError, where an earlier stage removed rows)
    for option, column in (("label", "suggested_label"), ("text", "label_quality")):
        with pytest.raises(InputDataError) as added:
            evaluate(run_dir, test, **{f"{option}_column": column}, test_label_column="topic")
        assert str(added.value) == (f"--{option}-column {column}: stage 'label_noise' added it: the rows as they came in, on which the input model is "
                                    f"trained, have no such column; give --{option}-column a column of the input (columns: text, label, true, curate_source, curate_id)")
    with pytest.raises(InputDataError) as no_text:
        evaluate(run_dir, test, text_column="nosuch")
    assert str(no_text.value).startswith("--text-column nosuch: the run's data has no such column (columns: ")


def test_labels_are_compared_by_value_and_a_test_set_of_other_labels_stops(tmp_path: Path) -> None:
    # integer labels in the run, the same labels as floats in the test file (a NaN made them
    # floats): every prediction counted wrong, accuracy 0.0000, exit 0
    frame = topic_texts(40, seed=1).with_columns(pl.col("label").replace_strict({t: i for i, t in enumerate(TOPICS)}, return_dtype=pl.Int64))
    write_shards(tmp_path, [frame])
    run_dir = run(write_pipeline(tmp_path, [{"stage": "length_filter"}], label_column="label"), tmp_path / "ints").output
    test = topic_texts(20, seed=4).with_columns(pl.col("label").replace_strict({t: float(i) for i, t in enumerate(TOPICS)}, return_dtype=pl.Float64))
    test.write_parquet(tmp_path / "floats.parquet")
    assert evaluate(run_dir, tmp_path / "floats.parquet", rounds=50)["input"]["accuracy"] > 0.8
    test.with_columns(pl.col("label") + 10).write_parquet(tmp_path / "other.parquet")
    with pytest.raises(InputDataError, match=r"none of its labels \('10', '11', '12' …\) is a class of the run \('0', '1', '2' …\)"):
        evaluate(run_dir, tmp_path / "other.parquet", rounds=50)


def test_a_label_or_text_column_that_holds_lists_or_numbers_is_named(tmp_path: Path) -> None:
    frame = topic_texts(20, seed=1).with_columns(pl.col("text").str.split(" ").alias("tokens"), pl.col("label").str.len_chars().alias("size"))
    write_shards(tmp_path, [frame])
    run_dir = run(write_pipeline(tmp_path, [{"stage": "length_filter"}], label_column="label"), tmp_path / "out").output
    test = topic_texts(5, seed=4)
    cases = {
        "labels.parquet": (test.with_columns(pl.col("label").str.split("o")),
                           "its label column 'label' is List(String); name a column of class labels (strings, integers or booleans) with --test-label-column"),
        "tokens.parquet": (test.with_columns(pl.col("text").str.split(" ")),
                           "its text column 'text' is List(String); name a column of text (strings) with --test-text-column"),
        "numbers.parquet": (test.with_columns(pl.col("text").str.len_chars()),
                            "its text column 'text' is UInt32; name a column of text (strings) with --test-text-column"),
    }
    for name, (rows, message) in cases.items():
        rows.write_parquet(tmp_path / name)
        with pytest.raises(InputDataError) as refused:
            evaluate(run_dir, tmp_path / name, rounds=50)
        assert str(refused.value) == f"--test {tmp_path / name}: {message}"
    test.write_parquet(tmp_path / "test.parquet")
    with pytest.raises(InputDataError) as tokens:
        evaluate(run_dir, tmp_path / "test.parquet", text_column="tokens", test_text_column="text", rounds=50)
    assert str(tokens.value) == "--text-column tokens: the run's column is List(String); give --text-column a column of text (strings)"
    done = cli("evaluate", str(run_dir), "--test", str(tmp_path / "test.parquet"), "--text-column", "size", "--test-text-column", "text", cwd=tmp_path)
    assert done.returncode == 3 and done.stderr.strip() == (
        "error: --text-column size: the run's column is UInt32; give --text-column a column of text (strings)")


def test_a_test_file_in_a_folder_whose_name_holds_glob_characters_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "exp[1]"
    folder.mkdir()
    topic_texts(4, seed=1).write_ndjson(folder / "test.jsonl")
    texts, labels = read_test(folder / "test.jsonl", "text", "label")
    assert len(texts) == len(labels) == 12


def test_an_unreadable_test_file_is_named_with_its_line(tmp_path: Path) -> None:
    rows = topic_texts(2, seed=1).write_ndjson().splitlines()
    files = {
        "cut.jsonl": "\n".join([*rows[:3], rows[3][:20], *rows[4:]]) + "\n",  # a line cut short, as by a killed writer
        "nan.jsonl": "\n".join([*rows[:5], '{"text": "a", "label": NaN}']) + "\n",
        "empty.jsonl": "",
        "blank.jsonl": "\n\n",
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    expected = {
        "cut.jsonl": "line 4: not JSON (Unterminated string starting at); every line of a JSON Lines file must be one JSON object",
        "nan.jsonl": "line 6: not JSON (NaN is not a JSON number); write the value as a string, or null",
        "empty.jsonl": ": the file is empty; give a Parquet or JSONL file with 'text' and 'label' columns",
        "blank.jsonl": ": the file is empty; give a Parquet or JSONL file with 'text' and 'label' columns",
        ".": ": a directory; give a Parquet or JSONL file with 'text' and 'label' columns",
    }
    for name, message in expected.items():
        with pytest.raises(InputDataError) as refused:
            read_test(tmp_path / name, "text", "label")
        assert str(refused.value) == f"--test {tmp_path / name}{'' if message.startswith(':') else ', '}{message}"


def test_a_test_file_in_a_format_evaluate_does_not_read_is_told_the_formats_it_reads(tmp_path: Path) -> None:
    """A CSV, JSON Lines named .json (which a run reads) or zstd-compressed: 'cannot read it as Parquet (ComputeError)', and nothing more."""
    rows = topic_texts(4, seed=1)
    rows.write_csv(tmp_path / "test.csv")
    rows.write_ndjson(tmp_path / "test.json")
    (tmp_path / "test.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(rows.write_ndjson().encode()))
    for name in ("test.csv", "test.json", "test.jsonl.zst"):
        with pytest.raises(InputDataError) as refused:
            read_test(tmp_path / name, "text", "label")
        assert str(refused.value).endswith(
            "; --test reads Parquet, or JSON Lines named .jsonl or .ndjson (plain or .gz): convert the file to one of them, "
            "or rename a JSON Lines file to .jsonl"), name
        assert str(refused.value).startswith(f"--test {tmp_path / name}: cannot read it as Parquet (")
    (tmp_path / "test.json").rename(tmp_path / "test.jsonl")  # the advice, followed
    texts, labels = read_test(tmp_path / "test.jsonl", "text", "label")
    assert texts == rows["text"].to_list() and labels.tolist() == rows["label"].to_list()


def test_a_gzipped_json_lines_test_file_is_read_as_curates_own_output_is_written(tmp_path: Path) -> None:
    """x.jsonl.gz (curate's output.format: jsonl) was 'cannot read it as Parquet', exit 3."""
    rows = topic_texts(4, seed=1)
    (tmp_path / "test.jsonl.gz").write_bytes(gzip.compress(rows.write_ndjson().encode()))
    texts, labels = read_test(tmp_path / "test.jsonl.gz", "text", "label")
    assert texts == rows["text"].to_list() and labels.tolist() == rows["label"].to_list()
    lines = rows.write_ndjson().splitlines()
    (tmp_path / "cut.ndjson.gz").write_bytes(gzip.compress("\n".join([*lines[:2], lines[2][:20]]).encode()))
    (tmp_path / "short.jsonl.gz").write_bytes(gzip.compress(rows.write_ndjson().encode())[:-30])  # a download cut short
    with pytest.raises(InputDataError) as cut:
        read_test(tmp_path / "cut.ndjson.gz", "text", "label")
    assert str(cut.value).startswith(f"--test {tmp_path / 'cut.ndjson.gz'}, line 3: not JSON (Unterminated string starting at)")
    with pytest.raises(InputDataError) as short:
        read_test(tmp_path / "short.jsonl.gz", "text", "label")
    assert str(short.value) == (f"--test {tmp_path / 'short.jsonl.gz'}: a damaged gzip file (Compressed file ended before the end-of-stream marker "
                                "was reached); give a Parquet or JSONL file with 'text' and 'label' columns")


def test_a_model_from_the_users_own_module_is_built_as_given(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "team_models.py").write_text(
        "from sklearn.feature_extraction.text import CountVectorizer\n"
        "from sklearn.naive_bayes import MultinomialNB\n"
        "from sklearn.pipeline import make_pipeline\n\n"
        "def make():\n    return make_pipeline(CountVectorizer(), MultinomialNB())\n\n"
        "class Majority:  # fit and predict, no scikit-learn base class\n"
        "    def fit(self, X, y):\n        return self\n    def predict(self, X):\n        return [0] * X.shape[0]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from curate.evaluate import model_from_path

    model, described = model_from_path("team_models:make")
    assert described == "team_models:make" and [name for name, _ in model.steps] == ["countvectorizer", "multinomialnb"]
    model, described = model_from_path("team_models.Majority")
    assert described == "TF-IDF + team_models.Majority" and type(model.steps[-1][1]).__name__ == "Majority"


def test_an_error_of_the_users_model_names_the_model_and_is_not_curates(tmp_path: Path, monkeypatch) -> None:
    """A --model whose factory or fit raised was 'internal error at text.py:1397: ValueError …
    (please report it)', exit 1, scikit-learn's text.py read as curate's own."""
    (tmp_path / "failing_models.py").write_text(
        "from sklearn.feature_extraction.text import TfidfVectorizer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n\n"
        "def rare_words():  # min_df above the row count: fit raises\n    return make_pipeline(TfidfVectorizer(min_df=5000), LogisticRegression())\n\n"
        "def needs_a_gpu():\n    raise ValueError('needs a GPU')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    run_dir = noisy_run(tmp_path, "filter")
    test = tmp_path / "test.parquet"
    topic_texts(10, seed=9).write_parquet(test)
    with pytest.raises(ConfigError) as building:
        evaluate(run_dir, test, model="failing_models:needs_a_gpu", rounds=50)
    assert str(building.value) == "--model failing_models:needs_a_gpu: building it raised ValueError: needs a GPU; fix the model or give another"
    with pytest.raises(ConfigError) as fitting:
        evaluate(run_dir, test, model="failing_models:rare_words", rounds=50)
    assert str(fitting.value) == ("--model failing_models:rare_words: training it on the input rows or predicting the test rows raised "
                                  "ValueError: max_df corresponds to < documents than min_df; fix the model or give another")
    done = cli("evaluate", str(run_dir), "--test", str(test), "--model", "failing_models:rare_words", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip() == f"error: {fitting.value}"
    assert not (run_dir / "reports" / "evaluation.json").exists()
