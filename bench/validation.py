"""What great-expectations validation costs curate on 1M rows.

    python bench/validation.py                  # 1,000,000 rows
    python bench/validation.py --rows 100000    # a quick look

The frame: the demo dataset's 4,000 texts (pipelines/data/demo), repeated with a unique
suffix to the row count, with id, lang, lang_score and label columns and planted faults
(0.1% null texts, 0.5% unknown languages, 0.2% low scores, 100 duplicate ids), written
as one Parquet file in a temporary folder. Measured one after another (best of
--repeats; the machine may be shared):

- Parquet → the pandas frame GX gets, the way curate does it (pyarrow reads the columns
  into Arrow buffers, pandas wraps them as ArrowDtype columns) and through a polars
  frame (`to_pandas` with Arrow-backed columns, pandas' default, Python string objects
  as pandas < 3 does), each in a fresh process with the resident memory it adds;
- importing great_expectations;
- curate's `run_validation` with a six-expectation suite (text not null, ids unique,
  lang in a set, lang_score ≥ 0.5, label in a set, text length between bounds),
  without and with GX's Data Docs;
- each expectation alone, to see where the time goes.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curate.checks.config import ExpectationsConfig
from curate.checks.validation import run_validation

LANGS = ["en", "fr", "de", "es", "pt", "ru", "nl", "it", "zh", "pl", "ja", "sv", "ar"]
LABELS = ["sports", "science", "politics", "cooking", "technology", "travel", "health", "finance"]
SUITE = [
    {"expect": "column_values_to_not_be_null", "column": "$text"},
    {"expect": "column_values_to_be_unique", "column": "$id"},
    {"expect": "column_values_to_be_in_set", "column": "lang", "value_set": LANGS},
    {"expect": "column_values_to_be_between", "column": "lang_score", "min_value": 0.5, "max_value": 1.0},
    {"expect": "column_values_to_be_in_set", "column": "$label", "value_set": LABELS},
    {"expect": "column_value_lengths_to_be_between", "column": "$text", "min_value": 20, "max_value": 100_000},
]


def make_frame(rows: int) -> pl.DataFrame:
    demo = pl.read_parquet(REPO / "pipelines" / "data" / "demo" / "*.parquet", columns=["text"])["text"].drop_nulls()
    pool = demo.filter(demo.str.len_chars() >= 20)
    n = pool.len()
    i = pl.int_range(rows, eager=True)
    frame = pl.DataFrame({"i": i}).with_columns(
        id=pl.format("doc-{}", pl.col("i").cast(pl.String).str.zfill(8)),
        text=pl.concat_str([pool.gather((i * 7919) % n), pl.lit(" #"), i.cast(pl.String)]),
        lang=pl.Series(LANGS).gather((i * 31) % len(LANGS)),
        lang_score=((i * 2654435761) % 1000).cast(pl.Float64) / 2000 + 0.5,
        label=pl.Series(LABELS).gather((i * 17) % len(LABELS)),
    )
    frame = frame.with_columns(
        text=pl.when(pl.col("i") % 1000 == 7).then(None).otherwise("text"),
        lang=pl.when(pl.col("i") % 200 == 3).then(pl.lit("xx")).otherwise("lang"),
        lang_score=pl.when(pl.col("i") % 500 == 11).then(0.1).otherwise("lang_score"),
        id=pl.when(pl.col("i") < 100).then(pl.format("doc-{}", (pl.col("i") + 1000).cast(pl.String).str.zfill(8))).otherwise("id"),
    )
    return frame.drop("i")


def _curate_read(data: Path, columns: list[str]):
    from curate.checks.validation import read_arrow, to_pandas

    return to_pandas(read_arrow([data], columns))


READS = {
    "curate": _curate_read,  # pyarrow → ArrowDtype columns over the Arrow buffers
    "polars+arrow": lambda data, columns: pl.read_parquet(data, columns=columns).to_pandas(use_pyarrow_extension_array=True),
    "polars+default": lambda data, columns: pl.read_parquet(data, columns=columns).to_pandas(),  # pandas 3: Arrow-backed str
    "polars+objects": lambda data, columns: pl.read_parquet(data, columns=columns).to_pandas().astype(
        {c: object for c in columns if c != "lang_score"}),  # pandas < 3's default: a Python str per value
}


def rss() -> int:
    """Resident memory of this process, bytes (Linux)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(fn):
    gc.collect()
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def _read_cost(name: str, data: Path, columns: list[str]) -> tuple[float, float, str]:
    """Seconds and MiB of resident memory that reading the columns into the pandas frame
    GX gets costs, measured in a fresh process (in this one, memory freed by earlier runs
    would be reused and hide it)."""
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--measure", name, "--data", str(data), "--columns", ",".join(columns)],
                         capture_output=True, text=True, check=True)
    seconds, mib, dtypes = out.stdout.strip().split("\t")
    return float(seconds), float(mib), dtypes


