"""Issue 17's measurement: raw Wikipedia-style articles in twelve languages and scripts
(real sentences from the Leipzig corpora in ../shared/data/lid, wrapped in MediaWiki
markup by tests/wikitext_articles.py) through clean (wikitext) -> langid -> quality with
the default rule sets, on the real runner: at least 70% of articles kept in every
language, under 1% of kept texts with `[[`, `{{` or `<ref`; a held-out half of the
sentences, drawn with another seed, checks the same independently. Then the ready
pipeline pipelines/web_text.yaml on the same kind of articles, and `curate check` on it."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from runs import cli, every_row, read_dir, run, write_pipeline, write_shards
from wikitext_articles import lingua_articles

from curate.config import load_pipeline
from curate.console import Reporter
from curate.run.runner import RunOptions, run_pipeline

REPO = Path(__file__).resolve().parent.parent
LANGUAGES = ["bn", "el", "hy", "ja", "mr", "uk", "vi", "ru", "zh", "ar", "hi", "de"]
"""Bengali, Greek, Armenian, Japanese, Devanagari (Marathi, Hindi), Cyrillic (Ukrainian,
Russian), Vietnamese and German Latin, Chinese, Arabic. Thai and Korean are measured in
bench/wikitext_languages.py and not held to 70% (docs/stages/quality.md says why)."""
RESIDUE = r"\[\[|\{\{|<ref"


def articles_frame(shared_data: Path, split: str, seed: int, per_language: int | None) -> pl.DataFrame:
    pages = lingua_articles(shared_data / "lid" / "lingua_testdata.parquet", LANGUAGES, split, seed, per_language)
    return pl.DataFrame(
        {"doc_id": [f"{p['lang']}-{i}" for i, p in enumerate(pages)], "true_lang": [p["lang"] for p in pages], "text": [p["text"] for p in pages]}
    )


def fate(run_dir: Path) -> pl.DataFrame:
    """doc_id, true_lang, text (the clean text of kept rows) and kept, for every input row."""
    return every_row(run_dir, ["doc_id", "true_lang", "text"]).with_columns(kept=pl.col("curate_reason").is_null())


def keep_by_language(rows: pl.DataFrame) -> dict[str, float]:
    return dict(rows.group_by("true_lang").agg(pl.col("kept").mean()).sort("true_lang").iter_rows())


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize(("split", "seed"), [("build", 0), ("held_out", 1)])
def test_raw_wikipedia_articles_in_twelve_languages_survive_clean_and_default_quality_rules(shared_data, tmp_path, split, seed):
    frame = articles_frame(shared_data, split, seed, per_language=None)  # every sentence of the split
    pages = dict(frame.group_by("true_lang").len().iter_rows())
    assert set(pages) == set(LANGUAGES) and min(pages.values()) >= 8 and frame.height > 350  # Japanese: ~400 sentences
    sizes = frame["text"].str.len_bytes()
    assert sizes.min() > 1000 and sizes.median() > 2500
    write_shards(tmp_path, [frame])
    stages = [{"stage": "clean", "markup": "wikitext"}, {"stage": "langid"}, {"stage": "quality"}]
    result = run(write_pipeline(tmp_path, stages, id_column="doc_id"))
    rows = fate(result.output)
    keep = keep_by_language(rows)
    assert min(keep.values()) >= 0.7, keep
    kept = rows.filter("kept")
    assert kept["text"].str.contains(RESIDUE).mean() < 0.01
    assert not kept["text"].str.contains("Infobox|thumb|wikitable|DEFAULTSORT").any()
    data = read_dir(result.output / "data")
    assert (data["lang"] == data["true_lang"]).all()  # quality judged each page by its own language
    report = json.loads((result.output / "reports" / "03_quality.json").read_text())
    assert report["stats"]["wipe_out"]["flagged"] == []


@pytest.mark.slow
@pytest.mark.shared_data
def test_web_text_pipeline_runs_raw_multilingual_wikipedia_out_of_the_box(shared_data, tmp_path):
    # the ready pipeline as shipped, only its input changed (and its validation suites left
    # out: they check the output's schema, not what this test is about, and take seconds)
    frame = articles_frame(shared_data, "held_out", 2, per_language=12)
    write_shards(tmp_path, [frame])
    spec = load_pipeline(REPO / "pipelines" / "web_text.yaml")
    spec = spec.model_copy(update={"input": spec.input.model_copy(update={"path": [str(tmp_path / "in" / "*.parquet")]}), "expectations": None})
    result = run_pipeline(spec, tmp_path / "run", RunOptions(workers=1), Reporter())
    reports = {p.stem[3:]: json.loads(p.read_text()) for p in sorted((result.output / "reports").glob("[0-9][0-9]_*.json"))}
    # markup, length, duplicates and language keep every article: only the quality rules judge them
    assert list(reports)[:5] == ["clean", "length", "exact", "langid", "quality"]
    assert {name: r["rows_removed"] for name, r in reports.items() if name != "quality"} == dict.fromkeys(list(reports)[:4] + list(reports)[5:], 0)
    by_language = {row["language"]: row for row in reports["quality"]["stats"]["by_language"]}
    assert set(by_language) == set(LANGUAGES)
    # FineWeb-2's, by langid's lang (and, for a language FineWeb-2 has in two scripts, by the page's)
    assert all(by_language[lang]["settings"] in ("rule files", f"rule files ({lang}, {lang}-Latn: by script)") for lang in LANGUAGES), by_language
    assert {by_language[lang]["tokenizer"] for lang in ("ja", "zh")} == {"segmenter"}
    rows = fate(result.output)
    assert rows.height == frame.height and rows["kept"].mean() > 0.85
    kept = rows.filter("kept")
    assert kept["text"].str.contains(RESIDUE).mean() < 0.01
    # the heading every page repeats is boilerplate to line_dedup: only its first page keeps it
    assert kept["text"].str.contains("(?m)^References$").sum() == 1


@pytest.mark.slow
def test_web_text_pipeline_passes_check():
    result = cli("check", str(REPO / "pipelines" / "web_text.yaml"))
    assert result.returncode == 0, result.stderr
    assert "stages: clean, length, exact, langid, quality, near" in result.stdout
