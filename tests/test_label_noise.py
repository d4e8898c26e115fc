"""label_noise: modes, user probabilities, feature columns, null/unknown/rare labels,
determinism, and the 20 Newsgroups human-verified label errors."""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from runs import read_dir, run, write_pipeline, write_shards

from curate.errors import ConfigError, InputDataError
from curate.stages import STAGES
from curate.stages.base import ORDER_KEYS, POSITION, SHARD, Columns
from curate.stages.label_noise import LabelNoise, LabelNoiseConfig

CLASSES = ["food", "sport", "tech"]
NEXT = {"sport": "food", "food": "tech", "tech": "sport"}


def corpus(per_class: int = 60, flips: int = 9, seed: int = 0) -> tuple[pl.DataFrame, set[int]]:
    """Three topics with their own vocabularies plus shared filler words; `flips` rows get
    another topic's label. Returns the frame (text, label, true) and the flipped rows."""
    rng = np.random.default_rng(seed)
    vocab = {c: [f"{c}{i}" for i in range(40)] for c in CLASSES}
    filler = [f"w{i}" for i in range(50)]
    texts, labels = [], []
    for c in CLASSES:
        for _ in range(per_class):
            texts.append(" ".join([*rng.choice(vocab[c], 15), *rng.choice(filler, 10)]))
            labels.append(c)
    true = list(labels)
    flipped = rng.choice(len(labels), flips, replace=False)
    for i in flipped:
        labels[i] = NEXT[labels[i]]
    return pl.DataFrame({"text": texts, "label": labels, "true": true}), {int(i) for i in flipped}


def stage(label: str | None = "label", **config) -> LabelNoise:
    return LabelNoise(LabelNoiseConfig(**config), Columns(text="text", id="id", label=label))


def decide(st: LabelNoise, frame: pl.DataFrame, shards: int = 1) -> tuple[pl.DataFrame, dict]:
    """What the runner does: summarize each shard (plus _shard, _pos), decide over all."""
    frame = frame.with_columns(pl.int_range(pl.len()).cast(pl.String).alias("id")) if "id" not in frame.columns else frame
    bounds = np.linspace(0, frame.height, shards + 1).astype(int)
    parts = [
        st.summarize(frame[a:b]).with_columns(pl.lit(i, pl.Int32).alias(SHARD), pl.int_range(pl.len(), dtype=pl.Int64).alias(POSITION))
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))
    ]
    decisions, stats = st.decide(pl.concat(parts).lazy())
    assert decisions.height == frame.height
    assert decisions.select(ORDER_KEYS).equals(decisions.select(ORDER_KEYS).sort(ORDER_KEYS))
    return decisions, stats


def flagged_rows(decisions: pl.DataFrame) -> set[int]:
    return set(np.flatnonzero(decisions["label_issue"].fill_null(False).to_numpy()).tolist())


# --- configuration --------------------------------------------------------------------


def test_registered_and_needs_a_label_column(tmp_path: Path) -> None:
    assert STAGES["label_noise"] is LabelNoise
    with pytest.raises(ConfigError, match="input.label_column"):
        stage(label=None)
    frame, _ = corpus(per_class=5, flips=0)
    write_shards(tmp_path, [frame])
    with pytest.raises(ConfigError, match="input.label_column"):
        run(write_pipeline(tmp_path, [{"stage": "label_noise"}]))


def test_config_defaults_and_validation() -> None:
    cfg = LabelNoiseConfig()
    assert (cfg.mode, cfg.folds, cfg.filter_by, cfg.seed) == ("annotate", 5, "low_self_confidence", 0)
    with pytest.raises(ValueError, match="not both"):
        LabelNoiseConfig(probabilities_column="p", feature_columns=["e"])
    with pytest.raises(ValueError):
        LabelNoiseConfig(mode="drop")
    with pytest.raises(ValueError):
        LabelNoiseConfig(folds=1)
    with pytest.raises(ValueError, match="duplicates"):
        LabelNoiseConfig(classes=["a", "a"])
    # YAML's true and false stay booleans, not 1 and 0; one type per list
    assert [type(c) for c in LabelNoiseConfig(classes=[False, True]).classes] == [bool, bool]
    assert [type(c) for c in LabelNoiseConfig(classes=[1, 0, 2]).classes] == [int, int, int]
    with pytest.raises(ValueError, match="classes mixes types; list all strings"):
        LabelNoiseConfig(classes=[True, False, 2])
    with pytest.raises(ValueError, match="1.5 is not a class label"):
        LabelNoiseConfig(classes=[1.5, 2])
    st = stage(probabilities_column="p")
    assert st.required_columns() == ["label", "text", "p"]
    assert stage(feature_columns=["e1", "e2"]).required_columns() == ["label", "text", "e1", "e2"]
    assert pickle.loads(pickle.dumps(st)).config == st.config


