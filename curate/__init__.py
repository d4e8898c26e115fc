"""curate: data-centric dataset curation: Parquet shards in, curated shards and reports out."""

__version__ = "0.1.0"
