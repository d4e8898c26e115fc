"""overlap: n-gram hashing, planted copied passages found with their partner, filter and
keep policies, reference sets (exact and partial copies), partitions, and a real run."""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import polars as pl
import pytest
from runs import cli, read_dir, run, write_pipeline, write_shards

from curate.errors import InputDataError
from curate.stages.base import Columns
from curate.stages.overlap import Overlap, OverlapConfig
from curate.stages.overlap.ngrams import ngram_hashes
from curate.text import Normalization


def decide_frame(frame: pl.DataFrame, columns: Columns, **config) -> tuple[pl.DataFrame, dict]:
    """The stage's summarize and decide on one shard, as the runner calls them."""
    stage = Overlap(OverlapConfig(**config), columns)
    summary = stage.summarize(frame).with_columns(_shard=pl.lit(0, pl.Int32), _pos=pl.int_range(pl.len(), dtype=pl.Int64))
    decisions, stats = stage.decide(summary.lazy())
    return decisions.sort("_pos"), stats


def decide(texts: list[str | None], **config) -> tuple[pl.DataFrame, dict]:
    frame = pl.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts}, schema={"id": pl.String, "text": pl.String})
    decisions, stats = decide_frame(frame, Columns(id="id"), **config)
    return decisions.with_columns(id=frame["id"]), stats


@pytest.fixture(scope="module")
def articles(shared_data: Path) -> list[list[str]]:
    """Words (the stage's: runs of letters and digits) of 240 real Wikipedia articles of
    400+ words, the hosts and sources of planted copies."""
    texts = pl.read_parquet(shared_data / "web" / "enwiki.parquet", columns=["text"]).head(2000)["text"].to_list()
    return [words for words in (re.findall(r"\w+", t) for t in texts) if len(words) >= 400][:240]


def test_ngram_hashes_follow_words_not_spacing_case_or_punctuation():
    texts = pl.Series(["One two, three four!", "one   TWO three\nfour", "one two three", "two three four five", None])
    hashes = ngram_hashes(texts, 3, Normalization())
    by_row = hashes.group_by("row").agg("ngram").sort("row")
    sets = {row: set(ngrams) for row, ngrams in by_row.iter_rows()}
    assert sets[0] == sets[1] and len(sets[0]) == 2  # "one two three", "two three four"
    assert len(sets[2]) == 1 and sets[2] < sets[0]
    assert len(sets[3] & sets[0]) == 1  # "two three four"
    assert 4 not in sets  # a null text has no n-gram
    # word order matters, repeats within a text count once
    swapped = ngram_hashes(pl.Series(["a b c", "c b a", "a b c a b c"]), 3, Normalization())
    assert swapped.filter(pl.col("row") == 0)["ngram"].item() != swapped.filter(pl.col("row") == 1)["ngram"].item()
    assert swapped.filter(pl.col("row") == 2).height == 3  # abc, bca, cab


