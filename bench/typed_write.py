"""Writing a part with the input's exact Arrow types (curate) vs polars' own writer.

    python bench/typed_write.py              # 50,000 rows of Wikipedia text windows
    python bench/typed_write.py --rows 200000

curate writes data/ and removed/ parts through pyarrow, casting the input's columns back
to their Arrow types (`string` stays `string`; polars would write `large_string`).
The peer is polars' `write_parquet` of the same frame (zstd, as curate wrote before).
Both write the same rows, one after the other, in this process: CPU and wall seconds,
file sizes, and the ratio. Half the rows are distinct texts, half repeat earlier ones.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import polars as pl
import pyarrow as pa

from curate.files import write_parquet_atomic

WIKI = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "web" / "enwiki.parquet"


def measure(write, repeats: int = 3) -> tuple[float, float]:
    """Best of `repeats`: (CPU seconds, wall seconds)."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        write()
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    wiki = pl.read_parquet(WIKI, columns=["doc_id", "text"])
    distinct = args.rows // 2
    texts = wiki.select(pl.col("text").str.slice(0, 1950)).to_series()
    frame = pl.DataFrame({
        "id": pl.int_range(args.rows, eager=True).cast(pl.String),
        "text": texts.gather(pl.int_range(args.rows, eager=True) % min(distinct, texts.len())),
    })
    types = pa.schema([("id", pa.string()), ("text", pa.string())])
    with tempfile.TemporaryDirectory() as folder:
        peer, ours = Path(folder, "polars.parquet"), Path(folder, "curate.parquet")
        peer_cpu, peer_wall = measure(lambda: write_parquet_atomic(frame, peer))
        our_cpu, our_wall = measure(lambda: write_parquet_atomic(frame, ours, types))
        print(f"{args.rows:,} rows, {frame.estimated_size('mb'):.1f} MB in memory")
        print("| writer | CPU s | wall s | file MB |\n|---|---:|---:|---:|")
        print(f"| polars write_parquet (large_string) | {peer_cpu:.2f} | {peer_wall:.2f} | {os.path.getsize(peer) / 1e6:.1f} |")
        print(f"| curate, input types (string) | {our_cpu:.2f} | {our_wall:.2f} | {os.path.getsize(ours) / 1e6:.1f} |")
        print(f"curate / polars: CPU {our_cpu / peer_cpu:.2f}x, wall {our_wall / peer_wall:.2f}x, size {os.path.getsize(ours) / os.path.getsize(peer):.2f}x")


if __name__ == "__main__":
    main()
