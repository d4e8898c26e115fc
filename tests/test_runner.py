from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow.parquet as pq
import pytest
from runs import (
    assert_reconciles,
    assert_same_output,
    cli,
    kill_mid_run,
    planned_workers,
    read_dir,
    run,
    slow_run_and_reference,
    write_pipeline,
    write_shards,
)

from curate.config import load_pipeline, parse_pipeline
from curate.console import Reporter
from curate.run.runner import RunOptions, run_pipeline
from curate.run.segments import build_stages, plan_segments
from curate.run.workers import auto_workers, worker_start_cpu_seconds
from curate.stages import STAGES, DatasetStage, StageConfig
from curate.stages.base import POSITION, REASON, SHARD

STAGES_SPEC = [
    {"stage": "length_filter", "min_words": 2},
    {"stage": "exact_dedup", "name": "exact"},
    {"stage": "length_filter", "name": "long_only", "min_chars": 12},
]


def corpus(shards: int = 4, rows: int = 50) -> list[pl.DataFrame]:
    frames = []
    for s in range(shards):
        texts = []
        for r in range(rows):
            n = s * rows + r
            texts.append(None if n % 31 == 0 else "" if n % 29 == 0 else "tiny" if n % 13 == 0 else f"document number {n % 70} about things")
        frames.append(pl.DataFrame({"text": texts, "label": [f"c{n % 3}" for n in range(rows)], "score": [float(r) for r in range(rows)]}))
    return frames


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_shards(tmp_path, corpus())
    write_pipeline(tmp_path, STAGES_SPEC, label_column="label")
    return tmp_path


def test_run_writes_the_documented_layout(project):
    result = run(project / "pipeline.yaml")
    out = result.output
    assert sorted(p.name for p in out.iterdir()) == [".curate-run", "_cache", "data", "manifest.json", "removed", "report.html", "reports"]
    assert [p.name for p in sorted((out / "data").iterdir())] == [f"part-0000{i}.parquet" for i in range(4)]
    assert sorted(p.name for p in (out / "reports").iterdir()) == ["01_length_filter.json", "02_exact.json", "03_long_only.json"]
    kept = read_dir(out / "data")
    # The input's own columns unchanged, then lineage and each stage's annotations.
    assert kept.columns[:3] == ["text", "label", "score"]
    assert {"curate_source", "curate_id", "text_chars", "text_words", "dup_hash", "dup_of"} <= set(kept.columns)
    assert kept["curate_id"][0] == "shard-000.parquet#1"
    removed = read_dir(out / "removed" / "length_filter")
    assert sorted(removed["curate_reason"].unique()) == ["empty_text", "too_few_words"]
    assert removed.columns[-2:] == ["curate_stage", "curate_reason"]
    first = result.reports[0]
    # 7 nulls + 6 empty strings; 15 one-word texts (n % 13 == 0, not already null or empty)
    assert first["removed_by_reason"] == {"empty_text": 13, "too_few_words": 15}
    assert first["samples"]["empty_text"][0]["curate_id"] == "shard-000.parquet#0"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["rows_in"] == 200
    assert [s["status"] for s in manifest["stages"]] == ["complete"] * 3
    assert all(len(i["xxh3_64"]) == 16 and i["bytes"] > 0 for i in manifest["inputs"])
    assert manifest["pipeline"]["stages"][0]["min_words"] == 2
    html = (out / "report.html").read_text()
    assert "02 exact" in html and "exact_duplicate" in html
    assert not any(f'{attr}="http' in html for attr in ("src", "href")) and "url(http" not in html


def test_annotate_only_removes_nothing_and_reports_what_it_would(project):
    result = run(project / "pipeline.yaml", annotate_only=True)
    assert read_dir(result.output / "data").height == 200
    assert not (result.output / "removed").exists() or not any((result.output / "removed").rglob("*.parquet"))
    exact = result.reports[1]
    assert exact["rows_removed"] == 0 and exact["mode"] == "annotate"
    assert exact["would_remove_by_reason"]["exact_duplicate"] > 100


def test_stage_in_annotate_mode_keeps_rows_others_filter(tmp_path):
    write_shards(tmp_path, corpus(2))
    stages = [{"stage": "length_filter", "min_words": 2, "mode": "annotate"}, {"stage": "exact_dedup"}]
    result = run(write_pipeline(tmp_path, stages))
    assert result.reports[0]["rows_removed"] == 0 and result.reports[0]["would_remove_by_reason"]
    assert result.reports[1]["rows_in"] == 100 and result.reports[1]["rows_removed"] > 0