def test_planted_passages_are_found_with_their_partner_and_short_ones_are_not(articles):
    rng = random.Random(7)
    hosts, sources = articles[:120], articles[120:240]
    lengths = [13, 20, 50, 120, 300, 12]  # 12 words: shorter than the 13-gram
    texts, planted = [], {}
    for i, source in enumerate(sources):
        texts.append(" ".join(source))
    for i, host in enumerate(hosts):
        length = lengths[i % len(lengths)]
        start = rng.randrange(0, len(sources[i]) - length)
        passage = sources[i][start : start + length]
        cut = rng.randrange(50, len(host) - 50)
        # a word on each side no source has: a 12-word passage must not grow to 13 by
        # chance ("a" before "tower house in the ..." happens in real text)
        texts.append(" ".join([*host[:cut], f"cut{i}", *passage, f"tuc{i}", *host[cut:]]))
        planted[len(texts) - 1] = (i, length)
    decisions, stats = decide(texts, mode="annotate")
    with_list = decisions["overlap_with"].to_list()
    fractions = decisions["overlap_fraction"].to_list()
    for copy, (source, length) in planted.items():
        if length < 13:
            assert f"r{source}" not in with_list[copy], "a 12-word passage cannot share a 13-gram"
            continue
        assert f"r{source}" in with_list[copy], (copy, length, with_list[copy])
        assert f"r{copy}" in with_list[source]
        # at least the passage's n-grams (real articles share a few more with each other);
        # 2% slack: NFKC splits a few words of the whitespace count (½ is 1⁄2)
        assert fractions[copy] >= 0.98 * (length - 12) / (len(texts[copy].split()) - 12)
    pairs = stats["tables"]["pairs"].collect()
    planted_pairs = pairs.filter(pl.col("id_b").is_in([f"r{c}" for c, (_, n) in planted.items() if n >= 13]))
    for id_a, id_b, shared in planted_pairs.iter_rows():
        source, length = planted[int(id_b[1:])]
        if id_a == f"r{source}":
            assert shared == length - 12
    assert stats["documents"] == 240 and stats["documents_without_ngrams"] == 0


