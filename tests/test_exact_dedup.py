from __future__ import annotations

from pathlib import Path

import polars as pl
import xxhash
from runs import read_dir, run, write_pipeline, write_shards

from curate.stages.base import ORDER_KEYS, Columns
from curate.stages.exact_dedup import ExactDedup, ExactDedupConfig
from curate.text import Normalization, normalized, stable_hash


def summaries(stage: ExactDedup, texts: list[str | None], cuts: list[int]) -> list[pl.DataFrame]:
    """Each shard's summary, the rows cut into shards before the row numbers in `cuts`."""
    frame = pl.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts}, schema={"id": pl.String, "text": pl.String})
    bounds = [0, *cuts, len(texts)]
    return [
        stage.summarize(frame[a:b]).with_columns(_shard=pl.lit(shard, pl.Int32), _pos=pl.int_range(pl.len(), dtype=pl.Int64))
        for shard, (a, b) in enumerate(zip(bounds, bounds[1:]))
    ]


def decide(texts: list[str | None], **config) -> pl.DataFrame:
    """The two-pass decisions, after checking that the in-order ones are the same."""
    stage = ExactDedup(ExactDedupConfig(**config), Columns(id="id"))
    decisions, stats = stage.decide(pl.concat(summaries(stage, texts, [])).lazy())
    decisions = decisions.sort("_pos")
    if not stage.config.cluster_size:
        in_order = stage.decider_in_order()
        assert pl.concat([in_order(s) for s in summaries(stage, texts, [len(texts) // 2])]).drop(ORDER_KEYS).equals(decisions.drop(ORDER_KEYS))
        assert in_order.stats() == stats
    return decisions


def test_stable_hash_is_xxh3_of_utf8_bytes():
    texts = pl.Series("t", ["hello", "Grüße", "", None, "日本語"])
    expected = [xxhash.xxh3_64_intdigest(t.encode()) for t in ["hello", "Grüße", "", "", "日本語"]]
    assert stable_hash(texts).to_list() == expected
    # Fixed value: a change here means persisted hashes are no longer comparable.
    assert stable_hash(pl.Series(["hello"]))[0] == 10760762337991515389


def test_stable_hash_over_sliced_and_chunked_series():
    whole = pl.Series("t", [f"text {i}" for i in range(1000)])
    chunked = pl.concat([whole[:300], whole[300:]], rechunk=False)
    expected = stable_hash(whole).to_list()
    assert stable_hash(chunked).to_list() == expected
    assert stable_hash(whole[250:]).to_list() == expected[250:]


def test_normalisation_steps_in_order():
    frame = pl.DataFrame({"t": ["  Ｈｅｌｌｏ,\tWORLD 42!  "]})
    everything = Normalization(nfkc=True, lowercase=True, digits=True, punctuation=True, whitespace=True)
    assert frame.select(normalized(pl.col("t"), everything)).item() == "hello world 00"
    assert frame.select(normalized(pl.col("t"), Normalization())).item() == "hello, world 42!"
    raw = Normalization(nfkc=False, lowercase=False, whitespace=False)
    assert frame.select(normalized(pl.col("t"), raw)).item() == "  Ｈｅｌｌｏ,\tWORLD 42!  "


def test_whitespace_collapse_equals_every_run_to_one_space():
    # `normalized` skips lone spaces for speed; it must equal the plain rule on any mix
    import random

    spaces = [" ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2003", "\u2028", "\u202f", "\u3000", "\x1f"]
    rng = random.Random(7)
    texts = pl.Series("t", ["".join(rng.choice(spaces + ["a", "é", "日"]) for _ in range(rng.randint(0, 12))) for _ in range(3000)])
    plain = texts.str.replace_all(r"\s+", " ").str.strip_chars(" ")
    assert texts.to_frame().select(normalized(pl.col("t"), Normalization(nfkc=False, lowercase=False))).to_series().equals(plain)
    assert plain.str.contains("  ").sum() == 0 and plain.str.contains("\u3000").sum() == 0  # the rule's own meaning


CASE_AND_SPACE = {"normalize": {"lowercase": True, "whitespace": True}}


def test_default_is_byte_exact():
    assert decide(["a cat", "a cat", "A cat", "a  cat"])["curate_reason"].to_list() == [None, "exact_duplicate", None, None]


def test_first_occurrence_survives_and_duplicates_name_it():
    decisions = decide(["A cat.", "b", "a  CAT.", "a cat.", "b", "unique"], **CASE_AND_SPACE)
    assert decisions["curate_reason"].to_list() == [None, None, "exact_duplicate", "exact_duplicate", "exact_duplicate", None]
    assert decisions["dup_of"].to_list() == [None, None, "r0", "r0", "r1", None]
    assert "dup_cluster_size" not in decisions.columns  # opt-in: it needs every row before any is written
    sized = decide(["A cat.", "b", "a  CAT.", "a cat.", "b", "unique"], cluster_size=True, **CASE_AND_SPACE)
    assert sized["dup_cluster_size"].to_list() == [3, 2, 3, 3, 2, 1]
    assert sized.drop("dup_cluster_size").equals(decisions)


def test_deciding_in_run_order_equals_deciding_over_every_shard():
    """A serial run decides shard by shard (FirstSeen), a parallel one over all hashes at
    once: 3,000 rows with many repeats, cut into shards of uneven size (one empty), give
    every row the same decision and the report the same statistics."""
    import random
    from collections import Counter

    rng = random.Random(11)
    texts = [None if rng.random() < 0.01 else f"text {rng.randint(0, 900)}" for _ in range(3000)]
    stage = ExactDedup(ExactDedupConfig(), Columns(id="id"))
    cuts = [7, 7, 500, 501, 1900, 2999]
    two_pass, stats = stage.decide(pl.concat(summaries(stage, texts, cuts)).lazy())
    in_order = stage.decider_in_order()
    decided = pl.concat([in_order(s) for s in summaries(stage, texts, cuts)])
    assert decided.equals(two_pass.sort("_shard", "_pos"))
    counts = Counter(t or "" for t in texts)
    assert decided["curate_reason"].null_count() == len(counts)
    assert in_order.stats() == stats and stats["duplicate_groups"] == sum(n > 1 for n in counts.values())
    assert stats["largest_group"] == max(counts.values())


def test_normalisation_options_change_what_counts_as_duplicate():
    texts = ["Hello, world", "hello world", "HELLO, WORLD"]
    assert decide(texts, normalize={"whitespace": True})["curate_reason"].null_count() == 3
    assert decide(texts, **CASE_AND_SPACE)["curate_reason"].to_list() == [None, None, "exact_duplicate"]
    assert decide(texts, normalize={"lowercase": True, "punctuation": True})["curate_reason"].null_count() == 1


def test_the_demo_datas_duplicate_counts_as_its_readme_gives_them():
    """pipelines/data/README.md: 299 rows byte-identical to an earlier row (the default,
    no normalisation); 379 equal after lowercasing and collapsing whitespace (NFKC adds none)."""
    texts = pl.read_parquet(Path(__file__).resolve().parent.parent / "pipelines" / "data" / "demo" / "*.parquet")["text"].to_list()
    removed = {
        "default": decide(texts),
        "lowercase, whitespace": decide(texts, **CASE_AND_SPACE),
        "nfkc, lowercase, whitespace": decide(texts, normalize={"nfkc": True, "lowercase": True, "whitespace": True}),
    }
    assert {how: decisions["curate_reason"].count() for how, decisions in removed.items()} == {
        "default": 299, "lowercase, whitespace": 379, "nfkc, lowercase, whitespace": 379,
    }


def test_null_and_empty_texts_are_one_group():
    decisions = decide([None, "", "x", None])
    assert decisions["curate_reason"].to_list() == [None, "exact_duplicate", None, "exact_duplicate"]


def test_run_order_across_shards_decides_the_survivor(tmp_path):
    write_shards(tmp_path, [
        pl.DataFrame({"id": ["a1", "a2"], "text": ["same text", "other"]}),
        pl.DataFrame({"id": ["b1", "b2"], "text": ["same text", "third"]}),
        pl.DataFrame({"id": ["c1"], "text": ["other"]}),
    ])
    result = run(write_pipeline(tmp_path, [{"stage": "exact_dedup"}], id_column="id"))
    kept = read_dir(result.output / "data")
    removed = read_dir(result.output / "removed" / "exact_dedup")
    assert kept["id"].to_list() == ["a1", "a2", "b2"]
    assert dict(zip(removed["id"], removed["dup_of"])) == {"b1": "a1", "c1": "a2"}
    assert result.reports[0]["stats"]["duplicate_groups"] == 2


def test_binary_ids_that_are_not_utf8_are_named_as_python_writes_bytes(tmp_path):
    """A binary id column of digests stopped exact_dedup and near_dedup with an internal
    error (polars cannot cast such bytes to text); UTF-8 bytes read as their text."""
    text = "the quick brown fox jumps over the lazy dog near the river bank today"
    article = " ".join(f"word{i}" for i in range(60))
    ids = [b"\xff\x00", b"\xfe", b"plain", b"\xc3", b"\x01"]
    write_shards(tmp_path, [pl.DataFrame({"id": ids, "text": [text, text, article, article + " and more", "other"]})])
    stages = [{"stage": "exact_dedup"}, {"stage": "near_dedup", "keep": "longest"}]
    result = run(write_pipeline(tmp_path, stages, id_column="id"))
    kept = read_dir(result.output / "data")
    assert kept["id"].to_list() == [b"\xff\x00", b"\xc3", b"\x01"]
    assert kept.schema["id"] == pl.Binary  # the input's column as it was
    exact = read_dir(result.output / "removed" / "exact_dedup")
    assert exact.select("id", "dup_of").rows() == [(b"\xfe", "b'\\xff\\x00'")]
    assert result.reports[0]["samples"]["exact_duplicate"][0]["dup_of"] == "b'\\xff\\x00'"
    near = read_dir(result.output / "removed" / "near_dedup")
    assert near.select("id", "dup_of").rows() == [(b"plain", "b'\\xc3'")]
