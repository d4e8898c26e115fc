"""line_dedup: planted boilerplate lines and paragraphs are removed, unique ones kept,
the first document keeps its copy (or none does), across shards and worker counts."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

from tests.runs import assert_same_output, read_dir, run, write_pipeline, write_shards

BOILERPLATE = ["Accept all cookies to continue", "Share on Facebook | Share on X", "© 2026 Example News. All rights reserved."]


def corpus(docs: int, seed: int = 0) -> tuple[pl.DataFrame, list[list[str]]]:
    """Documents of unique sentences with the boilerplate lines planted at random places
    in most of them; returns the frame and each document's unique lines."""
    rng = random.Random(seed)
    words = "river stone market winter lamp orchard signal harbor violet copper meadow".split()
    texts, uniques = [], []
    for d in range(docs):
        unique = [f"Doc {d} line {i}: " + " ".join(rng.choice(words) for _ in range(8)) + "." for i in range(rng.randint(2, 6))]
        lines = list(unique)
        for line in BOILERPLATE:
            if rng.random() < 0.8:
                lines.insert(rng.randint(0, len(lines)), line)
        texts.append("\n".join(lines))
        uniques.append(unique)
    return pl.DataFrame({"id": [f"d{d}" for d in range(docs)], "text": texts}), uniques


def test_planted_boilerplate_is_removed_from_all_but_the_first_and_unique_lines_kept(tmp_path):
    frame, uniques = corpus(60)
    write_shards(tmp_path, [frame.slice(0, 25), frame.slice(25, 35)])
    pipeline = write_pipeline(tmp_path, [{"stage": "line_dedup", "min_repeats": 3}], id_column="id")
    result = run(pipeline)
    data = read_dir(result.output / "data")
    assert data.height == 60
    first = {line: next(i for i, t in enumerate(frame["text"]) if line in t.split("\n")) for line in BOILERPLATE}
    for i, (text, original) in enumerate(zip(data["text"], frame["text"])):
        lines = text.split("\n")
        assert [line for line in lines if line not in BOILERPLATE] == uniques[i]
        expected = [line for line in original.split("\n") if line in BOILERPLATE and first[line] == i]
        assert [line for line in lines if line in BOILERPLATE] == expected
    removed_lines = [sum(line in BOILERPLATE for line in t.split("\n")) for t in frame["text"]]
    kept_copies = [sum(first[b] == i for b in BOILERPLATE) for i in range(60)]
    assert data["line_dedup_lines_removed"].to_list() == [r - k for r, k in zip(removed_lines, kept_copies)]
    assert data["line_dedup_chars_removed"].to_list() == [len(o) - len(t) for o, t in zip(frame["text"], data["text"])]
    report = json.loads((result.output / "reports" / "01_line_dedup.json").read_text())
    assert report["stats"]["repeated_units"] == 3
    assert report["stats"]["units_removed"] == sum(removed_lines) - 3


def test_keep_first_false_removes_boilerplate_everywhere_and_empty_docs_go(tmp_path):
    frame, uniques = corpus(30, seed=1)
    only_boilerplate = pl.DataFrame({"id": ["b1"], "text": ["\n".join(BOILERPLATE)]})
    write_shards(tmp_path, [pl.concat([only_boilerplate, frame])])
    pipeline = write_pipeline(tmp_path, [{"stage": "line_dedup", "keep_first": False, "keep_original": "raw"}], id_column="id")
    result = run(pipeline)
    data = read_dir(result.output / "data")
    assert data["text"].to_list() == ["\n".join(u) for u in uniques]
    assert data["raw"].to_list() == frame["text"].to_list()
    removed = read_dir(result.output / "removed" / "line_dedup")
    assert removed["id"].to_list() == ["b1"] and removed["curate_reason"].to_list() == ["line_dedup_empty"]
    assert removed["text"][0] == "\n".join(BOILERPLATE)  # removed rows keep the text they came with


def test_a_row_left_without_text_goes_even_with_min_chars_0(tmp_path):
    banner = ["Accept all cookies.", "Share this page."]
    texts = ["Accept all cookies.\nShare this page.", "Accept all cookies.\n   \nShare this page.", "Share this page.\nA"]
    texts += [f"Story {i} starts here.\n" + "\n".join(banner) for i in range(2)]
    frame = pl.DataFrame({"id": [f"d{i}" for i in range(5)], "text": texts})
    write_shards(tmp_path, [frame])
    pipeline = write_pipeline(tmp_path, [{"stage": "line_dedup", "min_repeats": 2, "keep_first": False, "min_chars": 0}], id_column="id")
    result = run(pipeline)
    data = read_dir(result.output / "data")
    assert data["text"].to_list() == ["A", "Story 0 starts here.", "Story 1 starts here."]  # min_chars 0 keeps a 1-character row
    removed = read_dir(result.output / "removed" / "line_dedup")
    assert removed["id"].to_list() == ["d0", "d1"] and removed["curate_reason"].to_list() == ["line_dedup_empty"] * 2
    report = json.loads((result.output / "reports" / "01_line_dedup.json").read_text())
    assert report["stats"]["rows_left_empty"] == 2


