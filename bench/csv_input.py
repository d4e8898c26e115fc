"""CSV input: curate's conversion (every value read as text, each column typed from the
whole run where nothing changes, curate/run/csv_types.py) against polars' and pyarrow's
own typed readers on the same file, in CPU seconds and wall time, and the types each
gives the columns an export holds.

    python bench/csv_input.py              # 256 MiB of CSV
    python bench/csv_input.py --mb 64      # a quick look

The file is made here (cached in bench/out/csv/) from ../shared/data/web/enwiki.parquet:
an int id, a text of up to 1,000 characters, a float score as Python writes it (1e-05 included),
True/False, a date, and a zip code with leading zeros (text: a number would drop them).
Each reader runs in its own process, alternating, `--rounds` times; the minimum is shown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import polars as pl

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from measure import REPO, run_monitored  # noqa: E402

WIKI = REPO.parent / "shared" / "data" / "web" / "enwiki.parquet"
OUT = BENCH / "out" / "csv"

READERS = {
    "curate: convert to Parquet parts": (
        "from pathlib import Path; import json, polars as pl; from curate.run.sources import locate;"
        "from curate.run.staging import CsvOptions, stage_inputs; from curate.run.run_schema import type_text_parts, unify_schemas;"
        "files = type_text_parts(unify_schemas(stage_inputs(locate([{src!r}]), Path({work!r}), CsvOptions(text_column='text')), 'text'));"
        "import sys; print(json.dumps({{'event': 'types', 'types': {{n: str(t) for n, t in files[0].schema}}}}), file=sys.stderr)"
    ),
    "polars: scan_csv (whole-file inference) → sink_parquet": (
        "import json, polars as pl; lf = pl.scan_csv({src!r}, infer_schema_length=None); lf.sink_parquet({work!r} + '/out.parquet');"
        "import sys; print(json.dumps({{'event': 'types', 'types': {{n: str(t) for n, t in lf.collect_schema().items()}}}}), file=sys.stderr)"
    ),
    "pyarrow: read_csv → write_table": (
        "import json, pyarrow.csv as c, pyarrow.parquet as pq; t = c.read_csv({src!r}, parse_options=c.ParseOptions(newlines_in_values=True)); pq.write_table(t, {work!r} + '/out.parquet');"
        "import sys; print(json.dumps({{'event': 'types', 'types': {{f.name: str(f.type) for f in t.schema}}}}), file=sys.stderr)"
    ),
}


def make(path: Path, target_bytes: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    wiki = pl.read_parquet(WIKI, columns=["text"]).with_columns(pl.col("text").str.slice(0, 1000))
    rows = max(1, int(target_bytes / (wiki["text"].str.len_bytes().mean() + 60)))  # + the other fields
    frame = pl.DataFrame({"row": pl.int_range(0, rows, eager=True)}).select(
        id=pl.col("row"),
        text=wiki["text"].gather((pl.int_range(0, rows, eager=True) * 7919) % wiki.height),
        score=pl.when(pl.col("row") % 97 == 0).then(pl.lit("1e-05")).otherwise((pl.col("row") * 0.6180339887).mod(1).round(6).cast(pl.String)),
        flag=pl.when(pl.col("row") % 3 == 0).then(pl.lit("True")).otherwise(pl.lit("False")),
        day=(pl.date(2024, 1, 1) + pl.duration(days=pl.col("row") % 365)).cast(pl.String),
        zip=(pl.col("row") * 37 % 99999).cast(pl.String).str.zfill(5),
    )
    frame.write_csv(path)


def measure(name: str, src: Path) -> dict:
    work = OUT / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    seen = run_monitored([sys.executable, "-c", READERS[name].format(src=str(src), work=str(work))], check=False)
    shutil.rmtree(work, ignore_errors=True)
    if seen.code != 0:
        raise SystemExit(f"{name} failed (exit {seen.code})")
    return {"wall": seen.wall, "cpu": seen.cpu, "types": next(e["types"] for e in seen.events if e.get("event") == "types")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=256, help="size of the CSV file")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    src = OUT / f"export-{args.mb:g}mb.csv"
    make(src, int(args.mb * 2**20))
    print(f"load average before: {os.getloadavg()[0]:.1f}; {src.name}: {src.stat().st_size / 2**20:,.0f} MiB")
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        for name in READERS:
            seen = measure(name, src)
            if name not in best or seen["cpu"] < best[name]["cpu"]:
                best[name] = seen
    ours = best["curate: convert to Parquet parts"]
    print("| reader | CPU s | wall s | CPU vs curate | id | score | flag | day | zip |\n|---|---:|---:|---:|---|---|---|---|---|")
    for name, seen in best.items():
        types = seen["types"]
        print(f"| {name} | {seen['cpu']:.2f} | {seen['wall']:.2f} | {seen['cpu'] / ours['cpu']:.2f} | " + " | ".join(types.get(c, "?") for c in ("id", "score", "flag", "day", "zip")) + " |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
