"""line_dedup: a `curate run` against a straightforward Python implementation (a dict
from each line to the documents holding it), on the same documents in the same run.

    python bench/line_dedup.py            # ~1 min; prints a JSON summary

Documents: ../shared/data/neardup/documents.parquet (Wikipedia, IMDB reviews and
synthetic near-copies, some with appended boilerplate) and ../shared/data/web/
enwiki.parquet, 61,542 documents. curate runs in a child process (`--workers 1`,
start-up and all output files included; CPU and peak RSS of the process tree); the
Python side runs in a child process too (peak RSS from its rusage). Both must remove
the same lines from the same documents.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import REPO, run_monitored  # noqa: E402

DATA = REPO.parent / "shared" / "data"
MIN_REPEATS = 3

PYTHON_SIDE = r'''
import json, sys, time, resource
import polars as pl
started = time.process_time()
texts = pl.read_parquet(sys.argv[1], columns=["text"])["text"].fill_null("").to_list()
holders = {}  # normalised line -> [documents holding it, first document]
for doc, text in enumerate(texts):
    for line in set(" ".join(l.split()) for l in text.split("\n")):
        if line:
            entry = holders.setdefault(line, [0, doc])
            entry[0] += 1
removed = []
for doc, text in enumerate(texts):
    n = 0
    for raw in text.split("\n"):
        line = " ".join(raw.split())
        entry = holders.get(line)
        if line and entry[0] >= int(sys.argv[2]) and entry[1] != doc:
            n += 1
    removed.append(n)
cpu = time.process_time() - started
json.dump({"cpu": cpu, "removed": removed, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}, open(sys.argv[3], "w"))
'''


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = [
            pl.read_parquet(DATA / "neardup" / "documents.parquet", columns=["id", "text"]),
            pl.read_parquet(DATA / "web" / "enwiki.parquet", columns=["doc_id", "text"]).rename({"doc_id": "id"}).with_columns(pl.col("id").cast(pl.String)),
        ]
        docs = pl.concat(frames)
        assert docs["id"].n_unique() == docs.height
        docs.write_parquet(folder / "docs.parquet")
        pipeline = folder / "p.yaml"
        pipeline.write_text(
            f"input: {{path: {folder / 'docs.parquet'}, id_column: id}}\nstages:\n  - stage: line_dedup\n    min_repeats: {MIN_REPEATS}\n"
        )
        command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(folder / "run"), "--workers", "1", "--log-format", "json", "--quiet"]
        curate = run_monitored(command)
        kept = pl.read_parquet(folder / "run" / "data" / "*.parquet", columns=["id", "line_dedup_lines_removed"])
        removed = pl.read_parquet(folder / "run" / "removed" / "line_dedup" / "*.parquet", columns=["id", "line_dedup_lines_removed"])
        out = docs.select("id").join(pl.concat([kept, removed]), on="id", how="left", maintain_order="left")
        wall = time.perf_counter()
        subprocess.run([sys.executable, "-c", PYTHON_SIDE, str(folder / "docs.parquet"), str(MIN_REPEATS), str(folder / "py.json")], check=True)
        python_wall = time.perf_counter() - wall
        python = json.loads((folder / "py.json").read_text())
        report = json.loads((folder / "run" / "reports" / "01_line_dedup.json").read_text())
    same = out["line_dedup_lines_removed"].to_list() == python["removed"]
    result = {
        "documents": docs.height,
        "text_mb": round(docs["text"].str.len_bytes().sum() / 1e6, 1),
        "curate": {"cpu_s": round(curate.cpu, 2), "wall_s": round(curate.wall, 2), "peak_rss_mb": round(curate.peak_rss / 2**20), "docs_per_cpu_s": round(docs.height / curate.cpu)},
        "python_dict": {"cpu_s": round(python["cpu"], 2), "wall_s": round(python_wall, 2), "peak_rss_mb": round(python["peak_rss"] / 2**20), "docs_per_cpu_s": round(docs.height / python["cpu"])},
        "same_lines_removed_per_document": same,
        "stats": report["stats"],
        "load_average": [round(x, 1) for x in __import__("os").getloadavg()],
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
