"""near_dedup: datasketch-equal signatures, shingling, LSH, survivors, index, edge cases."""

from __future__ import annotations

import itertools
import json
import pickle
import random
import re
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from datasketch import MinHash
from runs import cli, read_dir, run, write_pipeline, write_shards

from curate.errors import ConfigError
from curate.stages import STAGES
from curate.stages.base import Columns
from curate.stages.near_dedup import NearDedup, NearDedupConfig
from curate.stages.near_dedup.index import NearDedupIndex
from curate.stages.near_dedup.minhash import (
    MAX_HASH,
    MinHasher,
    document_signatures,
    optimal_bands,
    poly64_hash32,
    sha1_hash32,
    shingle_hashes,
    shingle_texts,
)
from curate.text import Normalization, normalize_texts, normalized

TRICKY = [
    "The quick brown fox jumps over the lazy dog, again and again!",
    "Ünïcödé wörds — “quoted” x² naïve café_bar ÉCOLE ǅ İstanbul",
    "日本語のテキスト と 中文 文本 mixed with English words here",
    "emoji 🙂 between 🚀 words: don't split-hyphen e.g. 3.14 and 1,000",
    "one two three four",
    "single",
    "",
    "   \t\n  ",
    "... --- !!!",
    "tab\tseparated\nnew line\r\nwindows  double  spaces at the end   ",
    "Ｆｕｌｌ ｗｉｄｔｈ ﬁ ligature ①②③ ½ ™ combining é e\u0301",
]