# --- modes, through the runner ---------------------------------------------------------


def test_annotate_flags_the_flipped_labels_and_reports(tmp_path: Path) -> None:
    frame, flipped = corpus()
    write_shards(tmp_path, [frame[:100], frame[100:]])
    result = run(write_pipeline(tmp_path, [{"stage": "label_noise", "mode": "annotate"}], label_column="label"))
    out = read_dir(result.output / "data")
    assert out.height == frame.height  # annotate removes nothing
    assert out["label"].to_list() == frame["label"].to_list()
    assert {"label_issue", "label_quality", "suggested_label"} <= set(out.columns) and "original_label" not in out.columns
    found = flagged_rows(out)
    assert len(found & flipped) >= 7 and len(found - flipped) <= 2, (sorted(found), sorted(flipped))
    assert out["label_quality"].is_between(0, 1).all()
    # flagged rows mostly point at the true label
    hits = out.filter(pl.col("label_issue"))
    assert (hits["suggested_label"] == hits["true"]).mean() >= 0.8

    report = result.reports[0]
    stats = report["stats"]
    assert report["rows_removed"] == 0 and report["would_remove_by_reason"] == {"label_issue": len(found)}
    assert stats["issues"] == len(found) and stats["assessed_rows"] == frame.height
    assert sum(stats["issues_per_class"].values()) == len(found)
    assert sum(n for row in stats["confusion"].values() for n in row.values()) == len(found)
    assert set(stats["noise_rate_per_class"]) == set(CLASSES)
    assert all(0 <= v <= 1 for v in stats["noise_rate_per_class"].values())
    assert 0.8 <= stats["oof_accuracy"] <= 1 and stats["folds"] == 5 and stats["temperature"] > 0
    top = stats["top_issues"]
    assert len(top) == len(found) and all(len(t["snippet"]) <= 200 and t["id"] for t in top)
    assert [t["label_quality"] for t in top] == sorted(t["label_quality"] for t in top)
    table = pl.read_parquet(result.output / report["tables"]["issues"])
    assert table.height == len(found)
    json.dumps(stats)  # the report is plain JSON


