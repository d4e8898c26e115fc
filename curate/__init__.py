"""curate: data-centric dataset curation: Parquet shards in, curated shards and reports out."""

import os

__version__ = "0.1.0"

# polars refuses a fixed-offset time zone such as "+05:30" (valid in Arrow) with a panic
# while reading the schema; curate only carries such a column through, and the values
# and the type arrive unchanged with the check off. Set here, before any polars work,
# so that every worker process (and Ray task) that imports curate has it too.
os.environ.setdefault("POLARS_IGNORE_TIMEZONE_PARSE_ERROR", "1")