def reference_shingles(text: str, n: int = 5) -> list[str]:
    """The ground truth's shingling (../shared/data/MANIFEST.md, neardup/)."""
    tokens = re.findall(r"\w+", text)
    if not tokens:
        return []
    if len(tokens) < n:
        return [" ".join(tokens)]
    return [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def lowered(texts: list[str]) -> pl.Series:
    return pl.Series("text", texts).str.to_lowercase()


def words(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(count)]


VOCAB = [f"w{i}" for i in range(5000)]


def make_doc(seed: int, count: int = 120) -> list[str]:
    return words(random.Random(seed), count)


def substitute(tokens: list[str], positions: list[int], seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = list(tokens)
    for p in positions:
        out[p] = f"sub{rng.randrange(10**9)}"
    return out


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = set(reference_shingles(a.lower(), n)), set(reference_shingles(b.lower(), n))
    return len(sa & sb) / len(sa | sb)


def stage_of(**config) -> NearDedup:
    return NearDedup(NearDedupConfig(stage="near_dedup", **config), Columns(id="id"))


def decide_shards(
    shards: list[pl.DataFrame], stage: NearDedup | None = None, folder: Path | None = None, run_directory: str | None = None, **config
) -> tuple[pl.DataFrame, dict]:
    """summarize per shard and decide, as the runner does; decisions with id and text.
    With a folder, the summaries are one file per shard there, as in a run; with a
    run_directory, the index part is that run directory's, as the runner names it."""
    stage = stage or stage_of(**config)
    stage.run_directory = run_directory or stage.run_directory
    summaries = [
        stage.summarize(frame).with_columns(pl.lit(i, dtype=pl.Int32).alias("_shard"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos"))
        for i, frame in enumerate(shards)
    ]
    if folder is not None:
        folder.mkdir()
        stage.summary_files = tuple(folder / f"part-{i:05d}.parquet" for i in range(len(shards)))
        for summary, path in zip(summaries, stage.summary_files, strict=True):
            summary.write_parquet(path)
        decisions, stats = stage.decide(pl.scan_parquet(stage.summary_files))
    else:
        decisions, stats = stage.decide(pl.concat([s.lazy() for s in summaries]))
    rows = pl.concat(
        [f.select("id", "text").with_columns(pl.lit(i, dtype=pl.Int32).alias("_shard"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos")) for i, f in enumerate(shards)]
    )
    json.dumps(stats)  # the report writes it
    return rows.join(decisions.collect(), on=["_shard", "_pos"], how="left").sort("_shard", "_pos"), stats


def frame(ids: list[str], texts: list[str | None], **extra) -> pl.DataFrame:
    return pl.DataFrame({"id": ids, "text": texts, **extra}, schema_overrides={"id": pl.String, "text": pl.String})


# ---------------------------------------------------------------- MinHash equality


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 42)])
def test_signatures_equal_datasketch_sha1(scheme, num_perm, seed):
    rng = random.Random(seed)
    texts = TRICKY + [" ".join(words(rng, rng.randrange(1, 300))) for _ in range(40)]
    series = lowered(texts)
    hashes, counts = shingle_hashes(series, "word", 5, "sha1")
    sigs = MinHasher(num_perm, seed, scheme).signatures(hashes, counts, chunk=257)
    for i, text in enumerate(series.to_list()):
        expected = MinHash(num_perm=num_perm, seed=seed, scheme=scheme)
        expected.update_batch([s.encode() for s in reference_shingles(text)])
        assert np.array_equal(sigs[i], expected.hashvalues), (i, text[:40])
    assert (sigs[texts.index("")] == MAX_HASH).all()  # no shingle: datasketch's empty MinHash


def test_poly64_signatures_equal_datasketch_with_its_hashfunc():
    texts = lowered(TRICKY + [" ".join(make_doc(s, 50)) for s in range(10)])
    hashes, counts = shingle_hashes(texts, "word", 5, "poly64")
    sigs = MinHasher(128, 1).signatures(hashes, counts)
    for i, shingles in enumerate(shingle_texts(texts, "word", 5)):
        expected = MinHash(num_perm=128, seed=1, hashfunc=poly64_hash32)
        expected.update_batch(shingles)
        assert np.array_equal(sigs[i], expected.hashvalues)
    # the vectorised hash is the reference hash, and stable across versions
    flat = [s for doc in shingle_texts(texts, "word", 5) for s in doc]
    assert hashes.tolist() == [poly64_hash32(s) for s in flat]
    assert poly64_hash32(b"the quick brown fox jumps") == 2037385069
    assert sha1_hash32(b"the quick brown fox jumps") == 1208285777  # datasketch.hashfunc.sha1_hash32


def test_char_shingles_equal_datasketch():
    texts = lowered(TRICKY)
    hashes, counts = shingle_hashes(texts, "char", 4, "sha1")
    sigs = MinHasher(64, 3).signatures(hashes, counts)
    for i, text in enumerate(texts.to_list()):
        grams = [text[j : j + 4] for j in range(len(text) - 3)] if len(text) >= 4 else ([text] if text else [])
        expected = MinHash(num_perm=64, seed=3)
        expected.update_batch([g.encode() for g in grams])
        assert np.array_equal(sigs[i], expected.hashvalues), text


def test_word_shingles_are_the_ground_truth_shingles():
    texts = lowered(TRICKY + ["a b", "a_b c-d", "ab" * 3000])
    for n in (1, 3, 5):
        got = shingle_texts(texts, "word", n)
        for text, shingles in zip(texts.to_list(), got):
            assert [s.decode() for s in shingles] == reference_shingles(text, n), text


def test_batches_do_not_change_signatures():
    raw = pl.Series(TRICKY * 5 + [" ".join(make_doc(s, 200)).upper() for s in range(30)])
    texts = lowered(raw.to_list())
    hasher = MinHasher(128, 1)
    whole, counts, lists = document_signatures(texts, hasher, batch_bytes=1 << 30, keep_shingles=True)
    small, counts_small, lists_small = document_signatures(texts, hasher, batch_bytes=500, keep_shingles=True)
    assert np.array_equal(whole, small) and np.array_equal(counts, counts_small)
    assert lists.to_list() == lists_small.to_list()
    # normalising each batch gives what normalising the whole column first gives
    options = Normalization(whitespace=False)
    normalised = document_signatures(normalize_texts(raw, options), hasher, keep_shingles=True)
    per_batch = document_signatures(raw, hasher, batch_bytes=500, keep_shingles=True, normalization=options)
    assert np.array_equal(normalised[0], per_batch[0]) and np.array_equal(normalised[1], per_batch[1])
    assert normalised[2].to_list() == per_batch[2].to_list()


def test_one_permutation_estimates_jaccard():
    """One permutation, binned and densified: no empty slot but in empty documents, the
    same signatures in any batch split, and the share of equal slots estimates Jaccard
    as closely as independent permutations do (standard error ~0.04 at 128 slots)."""
    base = make_doc(5, 300)
    variants = [base, substitute(base, [20, 150]), substitute(base, list(range(0, 300, 12))), make_doc(6, 300), ["one", "two"], []]
    texts = lowered([" ".join(v) for v in variants])
    hasher = MinHasher(128, 1, sketch="one_permutation")
    sigs, counts, _ = document_signatures(texts, hasher)
    assert np.array_equal(sigs, document_signatures(texts, hasher, batch_bytes=100)[0])
    assert not (sigs[:5] == MAX_HASH).any() and (sigs[5] == MAX_HASH).all()
    assert len(set(sigs[4].tolist())) == 1  # two words: one shingle, every slot densified from it
    for other in (1, 2, 3):
        estimate = np.mean(sigs[0] == sigs[other])
        assert estimate == pytest.approx(jaccard(texts[0], texts[other]), abs=0.1)
    decisions, _ = decide_shards([frame(["a", "b", "c"], [texts[0], texts[1], texts[3]])], sketch="one_permutation")
    assert decisions["curate_reason"].to_list() == [None, "near_duplicate", None]


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9, 0.95])
@pytest.mark.parametrize("num_perm", [64, 128])
def test_lsh_parameters_equal_datasketch(threshold, num_perm):
    from datasketch.lsh import _optimal_param

    for weights in [(0.5, 0.5), (0.1, 0.9)]:
        assert optimal_bands(threshold, num_perm, weights) == _optimal_param(threshold, num_perm, *weights)


def test_fast_normalisation_equals_normalized():
    texts = pl.Series("t", TRICKY + [None, "ÀÉÎ plain", "ﬁ"] * 3)
    for options in [Normalization(), Normalization(digits=True, punctuation=True), Normalization(nfkc=False), Normalization(whitespace=False)]:
        expected = texts.to_frame().select(normalized(pl.col("t"), options)).to_series()
        assert normalize_texts(texts, options).to_list() == expected.to_list()


# ---------------------------------------------------------------- decisions


def corpus() -> tuple[pl.DataFrame, dict[str, str]]:
    """a and two near copies (one substitution each), b and one near copy, c unique."""
    a, b, c = make_doc(1), make_doc(2), make_doc(3)
    docs = {
        "a": a,
        "b": b,
        "a1": substitute(a, [60]),
        "c": c,
        "b1": substitute(b, [30]),
        "a2": substitute(a, [20]) + ["tail"],
    }
    texts = {k: " ".join(v) for k, v in docs.items()}
    return frame(list(texts), list(texts.values())), texts


def test_near_duplicates_removed_first_survives():
    data, texts = corpus()
    decisions, stats = decide_shards([data])
    by_id = {r["id"]: r for r in decisions.iter_rows(named=True)}
    assert [by_id[i]["curate_reason"] for i in ["a", "b", "a1", "c", "b1", "a2"]] == [None, None, "near_duplicate", None, "near_duplicate", "near_duplicate"]
    for dup, survivor in [("a1", "a"), ("a2", "a"), ("b1", "b")]:
        assert by_id[dup]["dup_of"] == survivor
        assert by_id[dup]["dup_similarity"] == pytest.approx(jaccard(texts[dup], texts[survivor]), abs=1e-6)
        assert by_id[dup]["dup_cluster_id"] == by_id[survivor]["dup_cluster_id"]
    assert by_id["a"]["dup_of"] == "a" and by_id["a"]["dup_cluster_size"] == 3 and by_id["a"]["dup_similarity"] == 1.0
    assert by_id["c"]["dup_of"] is None and by_id["c"]["dup_cluster_size"] == 1 and by_id["c"]["dup_cluster_id"] is None
    assert by_id["a"]["dup_cluster_id"] != by_id["b"]["dup_cluster_id"]
    assert stats["removed"] == 3 and stats["clusters"] == 2 and stats["cluster_size_histogram"] == {"2": 1, "3": 1}


def test_threshold_separates_similar_from_too_different():
    base = make_doc(7, 100)
    close = " ".join(substitute(base, [50]))  # ~0.90
    far = " ".join(substitute(base, [10, 30, 50, 70, 90]))  # ~0.6
    data = frame(["x", "close", "far"], [" ".join(base), close, far])
    decisions, _ = decide_shards([data], threshold=0.8)
    assert decisions["curate_reason"].to_list() == [None, "near_duplicate", None]
    decisions, _ = decide_shards([data], threshold=0.5)
    assert decisions["curate_reason"].to_list() == [None, "near_duplicate", "near_duplicate"]


def test_signature_verification_estimates_jaccard():
    data, texts = corpus()
    decisions, _ = decide_shards([data], verify="signature", hash="sha1")
    by_id = {r["id"]: r for r in decisions.iter_rows(named=True)}
    assert by_id["a1"]["curate_reason"] == "near_duplicate" and by_id["b1"]["dup_of"] == "b"
    est = MinHash(num_perm=128, seed=1)
    est.update_batch([s.encode() for s in reference_shingles(texts["a1"])])
    ref = MinHash(num_perm=128, seed=1)
    ref.update_batch([s.encode() for s in reference_shingles(texts["a"])])
    assert by_id["a1"]["dup_similarity"] == pytest.approx(est.jaccard(ref), abs=1e-6)


def policy_corpus() -> pl.DataFrame:
    base = make_doc(11)
    variants = {
        "m": base,  # first in run order
        "k": substitute(base, [40]),
        "z": substitute(base, [80]) + ["extra", "words"],  # longest
        "a": substitute(base, [100]),
    }
    return frame(list(variants), [" ".join(v) for v in variants.values()], score=[0.5, 0.9, 0.1, 0.9])


@pytest.mark.parametrize(
    "keep,survivor",
    [
        ("first", "m"),
        ("longest", "z"),
        ("highest:score", "a"),  # k and a tie on 0.9: the smaller id wins
        ("lowest:score", "z"),
    ],
)
def test_survivor_policies(keep, survivor):
    decisions, _ = decide_shards([policy_corpus()], keep=keep)
    kept = decisions.filter(pl.col("curate_reason").is_null())["id"].to_list()
    assert kept == [survivor]
    assert set(decisions["dup_of"]) == {survivor}
    assert decisions["dup_cluster_size"].to_list() == [4, 4, 4, 4]


def test_a_nan_score_loses_as_a_null_does():
    """polars sorts NaN above every number: highest:score kept the NaN row over 2.0."""
    scored = policy_corpus().with_columns(score=pl.Series([1.0, float("nan"), 2.0, None]))
    for keep, survivor in (("highest:score", "z"), ("lowest:score", "m")):
        decisions, _ = decide_shards([scored], keep=keep)
        assert decisions.filter(pl.col("curate_reason").is_null())["id"].to_list() == [survivor]
        assert set(decisions["dup_of"]) == {survivor}
    only_nan = policy_corpus().with_columns(score=pl.lit(float("nan")))
    decisions, _ = decide_shards([only_nan], keep="highest:score")  # every score missing: the smaller id
    assert decisions.filter(pl.col("curate_reason").is_null())["id"].to_list() == ["a"]


def test_longest_ties_broken_by_id():
    text = " ".join(make_doc(5))
    decisions, _ = decide_shards([frame(["r2", "r1", "r3"], [text, text.upper(), text])], keep="longest")
    assert decisions.filter(pl.col("curate_reason").is_null())["id"].to_list() == ["r1"]


def test_ties_go_to_the_smaller_numeric_id_as_a_number():
    """Integer ids were compared as text: "10" < "9" kept 10."""
    text = " ".join(make_doc(6))
    shard = pl.DataFrame({"id": [10, 9, 100], "text": [text, text.upper(), text]})
    for keep in ("longest", "highest:score"):
        decisions, _ = decide_shards([shard.with_columns(score=pl.lit(0.5))], keep=keep)
        assert decisions.filter(pl.col("curate_reason").is_null())["id"].to_list() == [9]
        assert set(decisions["dup_of"]) == {"9"}


def test_empty_and_short_documents():
    texts = ["", None, "   ", "!!! ...", "hello world", "Hello, world!", "hello there", "x", "x", "a b c d", "a b c d e"]
    ids = [f"r{i}" for i in range(len(texts))]
    decisions, stats = decide_shards([frame(ids, texts)])
    reasons = dict(zip(decisions["id"], decisions["curate_reason"]))
    # no word, no shingle: never a near-duplicate (length_filter / exact_dedup handle them)
    for i in range(4):
        assert reasons[f"r{i}"] is None
        assert decisions["dup_cluster_size"][i] == 1
    # fewer than 5 words: one shingle of all of them
    assert reasons["r5"] == "near_duplicate" and decisions["dup_of"][5] == "r4"
    assert reasons["r6"] is None
    assert reasons["r8"] == "near_duplicate" and decisions["dup_of"][8] == "r7"
    assert reasons["r9"] is None and reasons["r10"] is None  # {"a b c d"} vs {"a b c d e"}
    assert stats["documents_without_shingles"] == 4


def test_empty_shards_and_empty_input():
    data, _ = corpus()
    decisions, stats = decide_shards([frame([], []), data, frame([], [])])
    assert decisions.height == data.height and stats["removed"] == 3
    decisions, stats = decide_shards([frame([], [])], keep="longest")
    assert decisions.height == 0 and stats["clusters"] == 0


def test_char_shingles_option():
    base = "the rain in spain falls mainly on the plain " * 3
    decisions, _ = decide_shards([frame(["a", "b", "c"], [base, base.replace("spain", "spian", 1), "something else entirely, nothing alike at all"])], shingle="char", ngram=5)
    assert decisions["curate_reason"].to_list() == [None, "near_duplicate", None]


def test_shard_split_does_not_change_decisions():
    rng = random.Random(3)
    docs = []
    for i in range(60):
        base = make_doc(100 + i)
        docs.append((f"d{i:03d}", " ".join(base)))
        for j in range(rng.randrange(0, 3)):
            docs.append((f"d{i:03d}-{j}", " ".join(substitute(base, [rng.randrange(120)], seed=j))))
    rng.shuffle(docs)
    data = frame([d[0] for d in docs], [d[1] for d in docs])
    columns = ["id", "curate_reason", "dup_of", "dup_cluster_id", "dup_cluster_size", "dup_similarity"]
    whole, _ = decide_shards([data])
    cuts = [0, 7, 8, 50, data.height]
    split, _ = decide_shards([data.slice(a, b - a) for a, b in itertools.pairwise(cuts)])
    assert whole.select(columns).equals(split.select(columns))
    assert whole["curate_reason"].null_count() < whole.height  # something was removed
    again, _ = decide_shards([data])
    assert whole.equals(again)


def shuffled_corpus(seed: int, bases: int) -> pl.DataFrame:
    """`bases` documents with 0 to 2 one-word variants each, shuffled."""
    rng = random.Random(seed)
    docs = []
    for i in range(bases):
        base = make_doc(100 + i)
        docs.append((f"d{i:03d}", " ".join(base)))
        for j in range(rng.randrange(0, 3)):
            docs.append((f"d{i:03d}-{j}", " ".join(substitute(base, [rng.randrange(120)], seed=j))))
    rng.shuffle(docs)
    return frame([d[0] for d in docs], [d[1] for d in docs])


@pytest.mark.parametrize("verify", ["shingles", "signature"])
def test_verification_blocks_do_not_change_decisions(monkeypatch, tmp_path, verify):
    """Verification runs as tasks over pairs of blocks of shards (and the index): with one
    shard per block, the candidates' rows copied to a scratch folder first (as inside a
    run) and each band's buckets in several hash partitions, the decisions and statistics
    equal those of one block read from the summaries, each task reads at most two
    blocks, and its item survives pickling (a worker or Ray task). Clusters are found by
    rounds of tasks over partitions of the verified edges, in any number of partitions."""
    import pickle

    from curate.stages import near_dedup

    data = shuffled_corpus(5, 50)
    shards = [data.slice(a, b - a) for a, b in itertools.pairwise([0, 20, 45, 70, data.height])]
    for index in ("one", "many"):  # an index of two parts
        decide_shards([shuffled_corpus(6, 20)], index=str(tmp_path / index), verify=verify)
        decide_shards([shuffled_corpus(7, 30).slice(0, 25)], index=str(tmp_path / index), verify=verify)
    whole, whole_stats = decide_shards(shards, index=str(tmp_path / "one"), verify=verify)

    reads: list[int] = []
    calls: list[str] = []

    def recording(work, items):
        calls.extend(work.__name__ for _ in items)
        if work is near_dedup._verify_pairs:
            reads.extend(len(frames) for _, frames, _ in items)
        items = [pickle.loads(pickle.dumps(item)) for item in items]
        return [work(item) for item in items]

    monkeypatch.setattr(near_dedup, "SHINGLES_PER_BLOCK", 1)
    monkeypatch.setattr(near_dedup, "DOCUMENTS_PER_BAND_TASK", 40)
    monkeypatch.setattr(near_dedup.pairs, "EDGES_PER_COMPONENT_TASK", 16)
    stage = stage_of(index=str(tmp_path / "many"), verify=verify)
    stage.task_runner = recording
    stage.scratch = tmp_path / "scratch"
    stage.scratch.mkdir()
    split, split_stats = decide_shards(shards, stage=stage)
    assert split.equals(whole)
    assert split_stats == whole_stats
    assert whole["curate_reason"].null_count() < whole.height and whole_stats["removed_matching_index"] > 0
    assert len(reads) > 4 and max(reads) == 2
    # each band in several partitions; one copy of candidates per shard
    assert calls.count("_band_pairs") > stage.lsh[0] and calls.count("_band_pairs") % stage.lsh[0] == 0
    scratch = sorted(p.name for p in stage.scratch.iterdir())
    assert [p for p in scratch if p.startswith("candidates-")] == [f"candidates-{i:05d}.parquet" for i in range(len(shards))] == [
        f"candidates-{i:05d}.parquet" for i in range(calls.count("_copy_rows"))
    ]
    # clusters: rounds of one task per hash partition of the nodes (about 16 edges each),
    # the edges and each round's labels handed over as files
    edges = [p for p in scratch if p.startswith("clusters-edges-")]
    rounds = [p for p in scratch if p.startswith("clusters-labels")]
    assert len(edges) > 2 and len(rounds) % len(edges) == 0 and len(rounds) >= 2 * len(edges)
    assert len([p for p in scratch if "-labels" in p]) == calls.count("_label_round")


def scanned_files(frame: pl.LazyFrame) -> int:
    """How many Parquet files the lazy frame's plan reads."""
    scans = re.findall(r"Parquet SCAN \[([^\]]*)\]", frame.explain())
    return sum(1 + int(m.group(1)) if (m := re.search(r"(\d+) other sources", scan)) else 1 for scan in scans)


def test_a_run_reads_each_shards_summary_from_its_own_file(tmp_path):
    """What needs one shard's summaries reads that shard's file: a filter on the shard over
    the files of all of them opened every file, for each shard (3,000 files of 3 rows:
    705 s in near_dedup). A shard's decisions read no file (they are made from its row
    count and the clustered rows); each copy of a shard's candidates and each shard a
    verification task reads is one file; the decisions are those of summaries in memory."""
    from curate.stages import near_dedup

    data = shuffled_corpus(5, 50)
    shards = [data.slice(start, 9) for start in range(0, data.height, 9)]
    whole, whole_stats = decide_shards(shards)
    reads: list[int] = []

    def recording(work, items):
        if work is near_dedup._copy_rows:
            reads.extend(scanned_files(rows) for rows, _ in items)
        if work is near_dedup._verify_pairs:
            reads.extend(scanned_files(frame) for _, frames, _ in items for frame in frames)
        return [work(item) for item in items]

    stage = stage_of()
    stage.task_runner = recording
    stage.scratch = tmp_path / "scratch"
    stage.scratch.mkdir()
    split, split_stats = decide_shards(shards, stage=stage, folder=tmp_path / "summary")
    assert split.equals(whole) and split_stats == whole_stats
    assert whole_stats["removed"] > 0 and len(reads) > len(shards) and set(reads) == {1}
    decisions, _ = stage.decide(pl.scan_parquet(stage.summary_files))
    assert [scanned_files(decisions.filter(pl.col("_shard") == shard)) for shard in range(len(shards))] == [0] * len(shards)
    assert scanned_files(pl.scan_parquet(stage.summary_files).filter(pl.col("_shard") == 0)) == len(shards)  # what a filter reads


def test_many_copies_verify_in_two_rounds():
    """20 copies of one text: the pairs beyond each bucket's first member outnumber the
    first ones, so they are verified in a second round, only where still needed."""
    copies = " ".join(make_doc(77))
    data = shuffled_corpus(8, 10).vstack(frame([f"copy{i:02d}" for i in range(20)], [copies] * 20))
    decisions, stats = decide_shards([data.slice(0, 15), data.slice(15)])
    copied = decisions.filter(pl.col("id").str.starts_with("copy"))
    assert copied["curate_reason"].to_list() == [None] + ["near_duplicate"] * 19
    assert set(copied["dup_of"]) == {"copy00"} and set(copied["dup_cluster_size"]) == {20} and set(copied["dup_similarity"]) == {1.0}
    assert stats["pairs_checked"] < stats["candidate_pairs"]


# ---------------------------------------------------------------- incremental index


def test_incremental_index(tmp_path):
    index = tmp_path / "index"
    a, b, c, d = (make_doc(s) for s in (21, 22, 23, 24))
    first = frame(["a", "b", "b-copy"], [" ".join(a), " ".join(b), " ".join(substitute(b, [5]))], curate_source=["old.parquet"] * 3)
    run1, stats1 = decide_shards([first], index=str(index), run_directory="/runs/old")
    assert run1["curate_reason"].to_list() == [None, None, "near_duplicate"]
    assert stats1["index_added"] == 2 and stats1["index_documents"] == 2

    second = frame(
        ["a-new", "c", "c-copy", "d"],
        [" ".join(substitute(a, [70])), " ".join(c), " ".join(substitute(c, [9])), " ".join(d)],
        curate_source=["new.parquet"] * 4,
    )
    half = index / ".part-00001-0123abcd.parquet.tmp-99999"  # a writer killed mid-part (one writer at a time)
    half.write_bytes(b"PAR1 half")
    stage = stage_of(index=str(index))
    run2, stats2 = decide_shards([second], stage=stage, run_directory="/runs/new")
    assert not half.exists()
    by_id = {r["id"]: r for r in run2.iter_rows(named=True)}
    assert by_id["a-new"]["curate_reason"] == "near_duplicate"
    assert (by_id["a-new"]["dup_of"], by_id["a-new"]["dup_source"]) == ("a", "old.parquet")
    assert by_id["a-new"]["dup_similarity"] == pytest.approx(jaccard(" ".join(a), second["text"][0]))
    assert (by_id["c-copy"]["dup_of"], by_id["c-copy"]["dup_source"]) == ("c", "new.parquet")
    assert by_id["d"]["curate_reason"] is None and by_id["c"]["curate_reason"] is None
    assert [by_id[i]["dup_in_index"] for i in ("a-new", "c-copy", "c", "d")] == [True, False, False, None]
    assert stats2["removed_matching_index"] == 1 and stats2["index_documents"] == 4

    # resume: decide again over the same rows with the index already updated
    again, stats3 = decide_shards([second], stage=stage_of(index=str(index)), run_directory="/runs/new")
    assert again.equals(run2)
    assert stats3["index_documents"] == 4
    assert len(json.loads((index / "index.json").read_text())["parts"]) == 2

    # the first run's rows again, into its run directory or another: an indexed document is not its own duplicate
    for run_directory in ("/runs/old", "/runs/elsewhere"):
        rerun, _ = decide_shards([first], index=str(index), run_directory=run_directory)
        assert rerun.equals(run1)
    assert [p["rows"] for p in json.loads((index / "index.json").read_text())["parts"]] == [2, 2, 2]


def test_an_edited_document_run_again_into_its_run_directory_is_not_its_own_duplicate(tmp_path, monkeypatch):
    # a typo fixed in b, and the batch run again into the same run directory: b was removed
    # as a near-duplicate of its first version (dup_of b), which the index still held
    from curate.stages.near_dedup import index as index_module

    index = tmp_path / "ix"
    a, b, c = make_doc(51), make_doc(52), make_doc(53)
    batch = lambda b_words: frame(["a", "b", "c"], [" ".join(a), " ".join(b_words), " ".join(c)])
    decide_shards([batch(b)], index=str(index), run_directory="/runs/r")
    before = (index / "index.json").read_text()
    first_part = json.loads(before)["parts"][0]["file"]
    edited = batch(substitute(b, [40]))
    # a writer killed between its new part and index.json: the index is as it was, the new part unlisted
    monkeypatch.setattr(index_module, "write_text_atomic", lambda *_: (_ for _ in ()).throw(OSError("killed")))
    with pytest.raises(OSError, match="killed"):
        decide_shards([edited], index=str(index), run_directory="/runs/r")
    assert (index / "index.json").read_text() == before and len(list(index.glob("part-*.parquet"))) == 2
    monkeypatch.undo()
    rerun, stats = decide_shards([edited], index=str(index), run_directory="/runs/r")
    assert rerun["curate_reason"].to_list() == [None] * 3 and rerun["dup_of"].to_list() == [None] * 3
    parts = json.loads((index / "index.json").read_text())["parts"]
    assert [(p["owner"], p["rows"]) for p in parts] == [("/runs/r", 3)] and stats["index_documents"] == 3
    # the replaced part and the killed writer's are gone
    assert [p.name for p in index.glob("part-*.parquet")] == [parts[0]["file"]] != [first_part]
    assert pl.read_parquet(index / parts[0]["file"])["id"].to_list() == ["a", "b", "c"]


def test_a_rerun_after_a_change_before_near_dedup_leaves_no_superseded_document_in_the_index(tmp_path):
    # a stricter length_filter removes the 45-word page the first try kept: the rerun into the
    # same run directory kept the first try's part beside its own, and the next day's
    # re-crawl of the page (51 words) was removed as a duplicate of a row no output held
    rng = random.Random(1)
    page = words(rng, 45)
    day1, day2 = tmp_path / "day1", tmp_path / "day2"
    write_shards(day1, [pl.DataFrame({"text": [" ".join(page), " ".join(words(rng, 80)), " ".join(words(rng, 90))]})])
    write_shards(day2, [pl.DataFrame({"text": [" ".join(page + words(rng, 6)), " ".join(words(rng, 70))]})])
    index = tmp_path / "index"
    stages = lambda min_words: [{"stage": "length_filter", "min_words": min_words}, {"stage": "near_dedup", "index": str(index)}]
    run(write_pipeline(day1, stages(20)), day1 / "run")
    rerun = run(write_pipeline(day1, stages(50)), day1 / "run")
    assert read_dir(rerun.output / "data")["curate_id"].to_list() == ["shard-000.parquet#1", "shard-000.parquet#2"]
    next_day = run(write_pipeline(day2, stages(50)), day2 / "run")
    assert read_dir(next_day.output / "data")["curate_id"].to_list() == ["shard-000.parquet#0", "shard-000.parquet#1"]
    parts = json.loads((index / "index.json").read_text())["parts"]
    assert [(p["owner"], p["rows"]) for p in parts] == [(str((day1 / "run").resolve()), 2), (str((day2 / "run").resolve()), 2)]


def test_a_rerun_of_an_input_that_grew_stores_each_document_once(tmp_path):
    # the feed grew by one row and was run again into its run directory: its part was
    # added again beside the first, so a later near copy of a was in a cluster of 3
    index = str(tmp_path / "ix")
    docs = {key: make_doc(seed, 60) for key, seed in zip("abcde", range(61, 66))}
    feed = lambda ids: frame(list(ids), [" ".join(docs[i]) for i in ids])
    decide_shards([feed("abcd")], index=index, run_directory="/runs/feed")
    _, grown = decide_shards([feed("abcde")], index=index, run_directory="/runs/feed")
    assert (grown["index_added"], grown["index_documents"]) == (5, 5)
    day3, stats = decide_shards([frame(["z"], [" ".join(substitute(docs["a"], [30]))])], index=index, run_directory="/runs/day3")
    assert day3.select("curate_reason", "dup_of", "dup_cluster_size").row(0) == ("near_duplicate", "a", 2)
    assert (stats["cluster_size_histogram"], stats["largest_cluster"], stats["index_documents"]) == ({"2": 1}, 2, 5)


def test_an_index_tells_batches_with_the_same_ids_apart_and_trial_runs_leave_it(tmp_path):
    # each day's batch is `data.parquet`: the default ids repeat. The second day's copy of
    # the first day's document was never compared, and its part replaced the first day's.
    index = str(tmp_path / "ix")
    a, b = make_doc(41), make_doc(42)
    decide_shards([frame(["data.parquet#0", "data.parquet#1"], [" ".join(a), " ".join(b)])], index=index)
    day2, stats = decide_shards([frame(["data.parquet#0", "data.parquet#1"], [" ".join(substitute(a, [4])), " ".join(make_doc(43))])], index=index)
    assert day2["curate_reason"].to_list() == ["near_duplicate", None] and day2["dup_of"][0] == "data.parquet#0"
    assert stats["index_documents"] == 3 and len(json.loads((tmp_path / "ix" / "index.json").read_text())["parts"]) == 2
    # a --limit, --sample or --annotate-only run reads the index and adds nothing to it
    trial = stage_of(index=index)
    trial.trial_run = True
    _, stats = decide_shards([frame(["x"], [" ".join(make_doc(44))])], stage=trial)
    assert "index_added" not in stats and stats["index_documents"] == 3
    # a damaged part is named before any work (it was "the path vanished", exit 4, or an internal error)
    part = sorted((tmp_path / "ix").glob("part-*.parquet"))[0]
    saved = part.read_bytes()
    for damage, message in ((lambda: part.write_bytes(saved[:40]), "is not a readable Parquet file"), (part.unlink, "is missing")):
        damage()
        with pytest.raises(ConfigError, match=f"{part.name} {message}; restore the index folder"):
            stage_of(index=index).check_settings()
    part.write_bytes(saved)
    # parts without index.json: stop, rather than start an empty index beside them
    (tmp_path / "ix" / "index.json").unlink()
    with pytest.raises(ConfigError, match="holds index parts but no index.json"):
        decide_shards([frame(["y"], ["some words here"])], index=index)


def test_index_survivor_wins_over_policy(tmp_path):
    base = make_doc(31)
    decide_shards([frame(["old"], [" ".join(base)])], index=str(tmp_path / "ix"), keep="longest")
    longer = " ".join(substitute(base, [3]) + ["more", "words", "here"])
    decisions, _ = decide_shards([frame(["new"], [longer])], index=str(tmp_path / "ix"), keep="longest")
    assert decisions["curate_reason"].to_list() == ["near_duplicate"] and decisions["dup_of"].to_list() == ["old"]
    assert decisions["dup_source"].to_list() == [None]  # no source column, none recorded


def test_index_with_other_settings_is_a_config_error(tmp_path):
    decide_shards([frame(["a"], ["some words in a document here"])], index=str(tmp_path / "ix"))
    with pytest.raises(ConfigError, match="num_perm=128, this stage has num_perm=64"):
        decide_shards([frame(["b"], ["other words"])], index=str(tmp_path / "ix"), num_perm=64)
    with pytest.raises(ConfigError, match="built with the default sketch, this stage has sketch='one_permutation'"):  # was sketch=None
        decide_shards([frame(["b"], ["other words"])], index=str(tmp_path / "ix"), sketch="one_permutation")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="folder"):
        NearDedupIndex(tmp_path / "file", {})


# ---------------------------------------------------------------- config and contract


def test_config_errors_name_the_key():
    from curate.config import stage_config

    for entry, words_ in [
        ({"stage": "near_dedup", "keep": "biggest"}, "keep"),
        ({"stage": "near_dedup", "bands": 4}, "rows"),
        ({"stage": "near_dedup", "bands": 20, "rows": 10}, "num_perm"),
        ({"stage": "near_dedup", "threshold": 1.5}, "threshold"),
        ({"stage": "near_dedup", "verify": "exact"}, "verify"),
        ({"stage": "near_dedup", "weights": [0.5, 0.6]}, "weights"),
        ({"stage": "near_dedup", "sketch": "one_permutation", "scheme": "legacy"}, "affine32"),
    ]:
        with pytest.raises(ConfigError, match=words_) as error:
            stage_config(entry)
        assert "\n" not in str(error.value)


def test_registered_picklable_and_required_columns():
    assert STAGES["near_dedup"] is NearDedup
    stage = NearDedup(NearDedupConfig(stage="near_dedup", keep="highest:score", source_column="file"), Columns(text="body", id="id"))
    assert stage.required_columns() == ["body", "score", "file"]
    clone = pickle.loads(pickle.dumps(stage))
    assert clone.config == stage.config and clone.lsh == stage.lsh == (14, 9)
    assert stage_of(bands=16, rows=8).lsh == (16, 8)


def test_pipeline_run_through_the_runner(tmp_path):
    data, _ = corpus()
    write_shards(tmp_path, [data.slice(0, 3), data.slice(3)])
    pipeline = write_pipeline(tmp_path, [{"stage": "near_dedup", "threshold": 0.8, "keep": "first"}], id_column="id")
    result = run(pipeline)
    kept = read_dir(result.output / "data")
    assert sorted(kept["id"]) == ["a", "b", "c"]
    removed = read_dir(result.output / "removed" / "near_dedup")
    assert sorted(zip(removed["id"], removed["dup_of"], removed["dup_source"])) == [
        ("a1", "a", "shard-000.parquet"),
        ("a2", "a", "shard-000.parquet"),
        ("b1", "b", "shard-000.parquet"),
    ]


def test_an_annotate_run_reports_the_rows_it_would_remove_not_removed(tmp_path):
    """Its stats said removed 4 beside rows_removed 0: report.html printed both."""
    data, _ = corpus()
    index = str(tmp_path / "ix")
    write_shards(tmp_path / "mon", [data.filter(pl.col("id").is_in(["a", "b", "c"]))])
    run(write_pipeline(tmp_path / "mon", [{"stage": "near_dedup", "threshold": 0.8, "index": index}], id_column="id"))
    d = make_doc(4)
    tuesday = pl.concat([data.filter(pl.col("id").is_in(["a1", "a2", "b1"])), frame(["d", "d1"], [" ".join(d), " ".join(substitute(d, [50]))])])
    write_shards(tmp_path / "tue", [tuesday])
    for mode, annotate_only in (("filter", True), ("annotate", False)):
        stage = {"stage": "near_dedup", "threshold": 0.8, "index": index, "mode": mode}
        result = run(write_pipeline(tmp_path / "tue", [stage], id_column="id"), tmp_path / "tue" / mode, annotate_only=annotate_only)
        report = json.loads((result.output / "reports" / "01_near_dedup.json").read_text())
        assert report["rows_removed"] == 0 and report["would_remove_by_reason"] == {"near_duplicate": 4}
        assert (report["stats"]["would_remove"], report["stats"]["would_remove_matching_index"]) == (4, 3)  # a1, a2, b1 of Monday's; d1 of d
        assert "removed" not in report["stats"] and "removed_matching_index" not in report["stats"]
        kept = read_dir(result.output / "data")
        assert kept["id"].to_list() == ["a1", "b1", "a2", "d", "d1"] and kept["dup_of"].to_list() == ["a", "b", "a", "d", "d"]


def test_a_source_column_of_lists_is_refused_before_the_run_and_bytes_are_spelled(tmp_path):
    """source_column naming a list column (or bytes that are not UTF-8) was an internal
    error after all the shard work, and curate check said ok."""
    data, _ = corpus()
    write_shards(tmp_path, [data.with_columns(origin=pl.int_ranges(1, 2), raw=pl.Series([b"\xff", b"\xfe", b"b", b"c", b"d", b"e"]))])
    pipeline = write_pipeline(tmp_path, [{"stage": "near_dedup", "source_column": "origin"}], id_column="id")
    refused = (
        f"{pipeline}, line 6: stages[0] (near_dedup): source_column 'origin' is a column of List(Int64), not one value a row; "
        "name a column that holds each row's source file, or leave source_column out to use curate_source"
    )
    checked = cli("check", str(pipeline), cwd=tmp_path)
    assert checked.returncode == 2 and checked.stderr == f"error: {refused}\n"
    with pytest.raises(ConfigError) as error:
        run(pipeline)
    assert str(error.value) == refused
    assert not (tmp_path / "run").exists()
    result = run(write_pipeline(tmp_path, [{"stage": "near_dedup", "source_column": "raw"}], id_column="id"))
    removed = read_dir(result.output / "removed" / "near_dedup")
    assert sorted(zip(removed["id"], removed["dup_source"])) == [("a1", "b'\\xff'"), ("a2", "b'\\xff'"), ("b1", "b'\\xfe'")]


# ---------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_quality_on_the_neardup_set(shared_data):
    """F1 of found pairs against the true pairs (word 5-gram Jaccard >= 0.8)."""
    started = time.perf_counter()
    docs = pl.read_parquet(shared_data / "neardup" / "documents.parquet")
    truth = pl.read_parquet(shared_data / "neardup" / "pairs_gt.parquet").filter(pl.col("jaccard") >= 0.8)
    stage = stage_of(threshold=0.8)
    summaries = [
        stage.summarize(part).with_columns(pl.lit(i, dtype=pl.Int32).alias("_shard"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos"))
        for i, part in enumerate(docs.iter_slices(10_000))
    ]
    found = stage.similar_pairs(pl.concat([s.lazy() for s in summaries]))

    def ordered(frame: pl.DataFrame, a: str, b: str) -> pl.DataFrame:
        return frame.select(pl.min_horizontal(a, b).alias("x"), pl.max_horizontal(a, b).alias("y")).unique()

    found, truth = ordered(found, "id_a", "id_b"), ordered(truth, "id_a", "id_b")
    hits = found.join(truth, on=["x", "y"], how="semi").height
    precision, recall = hits / found.height, hits / truth.height
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 >= 0.95, (precision, recall, f1)
    assert time.perf_counter() - started < 60