def test_binary_ids_that_are_not_utf8_are_named_as_python_writes_bytes(tmp_path: Path) -> None:
    """A binary id column of digests stopped the stage with an internal error (polars
    cannot cast such bytes to text); its report names them as the other stages do."""
    frame, flipped = corpus()
    digests = [bytes([0xFF, i % 256, i // 256]) for i in range(frame.height)]  # 0xff is never UTF-8
    write_shards(tmp_path, [frame[:100].with_columns(id=pl.Series(digests[:100])), frame[100:].with_columns(id=pl.Series(digests[100:]))])
    result = run(write_pipeline(tmp_path, [{"stage": "label_noise", "mode": "filter"}], label_column="label", id_column="id"))
    removed = read_dir(result.output / "removed" / "label_noise")
    assert removed.schema["id"] == pl.Binary  # the input's column as it was
    assert removed.height + read_dir(result.output / "data").height == frame.height
    top = result.reports[0]["stats"]["top_issues"]
    assert sorted(t["id"] for t in top) == sorted(str(i) for i in removed["id"].to_list())
    assert len({str(digests[i]) for i in flipped} & {t["id"] for t in top}) >= 7  # as "b'\\xff\\x0c\\x00'"


def test_filter_removes_the_flagged_rows(tmp_path: Path) -> None:
    frame, flipped = corpus()
    write_shards(tmp_path, [frame[:90], frame[90:]])
    result = run(write_pipeline(tmp_path, [{"stage": "label_noise", "mode": "filter"}], label_column="label"))
    kept, removed = read_dir(result.output / "data"), read_dir(result.output / "removed" / "label_noise")
    assert kept.height + removed.height == frame.height
    assert not kept["label_issue"].any() and removed["label_issue"].all()
    assert set(removed["curate_reason"]) == {"label_issue"}
    removed_flipped = removed.filter(pl.col("label") != pl.col("true")).height
    assert removed_flipped >= 7 and removed.height - removed_flipped <= 2
    assert result.reports[0]["removed_by_reason"] == {"label_issue": removed.height}


def test_relabel_replaces_confident_labels_and_keeps_every_row(tmp_path: Path) -> None:
    frame, flipped = corpus()
    write_shards(tmp_path, [frame[:100], frame[100:]])
    result = run(write_pipeline(tmp_path, [{"stage": "label_noise", "mode": "relabel"}], label_column="label"))
    out = read_dir(result.output / "data")
    assert out.height == frame.height and result.reports[0]["rows_removed"] == 0
    assert out["original_label"].to_list() == frame["label"].to_list()
    changed = out.filter(pl.col("label") != pl.col("original_label"))
    assert changed["label_issue"].all()  # only flagged rows change
    assert (changed["label"] == changed["suggested_label"]).all()
    assert changed.height == result.reports[0]["stats"]["relabelled"]
    wrong_before = (frame["label"] != frame["true"]).sum()
    wrong_after = (out["label"] != out["true"]).sum()
    assert wrong_after <= wrong_before - 6, (wrong_before, wrong_after)
    assert out["label"].dtype == pl.String
    # every flagged row stays and is counted as flagged: the report showed "nothing removed
    # or flagged" for a stage that rewrote labels
    report = result.reports[0]
    assert report["would_remove_by_reason"] == {"label_issue": int(out["label_issue"].sum())} and report["removed_by_reason"] == {}
    page = (result.output / "report.html").read_text()
    assert f'flagged <b>{report["would_remove_by_reason"]["label_issue"]}</b> rows for review' in page and "Nothing removed or flagged" not in page


def test_relabel_threshold_limits_the_changes() -> None:
    frame, _ = corpus()
    everything, stats_all = decide(stage(mode="relabel", relabel_threshold=0.0), frame)
    strict, stats_strict = decide(stage(mode="relabel", relabel_threshold=0.999), frame)
    assert stats_all["relabelled"] == stats_all["issues"] > 0
    assert stats_strict["relabelled"] < stats_all["relabelled"]
    # flagged rows carry the reason (LabelNoise.removes keeps them: relabel never removes)
    assert strict["curate_reason"].is_not_null().sum() == stats_strict["issues"] and not stage(mode="relabel").removes(False)
    changed = strict.filter(pl.col("label") != pl.col("original_label"))
    assert changed.height == stats_strict["relabelled"]


# --- probabilities and features -----------------------------------------------------------


def probabilities_for(frame: pl.DataFrame, order: list[str], sure: float = 0.9) -> list[list[float]]:
    """Probabilities that put `sure` on the TRUE class: every flipped label is an issue."""
    other = (1 - sure) / (len(order) - 1)
    return [[sure if c == t else other for c in order] for t in frame["true"]]


def test_user_probabilities_are_used_as_given() -> None:
    frame, flipped = corpus()
    frame = frame.with_columns(pl.Series("p", probabilities_for(frame, CLASSES)))
    decisions, stats = decide(stage(probabilities_column="p"), frame, shards=3)
    assert stats["probabilities"] == "column p" and "folds" not in stats and "temperature" not in stats
    assert flagged_rows(decisions) == flipped
    assert decisions.filter(pl.col("label_issue"))["suggested_label"].to_list() == frame[sorted(flipped)]["true"].to_list()
    assert stats["oof_accuracy"] == pytest.approx(1 - len(flipped) / frame.height, abs=1e-6)

    # probabilities in the model's own class order, declared with `classes`
    order = ["tech", "food", "sport"]
    frame2 = frame.with_columns(pl.Series("p", probabilities_for(frame, order)).cast(pl.Array(pl.Float64, 3)))
    decisions2, _ = decide(stage(probabilities_column="p", classes=order), frame2)
    assert flagged_rows(decisions2) == flipped


def test_enum_labels_are_classes_in_sorted_order_not_their_categories_order() -> None:
    frame, flipped = corpus()
    enum = pl.Enum(["tech", "sport", "food"])  # declared out of sorted order
    frame = frame.with_columns(pl.col("label").cast(enum), pl.Series("p", probabilities_for(frame, CLASSES)))  # CLASSES is sorted
    decisions, stats = decide(stage(probabilities_column="p"), frame, shards=2)
    assert flagged_rows(decisions) == flipped
    assert stats["oof_accuracy"] == pytest.approx(1 - len(flipped) / frame.height, abs=1e-6)
    assert decisions["suggested_label"].dtype == enum
    assert decisions["suggested_label"].cast(pl.String).to_list() == frame["true"].to_list()


GOOD = [0.2, 0.3, 0.5]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (lambda f: [[0.5, 0.5]] * f.height, "has rows of 2 values (30 rows, first: id '0') but there are 3 classes; set classes to the model's class list, in its order"),
        (lambda f: [GOOD] * 7 + [[0.5, 0.5]] + [GOOD] * (f.height - 8), "has rows of 2 values (1 rows, first: id '7') but there are 3 classes; set classes"),
        (lambda f: [None] + [GOOD] * (f.height - 1), "is null in 1 labelled rows; every labelled row needs probabilities"),
        (lambda f: [GOOD] * 12 + [[0.2, None, 0.8]] * (f.height - 12), "has a null value in 18 rows (first: id '12'); every probability must be a number of 0 or more"),
        (lambda f: [GOOD] * 4 + [[0.1, float("nan"), 0.9]] + [GOOD] * (f.height - 5), "has a NaN or infinite value in 1 rows (first: id '4'); every probability"),
        (lambda f: [[-0.1, 0.6, 0.5]] * f.height, "has a negative value in 30 rows (first: id '0'); every probability must be a number of 0 or more"),
        (lambda f: [[0.0, 0.0, 0.0]] * f.height, "has rows that sum to 0"),
    ],
)
def test_bad_probabilities_are_input_errors(values, message: str) -> None:
    frame, _ = corpus(per_class=10, flips=0)
    frame = frame.with_columns(pl.Series("p", values(frame), dtype=pl.List(pl.Float64)))
    with pytest.raises(InputDataError) as refused:
        decide(stage(probabilities_column="p"), frame, shards=2)
    assert str(refused.value).startswith(f"stage 'label_noise': probabilities_column 'p' {message}")
    with pytest.raises(ConfigError, match="probabilities_column 'true' is String; name a column holding a list of numbers per row"):
        decide(stage(probabilities_column="true"), frame)


def test_feature_columns_train_the_out_of_fold_model() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 4, (3, 8))
    true = np.repeat(np.arange(3), 80)
    embeddings = centres[true] + rng.normal(0, 1, (true.size, 8))
    labels = true.copy()
    flipped = rng.choice(true.size, 10, replace=False)
    labels[flipped] = (labels[flipped] + 1) % 3
    frame = pl.DataFrame({"text": [""] * true.size, "label": labels, "emb": embeddings.tolist(), "bias": rng.normal(size=true.size)})
    decisions, stats = decide(stage(feature_columns=["emb", "bias"]), frame, shards=2)
    assert "logistic regression on emb, bias (9 features)" in stats["probabilities"]
    found = flagged_rows(decisions)
    assert len(found & set(flipped.tolist())) >= 8 and len(found - set(flipped.tolist())) <= 2
    assert decisions["suggested_label"].dtype == pl.Int64
    # a labelled row needs its features; a row without a label need not have them, and gets no suggestion
    rows = embeddings.tolist()
    refusals = [
        ([None, *rows[1:]], "is null in 1 labelled rows (first: id '0'); every labelled row needs its features"),
        ([*rows[:5], rows[5][:7], *rows[6:]], "has vectors of 7 values in 1 rows (first: id '5') beside vectors of 8"),
        ([*rows[:3], [float("nan")] * 8, *rows[4:]], "has a NaN or infinite value in 1 rows (first: id '3')"),
    ]
    for values, message in refusals:
        with pytest.raises(InputDataError) as refused:
            decide(stage(feature_columns=["emb"]), frame.with_columns(pl.Series("emb", values)))
        assert str(refused.value) == f"stage 'label_noise': feature column 'emb' {message}"
    unlabelled = frame.with_columns(pl.Series("emb", [None, [1.0, None, *rows[1][2:]], *rows[2:]]), pl.Series("label", [None, None, *labels[2:]]))
    decisions, stats = decide(stage(feature_columns=["emb"]), unlabelled)
    assert decisions[:2]["suggested_label"].to_list() == [None, None] and decisions[2:]["suggested_label"].null_count() == 0
    assert stats["null_label_rows"] == 2 and stats["assessed_rows"] == true.size - 2