def test_an_exact_copy_flagged_in_annotate_mode_keeps_its_flag_through_near_dedup(tmp_path):
    """near_dedup, which cannot shingle "!!!", wrote its null dup_of over exact_dedup's on
    the copy (mode: annotate), or its dup_cluster_size 1 beside it (--annotate-only)."""
    article = " ".join(f"word{i}" for i in range(60))
    texts = ["!!!", "!!!", article, article, article.replace("word30", "other"), "an unrelated short text of its own"]
    write_shards(tmp_path, [pl.DataFrame({"id": list(range(1, 7)), "text": texts})])
    pipeline = write_pipeline(tmp_path, [{"stage": "exact_dedup", "mode": "annotate", "cluster_size": True}, {"stage": "near_dedup"}], id_column="id")
    shared = ["id", "dup_of", "dup_cluster_size"]
    annotated = run(pipeline, tmp_path / "annotate_mode")
    assert read_dir(annotated.output / "data").select(shared).rows() == [(1, None, 1), (2, "1", 2), (3, "3", 3), (6, None, 1)]
    # near_dedup's survivor names itself; the copy it flags too is its, in its cluster of three
    assert read_dir(annotated.output / "removed" / "near_dedup").select(shared).rows() == [(4, "3", 3), (5, "3", 3)]
    assert annotated.reports[0]["would_remove_by_reason"] == {"exact_duplicate": 2}
    only = run(pipeline, tmp_path / "annotate_only", annotate_only=True)
    assert read_dir(only.output / "data").select(shared).rows() == [(1, None, 1), (2, "1", 2), (3, "3", 3), (4, "3", 3), (5, "3", 3), (6, None, 1)]
    # near_dedup keeps another copy than exact_dedup did (the highest score): its survivor, a
    # copy exact flagged, carries near's cluster, not exact's flag naming a row near removed
    write_shards(tmp_path, [pl.DataFrame({"id": list(range(1, 7)), "text": texts, "score": [0.0, 0.0, 0.1, 0.9, 0.2, 0.0]})])
    by_score = write_pipeline(tmp_path, [{"stage": "exact_dedup", "mode": "annotate", "cluster_size": True}, {"stage": "near_dedup", "keep": "highest:score"}], id_column="id")
    annotated = run(by_score, tmp_path / "by_score")
    assert read_dir(annotated.output / "data").select(shared).rows() == [(1, None, 1), (2, "1", 2), (4, "4", 3), (6, None, 1)]
    assert read_dir(annotated.output / "removed" / "near_dedup").select(shared).rows() == [(3, "4", 3), (5, "4", 3)]
    only = run(by_score, tmp_path / "by_score_only", annotate_only=True)
    assert read_dir(only.output / "data").select(shared).rows() == [(1, None, 1), (2, "1", 2), (3, "4", 3), (4, "4", 3), (5, "4", 3), (6, None, 1)]


def test_an_exact_copy_near_dedup_cannot_shingle_counts_its_exact_group_without_cluster_size(tmp_path):
    """With exact_dedup's default cluster_size: false, near_dedup's size 1 stood beside
    exact's dup_of: "a duplicate, in a group of one"."""
    article = " ".join(f"word{i}" for i in range(60))
    write_shards(tmp_path, [
        pl.DataFrame({"id": [1, 2, 3], "text": ["!!!", "!!!", article]}),
        pl.DataFrame({"id": [4, 5, 6], "text": ["!!!", "...", "..."]}),  # the group spans shards; "..." is another
    ])
    pipeline = write_pipeline(tmp_path, [{"stage": "exact_dedup", "mode": "annotate"}, {"stage": "near_dedup"}], id_column="id")
    shared = ["id", "dup_of", "dup_cluster_size"]
    expected = [(1, None, 1), (2, "1", 3), (3, None, 1), (4, "1", 3), (5, None, 1), (6, "5", 2)]
    for workers in (1, 2):
        annotated = run(pipeline, tmp_path / f"annotate_mode_{workers}", workers=workers)
        assert read_dir(annotated.output / "data").select(shared).rows() == expected
    only = run(pipeline, tmp_path / "annotate_only", annotate_only=True)
    assert read_dir(only.output / "data").select(shared).rows() == expected