def test_paragraph_units_and_lines_below_min_repeats_stay(tmp_path):
    footer = "Subscribe to our newsletter.\nIt is free."
    texts = [f"Article {i} has its own story.\nWith a second line.\n\n{footer}" for i in range(4)] + ["Rare line.\n\nRare line."] * 1
    frame = pl.DataFrame({"id": [str(i) for i in range(5)], "text": texts})
    write_shards(tmp_path, [frame])
    pipeline = write_pipeline(tmp_path, [{"stage": "line_dedup", "unit": "paragraph", "min_repeats": 4}], id_column="id")
    data = read_dir(run(pipeline).output / "data")
    assert data["text"].to_list() == [texts[0]] + [f"Article {i} has its own story.\nWith a second line." for i in range(1, 4)] + [texts[4]]


@pytest.mark.slow  # worker processes start in ~5 s
def test_annotate_only_keeps_text_and_output_is_the_same_for_any_worker_count(tmp_path):
    frame, _ = corpus(80, seed=2)
    write_shards(tmp_path, [frame.slice(i * 20, 20) for i in range(4)])
    pipeline = write_pipeline(tmp_path, [{"stage": "clean", "markup": "none"}, {"stage": "line_dedup"}], id_column="id")
    one = run(pipeline, tmp_path / "one", workers=1)
    two = run(pipeline, tmp_path / "two", workers=2)
    assert_same_output(two.output, one.output)
    annotated = read_dir(run(pipeline, tmp_path / "annotated", annotate_only=True).output / "data")
    assert annotated["text"].to_list() == frame["text"].to_list()
    assert annotated["line_dedup_text"].to_list() == read_dir(one.output / "data")["text"].to_list()


def test_the_report_shows_the_most_repeated_lines_and_no_private_column_is_written(tmp_path):
    frame, _ = corpus(40, seed=3)
    write_shards(tmp_path, [frame.slice(0, 20), frame.slice(20, 20)])
    result = run(write_pipeline(tmp_path, [{"stage": "line_dedup"}], id_column="id"))
    report = json.loads((result.output / "reports" / "01_line_dedup.json").read_text())
    counts = {line: sum(line in t.split("\n") for t in frame["text"]) for line in BOILERPLATE}
    expected = sorted(({"documents": n, "text": line} for line, n in counts.items()), key=lambda e: (-e["documents"], e["text"]))
    assert report["stats"]["most_repeated"] == expected
    data = read_dir(result.output / "data")
    assert not [c for c in data.columns if c.startswith("_")]
    assert report["annotation_columns"] == ["line_dedup_chars_removed", "line_dedup_lines_removed"]


def test_input_columns_named_like_working_columns_pass_through_unchanged(tmp_path):
    # A crawl export's bookkeeping (`_shard`, `_pos`) beside columns named as line_dedup's
    # working columns once were: its decisions are joined onto the rows beside them.
    frame, _ = corpus(40, seed=4)
    n = frame.height
    extra = pl.DataFrame({
        "_shard": [f"crawl-{d % 3}" for d in range(n)],
        "_pos": list(range(100, 100 + n)),
        "_line_dedup_drop": [f"mine-{d}" for d in range(n)],
        "_line_dedup_examples": [f"note {d}" for d in range(n)],
    })
    write_shards(tmp_path / "plain", [frame.slice(0, 20), frame.slice(20, 20)])
    write_shards(tmp_path / "wide", [frame.hstack(extra).slice(0, 20), frame.hstack(extra).slice(20, 20)])
    plain = run(write_pipeline(tmp_path / "plain", [{"stage": "line_dedup"}], id_column="id"))
    wide = run(write_pipeline(tmp_path / "wide", [{"stage": "line_dedup"}], id_column="id"))
    data = read_dir(wide.output / "data")
    assert data.select(extra.columns).equals(extra)
    assert data.drop(extra.columns).equals(read_dir(plain.output / "data"))
    assert wide.reports[0]["stats"] == plain.reports[0]["stats"] and wide.reports[0]["stats"]["units_removed"] > 0