# --- labels: null, unknown, rare, types --------------------------------------------------


def test_null_labels_are_not_assessed_but_get_a_suggestion() -> None:
    frame, flipped = corpus()
    nulls = [0, 70, 130]
    frame = frame.with_columns(pl.when(pl.int_range(pl.len()).is_in(nulls)).then(None).otherwise(pl.col("label")).alias("label"))
    for mode in ["filter", "relabel"]:
        decisions, stats = decide(stage(mode=mode, relabel_threshold=0.0), frame)
        rows = decisions[nulls]
        assert rows["label_issue"].null_count() == 3 and rows["label_quality"].null_count() == 3
        assert rows["suggested_label"].to_list() == frame[nulls]["true"].to_list()  # predicted by the fold models
        assert rows["curate_reason"].null_count() == 3  # never removed
        assert stats["null_label_rows"] == 3 and stats["assessed_rows"] == frame.height - 3
        if mode == "relabel":
            assert rows["label"].null_count() == 3  # not filled in
    found = flagged_rows(decisions)
    assert len(found & (flipped - set(nulls))) >= 6


def test_unknown_and_unusable_labels_are_clear_errors() -> None:
    frame, _ = corpus(per_class=10, flips=0)
    with pytest.raises(InputDataError, match=r"labels not in `classes` \(e.g. \['tech'\]\)"):
        decide(stage(classes=["food", "sport"]), frame)
    with pytest.raises(InputDataError, match="Float64.*cast the column"):
        decide(stage(), frame.with_columns(pl.lit(1.0).alias("label")))
    with pytest.raises(ConfigError, match="integer classes"):
        decide(stage(classes=["a", "b"]), frame.with_columns(pl.lit(1).alias("label")))
    # classes of another type than the label column: one line from the schema, before the run directory
    refusals = [
        (pl.Int64, ["0", "1"], "is Int64; list integer classes, e.g. [0, 1]"),
        (pl.Boolean, [0, 1], "is Boolean; list true and false"),
        (pl.String, [True, False], "is String; list the classes as strings (quoted: '1')"),
        (pl.Categorical(), [1, 2], "is Categorical; list the classes as strings (quoted: '1')"),
        # values the type cannot hold: suggested_label could not be written
        (pl.UInt8, [-1, 0, 1, 300], "is UInt8, which cannot hold -1, 300; remove them from classes, or cast the column to a type that holds them"),
        (pl.Enum(CLASSES), ["food", "sport", "other"], "is an Enum of food, sport, tech, which cannot hold 'other'; remove it from classes, or cast the column to a type that holds it"),
    ]
    for dtype, classes, message in refusals:
        with pytest.raises(ConfigError) as refused:
            stage(classes=classes).check(pl.Schema({"text": pl.String, "label": dtype}))
        assert str(refused.value) == f"stage 'label_noise': classes: the label column 'label' {message}"


