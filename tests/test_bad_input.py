"""Bad input gets one clear line naming the file, column or key, a documented exit
code, no traceback, and no output that looks complete.

The corpus is a table: one line per case, `(case, input, exit code, words the message
must hold)`. The input is a small dict read by `make` below:

  rows:    the input shard's columns (default: two texts and a number column `n`)
  table:   a pyarrow table instead of rows (typed columns, binary text)
  input:   keys of the pipeline's `input:` section (text_column, id_column, ...)
  stages:  the pipeline's stages (default: one exact_dedup)
  top:     other top-level pipeline keys (gates, expectations)
  yaml:    the pipeline file's text, as is (replaces the generated one)
  files:   {path in the folder: text or bytes} written after the input (rule files,
           a second shard, a file in the output's place)
  bytes:   {shard file: (old, new)} replaces bytes inside a written shard
  cut:     a shard file cut to half its size
  args:    extra command-line arguments ({folder} is replaced by the case's folder)

Adding a case is adding a line.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
import zstandard
from runs import cli, write_pipeline, write_shards
from typer.testing import CliRunner

from curate.cli import app

CONFIG, INPUT, OUTPUT = 2, 3, 4
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
) + "input: {path: in/*.parquet}\nstages:\n  - stage: exact_dedup\n"
BIG = "input: {path: in/*.parquet}\nstages:\n" + "  - stage: exact_dedup\n" * 50_000
DEEP = "input: {path: in/*.parquet}\nstages: " + "[" * 200 + "]" * 200 + "\n"
RULE = "rules:\n  - name: short\n    metric: word_count\n    keep_if: '>='\n    threshold: 3\n"
TEXTS = ["a good text", "another text"]
LABELLED = {"text": [f"text number {i}" for i in range(6)], "label": ["a", "b"] * 3}
UTF8 = {"text": ["good text", "bad XXtext"], "label": ["x", "y"]}  # XX becomes invalid UTF-8 below
NOISE = [{"stage": "label_noise"}]
JSONL = b"".join(b'{"id": "r%d", "text": "row %d has enough words to keep"}\n' % (i, i) for i in range(20))

CASES: list[tuple[str, dict[str, Any], int, tuple[str, ...]]] = [
    # input files
    ("not parquet", {"files": {"in/shard-001.parquet": "id,text\n1,hello\n"}}, INPUT, ("shard-001.parquet", "not a readable Parquet file", "re-export")),
    ("truncated parquet", {"cut": "shard-000.parquet"}, INPUT, ("shard-000.parquet", "not a readable Parquet file")),
    ("empty file", {"files": {"in/shard-001.parquet": b""}}, INPUT, ("shard-001.parquet", "empty (0 bytes)")),
    ("zero rows", {"rows": {"text": []}}, INPUT, ("zero rows",)),
    ("input matches nothing", {"args": ["--input", "{folder}/missing/*.parquet"]}, INPUT, ("matches no file",)),
    ("mixed schemas", {"files": {"in/shard-001.parquet": pl.DataFrame({"text": ["x"], "n": ["not a number"]})}}, INPUT, ("shard-001.parquet", "column 'n' is large_string, not int64")),
    # JSON Lines: the line, and the key whose values have no one type
    ("JSON Lines not UTF-8", {"files": {"j/a.jsonl": b'{"text": "fine"}\n{"text": "caf\xe9"}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 2: not valid UTF-8 (byte 0xe9)", "save the file as UTF-8")),
    # half of a surrogate pair: the high half alone polars read as NUL, silently; the low half it refused without the line
    ("JSON Lines lone high surrogate", {"files": {"j/a.jsonl": b'{"text": "ok \\ud83d\\ude00 and \\\\ud800 as text"}\n{"text": "Hello \\ud800 world"}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 2: \\ud800 is half of a UTF-16 surrogate pair", "replace the escape with \\ufffd")),
    ("JSON Lines lone high surrogate, nested", {"files": {"j/a.jsonl": b'{"text": "fine", "messages": [{"content": "ok"}]}\n{"text": "b", "messages": [{"content": "hi \\ud83d there"}]}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 2: \\ud83d is half of a UTF-16 surrogate pair",)),
    ("JSON Lines lone low surrogate", {"files": {"j/a.jsonl": b'{"text": "fine"}\n{"text": "lo \\udc00 x"}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 2: \\udc00 is half of a UTF-16 surrogate pair",)),
    ("JSON Lines number and list", {"files": {"j/a.jsonl": '{"text": "a", "m": [1]}\n{"text": "b", "m": 5}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 2: key 'm' is a number here but a list on line 1", "one type in every line")),
    ("JSON Lines true among numbers", {"files": {"j/a.jsonl": '{"text": "a", "m": 1}\n{"text": "b", "m": 1.5}\n{"text": "c", "m": true}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("line 3: key 'm' is true/false here but a number on line 1",)),
    ("JSON Lines list among strings", {"files": {"j/a.jsonl": '{"text": "[1] a"}\n{"text": "b"}\n{"text": ["c", "d"]}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("line 3: key 'text' is a list here but a string on line 2",)),
    ("JSON Lines object among strings", {"files": {"j/a.jsonl": '{"text": "a", "meta": "x"}\n{"text": "b", "meta": {"k": 1}}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("line 2: key 'meta' is an object here but a string on line 1",)),
    # what Python's json reads but JSON has not: the line and what is wrong with it
    ("JSON Lines NaN", {"files": {"j/a.jsonl": '{"text": "a", "m": 1.5}\n{"text": "b", "m": NaN}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 2: not JSON (NaN is not a JSON number)",)),
    ("JSON Lines 1e400", {"files": {"j/a.jsonl": '{"text": "a", "m": 1.5}\n{"text": "b", "m": 1e400}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 2: not JSON (the number 1e400 is beyond the range of a 64-bit float)",)),
    ("JSON Lines in UTF-16", {"files": {"j/a.jsonl": '{"text": "a"}\n{"text": "b"}\n'.encode("utf-16")}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 1: NUL bytes: the file looks UTF-16 or UTF-32, not UTF-8",)),
    ("JSON array over lines", {"files": {"j/a.json": '[\n  {"text": "a"},\n  {"text": "b"}\n]\n'}, "args": ["--input", "{folder}/j/a.json"]}, INPUT, ("a.json, line 1: a JSON array spread over lines", "one object per line")),
    # integers decimal(38, 0) cannot hold: within polars' Int128, and beyond it
    ("JSON Lines integer of 39 digits", {"files": {"j/a.jsonl": '{"text": "a", "m": {"k": 1}}\n{"text": "b", "m": {"k": 150000000000000000000000000000000000000}}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 2: key 'm.k' holds an integer of 39 digits", "write it as a string")),
    ("JSON Lines integer of 40 digits", {"files": {"j/a.jsonl": '{"text": "a", "k": 1}\n{"text": "b", "k": -1000000000000000000000000000000000000000}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 2: key 'k' holds an integer of 40 digits",)),
    ("JSON Lines empty object", {"files": {"j/a.jsonl": '{"text": "a", "meta": {}}\n{"text": "b", "meta": null}\n{"text": "c", "meta": {}}\n'}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT, ("a.jsonl, line 1: key 'meta' is an empty object ({}) here and wherever it is an object in lines 1-3", "write null for it")),
    ("CSV not UTF-8", {"files": {"c/a.csv": b"id,text\n1,hello world\n2,caf\xe9 au lait\n"}, "args": ["--input", "{folder}/c/a.csv"]}, INPUT, ("a.csv: column 'text', row 2 (after the header) is not valid UTF-8", "save the file as UTF-8")),
    ("CSV header not UTF-8", {"files": {"c/a.csv": b"id,t\xe9xt,text\n1,x,hello world\n"}, "args": ["--input", "{folder}/c/a.csv"]}, INPUT, ("a.csv: the header line is not valid UTF-8 (byte 0xe9)", "save the file as UTF-8")),
    # a trailing separator, or pandas' unnamed index: polars renamed it column_N (and crashed where that name was taken)
    ("CSV column without a name", {"files": {"c/a.csv": "column_2,text,\nx,hello world,\n"}, "args": ["--input", "{folder}/c/a.csv"]}, INPUT, ("a.csv: column 3 of the header line has no name", "to_csv(index=False)")),
    ("CSV gzip cut short", {"files": {"c/a.csv.gz": gzip.compress(b"id,text\n" + b"".join(b"%d,row number %d\n" % (i, i) for i in range(5000)))[:3000]}, "args": ["--input", "{folder}/c/a.csv.gz"]}, INPUT, ("a.csv.gz: cannot decompress or read it (", "the file may be truncated or not gzip")),
    # compressed bytes under a name without the suffix: a small gzip CSV (no line break in its bytes) was an empty file, 0 rows and exit 0
    ("CSV gzip named .csv", {"files": {"c/a.csv": gzip.compress(b"id,text\nb1,hello there world\n", mtime=0)}, "args": ["--input", "{folder}/c"]}, INPUT,
     ("c/a.csv: the file is gzip-compressed (its first bytes say so), but its name does not end in .gz; rename it a.csv.gz or decompress it",)),
    ("JSON Lines zstd named .jsonl", {"files": {"j/a.jsonl": zstandard.ZstdCompressor().compress(JSONL)}, "args": ["--input", "{folder}/j/a.jsonl"]}, INPUT,
     ("a.jsonl: the file is zstd-compressed", "does not end in .zst; rename it a.jsonl.zst")),
    ("JSON Lines bz2 named .json", {"files": {"j/a.json": bz2.compress(JSONL)}, "args": ["--input", "{folder}/j/a.json"]}, INPUT, ("a.json: the file is bz2-compressed", "rename it a.json.bz2")),
    ("TSV xz named .tsv", {"files": {"t/a.tsv": lzma.compress(b"id\ttext\n1\thello world\n")}, "args": ["--input", "{folder}/t/a.tsv"]}, INPUT, ("a.tsv: the file is xz-compressed", "rename it a.tsv.xz")),
    # Feather V1 (pandas before 1.0, R's feather) is not Arrow IPC: pyarrow said "Expected to read 826361158 metadata bytes"
    ("Feather V1", {"files": {"f/a.feather": b"FEA1" + bytes(64) + b"FEA1"}, "args": ["--input", "{folder}/f/a.feather"]}, INPUT, ("a.feather: a Feather V1 file", "Feather V2 (pyarrow.feather.write_feather")),
    ("CSV with a column name twice", {"files": {"c/a.csv": "id,text,text\n1,hello world,other\n"}, "args": ["--input", "{folder}/c/a.csv"]}, INPUT, ("a.csv: column 'text' appears 2 times", "give every column its own name")),
    ("Parquet text column twice", {"table": pa.Table.from_arrays([pa.array(["a"]), pa.array(["x"])], names=["text", "text"])}, INPUT, ("shard-000.parquet: column 'text' appears 2 times",)),
    ("Parquet column name twice", {"table": pa.Table.from_arrays([pa.array(["a"]), pa.array([1]), pa.array([2])], names=["text", "n", "n"])}, INPUT, ("shard-000.parquet: column 'n' appears 2 times",)),
    # named columns
    ("missing text column", {"input": {"text_column": "body"}}, INPUT, ("no column 'body'", "input.text_column", "columns are: text, n")),
    ("missing label column", {"input": {"label_column": "label"}}, INPUT, ("no column 'label'", "input.label_column")),
    ("text column not string", {"input": {"text_column": "n"}}, INPUT, ("text column 'n' has type int64, not string",)),
    ("binary text column", {"table": pa.table({"text": pa.array([b"abc"], pa.binary())})}, INPUT, ("binary: decode it to UTF-8",)),
    ("Parquet text column of type null", {"table": pa.table({"text": pa.nulls(2)})}, INPUT, ("text column 'text' has type null (every value is null, and the file says no type); write it as string",)),
    ("id column is the text column", {"input": {"id_column": "text"}}, CONFIG, ("line 3", "input.id_column: text_column and id_column both name column 'text'")),
    ("label column is the text column", {"input": {"label_column": "text"}}, CONFIG, ("text_column and label_column both name column 'text'",)),
    # invalid UTF-8: the real column, file and row
    ("invalid UTF-8 in the text", {"rows": UTF8, "bytes": {"shard-000.parquet": (b"XX", b"\xff\xfe")}}, INPUT, ("shard-000.parquet", "column 'text', row 1", "not valid UTF-8")),
    ("invalid UTF-8 in another column", {"rows": {"text": ["good", "fine"], "label": ["x", "bXXb"]}, "bytes": {"shard-000.parquet": (b"XX", b"\xff\xfe")}}, INPUT, ("shard-000.parquet", "column 'label', row 1", "not valid UTF-8")),
    ("invalid UTF-8 in the id column", {"rows": {"text": ["good", "fine"], "id": ["a", "bXXb"]}, "input": {"id_column": "id"}, "bytes": {"shard-000.parquet": (b"XX", b"\xff\xfe")}}, INPUT, ("column 'id', row 1", "not valid UTF-8")),
    ("invalid UTF-8 in the labels", {"rows": {"text": ["good", "fine"], "label": ["a", "bXXb"]}, "input": {"label_column": "label"}, "stages": NOISE, "bytes": {"shard-000.parquet": (b"XX", b"\xff\xfe")}}, INPUT, ("column 'label', row 1", "not valid UTF-8")),
    # column names curate or a stage would write over
    ("input has curate_source", {"rows": {"text": TEXTS, "curate_source": ["x", "y"]}}, INPUT, ("'curate_source' would be overwritten", "rename the input column", "docs/run-layout.md")),
    ("input has curate_id", {"rows": {"text": TEXTS, "curate_id": ["x", "y"]}}, INPUT, ("'curate_id' would be overwritten", "input.id_column: curate_id")),
    ("input has curate_reason", {"rows": {"text": TEXTS, "curate_reason": ["x", "y"]}}, INPUT, ("'curate_reason' would be overwritten",)),
    ("input has curate_stage", {"rows": {"text": TEXTS, "curate_stage": ["x", "y"]}}, INPUT, ("'curate_stage' would be overwritten",)),
    # the column curate numbers rows in while it reads a shard: it was overwritten, then dropped with the user's values
    ("input has __curate_row", {"rows": {"text": TEXTS, "__curate_row": ["mine-a", "mine-b"]}}, INPUT, ("'__curate_row' would be overwritten", "rename the input column")),
    ("CSV input has __curate_row", {"files": {"c/a.csv": "__curate_row,text\nmine-a,one two three\n"}, "args": ["--input", "{folder}/c/a.csv"]}, INPUT, ("a.csv: input column '__curate_row' would be overwritten",)),
    # the column an annotate-mode stage's flags go with their rows in until they are counted
    ("input has __curate_flag_0", {"rows": {"text": TEXTS, "__curate_flag_0": ["mine-a", "mine-b"]}}, INPUT, ("'__curate_flag_0' would be overwritten", "rename the input column")),
    # the prefix of every working column (a stage's private ones, which ride beside the input's columns)
    ("input has __curate_line_dedup_drop", {"rows": {"text": TEXTS, "__curate_line_dedup_drop": ["x", "y"]}, "stages": [{"stage": "line_dedup"}]}, INPUT,
     ("'__curate_line_dedup_drop' would be overwritten", "working columns", "start with __curate_", "rename the input column")),
    ("input has text_chars", {"rows": {"text": TEXTS, "text_chars": [1, 2]}, "stages": [{"stage": "length_filter"}]}, INPUT, ("'text_chars'", "stage 'length_filter'", "rename the input column")),
    ("input has dup_of", {"rows": {"text": TEXTS, "dup_of": ["x", "y"]}}, INPUT, ("'dup_of'", "stage 'exact_dedup'")),
    ("input has lang", {"rows": {"text": TEXTS, "lang": ["x", "y"]}, "stages": [{"stage": "langid"}]}, INPUT, ("'lang'", "stage 'langid'", "`column:` option")),
    ("input has quality_reasons", {"rows": {"text": TEXTS, "quality_reasons": ["x", "y"]}, "stages": [{"stage": "quality"}]}, INPUT, ("'quality_reasons'", "`name:` option")),
    ("input has clean_text", {"rows": {"text": TEXTS, "clean_text": ["x", "y"]}, "stages": [{"stage": "clean"}]}, INPUT, ("'clean_text'", "stage 'clean'", "`name:` option")),
    ("input has line_dedup_lines_removed", {"rows": {"text": TEXTS, "line_dedup_lines_removed": [1, 2]}, "stages": [{"stage": "line_dedup"}]}, INPUT, ("'line_dedup_lines_removed'", "`name:` option")),
    ("input has label_issue", {"rows": {**LABELLED, "label_issue": [True] * 6}, "input": {"label_column": "label"}, "stages": NOISE}, INPUT, ("'label_issue'", "stage 'label_noise'")),
    # ids
    ("duplicate ids", {"rows": {"text": TEXTS * 2, "id": ["a", "b", "a", "c"]}, "input": {"id_column": "id"}}, INPUT, ("input.id_column 'id'", "2 rows share an id", "'a' at shard-000.parquet#0 and shard-000.parquet#2", "input.bad_ids: row_ids", "input.bad_ids: keep")),
    ("null ids", {"rows": {"text": TEXTS, "id": ["a", None]}, "input": {"id_column": "id"}}, INPUT, ("1 rows have a null id", "shard-000.parquet#1", "input.bad_ids: row_ids", "input.bad_ids: keep")),
    # labels for label_noise
    ("label_noise without a label column", {"stages": NOISE}, CONFIG, ("needs a label column", "input.label_column")),
    ("all-null labels", {"rows": {"text": TEXTS, "label": [None, None]}, "input": {"label_column": "label"}, "stages": NOISE}, INPUT, ("no labels (every value is null)", "at least two classes")),
    ("single-class labels", {"rows": {"text": TEXTS, "label": ["spam", "spam"]}, "input": {"label_column": "label"}, "stages": NOISE}, INPUT, ("one class ('spam') in all 2 labelled rows", "at least two classes")),
    ("float labels", {"rows": {"text": TEXTS, "label": [0.0, 1.0]}, "input": {"label_column": "label"}, "stages": NOISE}, INPUT, ("label column 'label' is Float64", "cast the column")),
    # the pipeline file
    ("missing pipeline file", {"yaml": None}, CONFIG, ("nope.yaml", "not found")),
    ("malformed YAML", {"yaml": "input:\n  path: [in/*.parquet\nstages:\n  - stage: exact_dedup\n"}, CONFIG, ("pipeline.yaml, line", "malformed YAML")),
    ("YAML alias bomb", {"yaml": BOMB}, CONFIG, ("line 1", "anchors and aliases (&a, *a) are not accepted")),
    ("YAML alias", {"yaml": "x: &s {stage: exact_dedup}\ninput: {path: in/*.parquet}\nstages: [*s]\n"}, CONFIG, ("line 1", "anchors and aliases")),
    ("YAML anchor alone", {"yaml": "input: &i {path: in/*.parquet}\nstages: [{stage: exact_dedup}]\n"}, CONFIG, ("line 1", "anchors and aliases (&i, *i)")),
    ("pipeline file over 1 MB", {"yaml": BIG}, CONFIG, ("pipeline file is 1,150,0", "at most 1,000,000 bytes (1 MB)")),
    ("nested too deep", {"yaml": DEEP}, CONFIG, ("line 2", "nested more than 100 levels")),
    ("duplicate key", {"yaml": "input: {path: in/*.parquet}\nstages:\n  - stage: length_filter\n    min_words: 2\n    min_words: 5\n"}, CONFIG, ("line 5", "key 'min_words' is given twice (lines 4 and 5)")),
    ("duplicate top-level key", {"yaml": "input: {path: in/*.parquet}\nstages: [{stage: exact_dedup}]\ninput: {path: x}\n"}, CONFIG, ("key 'input' is given twice (lines 1 and 3)",)),
    ("unknown stage", {"stages": [{"stage": "exact_dedup"}, {"stage": "fuzzy_dedup"}]}, CONFIG, ("line 6", "stages[1].stage", "unknown stage 'fuzzy_dedup'", "valid stages: clean, exact_dedup")),
    ("unknown key", {"stages": [{"stage": "length_filter", "min_char": 3}]}, CONFIG, ("stages[0].min_char", "unknown key", "valid keys:", "min_chars")),
    ("wrong type", {"stages": [{"stage": "length_filter", "min_chars": "many"}]}, CONFIG, ("stages[0].min_chars", "valid integer", "'many'")),
    ("min_words above max_words", {"stages": [{"stage": "length_filter", "min_words": 9, "max_words": 3}]}, CONFIG, ("stages[0]", "min_words (9) is greater than max_words (3)")),
    ("min_chars above max_chars", {"stages": [{"stage": "length_filter", "min_chars": 50, "max_chars": 10}]}, CONFIG, ("min_chars (50) is greater than max_chars (10)",)),
    ("langid min_chars above max_chars", {"stages": [{"stage": "langid", "min_chars": 50, "max_chars": 10}]}, CONFIG, ("min_chars (50) is greater than max_chars (10)",)),
    ("gate names no stage", {"top": {"gates": {"max_removed_fraction_by_stage": {"nope": 0}}}}, CONFIG, ("gates.max_removed_fraction_by_stage.nope", "no stage is named 'nope'")),
    # rule and suite files
    ("rule file with an alias", {"files": {"r.yaml": "t: &t 3\n" + RULE.replace("threshold: 3", "threshold: *t")}, "stages": [{"stage": "quality", "rules": ["r.yaml"]}]}, CONFIG, ("r.yaml, line 1", "anchors and aliases")),
    ("rule file with a duplicate key", {"files": {"r.yaml": RULE + "    threshold: 4\n"}, "stages": [{"stage": "quality", "rules": ["r.yaml"]}]}, CONFIG, ("r.yaml, line 6", "key 'threshold' is given twice (lines 5 and 6)")),
    ("rule file not UTF-8", {"files": {"r.yaml": RULE.encode().replace(b"rules:", b"# caf\xe9\nrules:")}, "stages": [{"stage": "quality", "rules": ["r.yaml"]}]}, CONFIG, ("r.yaml, line 1: not UTF-8 text (byte 0xe9)", "save the rule file as UTF-8")),
    ("true for a number", {"stages": [{"stage": "length_filter", "min_words": True}]}, CONFIG, ("stages[0].min_words: a number, not true/false",)),
    # inside a mapping, a list or a nested option pydantic read them as 1.0 too: {en: yes} removed almost every English row
    ("true for a number in a mapping", {"yaml": "input: {path: in/*.parquet}\nstages:\n  - stage: langid\n    min_score_by_lang: {de: 0.4, en: yes}\n"}, CONFIG,
     ("line 4", "stages[0].min_score_by_lang: en: a number, not true/false (got True)")),
    ("true for a number in a list", {"stages": [{"stage": "near_dedup", "weights": [True, False]}]}, CONFIG, ("stages[0].weights: [0]: a number, not true/false (got True)",)),
    ("true for a number in a nested option", {"stages": [{"stage": "slices", "numeric": {"text_chars": {"edges": [100, True]}}}]}, CONFIG,
     ("stages[0].numeric: text_chars.edges[1]: a number, not true/false (got True)",)),
    ("rule file over 1 MB", {"files": {"r.yaml": RULE + "#" * 1_000_001}, "stages": [{"stage": "quality", "rules": ["r.yaml"]}]}, CONFIG, ("r.yaml", "rule file is 1,000,0", "at most 1,000,000 bytes")),
    ("suite file with an alias", {"files": {"s.yaml": "expectations:\n  - &e {expect: column_values_to_not_be_null, column: text}\n  - *e\n"}, "top": {"expectations": ["s.yaml"]}}, CONFIG, ("s.yaml, line 2", "anchors and aliases")),
    ("pipeline is not a mapping", {"yaml": "- stage: exact_dedup\n"}, CONFIG, ("a pipeline file is a mapping",)),
    ("no stages", {"yaml": "input: {path: in/*.parquet}\nstages: []\n"}, CONFIG, ("line 2", "needs a list of at least one stage")),
    ("stage name used twice", {"stages": [{"stage": "exact_dedup"}, {"stage": "length_filter", "name": "exact_dedup"}]}, CONFIG, ("stages[1].name", "used twice")),
    ("decimal of 40 digits", {"table": pa.table({"text": ["a b"], "d": pa.array([1], pa.decimal256(40, 2))})}, INPUT, ("shard-000.parquet: column 'd' has type decimal256(40, 2)", "at most 38 digits")),
    ("id column of lists", {"table": pa.table({"text": ["a b", "c d"], "id": pa.array([[1], [2]])}), "input": {"id_column": "id"}}, INPUT, ("shard-000.parquet: id column 'id' has type list<", "one string or number a row")),
    ("id column missing", {"input": {"id_column": "nope"}}, INPUT, ("no column 'nope'", "input.id_column")),
    ("input directory without data files", {"files": {"notes/readme.txt": "not data\n"}, "args": ["--input", "{folder}/notes"]}, INPUT, ("holds no supported file", "check the path")),
    ("unknown language code", {"stages": [{"stage": "langid", "keep": ["eng"]}]}, CONFIG, ("eng (did you mean en", "not a language code")),
    ("unknown rule set", {"stages": [{"stage": "quality", "rules": ["gopher_qualty"]}]}, CONFIG, ("rule set 'gopher_qualty' not found", "gopher_quality")),
    ("label gate without label_noise", {"top": {"gates": {"max_label_issue_rate": 0.1}}}, CONFIG, ("gates.max_label_issue_rate", "needs a label_noise stage")),
    ("near_dedup bands without rows", {"stages": [{"stage": "near_dedup", "bands": 8}]}, CONFIG, ("give both bands and rows",)),
    ("suite file with a duplicate key", {"files": {"s.yaml": "expectations:\n  - expect: column_values_to_not_be_null\n    column: text\n    column: n\n"}, "top": {"expectations": ["s.yaml"]}}, CONFIG, ("s.yaml, line 4", "key 'column' is given twice (lines 3 and 4)")),
    # the output directory
    ("output is a file", {"files": {"run": "not a directory"}}, OUTPUT, ("exists and is not a directory", "--output")),
    ("output below a file", {"files": {"blocker": ""}, "args": ["--output", "{folder}/blocker/run"]}, OUTPUT, ("a parent of it is a file",)),
]


def make(folder: Path, spec: dict[str, Any]) -> tuple[Path, list[str]]:
    """Write a case's input and pipeline; return the pipeline path and extra arguments."""
    if "table" in spec:
        (folder / "in").mkdir()
        pq.write_table(spec["table"], folder / "in" / "shard-000.parquet", compression="none", use_dictionary=False)
    else:
        rows = spec.get("rows", {"text": TEXTS, "n": [1, 2]})
        frame = pl.DataFrame(rows, schema={"text": pl.String} if rows == {"text": []} else None)
        (folder / "in").mkdir()
        frame.write_parquet(folder / "in" / "shard-000.parquet", compression="uncompressed", statistics=False)
    for name, (old, new) in spec.get("bytes", {}).items():
        path = folder / "in" / name
        assert old in path.read_bytes()
        path.write_bytes(path.read_bytes().replace(old, new))
    if "cut" in spec:
        path = folder / "in" / spec["cut"]
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for name, content in spec.get("files", {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, pl.DataFrame):
            content.write_parquet(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    if "yaml" in spec:
        pipeline = folder / "pipeline.yaml" if spec["yaml"] is not None else folder / "nope.yaml"
        if spec["yaml"] is not None:
            pipeline.write_text(spec["yaml"])
    else:
        pipeline = write_pipeline(folder, spec.get("stages", [{"stage": "exact_dedup"}]), **spec.get("input", {}))
        if "top" in spec:
            pipeline.write_text(yaml.safe_dump({**yaml.safe_load(pipeline.read_text()), **spec["top"]}, sort_keys=False))
    return pipeline, [a.replace("{folder}", str(folder)) for a in spec.get("args", [])]


def assert_one_clear_line(stderr: str, code: int, returned: int, needles: tuple[str, ...], folder: Path, quiet: bool = True) -> None:
    """One error line (with --quiet the only line; without it, after the progress lines
    of work that ran before the error was found)."""
    lines = stderr.strip().splitlines()
    assert returned == code, stderr
    assert len(lines) == 1 if quiet else [line for line in lines if "error" in line] == lines[-1:], stderr
    lines = lines[-1:]
    assert "Traceback" not in stderr and lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert not (folder / "run" / "manifest.json").exists()
    assert not (folder / "run" / "data").exists() and not (folder / "run" / "removed").exists()


@pytest.mark.parametrize("case, spec, code, needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_corpus(tmp_path, case, spec, code, needles):
    """Each case through the CLI in this process (the same code as `curate run`, without
    an interpreter start per case)."""
    pipeline, args = make(tmp_path, spec)
    result = CliRunner().invoke(app, ["run", str(pipeline), "--quiet", *args], catch_exceptions=False)
    assert_one_clear_line(result.stderr, code, result.exit_code, needles, tmp_path)


def test_the_corpus_covers_every_exit_code_and_many_cases():
    assert {code for *_, code, _ in CASES} == {CONFIG, INPUT, OUTPUT}
    assert len(CASES) >= 50 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", ["YAML alias bomb", "invalid UTF-8 in another column"])
def test_the_real_command_line_gives_the_same_line(tmp_path, case):
    _, spec, code, needles = next(c for c in CASES if c[0] == case)
    pipeline, args = make(tmp_path, spec)
    result = cli("run", str(pipeline), *args, timeout=60)
    assert_one_clear_line(result.stderr, code, result.returncode, needles, tmp_path, quiet=False)


@pytest.mark.parametrize("case", ["pipeline file over 1 MB", "input has text_chars", "single-class labels", "output is a file"])
def test_json_log_gives_one_error_event(tmp_path, case):
    _, spec, code, needles = next(c for c in CASES if c[0] == case)
    pipeline, args = make(tmp_path, spec)
    result = CliRunner().invoke(app, ["run", str(pipeline), "--log-format", "json", *args])
    events = [json.loads(line) for line in result.stderr.strip().splitlines()]
    assert result.exit_code == code and [e["event"] for e in events] == ["error"] and events[0]["exit_code"] == code
    assert all(needle in events[0]["message"] for needle in needles), events[0]["message"]


def test_check_refuses_what_run_refuses(tmp_path):
    pipeline, _ = make(tmp_path, next(c for c in CASES if c[0] == "YAML alias bomb")[1])
    result = CliRunner().invoke(app, ["check", str(pipeline)])
    assert result.exit_code == CONFIG and "anchors and aliases" in result.stderr


@pytest.mark.parametrize("case", ["CSV header not UTF-8", "CSV column without a name", "CSV gzip named .csv", "JSON Lines zstd named .jsonl"])
def test_check_refuses_a_csv_header_as_run_does(tmp_path, case):
    _, spec, code, needles = next(c for c in CASES if c[0] == case)
    pipeline, args = make(tmp_path, spec)
    result = CliRunner().invoke(app, ["check", str(pipeline), *args])
    assert result.exit_code == code and all(needle in result.stderr for needle in needles), result.stderr


@pytest.mark.parametrize("case", ["duplicate ids", "null ids", "single-class labels", "all-null labels"])
def test_check_refuses_the_input_values_run_refuses_before_any_work(tmp_path, case):
    # a scheduler gating on `curate check` must not get 0, then 3 from the run
    _, spec, code, needles = next(c for c in CASES if c[0] == case)
    pipeline, args = make(tmp_path, spec)
    ran = CliRunner().invoke(app, ["run", str(pipeline), "--quiet", *args])
    checked = CliRunner().invoke(app, ["check", str(pipeline), *args])
    assert (checked.exit_code, checked.stderr) == (code, ran.stderr.replace("error: ", f"error: {pipeline}: ", 1)), checked.stderr
    assert all(needle in checked.stderr for needle in needles)


def test_check_finds_bad_ids_and_one_class_labels_at_once_and_takes_bad_ids_row_ids(tmp_path):
    write_shards(tmp_path, [pl.DataFrame({"text": ["a first text", "a second text", "a third text"], "id": ["x", "y", "x"], "label": ["spam"] * 3})])
    pipeline = write_pipeline(tmp_path, [{"stage": "label_noise"}], id_column="id", label_column="label")
    checked = CliRunner().invoke(app, ["check", str(pipeline)])
    assert checked.exit_code == INPUT and [line.split(": ", 3)[2] for line in checked.stderr.splitlines()] == ["input.id_column 'id'", "stage 'label_noise'"]
    assert "2 rows share an id with another row (first: 'x' at shard-000.parquet#0 and shard-000.parquet#2)" in checked.stderr
    assert "label column 'label' has one class ('spam') in all 3 labelled rows" in checked.stderr
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(pipeline.read_text().replace("label_column: label", "label_column: label\n  bad_ids: row_ids"))
    write_shards(tmp_path, [pl.DataFrame({"text": ["a first text", "a second text", "a third text"], "id": ["x", "y", "x"], "label": ["spam", "ham", "spam"]})])
    assert CliRunner().invoke(app, ["check", str(fixed)]).stdout == f"{fixed}: ok (1 stage: label_noise)\n"


def test_null_and_empty_texts_are_handled_not_fatal(tmp_path):
    write_shards(tmp_path, [pl.DataFrame({"text": [None, "", None, "fine text"]}, schema={"text": pl.String})])
    result = cli("run", str(write_pipeline(tmp_path, [{"stage": "length_filter"}, {"stage": "exact_dedup"}])), "-q")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "manifest.json").exists()


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_bad_ids_row_ids_falls_back_to_curate_ids(tmp_path, suffix):
    rows = pl.DataFrame({"text": ["one text", "two text", "one text"], "id": ["a", "a", None]})
    (tmp_path / "in").mkdir()
    rows.write_parquet(tmp_path / "in" / "shard-000.parquet") if suffix == "parquet" else rows.write_ndjson(tmp_path / "in" / "shard-000.jsonl")
    pipeline = write_pipeline(tmp_path, [{"stage": "exact_dedup"}], id_column="id", bad_ids="row_ids")
    pipeline.write_text(pipeline.read_text().replace("in/*.parquet", f"in/*.{suffix}"))
    result = CliRunner().invoke(app, ["run", str(pipeline), "-q"])
    assert result.exit_code == 0, result.stderr
    kept = pl.read_parquet(tmp_path / "run" / "data" / "part-00000.parquet")
    removed = pl.read_parquet(tmp_path / "run" / "removed" / "exact_dedup" / "part-00000.parquet")
    assert kept["id"].to_list() == ["a", "a"] and kept["curate_id"].to_list() == [f"shard-000.{suffix}#0", f"shard-000.{suffix}#1"]
    assert removed["dup_of"].to_list() == [f"shard-000.{suffix}#0"]  # the survivor, unambiguous
    # the manifest says what ran, whatever the input's format (a converted input's ids are
    # checked once the run directory exists): the review tools look rows up by curate_id
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["pipeline"]["input"]["id_column"] is None
    shown = CliRunner().invoke(app, ["show", str(tmp_path / "run"), "--id", f"shard-000.{suffix}#2"])
    assert shown.exit_code == 0 and "exact_dedup" in shown.stdout, shown.stderr
    again = CliRunner().invoke(app, ["run", str(pipeline)])
    assert again.exit_code == 0 and "already holds this run, finished" in " ".join(again.stderr.split())


UNREADABLE = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
"""How a test runs curate so that a file of mode 000 is unreadable to it: as root, without
the capabilities that let root read any file."""


@pytest.mark.skipif(bool(UNREADABLE) and shutil.which("setpriv") is None, reason="root reads every file, and setpriv is not here to drop that")
@pytest.mark.parametrize("command", ["check", "run"])
def test_an_input_file_curate_cannot_read_is_named_before_any_output(tmp_path, command):
    """A part another user wrote with mode 600: pyarrow's PermissionError named no file and
    was taken for the output directory's (exit 4, "choose another --output")."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part-0.jsonl").write_text('{"id": "a0", "text": "a readable row of text"}\n')
    locked = tmp_path / "in" / "part-1.jsonl"
    locked.write_text('{"id": "b0", "text": "a row nobody may read"}\n')
    locked.chmod(0)
    pipeline = write_pipeline(tmp_path, [{"stage": "exact_dedup"}], path="in", id_column="id")
    quiet = ["-q"] if command == "run" else []
    result = subprocess.run([*UNREADABLE, sys.executable, "-m", "curate", command, str(pipeline), *quiet], capture_output=True, text=True, timeout=120, check=False)
    named = f"{pipeline}: " if command == "check" else ""  # check names the pipeline file too
    assert result.returncode == INPUT, result.stderr
    assert result.stderr.strip() == f"error: {named}{locked}: permission denied, curate cannot read it; fix its permissions or remove it from the input"
    assert not (tmp_path / "run").exists()


def test_debug_shows_the_traceback_and_keeps_the_exit_code(tmp_path):
    pipeline, _ = make(tmp_path, {"files": {"in/shard-001.parquet": b""}})
    result = cli("run", str(pipeline), "--debug")
    # an input error stays exit 3 (1 is curate's own bugs), its line after the traceback
    assert result.returncode == INPUT and "Traceback" in result.stderr and result.stderr.rstrip().splitlines()[-1].startswith("error: ")


def test_both_yaml_parsers_read_the_shipped_files_alike():
    """strict_yaml reads through libyaml when the text allows (curate/strict_yaml.py): the
    data and the node tree's lines (which locate errors) equal the pure-Python loader's."""
    from curate import strict_yaml

    root = Path(__file__).resolve().parent.parent
    files = sorted((root / "rules").glob("*.yaml")) + sorted((root / "pipelines").glob("*.yaml"))
    assert len(files) >= 7
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = strict_yaml._fast_node(text, path.name)
        assert fast is not None, path
        loader = strict_yaml._StrictLoader(text)
        node = loader.get_single_node()
        assert fast[0] == loader.construct_document(node), path
        assert _lines(fast[1]) == _lines(node), path


def _lines(node: yaml.Node) -> list[tuple[int, int]]:
    stack, out = [node], []
    while stack:
        current = stack.pop()
        out.append((current.start_mark.line, current.start_mark.column))
        if isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            stack.extend(child for pair in current.value for child in pair)
    return out