def _measure(name: str, data: Path, columns: list[str]) -> None:
    import pandas  # noqa: F401 - imported before the clock starts, as in a run
    import pyarrow.parquet  # noqa: F401

    gc.collect()
    before = rss()
    frame, seconds = timed(lambda: READS[name](data, columns))
    gc.collect()
    dtypes = ", ".join(sorted(set(frame.dtypes.astype(str))))
    print(f"{seconds}\t{(rss() - before) / 2**20}\t{dtypes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-each", action="store_true", help="skip the per-expectation runs")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--columns", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return _measure(args.measure, args.data, args.columns.split(","))
    work = Path(tempfile.mkdtemp(prefix="curate-bench-validation-"))
    try:
        frame = make_frame(args.rows)
        data = work / "data" / "part-00000.parquet"
        data.parent.mkdir()
        frame.write_parquet(data)
        columns = ["id", "text", "lang", "lang_score", "label"]
        print(f"{args.rows:,} rows, {data.stat().st_size / 2**20:,.0f} MiB Parquet; polars frame {frame.estimated_size() / 2**20:,.0f} MiB "
              f"(text {frame['text'].estimated_size() / 2**20:,.0f} MiB, mean {frame['text'].str.len_bytes().mean():,.0f} bytes); "
              f"best of {args.repeats}")
        del frame
        print("Parquet → the pandas frame GX gets (5 columns; each in a fresh process):")
        for name in READS:
            runs = [_read_cost(name, data, columns) for _ in range(args.repeats)]
            seconds = min(r[0] for r in runs)
            print(f"  {name:<15} {seconds:6.2f} s, +{runs[0][1]:,.0f} MiB resident ({runs[0][2]})")

        os.environ["GX_ANALYTICS_ENABLED"] = "false"
        _, import_s = timed(lambda: __import__("great_expectations"))
        print(f"import great_expectations: {import_s:6.2f} s")

        suites = work / "suites"
        suites.mkdir()
        (suites / "bench.yaml").write_text(yaml.safe_dump({"expectations": SUITE}))
        names = {"output": {"$text": "text", "$id": "id", "$label": "label"}, "input": {}}
        run_validation(work, ExpectationsConfig(output=[str(suites / "bench.yaml")], data_docs=False), names, [data], [])  # warm GX up
        for docs in (False, True):
            config = ExpectationsConfig(output=[str(suites / "bench.yaml")], data_docs=docs)
            runs = [timed(lambda config=config: run_validation(work, config, names, [data], [])) for _ in range(args.repeats)]
            result, total = min(runs, key=lambda r: r[1])
            suite = result["suites"][0]
            steps = ", ".join(f"{k} {v:.2f} s" for k, v in suite["seconds"].items())
            extra = f", data docs {result['data_docs_seconds']:.2f} s" if docs else ""
            print(f"run_validation, 6 expectations, data docs {'on ' if docs else 'off'}: {total:6.2f} s ({steps}{extra})")
        counts = ", ".join(f"{e['expectation'].removeprefix('expect_column_')}={e['unexpected_count']}" for e in suite["expectations"])
        print(f"  unexpected: {counts}")
        if not args.skip_each:
            print("each expectation alone (validate step):")
            for spec in SUITE:
                (suites / "one.yaml").write_text(yaml.safe_dump({"expectations": [spec]}))
                config = ExpectationsConfig(output=[str(suites / "one.yaml")], data_docs=False)
                seconds = min(run_validation(work, config, names, [data], [])["suites"][0]["seconds"]["validate"] for _ in range(args.repeats))
                print(f"  {spec['expect']:<40} {seconds:6.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
