"""JSON Lines input: bounded memory on a 2 GB JSONL.gz, and read throughput against
polars' own reader on the same file.

    python bench/jsonl_input.py                       # 2 GB JSONL.gz + the same rows as Parquet; 256 MB for the readers
    python bench/jsonl_input.py --gb 0.2 --peer-mb 64 # a quick look

Made here, cached in bench/out/jsonl/: a JSONL.gz of Wikipedia windows (1,950 characters,
from ../shared/data/web/enwiki.parquet; gzip level 1, fast to make; decompression costs the same at any level) of `--gb`
compressed bytes, the same rows as one Parquet file, and a smaller JSONL.gz of
`--peer-mb` for the reader comparison (polars reads a compressed file whole into memory,
which a 2 GB one would not fit beside the other work on this machine).

1. `curate run` (length_filter, --workers 2) over the big JSONL.gz and over the same rows
   as Parquet, each in a fresh process: wall, CPU seconds, peak RSS of the process tree.
2. Reading the small JSONL.gz, each in a fresh process: curate's conversion (streamed
   decompression, one polars parse per 64 MiB of lines, Parquet parts written) vs
   `pl.read_ndjson` (into memory) and `pl.scan_ndjson(...).sink_parquet` (the same work
   as curate's: read and write Parquet).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from measure import REPO, run_monitored  # noqa: E402

WIKI = REPO.parent / "shared" / "data" / "web" / "enwiki.parquet"
OUT = BENCH / "out" / "jsonl"
CHUNK_ROWS = 10_000


def windows(start: int, rows: int, wiki: pl.DataFrame) -> pl.DataFrame:
    """`rows` 1,950-character windows of three consecutive articles, from row `start` on."""
    docs = wiki.height
    picks = pl.DataFrame({"row": pl.int_range(start, start + rows, eager=True)}).with_columns(doc=(pl.col("row") * 7919 % docs).cast(pl.UInt32))
    frame = picks.join(wiki, on="doc").sort("row")
    offset = (pl.col("row") * 104729 % pl.max_horizontal(pl.col("length") - 1950, 1)).cast(pl.Int64)
    return frame.select(id=pl.col("row").cast(pl.String), text=pl.col("text").str.slice(offset, 1950), url=pl.lit("https://en.wikipedia.org/wiki/") + pl.col("doc").cast(pl.String))


def make(gz: Path, parquet: Path | None, target_bytes: int) -> int:
    """Write windows until the JSONL.gz has `target_bytes`; the same rows to `parquet`."""
    if gz.exists() and (parquet is None or parquet.exists()):
        return -1
    gz.parent.mkdir(parents=True, exist_ok=True)
    wiki = pl.read_parquet(WIKI, columns=["text"]).with_row_index("doc")
    wiki = wiki.with_columns(text=pl.concat_str(pl.col("text"), pl.col("text").shift(-1, fill_value=""), pl.col("text").shift(-2, fill_value=""), separator="\n"))
    wiki = wiki.with_columns(length=pl.col("text").str.len_chars())
    rows, writer = 0, None
    with open(gz, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as out:
        while raw.tell() < target_bytes:
            chunk = windows(rows, CHUNK_ROWS, wiki)
            out.write(chunk.write_ndjson().encode())
            if parquet is not None:
                table = chunk.to_arrow()
                writer = writer or pq.ParquetWriter(parquet, table.schema, compression="zstd")
                writer.write_table(table, row_group_size=CHUNK_ROWS)
            rows += chunk.height
    if writer is not None:
        writer.close()
    return rows


def curate_run(input_path: Path, output: Path) -> dict:
    pipeline = OUT / "pipeline.yaml"
    pipeline.write_text("input:\n  path: x\n  id_column: id\nstages:\n  - stage: length_filter\n    min_words: 5\n")
    shutil.rmtree(output, ignore_errors=True)
    seen = run_monitored([sys.executable, "-m", "curate", "run", str(pipeline), "--input", str(input_path), "--output", str(output),
                          "--workers", "2", "--log-format", "json"])
    finished = next(e for e in seen.events if e.get("event") == "run_finished")
    shutil.rmtree(output, ignore_errors=True)
    return {"wall": seen.wall, "cpu": seen.cpu, "peak": seen.peak_rss, "single": seen.peak_single_rss, "rows": finished.get("rows_in")}


READERS = {
    "curate: convert to Parquet parts (streamed)": (
        "from pathlib import Path; from curate.run.sources import locate; from curate.run.staging import CsvOptions, stage_inputs;"
        "files = stage_inputs(locate([{src!r}]), Path({work!r}), CsvOptions()); print(sum(f.rows for f in files))"
    ),
    "polars: pl.read_ndjson (into memory)": "import polars as pl; print(pl.read_ndjson({src!r}).height)",
    "polars: scan_ndjson → sink_parquet": "import polars as pl; pl.scan_ndjson({src!r}).sink_parquet({work!r} + '/out.parquet'); print('ok')",
}


def reader(name: str, src: Path) -> dict:
    work = OUT / "reader-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    code = READERS[name].format(src=str(src), work=str(work))
    seen = run_monitored([sys.executable, "-c", code], check=False)
    shutil.rmtree(work, ignore_errors=True)
    if seen.code != 0:
        raise SystemExit(f"{name} failed (exit {seen.code})")
    return {"wall": seen.wall, "cpu": seen.cpu, "peak": seen.peak_rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="compressed size of the big JSONL.gz")
    parser.add_argument("--peer-mb", type=float, default=256, help="compressed size of the JSONL.gz the readers are compared on")
    parser.add_argument("--skip-run", action="store_true", help="only the reader comparison")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    small = OUT / f"peer-{args.peer_mb:g}mb.jsonl.gz"
    make(small, None, int(args.peer_mb * 2**20))
    text_bytes = _decompressed_size(small)
    print(f"\n## readers on {small.name}: {small.stat().st_size / 2**20:,.0f} MiB gzip, {text_bytes / 2**20:,.0f} MiB of JSON Lines")
    print("| reader | wall s | CPU s | MiB/s of JSON (wall) | peak RSS MiB |\n|---|---:|---:|---:|---:|")
    results = {}
    for name in READERS:
        results[name] = r = reader(name, small)
        print(f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {text_bytes / 2**20 / r['wall']:,.0f} | {r['peak'] / 2**20:,.0f} |")
    ours = results["curate: convert to Parquet parts (streamed)"]["wall"]
    for name in list(READERS)[1:]:
        print(f"curate / {name.split(':')[1].strip()}: {ours / results[name]['wall']:.2f}×")
    if args.skip_run:
        return
    big, parquet = OUT / f"corpus-{args.gb:g}gb.jsonl.gz", OUT / f"corpus-{args.gb:g}gb.parquet"
    made = make(big, parquet, int(args.gb * 2**30))
    if made > 0:
        print(f"\nmade {big.name}: {made:,} rows")
    print(f"\n## curate run, length_filter, --workers 2 ({big.stat().st_size / 2**30:.2f} GiB gzip; Parquet {parquet.stat().st_size / 2**30:.2f} GiB)")
    print("| input | rows | wall s | CPU s | peak RSS, all processes MiB | largest process MiB |\n|---|---:|---:|---:|---:|---:|")
    for label, path in (("JSONL.gz", big), ("Parquet (same rows)", parquet)):
        r = curate_run(path, OUT / "run")
        print(f"| {label} | {r['rows']:,} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['peak'] / 2**20:,.0f} | {r['single'] / 2**20:,.0f} |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def _decompressed_size(path: Path) -> int:
    size = 0
    with gzip.open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            size += len(block)
    return size


if __name__ == "__main__":
    main()
