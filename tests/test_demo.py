"""The README's first command, on the demo data that ships in the repo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
from runs import assert_reconciles, cli, read_dir, run, write_pipeline, write_shards

from curate.config import load_pipeline
from curate.run.segments import build_stages
from curate.extras import extra_for

REPO = Path(__file__).resolve().parent.parent


def test_demo_pipeline_runs_offline_and_reconciles(tmp_path):
    result = cli("run", str(REPO / "pipelines" / "demo.yaml"), "--output", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "demo"
    assert_reconciles(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["rows_in"] == 4000
    layout = (REPO / "docs" / "run-layout.md").read_text().split("## `manifest.json`")[1].split("\n## ")[0]
    assert [key for key in manifest if f"`{key}`" not in layout] == []  # docs/run-layout.md names every key
    assert manifest["rows_kept"] < manifest["rows_in"]
    reports = {r["name"]: r for r in (json.loads(p.read_text()) for p in (run_dir / "reports").glob("[0-9][0-9]_*.json"))}
    assert manifest["status"] == "complete" and manifest["gates"]["passed"]
    # the demo's own suite (its labels, 13 languages and lengths) holds on its output, under must_pass
    assert [(s["suite"], s["success"], s["failed"]) for s in manifest["validation"]["suites"]] == [("basic", True, 0), ("demo", True, 0)]
    # Deterministic stages: exact numbers (pipelines/data/README.md lists what is planted).
    assert reports["length"]["rows_removed"] == 201
    assert reports["exact"]["removed_by_reason"] == {"exact_duplicate": 315}
    # Model-based stages: what they must at least find among the planted rows.
    assert reports["langid"]["rows_removed"] >= 50 and set(reports["langid"]["removed_by_reason"]) <= {"lang_low_score", "lang_too_short", "lang_not_kept:la"}
    assert reports["langid"]["removed_by_reason"]["lang_not_kept:la"] >= 20  # the planted lorem ipsum (30 rows), read as Latin
    assert reports["near"]["removed_by_reason"]["near_duplicate"] >= 90
    assert reports["quality"]["rows_removed"] >= 100
    assert 100 <= reports["label_noise"]["would_remove_by_reason"]["label_issue"] <= 200
    assert reports["slices"]["stats"]["findings"], "the demo's forum junk and planted label noise are findings"
    kept = read_dir(run_dir / "data")
    assert kept["id"].n_unique() == kept.height
    assert kept["lang"].n_unique() >= 10 and kept["label_issue"].sum() >= 100
    # Every id of the input is somewhere: kept or removed by exactly one stage.
    removed = pl.concat([read_dir(d).select("id") for d in (run_dir / "removed").iterdir()])
    inputs = pl.read_parquet(REPO / "pipelines" / "data" / "demo" / "*.parquet")
    assert sorted(kept["id"].to_list() + removed["id"].to_list()) == sorted(inputs["id"].to_list())


def test_the_readme_first_command_installs_every_package_the_demo_needs():
    """A fresh machine runs the README's first command: its extras must hold every
    optional package the demo's stages ask for (`Stage.packages`)."""
    command = re.search(r"```bash\n(.+)\n", (REPO / "README.md").read_text()).group(1)
    extras = re.match(r"pip install -e '\.\[([\w,-]+)\]' && curate run pipelines/demo.yaml$", command)
    assert extras, command
    stages = build_stages(load_pipeline(REPO / "pipelines" / "demo.yaml"))
    needed = {name: extra_for(name) for stage in stages for name in stage.packages()}
    assert needed.keys() == {"ftfy", "resiliparse", "mwparserfromhell", "markdown-it-py"}  # the clean stage's
    assert set(needed.values()) <= set(extras.group(1).split(","))
    # with --annotate-only the demo's 123 Japanese rows (which length's min_words removes
    # otherwise: no spaces between words) reach quality, which segments them with ICU
    assert "segment" in extras.group(1).split(",")


def test_report_escapes_document_text(tmp_path):
    hostile = ["<script>alert(1)</script> twice", '<img src=x onerror="alert(1)"> twice']
    write_shards(tmp_path, [pl.DataFrame({"text": hostile * 2})])
    run(write_pipeline(tmp_path, [{"stage": "exact_dedup"}]))
    html = (tmp_path / "run" / "report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; twice" in html
    assert "&lt;img src=x onerror=" in html
    assert "<script" not in html.lower() and "<img" not in html.lower()
