"""The quality stage's own cost, this checkout against an earlier one (e.g. main before a
change), on the same input in one run: CPU seconds of `annotate` and of the report
statistics (`shard_stats`), and whether every column `annotate` adds is identical.

    python bench/quality_stage.py --before /tmp/before                        # enwiki + one web-text shard
    python bench/quality_stage.py --before /tmp/before --rounds 3 --shard bench/out/web_text_run_shares

`--before` is a copy of the earlier commit's `curate/` and `rules/`
(`git archive <commit> curate rules | tar -x -C /tmp/before`). Inputs:

- `enwiki`: ../shared/data/web/enwiki.parquet (36,542 articles), the four built-in rule
  sets with `clean_lines: true` and, separately, gopher_repetition alone;
- `shard`: the rows the quality stage saw in shard 0 of a web-text pipeline run
  (bench/web_text_pipeline.py's `web_text_run_shares`: the kept rows plus the rows quality
  and near removed, with langid's `lang`), the four rule sets as pipelines/web_text.yaml
  runs them.

Each measurement is its own process (POLARS_MAX_THREADS=1), CPU = user + system time of
that process around the call; the two checkouts alternate, `--rounds` times, and the
minimum per side is reported (the machine is shared: the minimum is the least disturbed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import polars as pl

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ENWIKI = REPO.parent / "shared" / "data" / "web" / "enwiki.parquet"
FOUR = ["gopher_quality", "gopher_repetition", "c4", "fineweb"]
CASES = {  # name: (input, stage options, file name of its added columns)
    "enwiki, four rule sets, clean_lines": ("enwiki", {"rules": FOUR, "clean_lines": True}, "enwiki_four"),
    "enwiki, gopher_repetition": ("enwiki", {"rules": ["gopher_repetition"]}, "enwiki_repetition"),
    "web-text shard 0, four rule sets": ("shard", {"rules": FOUR}, "shard_four"),
}


def shard_input(run: Path, out: Path) -> Path:
    """The quality stage's input rows of shard 0 of a web-text run, in corpus order."""
    columns = ["doc_id", "text", "lang"]
    parts = [run / "data" / "part-00000.parquet", run / "removed" / "quality" / "part-00000.parquet", run / "removed" / "near" / "part-00000.parquet"]
    frame = pl.concat([pl.read_parquet(p, columns=columns) for p in parts if p.exists()])
    frame.sort(pl.col("doc_id").cast(pl.Int64)).write_parquet(out)
    return out


def child(data: Path, config: str, out: Path) -> None:
    from curate.stages.base import Columns
    from curate.stages.quality import Quality, QualityConfig

    frame = pl.read_parquet(data)
    stage = Quality(QualityConfig(stage="quality", **json.loads(config)), Columns(text="text", id="doc_id"))
    stage.annotate(frame.head(200))  # warm-up: regex compilation
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    annotated = stage.annotate(frame)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    stage.shard_stats(annotated)
    r2 = resource.getrusage(resource.RUSAGE_SELF)

    def cpu(a: resource.struct_rusage, b: resource.struct_rusage) -> float:
        return (b.ru_utime - a.ru_utime) + (b.ru_stime - a.ru_stime)

    annotated.select([c for c in annotated.columns if c not in frame.columns]).write_parquet(out)
    print(json.dumps({"annotate": cpu(r0, r1), "stats": cpu(r1, r2)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="a copy of the earlier commit's curate/ and rules/")
    parser.add_argument("--shard", type=Path, default=BENCH / "out" / "web_text_run_shares", help="a web-text pipeline run directory")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), args.child[1], Path(args.child[2]))
        return
    out = BENCH / "out" / "quality_stage"
    out.mkdir(parents=True, exist_ok=True)
    inputs = {"enwiki": ENWIKI}
    if (args.shard / "data").is_dir():
        inputs["shard"] = shard_input(args.shard, out / "shard0_input.parquet")
    trees = {"before": args.before.resolve(), "after": REPO}
    best: dict[tuple[str, str], dict[str, float]] = {}
    for _ in range(args.rounds):
        for case, (source, config, slug) in CASES.items():
            if source not in inputs:
                continue
            for side, tree in trees.items():
                env = dict(os.environ, PYTHONPATH=str(tree), POLARS_MAX_THREADS="1")
                result = out / f"{side}_{slug}.parquet"
                command = [sys.executable, __file__, "--before", str(args.before), "--child", str(inputs[source]), json.dumps(config), str(result)]
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd="/")
                seconds = json.loads(done.stdout.strip().splitlines()[-1])
                key = (case, side)
                best[key] = {k: min(v, best.get(key, {}).get(k, v)) for k, v in seconds.items()}
                print(f"{case} [{side}]: annotate {seconds['annotate']:.2f} s, stats {seconds['stats']:.2f} s", file=sys.stderr, flush=True)
            same = pl.read_parquet(out / f"before_{slug}.parquet").equals(pl.read_parquet(out / f"after_{slug}.parquet"))
            best[(case, "same")] = {"same": float(same)}
    print("| input, rules | before CPU s (annotate + stats) | after | ratio | added columns identical |")
    print("|---|---:|---:|---:|---|")
    for case in CASES:
        if (case, "before") not in best:
            continue
        b, a = best[(case, "before")], best[(case, "after")]
        tb, ta = b["annotate"] + b["stats"], a["annotate"] + a["stats"]
        print(f"| {case} | {tb:.2f} ({b['annotate']:.2f} + {b['stats']:.2f}) | {ta:.2f} ({a['annotate']:.2f} + {a['stats']:.2f}) | "
              f"{tb / ta:.2f}× | {'yes' if best[(case, 'same')]['same'] else 'NO'} |")


if __name__ == "__main__":
    main()