def test_verbatim_passages_of_256_to_8546_characters_are_found(shared_data: Path):
    """The held-out plagiarism corpus's case (issue 18): passages of 256-8,546 characters
    (log-uniform), cut at any character of a source and pasted into an unrelated article;
    each source copied into several articles, copies before and after it in run order.
    bench/overlap.py --plagiarism measures the recall on 500 pairs."""
    texts = pl.read_parquet(shared_data / "web" / "enwiki.parquet", columns=["text"])["text"]
    sources = texts.filter(texts.str.len_chars() >= 9000).head(6).to_list()
    hosts = texts.filter(texts.str.len_chars().is_between(1000, 3000)).head(24).to_list()
    rng = random.Random(18)
    lengths = [256, 8546] + [int(math.exp(rng.uniform(math.log(256), math.log(8546)))) for _ in hosts[2:]]
    copies = []
    for i, (host, n) in enumerate(zip(hosts, lengths, strict=True)):
        source = sources[i % len(sources)]
        start = rng.randrange(len(source) - n)
        at = host.find(" ", len(host) // 2)
        copies.append(host[:at] + " " + source[start : start + n] + " " + host[at:])
    ids = [f"c{i}" for i in range(12)] + [f"s{j}" for j in range(len(sources))] + [f"c{i}" for i in range(12, len(hosts))]
    frame = pl.DataFrame({"id": ids, "text": copies[:12] + sources + copies[12:]})
    decisions, _ = decide_frame(frame, Columns(id="id"), mode="annotate")
    listed = dict(zip(ids, decisions["overlap_with"].to_list(), strict=True))
    unplanted = frame.with_columns(text=pl.Series(hosts[:12] + sources + hosts[12:]))
    natural = dict(zip(ids, decide_frame(unplanted, Columns(id="id"), mode="annotate")[0]["overlap_with"].to_list(), strict=True))
    for i in range(len(hosts)):
        source = f"s{i % len(sources)}"
        assert source in listed[f"c{i}"] or f"c{i}" in listed[source], (i, lengths[i], listed[f"c{i}"])
        # no unrelated partner: its source, the other copies of that source, and the
        # articles its host shares text with anyway (two biographies of Serbian women)
        siblings = {f"c{k}" for k in range(len(hosts)) if k % len(sources) == i % len(sources)}
        assert set(listed[f"c{i}"]) <= {source} | siblings | set(natural[f"c{i}"])


def test_filter_removes_mostly_copied_documents_not_their_first_partner():
    rng = random.Random(3)
    vocabulary = [f"word{i}" for i in range(20_000)]
    doc = lambda k: [rng.choice(vocabulary) for _ in range(k)]
    original = doc(200)
    copy = doc(20) + original[:180]  # 169 of its 188 13-grams are the original's
    quoting = doc(150) + original[:40]  # 28 of 178: quotes, is not a copy
    texts = [" ".join(x) for x in (original, copy, quoting, doc(100))]
    decisions, stats = decide(texts)
    assert decisions["curate_reason"].to_list() == [None, "partial_duplicate", None, None]
    assert decisions["overlap_with"].to_list() == [["r1", "r2"], ["r0", "r2"], ["r0", "r1"], []]
    assert decisions["overlap_fraction"][1] == pytest.approx(168 / 188)
    assert decisions["overlap_fraction"][2] == pytest.approx(28 / 178)
    assert stats["partial_duplicates"] == 1 and stats["partner_pairs"] == 3
    # longest keeps the longer document of the pair (the original, 200 words > 200 words + ...)
    longer_copy = [" ".join(x) for x in (original[:150], original + doc(50))]
    assert decide(longer_copy, keep="longest")[0]["curate_reason"].to_list() == ["partial_duplicate", None]
    assert decide(longer_copy)[0]["curate_reason"].to_list() == [None, "partial_duplicate"]
    # highest:<column> keeps the better-scored one; a null score loses
    scored = pl.DataFrame({"id": ["r0", "r1", "r2"], "text": [longer_copy[0], longer_copy[1], longer_copy[1]], "score": [0.2, None, 0.9]})
    ranked, _ = decide_frame(scored, Columns(id="id"), keep="highest:score")
    assert ranked["curate_reason"].to_list() == ["partial_duplicate", "partial_duplicate", None]
    assert ranked["overlap_with"].to_list() == [["r2", "r1"], ["r2", "r0"], ["r1", "r0"]]
    # a NaN score loses too (polars sorts NaN above every number)
    nan_scored = scored.with_columns(score=pl.Series([0.2, 0.9, float("nan")]))
    assert decide_frame(nan_scored, Columns(id="id"), keep="highest:score")[0]["curate_reason"].to_list() == ["partial_duplicate", None, "partial_duplicate"]
    # equal length: the smaller id wins, as a number for a numeric id column ("10" < "9" kept 10)
    tied = pl.DataFrame({"id": [10, 9], "text": [longer_copy[1], longer_copy[1].upper()]})
    assert decide_frame(tied, Columns(id="id"), keep="longest")[0]["curate_reason"].to_list() == ["partial_duplicate", None]
    # binary ids that are not UTF-8 (digests) are named as Python writes bytes; they stopped the stage
    digests = tied.with_columns(id=pl.Series([b"\xff\x01", b"\xfe"]))
    ranked, _ = decide_frame(digests, Columns(id="id"), keep="longest")
    assert ranked["curate_reason"].to_list() == ["partial_duplicate", None]
    assert ranked["overlap_with"].to_list() == [["b'\\xfe'"], ["b'\\xff\\x01'"]]
    # a higher max_fraction keeps the copy; min_shared above the shared count drops the partner
    assert decide(texts, max_fraction=0.95)[0]["curate_reason"].null_count() == 4
    assert decide(texts, min_shared=30)[0]["overlap_with"].to_list()[2] == []


def test_the_first_of_two_mostly_equal_posts_stays_though_it_quotes_an_earlier_article():
    rng = random.Random(4)
    words = lambda k: " ".join(f"w{rng.randrange(99999)}" for _ in range(k))
    quote = "to be or not to be that is the question whether tis nobler in the mind"  # 16 words: 4 13-grams
    article = words(200) + " " + quote + " " + words(200)
    post = quote + " " + words(300)
    texts = [article, post, post + " " + words(20)]  # the post re-posted with a signature
    decisions, _ = decide(texts)
    # the post shares 304 of its 304 13-grams, but only 4 with the article ranked before it
    assert decisions["curate_reason"].to_list() == [None, None, "partial_duplicate"]
    assert decisions["overlap_fraction"].to_list() == pytest.approx([4 / 404, 1.0, 304 / 324])
    assert decisions["overlap_with"].to_list() == [["r1", "r2"], ["r2", "r0"], ["r1", "r0"]]
    # the best-ranked of the pair stays whichever it is: here the re-post, the longer one
    assert decide(texts, keep="longest")[0]["curate_reason"].to_list() == [None, "partial_duplicate", None]


def test_removals_match_a_brute_force_count_of_ngrams_held_by_earlier_documents():
    """Documents made of fresh words and passages of others (some copied by later documents,
    some quoting several): the stage's removals against sets of 4-grams, for both keep orders."""
    rng = random.Random(11)
    docs: list[list[str]] = []
    for _ in range(60):
        doc = [f"w{rng.randrange(10**6)}" for _ in range(rng.randrange(8, 60))]
        for source in rng.sample(docs, min(len(docs), rng.choice([0, 1, 1, 2]))):
            start = rng.randrange(len(source))
            at = rng.randrange(len(doc) + 1)
            doc[at:at] = source[start : start + rng.randrange(4, 50)]
        docs.append(doc)
    order = list(range(len(docs)))
    rng.shuffle(order)  # copies come before their sources too
    docs = [docs[i] for i in order]
    texts = [" ".join(d) for d in docs]
    grams = [{tuple(d[i : i + 4]) for i in range(len(d) - 3)} for d in docs]
    holders: dict[tuple[str, ...], int] = {}
    for g in grams:
        for gram in g:
            holders[gram] = holders.get(gram, 0) + 1
    assert max(holders.values()) <= 10  # no n-gram past the stage's 10 leaders: pair counts are exact
    ids = [f"r{i}" for i in range(len(docs))]
    for keep, rank in (("first", list(range(len(docs)))), ("longest", sorted(range(len(docs)), key=lambda i: (-len(texts[i]), ids[i])))):
        place = {doc: p for p, doc in enumerate(rank)}
        for max_fraction, min_shared in ((0.5, 1), (0.3, 5)):
            expected = []
            for i, g in enumerate(grams):
                before = [j for j in range(len(docs)) if place[j] < place[i]]
                held_before = set().union(*(grams[j] for j in before)) & g
                partner_before = any(len(g & grams[j]) >= min_shared for j in before)
                removed = bool(g) and len(held_before) / len(g) >= max_fraction and partner_before
                expected.append("partial_duplicate" if removed else None)
            decisions, _ = decide(texts, ngram=4, keep=keep, max_fraction=max_fraction, min_shared=min_shared, partitions=3)
            assert decisions["curate_reason"].to_list() == expected, (keep, max_fraction, min_shared)
            assert 5 < expected.count("partial_duplicate") < 40


def test_partitions_do_not_change_the_answer(articles):
    texts = [" ".join(a[:300]) for a in articles[:40]] + [" ".join(a[100:250]) for a in articles[:10]]
    one, _ = decide(texts, partitions=1)
    many, _ = decide(texts, partitions=13)
    assert one.equals(many)
    assert one["curate_reason"].drop_nulls().len() == 10


def test_boilerplate_shared_by_many_documents_stays_linear():
    rng = random.Random(5)
    banner = "we use cookies to improve your experience on our website by continuing you agree to our policy"
    texts = [" ".join(rng.choice(["alpha", "beta", "gamma", "delta", "omega", "sigma"]) + str(rng.randrange(10**6)) for _ in range(60)) + " " + banner for _ in range(300)]
    decisions, stats = decide(texts, mode="annotate")
    # every document shares the banner's 5 13-grams; each lists at most 10 partners, the first ones
    assert decisions["overlap_with"].list.len().max() == 10
    assert decisions["overlap_with"][299].to_list() == [f"r{i}" for i in range(10)]
    assert stats["partner_pairs"] <= 300 * 10


def reference_case(folder: Path) -> tuple[Path, pl.DataFrame, list[str]]:
    """Training shards with exact and partial copies of test rows, test rows in a Parquet
    and a JSONL reference file."""
    rng = random.Random(11)
    vocabulary = [f"tok{i}" for i in range(50_000)]
    text = lambda k: " ".join(rng.choice(vocabulary) for _ in range(k))
    tests = [text(rng.randrange(30, 80)) for _ in range(40)] + ["too short to match anything here"]
    train = [text(rng.randrange(100, 300)) for _ in range(200)]
    contaminated = []
    for k in range(10):  # exact copies of test rows 0-9
        train[k * 7] = tests[k]
        contaminated.append(k * 7)
    for k in range(10, 20):  # partial: 20 words of test row k inside a longer post
        words = tests[k].split()
        at = 3 + k * 7
        train[at] = text(100) + " " + " ".join(words[5:25]) + " " + text(100)
        contaminated.append(at)
    frame = pl.DataFrame({"doc": [f"d{i}" for i in range(len(train))], "text": train})
    write_shards(folder, [frame[:120], frame[120:]])
    (folder / "bench").mkdir()
    pl.DataFrame({"qid": [f"q{i}" for i in range(25)], "question": tests[:25]}).write_parquet(folder / "bench" / "test-a.parquet")
    pl.DataFrame({"qid": [f"q{i}" for i in range(25, len(tests))], "question": tests[25:]}).write_ndjson(folder / "bench" / "test-b.jsonl")
    return folder, frame, [f"d{i}" for i in sorted(contaminated)]


def test_reference_copies_exact_and_partial_are_all_flagged(tmp_path):
    folder, _, contaminated = reference_case(tmp_path)
    stage = {"stage": "overlap", "name": "decontaminate", "references": ["bench/test-a.parquet", "bench/*.jsonl"], "reference_text_column": "question", "reference_id_column": "qid"}
    result = run(write_pipeline(folder, [stage], id_column="doc"))
    removed = read_dir(result.output / "removed" / "decontaminate")
    assert sorted(removed["doc"].to_list(), key=lambda d: int(d[1:])) == contaminated
    assert set(removed["curate_reason"]) == {"contaminated"}
    assert removed["contaminated"].all()
    by_doc = {d: (by, f) for d, by, f in removed.select("doc", "contaminated_by", "overlap_fraction").iter_rows()}
    for k in range(10):
        assert by_doc[f"d{k * 7}"] == ([f"q{k}"], 1.0)
    for k in range(10, 20):
        by, fraction = by_doc[f"d{3 + k * 7}"]
        assert by == [f"q{k}"] and 0 < fraction < 0.1
    kept = read_dir(result.output / "data")
    assert kept.height == 200 - 20 and not kept["contaminated"].any()
    assert kept["contaminated_by"].list.len().max() == 0
    report = json.loads((result.output / "reports" / "01_decontaminate.json").read_text())
    sets = report["stats"]["references"]
    assert list(sets) == [str(folder / "bench" / "test-a.parquet"), str(folder / "bench" / "*.jsonl")]  # resolved, in pipeline order
    a, b = sets.values()
    assert a["rows"] == 25 and a["rows_in_training_data"] == 20
    assert b["rows"] == 16 and b["rows_in_training_data"] == 0 and b["rows_shorter_than_ngram"] == 1
    assert report["stats"]["documents_contaminated"] == 20
    table = pl.read_parquet(result.output / "reports" / "01_decontaminate.contamination.parquet")
    assert table.height == 20 and set(table["reference_id"]) == {f"q{k}" for k in range(20)}
    # the reference files are part of the run's identity: a changed benchmark stops a resume
    assert any(p.endswith("test-a.parquet") for p in json.loads((result.output / "manifest.json").read_text())["state"]["stage_files"]["01_decontaminate"])


def test_a_missing_reference_or_column_is_one_line(tmp_path):
    folder, _, _ = reference_case(tmp_path)
    missing = write_pipeline(folder, [{"stage": "overlap", "references": ["bench/nope-*.parquet"]}])
    done = cli("run", str(missing), cwd=folder)  # a path in the pipeline file: a pipeline error, as a missing rule file
    assert done.returncode == 2 and "nope-*.parquet matches no file" in done.stderr and "Traceback" not in done.stderr
    wrong = write_pipeline(folder, [{"stage": "overlap", "references": ["bench/test-a.parquet"]}])
    with pytest.raises(InputDataError, match=r"test-a.parquet has no column 'text' \(reference_text_column\); columns: qid, question"):
        run(wrong)
    # an empty export read "0% of the benchmark is in the training data"; a 0-byte JSONL an unreadable file
    pl.DataFrame({"text": []}, schema={"text": pl.String}).write_parquet(folder / "bench" / "empty.parquet")
    (folder / "bench" / "blank.jsonl").write_bytes(b"")
    for name, message in (("empty.parquet", "holds no row"), ("blank.jsonl", r"is empty \(0 bytes\)")):
        with pytest.raises(InputDataError, match=message):
            run(write_pipeline(folder, [{"stage": "overlap", "references": [f"bench/{name}"]}]))


@pytest.mark.slow
def test_20newsgroups_test_posts_quoted_in_training_posts(shared_data):
    """Real cross-split leakage: test posts whose text (quoted replies, signatures,
    cross-posts) also appears in training posts. The stage alone, without a run (the run's
    wiring of references is tested above)."""
    data = shared_data / "classification"
    test_split = str(data / "20news_test.parquet")
    train = pl.read_parquet(data / "20news_train.parquet")
    decisions, stats = decide_frame(train, Columns(id="filename"), mode="annotate", references=[test_split], reference_id_column="filename")
    found = stats["references"][test_split]
    assert found["rows"] == 7532 and found["rows_shorter_than_ngram"] == 0
    # measured: 3,882 of 7,532 test posts share a 13-gram with some training post, headers
    # and signatures included (docs/stages/overlap.md has examples)
    assert found["rows_in_training_data"] == 3882
    assert stats["documents_contaminated"] == int(decisions["contaminated"].sum()) == 4881
    table = stats["tables"]["contamination"]
    assert table["reference_id"].n_unique() == 3882 and table["id"].n_unique() == 4881
    # a quoted reply (docs/stages/overlap.md): the training post quotes the test post's text
    assert table.filter((pl.col("reference_id") == "alt.atheism/53416") & (pl.col("id") == "alt.atheism/53762"))["shared_ngrams"].item() >= 39


def test_a_reference_set_without_a_text_to_match_stops_before_the_run(tmp_path):
    """A split whose text was exported as nulls (or names a short field) passed, reading
    '0% of it is in the training data'."""
    folder, _, _ = reference_case(tmp_path)
    pl.DataFrame({"qid": ["a", "b", "c"], "question": [None, "yes", "too short to match anything here"]}).write_parquet(folder / "bench" / "nulls.parquet")
    stage = {"stage": "overlap", "reference_text_column": "question", "reference_id_column": "qid", "references": ["bench/test-a.parquet", "bench/nulls.parquet"]}
    done = cli("run", str(write_pipeline(folder, [stage])), cwd=folder)
    assert done.returncode == 3 and "Traceback" not in done.stderr and not (folder / "run").exists()
    assert done.stderr.strip().endswith(
        "nulls.parquet: none of its 3 rows has a text to match (null, or fewer words than ngram, in every row); check the export and reference_text_column"
    ) and len(done.stderr.strip().splitlines()) == 1



def test_the_reference_checks_hash_nothing_and_find_a_text_to_match_past_the_first_rows(tmp_path, monkeypatch):
    """check_settings read and hashed every reference set, and decide did it again: curate
    check took 0.9 -> 4.3 s on 32k reference rows."""
    import curate.stages.overlap.ngrams as ngrams

    monkeypatch.setattr(ngrams, "ngram_hashes", lambda *a, **k: pytest.fail("the checks hashed n-grams"))
    question = lambda i: " ".join(f"w{i}x{k}" for k in range(13))  # noqa: E731
    late = ["too short"] * 1500 + [question(1500)]  # the only text to match is past the first 1,000 rows
    pl.DataFrame({"qid": [f"q{i}" for i in range(len(late))], "text": late}).write_parquet(tmp_path / "late.parquet")
    pl.DataFrame({"qid": [f"q{i}" for i in range(1501)], "text": ["twelve words " * 6] * 1501}).write_parquet(tmp_path / "short.parquet")
    config = {"reference_id_column": "qid", "ngram": 13}
    Overlap(OverlapConfig(references=[str(tmp_path / "late.parquet")], **config), Columns()).check_settings()
    with pytest.raises(InputDataError, match=r"short.parquet: none of its 1,501 rows has a text to match"):
        Overlap(OverlapConfig(references=[str(tmp_path / "short.parquet")], **config), Columns()).check_settings()

def test_null_or_repeated_reference_ids_stop_before_the_run(tmp_path):
    """They were taken as they were: contaminated_by named null, or an id two rows hold."""
    folder, _, _ = reference_case(tmp_path)
    question = lambda i: " ".join(f"word{i}x{k}" for k in range(20))  # noqa: E731
    pl.DataFrame({"qid": [None, "dup", "dup", "ok"], "question": [question(i) for i in range(4)]}).write_parquet(folder / "bench" / "ids.parquet")
    stage = {"stage": "overlap", "reference_text_column": "question", "reference_id_column": "qid", "references": ["bench/test-a.parquet", "bench/ids.parquet"]}
    done = cli("run", str(write_pipeline(folder, [stage])), cwd=folder)
    assert done.returncode == 3 and "Traceback" not in done.stderr and not (folder / "run").exists()
    ids = str(folder / "bench" / "ids.parquet")
    assert done.stderr.strip().endswith(
        f"{ids}: reference_id_column 'qid': 2 rows share an id with another row (first: 'dup' at {ids}#1 and {ids}#2); "
        f"1 rows have a null id (first: {ids}#0); ids must name one row of their file each (contaminated_by names rows by them)"
    ) and len(done.stderr.strip().splitlines()) == 1



def test_per_subject_files_that_number_their_ids_alike_are_one_set_told_apart_by_file(tmp_path):
    """An MMLU-style glob (one file per subject, qid 0, 1, ... in each) stopped the run as
    repeated ids: ids name a row of their file; the contamination table names the file."""
    questions = {subject: [" ".join(f"{subject}q{i}w{k}" for k in range(15)) for i in range(3)] for subject in ("algebra", "anatomy")}
    for subject, texts in questions.items():
        (tmp_path / "bench" / subject).mkdir(parents=True)
        pl.DataFrame({"qid": [0, 1, 2], "question": texts}).write_parquet(tmp_path / "bench" / subject / "test.parquet")
    train = ["Homework: " + questions["algebra"][1], "Quiz: " + questions["anatomy"][1], "nothing copied here at all"]
    write_shards(tmp_path, [pl.DataFrame({"id": ["t1", "t2", "t3"], "text": train})])
    stage = {"stage": "overlap", "name": "decontaminate", "mode": "annotate", "references": ["bench/*/test.parquet"],
             "reference_text_column": "question", "reference_id_column": "qid"}
    result = run(write_pipeline(tmp_path, [stage], id_column="id"))
    assert read_dir(result.output / "data").sort("id")["contaminated_by"].to_list() == [["1"], ["1"], []]
    table = pl.read_parquet(result.output / "reports" / "01_decontaminate.contamination.parquet").sort("id")
    assert table.select("id", "reference_file", "reference_id").rows() == [("t1", "algebra/test.parquet", "1"), ("t2", "anatomy/test.parquet", "1")]
    found = json.loads((result.output / "reports" / "01_decontaminate.json").read_text())["stats"]["references"]
    assert [(s["files"], s["rows"], s["rows_in_training_data"]) for s in found.values()] == [(2, 6, 2)]

def test_binary_reference_ids_that_are_not_utf8_are_named_as_python_writes_bytes(tmp_path):
    """A reference set whose id column holds digests stopped the run with an internal
    error (polars cannot cast such bytes to text), in the id check and in reading the set;
    contaminated_by and the id check name them as the input's ids are named."""
    questions = [" ".join(f"q{n}w{k}" for k in range(15)) for n in range(3)]
    (tmp_path / "bench").mkdir()
    pl.DataFrame({"qid": [b"\xff\x01", b"\xfe", b"plain"], "question": questions}).write_parquet(tmp_path / "bench" / "test.parquet")
    write_shards(tmp_path, [pl.DataFrame({"id": ["t1", "t2", "t3"], "text": ["Homework: " + questions[0], "Quiz: " + questions[2], "nothing copied here"]})])
    stage = {"stage": "overlap", "mode": "annotate", "references": ["bench/test.parquet"], "reference_text_column": "question", "reference_id_column": "qid"}
    result = run(write_pipeline(tmp_path, [stage], id_column="id"))
    assert read_dir(result.output / "data").sort("id")["contaminated_by"].to_list() == [["b'\\xff\\x01'"], ["plain"], []]
    table = pl.read_parquet(result.output / "reports" / "01_overlap.contamination.parquet").sort("id")
    assert table["reference_id"].to_list() == ["b'\\xff\\x01'", "plain"]
    repeated = tmp_path / "bench" / "repeated.parquet"
    pl.DataFrame({"qid": [b"\xfe", b"\xfe", b"ok"], "question": questions}).write_parquet(repeated)
    with pytest.raises(InputDataError, match=re.escape(f"{repeated}: reference_id_column 'qid': 2 rows share an id with another row (first: \"b'\\\\xfe'\" at {repeated}#0 and {repeated}#1)")):
        Overlap(OverlapConfig(references=[str(repeated)], reference_text_column="question", reference_id_column="qid"), Columns()).check_settings()


def test_default_reference_ids_name_the_file_from_the_folder_the_sets_share(tmp_path):
    """Two benchmarks' test.parquet, as two sets: both rows were test.parquet#0."""
    q1, q2 = (" ".join(f"q{n}w{k}" for k in range(20)) for n in (1, 2))
    for name, question in (("mmlu", q1), ("arc", q2)):
        (tmp_path / "bench" / name).mkdir(parents=True)
        pl.DataFrame({"text": [question]}).write_parquet(tmp_path / "bench" / name / "test.parquet")
    write_shards(tmp_path, [pl.DataFrame({"id": ["t1", "t2", "t3"], "text": [f"Trivia: {q1}?", f"Quiz: {q2}.", "nothing copied here at all"]})])
    stage = {"stage": "overlap", "mode": "annotate", "references": ["bench/mmlu/test.parquet", "bench/arc/test.parquet"]}
    kept = read_dir(run(write_pipeline(tmp_path, [stage], id_column="id")).output / "data")
    assert kept.sort("id")["contaminated_by"].to_list() == [["mmlu/test.parquet#0"], ["arc/test.parquet#0"], []]


def test_reference_files_in_a_folder_whose_name_holds_glob_characters_are_read_as_named(tmp_path):
    folder, _, contaminated = reference_case(tmp_path)
    (folder / "bench").rename(folder / "exp[1]")
    stage = {"stage": "overlap", "name": "decontaminate", "references": ["exp[1]/test-a.parquet", "exp[1]/test-b.jsonl"],
             "reference_text_column": "question", "reference_id_column": "qid"}
    result = run(write_pipeline(folder, [stage], id_column="doc"))
    sets = json.loads((result.output / "reports" / "01_decontaminate.json").read_text())["stats"]["references"]
    assert [s["rows"] for s in sets.values()] == [25, 16]
    assert read_dir(result.output / "removed" / "decontaminate").height == len(contaminated)