def test_output_is_identical_whatever_the_worker_count(project, tmp_path):
    one = run(project / "pipeline.yaml", tmp_path / "one", workers=1)
    two = run(project / "pipeline.yaml", tmp_path / "two", workers=2)
    for folder in ["data", "removed/length_filter", "removed/exact"]:
        assert read_dir(one.output / folder).equals(read_dir(two.output / folder))
    strip = lambda reports: [{k: v for k, v in r.items() if k != "seconds"} for r in reports]  # noqa: E731
    assert strip(one.reports) == strip(two.reports)


def test_finished_run_is_not_redone_and_a_changed_pipeline_reuses_the_stages_before_the_change(project):
    first = run(project / "pipeline.yaml")
    again = run(project / "pipeline.yaml")
    assert again.manifest["finished_at"] == first.manifest["finished_at"]
    changed = project / "pipeline.yaml"
    changed.write_text(changed.read_text().replace("min_chars: 12", "min_chars: 31"))
    rerun = run(changed)  # no --fresh: the finished run's first two stages are reused
    assert [s["work"] for s in rerun.manifest["stages"]] == ["reused", "reused", "ran"]
    # "document number N about things" is 30 characters for one-digit N
    assert rerun.reports[2]["removed_by_reason"] == {"too_few_chars": 10}
    fresh = run(changed, fresh=True)
    assert [s["work"] for s in fresh.manifest["stages"]] == ["ran"] * 3
    assert [r["removed_by_reason"] for r in fresh.reports] == [r["removed_by_reason"] for r in rerun.reports]


def test_changed_input_reruns_every_stage(project):
    first = run(project / "pipeline.yaml")
    pl.DataFrame({"text": ["new text here"], "label": ["c0"], "score": [1.0]}).write_parquet(project / "in" / "shard-001.parquet")
    again = run(project / "pipeline.yaml")
    assert [s["work"] for s in again.manifest["stages"]] == ["ran"] * 3
    assert again.manifest["rows_in"] < first.manifest["rows_in"]