@pytest.mark.parametrize(
    ("dtype", "classes", "message"),
    [
        (pl.Int64, ["0", "1", "2"], "is Int64; list integer classes"),
        (pl.UInt8, [-1, 0, 1, 2], "is UInt8, which cannot hold -1; remove it from classes"),
    ],
)
def test_classes_of_another_type_than_the_labels_stop_the_run_before_its_directory(tmp_path: Path, dtype, classes, message) -> None:
    frame, _ = corpus(per_class=10, flips=0)
    write_shards(tmp_path, [frame.with_columns(pl.col("label").replace_strict({c: i for i, c in enumerate(CLASSES)}, return_dtype=dtype))])
    with pytest.raises(ConfigError, match=f"classes: the label column 'label' {message}"):
        run(write_pipeline(tmp_path, [{"stage": "label_noise", "classes": classes}], label_column="label"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"probabilities_column": "score"}, "probabilities_column 'score' is Float64; name a column holding a list of numbers per row"),
        ({"probabilities_column": "words"}, r"probabilities_column 'words' is List\(String\)"),
        ({"feature_columns": ["score", "source"]}, "feature_columns: column 'source' is String, not numeric or a list of numbers"),
    ],
)
def test_probability_and_feature_columns_of_another_type_stop_the_run_before_its_directory(tmp_path: Path, config, message) -> None:
    frame, _ = corpus(per_class=10, flips=0)
    rng = np.random.default_rng(0)
    frame = frame.with_columns(pl.Series("score", rng.random(frame.height)), pl.col("text").str.split(" ").alias("words"), pl.lit("web").alias("source"))
    write_shards(tmp_path, [frame])
    stages = [{"stage": "length_filter", "min_words": 3}, {"stage": "label_noise", **config}]
    with pytest.raises(ConfigError, match=rf"pipeline.yaml, line 8: stages\[1\] \(label_noise\): {message}"):  # located, as curate check says it
        run(write_pipeline(tmp_path, stages, label_column="label"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_labels_outside_classes_stop_the_run_before_its_directory(tmp_path: Path) -> None:
    frame, _ = corpus(per_class=10, flips=0)
    write_shards(tmp_path, [frame[:15], frame[15:].with_columns(pl.when(pl.col("label") == "food").then(None).otherwise(pl.col("label")).alias("label"))])
    with pytest.raises(InputDataError) as refused:
        run(write_pipeline(tmp_path, [{"stage": "label_noise", "classes": ["food", "sport"]}], label_column="label"), tmp_path / "out")
    assert str(refused.value) == (
        "stage 'label_noise': 10 rows have labels not in `classes` (e.g. ['tech']); add them to classes, or null those labels to leave the rows unassessed")
    assert not (tmp_path / "out").exists()
    assert run(write_pipeline(tmp_path, [{"stage": "label_noise", "classes": ["tech", "sport", "food"]}], label_column="label"), tmp_path / "out").status == "complete"


def test_rare_classes_are_not_assessed_and_folds_shrink() -> None:
    frame, flipped = corpus(per_class=40, flips=6)
    rare = pl.DataFrame({"text": ["space0 space1 space2 w1", "space3 space1 w2"], "label": ["space", "space"], "true": ["space", "space"]})
    odd = pl.DataFrame({"text": ["sport1 sport2 sport3 sport4 w3"], "label": ["space"], "true": ["sport"]})
    decisions, stats = decide(stage(), pl.concat([frame, rare, odd]))
    tail = decisions[-3:]
    assert tail["label_issue"].null_count() == 3 and tail["label_quality"].null_count() == 3
    assert stats["rare_classes"] == {"space": 3} and stats["unassessed_labelled_rows"] == 3
    assert "space" not in stats["noise_rate_per_class"] and tail["suggested_label"][2] == "sport"
    assert len(flagged_rows(decisions) & flipped) >= 4

    few = pl.concat([frame, pl.DataFrame({"text": [f"space{i} space9 w1" for i in range(3)], "label": ["space"] * 3, "true": ["space"] * 3})])
    decisions, stats = decide(stage(min_class_rows=3), few)
    assert stats["folds"] == 3 and stats["rare_classes"] == {} and decisions["label_issue"].null_count() == 0


def test_fewer_than_two_assessable_classes_assesses_nothing() -> None:
    frame = pl.DataFrame({"text": ["a b c", "d e f", "g h", "x y", "z"] * 3, "label": ["a"] * 14 + ["b"]})
    decisions, stats = decide(stage(mode="filter"), frame)
    assert decisions["label_issue"].null_count() == frame.height and decisions["curate_reason"].null_count() == frame.height
    assert stats["issues"] == 0 and "fewer than two classes" in stats["not_assessed_because"]
    empty, stats = decide(stage(), frame.clear())
    assert empty.height == 0 and stats["rows"] == 0


def test_integer_and_boolean_labels_keep_their_type() -> None:
    frame, flipped = corpus()
    ints = frame.with_columns(pl.col("label").replace_strict({c: i * 10 for i, c in enumerate(CLASSES)}, return_dtype=pl.Int16))
    decisions, stats = decide(stage(mode="relabel"), ints)
    assert decisions["label"].dtype == pl.Int16 and decisions["suggested_label"].dtype == pl.Int16
    assert set(stats["noise_rate_per_class"]) == {"0", "10", "20"}
    assert len(flagged_rows(decisions) & flipped) >= 7
    two = frame.filter(pl.col("label") != "tech").with_columns((pl.col("label") == "sport").alias("label"))
    decisions, stats = decide(stage(), two)
    assert decisions["suggested_label"].dtype == pl.Boolean and set(stats["noise_rate_per_class"]) == {"false", "true"}
    for order in ([False, True], [True, False]):  # classes: as YAML writes them, in either order
        ordered, ordered_stats = decide(stage(classes=order), two)
        assert ordered.equals(decisions) and ordered_stats["noise_rate_per_class"] == stats["noise_rate_per_class"]
    categorical = frame.with_columns(pl.col("label").cast(pl.Categorical))
    decisions, _ = decide(stage(mode="relabel"), categorical)
    assert decisions["label"].dtype == pl.Categorical


def test_same_input_same_output_whatever_the_sharding() -> None:
    frame, _ = corpus()
    first, stats1 = decide(stage(), frame, shards=1)
    again, stats2 = decide(stage(), frame, shards=1)
    split, stats3 = decide(stage(), frame, shards=4)
    assert first.equals(again)
    assert first.drop(ORDER_KEYS).equals(split.drop(ORDER_KEYS))  # hashing is per row, folds by row order
    for s in (stats1, stats2, stats3):
        s.pop("tables")
    assert stats1 == stats2 == stats3
    other, _ = decide(stage(seed=7), frame)
    assert not other["label_quality"].equals(first["label_quality"])  # the seed matters


def test_batched_cleanlab_for_large_inputs() -> None:
    frame, flipped = corpus()
    decisions, stats = decide(stage(batched_above_rows=10), frame)
    assert "batched" in stats["method"]
    assert len(flagged_rows(decisions) & flipped) >= 6


# --- the proof: human-verified label errors of 20 Newsgroups ------------------------------


@pytest.mark.shared_data
def test_20news_human_verified_label_errors(shared_data: Path) -> None:
    """Texts and given labels only, curate's own out-of-fold probabilities, defaults.
    bench/label_noise.py measures the same (and with the reference probabilities)."""
    data = pl.read_parquet(shared_data / "label_noise" / "20news_test_label_errors.parquet", columns=["text", "given_label", "is_label_error", "mturk_candidate"])
    started = time.perf_counter()
    decisions, stats = decide(LabelNoise(LabelNoiseConfig(), Columns(text="text", id="id", label="given_label")), data.select("text", "given_label"), shards=4)
    seconds = time.perf_counter() - started
    flagged = decisions["label_issue"].to_numpy()
    errors, reviewed = data["is_label_error"].to_numpy(), data["mturk_candidate"].to_numpy()
    recall = (flagged & errors).sum() / errors.sum()
    precision = (flagged & errors).sum() / (flagged & reviewed).sum()
    rate = flagged.mean()
    print(f"20news: flagged {flagged.sum()} ({rate:.2%}), recall {recall:.3f}, reviewed precision {precision:.3f}, {seconds:.1f}s")
    assert recall >= 0.6 and precision >= 0.8 and rate <= 0.04, (flagged.sum(), recall, precision)
    assert stats["oof_accuracy"] >= 0.9


def test_annotate_only_run_leaves_labels_untouched_in_relabel_mode(tmp_path):
    from runs import read_dir, run, write_pipeline, write_shards

    texts, labels = [], []
    topics = {"sport": "the team won the match with a late goal", "cook": "simmer the sauce and season the pasta well"}
    for i in range(120):
        topic = "sport" if i % 2 else "cook"
        texts.append(f"{topics[topic]} number {i}")
        labels.append(topic if i % 20 else ("cook" if topic == "sport" else "sport"))
    write_shards(tmp_path, [pl.DataFrame({"text": texts, "label": labels})])
    pipeline = write_pipeline(tmp_path, [{"stage": "label_noise", "mode": "relabel"}], label_column="label")
    relabelled = read_dir(run(pipeline, tmp_path / "relabel").output / "data")
    annotating = run(pipeline, tmp_path / "annotate", annotate_only=True)
    untouched = read_dir(annotating.output / "data")
    assert untouched["label"].to_list() == labels
    stats = annotating.reports[0]["stats"]
    assert f"{stats['relabelled']} would relabel" in stats["headline"] and " relabelled" not in stats["headline"]
    changed = relabelled.filter(pl.col("label") != pl.col("original_label"))
    rows = [int(i.split("#")[1]) for i in changed["curate_id"]]
    # Only planted flips (every 20th row) get their label fixed, and most of them do.
    assert rows and all(r % 20 == 0 for r in rows) and len(rows) >= 4  # of 6 planted


# --- never judge what cannot be judged; relabel only where it is safe (issue 15) ----------


def test_rows_without_text_are_not_judged() -> None:
    frame, flipped = corpus()
    blank = [3, 64, 65, 150]  # 64 is a flipped row: no text, so no evidence either way
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(None)
        .when(pl.int_range(pl.len()).is_in(blank)).then(pl.lit(" \n\t"))
        .otherwise(pl.col("text")).alias("text")
    )
    flipped.add(64)
    frame = frame.with_columns(pl.when(pl.int_range(pl.len()) == 64).then(pl.lit("tech")).otherwise(pl.col("label")).alias("label"))
    for mode in ("filter", "relabel"):
        decisions, stats = decide(stage(mode=mode), frame)
        rows = decisions[blank]
        assert rows["label_issue"].null_count() == 4 and rows["label_quality"].null_count() == 4
        assert rows["suggested_label"].null_count() == 4  # no evidence, no suggestion
        assert rows["curate_reason"].null_count() == 4  # never removed
        assert stats["not_assessed"] == {"empty_text": 4} and stats["empty_text_rows"] == 4
        assert stats["assessed_rows"] == frame.height - 4
        if mode == "relabel":
            assert rows["label"].to_list() == frame[blank]["label"].to_list()


def test_relabel_reports_expected_precision_and_does_not_make_labels_worse() -> None:
    frame, _ = corpus(per_class=80, flips=24, seed=3)
    decisions, stats = decide(stage(mode="relabel"), frame)
    changed = decisions.filter(pl.col("label") != pl.col("original_label"))
    right = (changed["label"] == frame["true"].gather(changed[POSITION])).sum()
    assert stats["relabelled"] == changed.height > 0
    assert 0.8 <= stats["expected_relabel_precision"] <= 1
    assert right / changed.height >= 0.8  # the estimate holds on the planted truth
    assert set(stats["relabel_thresholds"]) == set(CLASSES)
    assert all(t is None or 0.5 <= t <= 1 for t in stats["relabel_thresholds"].values())
    wrong_before = (frame["label"] != frame["true"]).sum()
    wrong_after = (decisions["label"] != frame["true"]).sum()
    assert wrong_after < wrong_before
    assert 0.5 <= stats["expected_flag_precision"] <= 1 and stats["warnings"] == []
    assert stats["headline"].startswith(f"{stats['issues']} of {frame.height} assessed rows flagged")
    assert f"{stats['relabelled']} relabelled; out-of-fold accuracy" in stats["headline"] and "precision" not in stats["headline"]


def weak_corpus(rows: int = 240, seed: int = 0) -> pl.DataFrame:
    """Labels that the text barely predicts: 60% of them drawn at random."""
    frame, _ = corpus(per_class=rows // 3, flips=0, seed=seed)
    rng = np.random.default_rng(seed)
    noisy = np.where(rng.random(frame.height) < 0.6, rng.choice(CLASSES, frame.height), frame["label"].to_numpy())
    return frame.with_columns(pl.Series("label", noisy))


def test_relabel_refuses_a_weak_model_unless_forced() -> None:
    frame = weak_corpus()
    _, stats = decide(stage(mode="annotate"), frame)
    assert stats["oof_accuracy"] < 0.6
    assert len(stats["warnings"]) == 1 and "below min_oof_accuracy 0.6" in stats["warnings"][0]
    with pytest.raises(InputDataError, match=r"out-of-fold accuracy 0\.\d+ is below min_oof_accuracy 0.6.*force_relabel: true"):
        decide(stage(mode="relabel"), frame)
    decisions, forced = decide(stage(mode="relabel", force_relabel=True), frame)
    # Forced, the per-class precision rule still holds back what would break labels.
    before = (frame["label"] == frame["true"]).sum()
    after = (decisions["label"] == frame["true"]).sum()
    assert after >= before and forced["relabelled"] <= forced["issues"]


@pytest.mark.slow
def test_cli_warns_on_a_weak_model_and_refuses_to_relabel(tmp_path: Path) -> None:
    from runs import cli

    write_shards(tmp_path, [weak_corpus()])
    annotate = cli("run", str(write_pipeline(tmp_path, [{"stage": "label_noise"}], label_column="label")), cwd=tmp_path)
    assert annotate.returncode == 0, annotate.stderr
    assert "warning: stage label_noise out-of-fold accuracy 0." in annotate.stderr
    assert "stage label_noise: 0 of 240 assessed rows flagged" in annotate.stderr or "assessed rows flagged" in annotate.stderr
    report = json.loads((tmp_path / "run" / "reports" / "01_label_noise.json").read_text())
    assert len(report["warnings"]) == 1 and "min_oof_accuracy" in report["warnings"][0]
    relabel = cli("run", str(write_pipeline(tmp_path, [{"stage": "label_noise", "mode": "relabel"}], label_column="label")), "--fresh", "--quiet", cwd=tmp_path)
    assert relabel.returncode == 3, relabel.stderr
    lines = relabel.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: stage 'label_noise': out-of-fold accuracy") and "min_oof_accuracy" in lines[0]