def test_killed_run_resumes_to_the_same_output(tmp_path):
    pipeline, reference = slow_run_and_reference(tmp_path, STAGES_SPEC)
    target = tmp_path / "killed"
    kill_mid_run(pipeline, target, shards=24)
    resumed = cli("run", str(pipeline), "--output", str(target), "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    assert_reconciles(target)
    assert_same_output(target, reference.output)
    assert not (target / "_work").exists()


def test_json_log_for_schedulers(project):
    result = cli("run", str(project / "pipeline.yaml"), "--log-format", "json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    finished = events[-1]
    assert finished["event"] == "run_finished" and finished["status"] == "complete"
    assert finished["rows_in"] == 200 and finished["rows_kept"] + finished["rows_removed"] == 200
    assert [s["name"] for s in finished["stages"]] == ["length_filter", "exact", "long_only"]


def test_summary_table_and_overrides(project, tmp_path):
    result = cli("run", str(project / "pipeline.yaml"), "--input", str(project / "in" / "shard-00[01].parquet"), "--output", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    assert "02 exact" in result.stdout and "run" in result.stdout
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["rows_in"] == 100 and len(manifest["inputs"]) == 2


def test_default_output_is_runs_slash_pipeline_name(tmp_path):
    write_shards(tmp_path, corpus(1))
    (tmp_path / "p.yaml").write_text("input:\n  path: in/*.parquet\nstages:\n  - stage: exact_dedup\n")
    result = cli("run", str(tmp_path / "p.yaml"), "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "runs" / "p" / "manifest.json").exists()


def test_runner_api_uses_the_pipeline_output(project):
    spec = load_pipeline(project / "pipeline.yaml")
    result = run_pipeline(spec, Path(spec.output), RunOptions(workers=1), Reporter())
    assert result.output == project / "run" and result.status == "complete"


class RemovalCensus(DatasetStage):
    """A probe stage: counts what earlier stages removed and returns it as a table."""

    kind = "removal_census"
    summary = "test probe"
    sees_removed = True

    class Config(StageConfig):
        stage: Literal["removal_census"] = "removal_census"

    def added_columns(self):
        return []

    def summarize(self, frame):
        return frame.select(pl.col(self.columns.id))

    def decide(self, summaries, removed=None):
        decisions = summaries.select(SHARD, POSITION, pl.lit(None, pl.String).alias(REASON)).collect()
        census = removed.group_by("curate_stage", "curate_reason").len().sort("curate_stage", "curate_reason").collect()
        return decisions, {"removed_seen": int(census["len"].sum()), "tables": {"census": census}}


def test_dataset_stage_sees_earlier_removals_and_writes_tables(project, monkeypatch):
    monkeypatch.setitem(STAGES, "removal_census", RemovalCensus)
    result = run(write_pipeline(project, [*STAGES_SPEC, {"stage": "removal_census"}]))
    census_report = result.reports[-1]
    removed_before = sum(r["rows_removed"] for r in result.reports[:-1])
    assert census_report["stats"]["removed_seen"] == removed_before > 0
    assert census_report["tables"] == {"census": "reports/04_removal_census.census.parquet"}
    table = pl.read_parquet(result.output / census_report["tables"]["census"])
    assert table.filter(pl.col("curate_stage") == "exact")["len"].item() == result.reports[1]["rows_removed"]


def test_run_killed_while_moving_output_into_place_finishes_on_resume(project, tmp_path, monkeypatch):
    reference = run(project / "pipeline.yaml", tmp_path / "reference")
    target = tmp_path / "interrupted"
    # Die right after data/ and removed/ moved into place, before reports and manifest.
    monkeypatch.setattr("curate.report.html.render_report", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        run(project / "pipeline.yaml", target)
    assert (target / "removed" / "length_filter").exists() and not (target / "manifest.json").exists()
    monkeypatch.undo()
    resumed = run(project / "pipeline.yaml", target)
    assert resumed.status == "complete"
    assert_same_output(target, reference.output)


def test_a_changed_rule_file_reruns_its_stage(tmp_path):
    write_shards(tmp_path, corpus(2))
    rules = tmp_path / "mine.yaml"
    rules.write_text("rules:\n  - {name: long_enough, metric: word_count, keep_if: '>=', threshold: 3}\n")
    pipeline = write_pipeline(tmp_path, [{"stage": "quality", "rules": ["mine.yaml"]}])
    first = run(pipeline)
    rules.write_text("rules:\n  - {name: long_enough, metric: word_count, keep_if: '>=', threshold: 5}\n")
    again = run(pipeline)
    assert again.manifest["stages"][0]["work"] == "ran"
    assert again.manifest["state"]["stage_files"]["01_quality"][str(rules)] != first.manifest["state"]["stage_files"]["01_quality"][str(rules)]


def test_a_large_file_is_cut_into_shards_of_row_groups(tmp_path, monkeypatch):
    texts = [f"document {i % 900} with some words" for i in range(4000)]
    (tmp_path / "in").mkdir()
    pl.DataFrame({"text": texts}).write_parquet(tmp_path / "in" / "big.parquet", row_group_size=500)
    pipeline = write_pipeline(tmp_path, STAGES_SPEC)
    whole = run(pipeline, tmp_path / "whole")
    monkeypatch.setattr("curate.run.io.SHARD_TARGET_BYTES", 1)  # every row group its own shard
    cut = run(pipeline, tmp_path / "cut", workers=2)
    assert len(list((cut.output / "data").glob("part-*.parquet"))) == 8
    assert len(list((whole.output / "data").glob("part-*.parquet"))) == 1
    kept = read_dir(cut.output / "data")
    assert kept.equals(read_dir(whole.output / "data"))
    assert kept["curate_id"][-1] == read_dir(whole.output / "data")["curate_id"][-1]
    assert read_dir(cut.output / "removed" / "exact")["dup_of"].to_list() == read_dir(whole.output / "removed" / "exact")["dup_of"].to_list()


def test_automatic_worker_count_starts_only_workers_that_repay_their_start_up():
    def workers(stages: str, gigabytes: float, shards: int, cores: int, text_gigabytes: float | None = None) -> int:
        built = build_stages(parse_pipeline(f"input:\n  path: x.parquet\nstages:\n{stages}", "test"))
        text = gigabytes if text_gigabytes is None else text_gigabytes
        return auto_workers(built, plan_segments(built), gigabytes * 1e9, text * 1e9, shards, cores)

    passthrough = "  - stage: length_filter\n"
    # 10 CPU s per GB of spine; a worker must get twice its 1.5 CPU s of start-up
    assert workers(passthrough, 0.01, 8, 2) == 1
    assert workers(passthrough, 0.59, 8, 2) == 1
    assert workers(passthrough, 0.6, 8, 2) == 2
    assert workers(passthrough, 0.9, 8, 16) == 3
    assert workers(passthrough, 100, 8, 16) == 8  # no more workers than shards
    assert workers(passthrough, 100, 1, 16) == 1
    # language ID and quality rules cost far more per GB than the spine: 40 MB pays for 2 workers
    heavy = passthrough + "  - stage: langid\n    keep: [en]\n  - stage: quality\n"
    assert workers(heavy, 0.01, 8, 2) == 1
    assert workers(heavy, 0.03, 8, 2) == 1
    assert workers(heavy, 0.04, 8, 2) == 2
    # the stages' cost is charged on the text column alone: 50 MB of rows, 0.2 MB of it text,
    # is 1.5 CPU s of reading and writing (3 segments) and 0.03 of language ID and quality rules
    assert workers(heavy, 0.05, 8, 2, text_gigabytes=0.0002) == 1
    assert workers(heavy, 0.6, 8, 2, text_gigabytes=0.0002) == 2  # the spine alone repays a worker
    # a worker that imports scikit-learn for label_noise starts slower: 1.5 + 1.2 + 0.3 for overlap,
    # so the 0.04 GB that pays for 2 workers of the pipeline above does not pay here
    long = (
        "  - stage: clean\n  - stage: length_filter\n  - stage: exact_dedup\n  - stage: langid\n  - stage: quality\n    mode: annotate\n"
        "  - stage: near_dedup\n  - stage: line_dedup\n  - stage: overlap\n    mode: annotate\n  - stage: label_noise\n    mode: annotate\n"
        "  - stage: slices\n    columns: [lang, label]\n"
    )
    built = build_stages(parse_pipeline(f"input:\n  path: x.parquet\n  label_column: label\nstages:\n{long}", "test"))
    assert worker_start_cpu_seconds(built) == pytest.approx(3.0)
    assert worker_start_cpu_seconds(built, reused=range(9)) == pytest.approx(1.5)  # a rerun of the slices stage alone
    # 10 segments of spine (100) + exact 10, langid 28, quality 120, near 35 = 293 CPU s per GB;
    # 2 workers need 2 x 2 x 3.0 = 12 CPU s of work: from 0.041 GB
    assert auto_workers(built, plan_segments(built), 0.040e9, 0.040e9, 8, 2) == 1
    assert auto_workers(built, plan_segments(built), 0.041e9, 0.041e9, 8, 2) == 2


def test_automatic_worker_count_weighs_the_stages_on_the_text_column_not_a_wide_one_beside_it(tmp_path, monkeypatch):
    """2,000 short texts, each row with 25 KB of image bytes beside it: 50 MB of rows. The
    stages read 0.1 MB of text, a fraction of a second of work: no worker repays its start-up."""
    planned = planned_workers(monkeypatch)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    words = "the quick brown fox jumps over a lazy dog while some birds sing in tall green trees".split()
    frames = [
        pl.DataFrame({
            "text": [" ".join(words[(n + k) % len(words)] for k in range(8 + n % 12)) + "." for n in range(s * 1000, (s + 1) * 1000)],
            # a distinct value per row, so that Parquet writes them in full, not as a dictionary
            "image": [n.to_bytes(4, "big") * 6250 for n in range(s * 1000, (s + 1) * 1000)],
        })
        for s in range(2)
    ]
    write_shards(tmp_path, frames)
    pipeline = write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 3}, {"stage": "langid"}, {"stage": "quality", "rules": ["gopher_quality"]}])
    groups = [pq.ParquetFile(f).metadata.row_group(0) for f in sorted((tmp_path / "in").glob("*.parquet"))]
    assert sum(g.total_byte_size for g in groups) > 50e6  # charged whole, 50 MB x 158 CPU s per GB would start 2 workers
    assert sum(g.column(0).total_uncompressed_size for g in groups) < 0.2e6
    result = run(pipeline, tmp_path / "run", workers=None)
    assert planned == [1]
    assert result.manifest["rows_in"] == 2000
    # gopher_quality wants 50 words or more: every row leaves with its image, unchanged
    removed = read_dir(tmp_path / "run" / "removed" / "quality")
    assert removed["image"].to_list() == frames[0]["image"].to_list() + frames[1]["image"].to_list()
