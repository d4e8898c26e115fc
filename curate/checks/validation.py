"""Validation suites (curate/checks/suites.py) run with great-expectations (GX 1.x) on a run's
output and input.

They run when the run's data is in place, through an ephemeral GX context (nothing is
written to a GX project, GX analytics are off, nothing goes to the network). The frame
GX sees is built from only the columns the suites name: Parquet → Arrow (pyarrow) →
pandas with ArrowDtype columns that wrap the Arrow buffers: one copy of the data in
memory, no Python object per value (bench/validation.py measures the alternatives). Results go to
`reports/validation.json`; with `data_docs: true`, GX's own Data Docs go to
`reports/data_docs/` (they load their scripts and CSS from CDNs; curate's report.html
does not).
"""

from __future__ import annotations

import html
import math
import os
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.checks.config import ExpectationsConfig
from curate.checks.suites import Expectation, Suite, load_suite
from curate.errors import first_line

DATA_DOCS = "reports/data_docs"
RESULTS = "reports/validation.json"
SAMPLE_VALUES = 10
SAMPLE_CHARS = 200
PLACEHOLDERS = ("$text", "$id", "$label")
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


def placeholder_columns(spec: Any) -> dict[str, dict[str, str | None]]:
    """What `$text`, `$id` and `$label` name in each target, from the pipeline's `input:`
    section (`spec`): in the output `$id` is curate's own `curate_id` when the input names
    no id column. None: the target has no such column (its expectations are skipped)."""
    return {
        "output": {"$text": spec.text_column, "$id": spec.id_column or "curate_id", "$label": spec.label_column},
        "input": {"$text": spec.text_column, "$id": spec.id_column, "$label": spec.label_column},
    }


def _substitute(value: Any, columns: dict[str, str | None]) -> Any:
    if isinstance(value, str) and value in columns:
        return columns[value]
    if isinstance(value, list):
        return [_substitute(v, columns) for v in value]
    return value


def columns_used(kwargs: dict[str, Any]) -> list[Any]:
    """The columns an expectation names (`column`, `column_A`, `column_B`, `column_list`)."""
    used = [kwargs[k] for k in _COLUMN_KWARGS if k in kwargs]
    for k in _COLUMN_LIST_KWARGS:
        used += list(kwargs.get(k) or [])
    return used


# ------------------------------------------------------------------------------ running


def _jsonable(value: Any) -> Any:
    """GX result values (numpy scalars, NA, long texts) as plain JSON."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (str, int, bool)) or value is None:
        return value if not isinstance(value, str) else (value if len(value) <= SAMPLE_CHARS else value[:SAMPLE_CHARS] + "…")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return _jsonable(item())
        except (TypeError, ValueError):
            pass
    text = str(value)
    return None if text in ("<NA>", "nan", "NaT", "None") else _jsonable(text)


def _error_text(exception_info: Any) -> str | None:
    """GX keeps an expectation's exception either flat or keyed by metric; one line out."""
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info or "exception_message" in exception_info else list(exception_info.values())
    for info in infos:
        if isinstance(info, dict) and (info.get("raised_exception") or info.get("exception_message")):
            message = str(info.get("exception_message") or "error").strip().splitlines()
            return message[-1] if message else "error"
    return None


def _import_gx():
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import logging

    import great_expectations as gx

    # GX logs its own rendering problems on stderr; with --log-format json stderr carries
    # only curate's JSON lines. What matters is in the results.
    logging.getLogger("great_expectations").setLevel(logging.CRITICAL + 1)
    return gx


def _escaped(value: Any) -> Any:
    """Every string HTML-escaped: GX's Data Docs put values from the data (unexpected
    values, observed values, messages) and from the suites (column names, value sets,
    regexes) into their pages unescaped."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_escaped(v) for v in value)
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


ESCAPED_BY_GX = ("value_set", "regex")
"""Expectation arguments GX's renderer escapes itself (as badges); escaping them again
would show `&lt;`. tests/test_hostile_html.py opens the pages with hostile values here."""


def _escaped_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v if k in ESCAPED_BY_GX else _escaped(v) for k, v in kwargs.items()}


def _build_data_docs(context: Any) -> None:
    """GX's Data Docs from the stored suites and results, after escaping every value that
    came from the data or the suites: the pages then show `<script>` as text."""
    store = context.validation_results_store
    for key in store.list_keys():
        suite_result = store.get(key)
        for result in suite_result.results:
            result.result = _escaped(result.result or {})
            if result.exception_info:
                result.exception_info = _escaped(result.exception_info)
            if result.expectation_config is not None:
                result.expectation_config.kwargs = _escaped_kwargs(result.expectation_config.kwargs)
        store.set(key, suite_result)
    for suite in context.suites.all():
        for expectation in suite.expectations:
            for name, value in _escaped_kwargs(expectation.configuration.kwargs).items():
                if value != getattr(expectation, name, value):
                    setattr(expectation, name, value)
        suite.save()
    context.build_data_docs(site_names=["curate"])


@dataclass
class _Planned:
    suite: Suite
    target: str
    expectations: list[tuple[Expectation, dict[str, Any] | None, str | None]]
    """(spec, resolved kwargs or None when skipped, skip reason)"""


def _plan(ref: str, target: str, columns: dict[str, str | None]) -> _Planned:
    suite = load_suite(ref)
    planned = []
    for spec in suite.expectations:
        kwargs = {k: _substitute(v, columns) for k, v in spec.kwargs.items()}
        missing = [c for c in columns_used(spec.kwargs) if c in PLACEHOLDERS and columns.get(c) is None]
        if missing:
            what = {"$id": ("the input has no usable id column (input.id_column is not set, or its duplicate or null ids "
                           "were replaced by curate_id under input.bad_ids: row_ids; curate_id exists only in the output)"),
                    "$label": "the pipeline names no input.label_column", "$text": "no text column"}[missing[0]]
            planned.append((spec, None, f"skipped: {missing[0]}: {what}"))
        else:
            planned.append((spec, kwargs, None))
    return _Planned(suite, target, planned)


def read_arrow(files: list[Path], names: list[str], schema: Any = None) -> Any:
    """The named columns of Parquet files as one Arrow table (pyarrow reads them straight
    into Arrow buffers: the only copy of the data GX will see). With `schema` (the run's,
    for input parts converted from JSON Lines or CSV, or beside such), each file's columns
    take the run's types and a column a file lacks is null there, as the run reads them
    (a JSON Lines number whole in one file and fractional in another is a float).
    Dictionary columns (polars Categorical) are decoded and string views become large
    strings: pandas' string methods, which GX uses, take neither."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for path in files:
        table = pq.read_table(path, columns=[n for n in names if n in pq.read_schema(path).names] if schema is not None else names)
        if schema is not None:
            table = pa.table({n: table[n].cast(schema.field(n).type) if n in table.column_names
                              else pa.nulls(len(table), schema.field(n).type) for n in names})
        tables.append(table)
    table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    fields = []
    for f in table.schema:
        kind = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        fields.append(f.with_type(pa.large_string() if kind == pa.string_view() else kind))
    target = pa.schema(fields, metadata=table.schema.metadata)
    return table if target.equals(table.schema) else table.cast(target)


TYPE_EXPECTATIONS = ("expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list", "expect_column_type_to_be")
"""Expectations that judge a column's pandas dtype by name: their columns get pandas'
default dtypes (`float64`, `uint32`, `str`), as GX's documentation and suites assume,
not ArrowDtype's (`double[pyarrow]`)."""


def to_pandas(table: Any, default_dtypes: Collection[str] = ()) -> Any:
    """Arrow → pandas for GX: ArrowDtype columns wrap the Arrow buffers (no copy, no
    Python object per value). bench/validation.py compares this with converting a polars
    frame (a second copy: polars keeps strings as views) and with object columns. The
    columns in `default_dtypes` (named by a TYPE_EXPECTATIONS) take pandas' default
    dtypes instead, as `pd.read_parquet` gives them: a copy of those columns."""
    import pandas as pd

    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    for name in default_dtypes:
        if name in frame.columns:
            frame[name] = table.column(name).to_pandas()
    return frame


def _frame(files: list[Path], wanted: set[str] | None, schema: Any = None, default_dtypes: Collection[str] = ()) -> tuple[Any, int, dict[str, float]]:
    """The pandas frame GX validates: only the named columns, Arrow-backed but for
    `default_dtypes` (`to_pandas`); with `schema`: the run's columns and types (`read_arrow`)."""
    import pyarrow.parquet as pq

    timings: dict[str, float] = {}
    if not files:
        import pandas as pd

        return pd.DataFrame(), 0, {"read": 0.0, "to_pandas": 0.0}
    started = time.perf_counter()
    columns = schema.names if schema is not None else pq.read_schema(files[0]).names
    names = list(columns) if wanted is None else [c for c in columns if c in wanted]
    if not names:  # only table-level expectations: keep the row count, not the data
        names = [columns[0]]
    table = read_arrow(files, names, schema)
    timings["read"] = time.perf_counter() - started
    started = time.perf_counter()
    pdf = to_pandas(table, default_dtypes)
    timings["to_pandas"] = time.perf_counter() - started
    return pdf, len(pdf), timings


def run_validation(run_dir: Path, config: ExpectationsConfig, columns: dict[str, dict[str, str | None]],
                   output_files: list[Path], input_files: list[Path], data_docs: Path | None = None,
                   input_schema: Any = None) -> dict[str, Any]:
    """Run every configured suite; write reports/validation.json (and Data Docs); return it.

    `columns` maps $text, $id and $label to each target's column names:
    {"output": {...}, "input": {...}}. `input_schema`: the run's Arrow schema, which the
    input files are read with when their formats were converted (`read_arrow`). GX's warnings stay out of stderr (which carries
    JSON lines under --log-format json).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _run_validation(run_dir, config, columns, output_files, input_files, data_docs, input_schema)


def _run_validation(run_dir: Path, config: ExpectationsConfig, columns: dict[str, dict[str, str | None]],
                    output_files: list[Path], input_files: list[Path], data_docs: Path | None, input_schema: Any) -> dict[str, Any]:
    started = time.perf_counter()
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.expectations.registry import get_expectation_impl

    import_seconds = time.perf_counter() - started
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    docs_dir = data_docs if data_docs is not None else run_dir / DATA_DOCS
    if config.data_docs:
        if docs_dir.exists():
            import shutil

            shutil.rmtree(docs_dir)
        context.add_data_docs_site(
            "curate",
            {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    source = context.data_sources.add_pandas("curate")
    suites_out: list[dict[str, Any]] = []
    for target, refs, files, schema in (("output", config.output, output_files, None), ("input", config.input, input_files, input_schema)):
        if not refs:
            continue
        plans = [_plan(ref, target, columns[target]) for ref in refs]
        wanted: set[str] | None = set()
        typed: set[str] = set()
        for plan in plans:
            for spec, kwargs, _ in plan.expectations:
                if kwargs is None:
                    continue
                if spec.type in TYPE_EXPECTATIONS:
                    typed.update(c for c in columns_used(kwargs) if isinstance(c, str))
                if spec.type.startswith("expect_table_column") or kwargs.get("row_condition"):
                    wanted = None  # every column: a row_condition may name any of them
                elif wanted is not None:
                    wanted.update(c for c in columns_used(kwargs) if isinstance(c, str))
        pdf, rows, timings = _frame(files, wanted, schema, typed)
        asset = source.add_dataframe_asset(target)
        batch = asset.add_batch_definition_whole_dataframe(f"{target}_all")
        clock = time.perf_counter()
        for plan in plans:
            gx_suite = context.suites.add(gx.ExpectationSuite(name=f"{target}.{plan.suite.name}"))
            ids: list[str | None] = []
            errors: list[str | None] = []
            for spec, kwargs, skipped in plan.expectations:
                if kwargs is None:
                    ids.append(None)
                    errors.append(skipped)
                    continue
                try:
                    cls = get_expectation_impl(spec.type)
                except Exception:  # ExpectationNotFoundError
                    cls = None
                if cls is None:
                    ids.append(None)
                    errors.append(f"error: {spec.type} is not available in this great-expectations version")
                    continue
                try:
                    added = gx_suite.add_expectation(cls(**kwargs))
                except Exception as exc:  # GX validates parameters with pydantic
                    ids.append(None)
                    errors.append("error: invalid parameters: " + "; ".join(line.strip() for line in str(exc).splitlines()[1:5]))
                    continue
                ids.append(added.id)
                errors.append(None)
            definition = context.validation_definitions.add(gx.ValidationDefinition(name=f"{target}.{plan.suite.name}", data=batch, suite=gx_suite))
            results = _suite_results(context, gx, definition, batch, pdf)
            items = []
            for (spec, kwargs, _), gx_id, error in zip(plan.expectations, ids, errors):
                found = results.get(gx_id) if gx_id else None
                items.append(_item(spec, kwargs, None, found) if isinstance(found, str) else _item(spec, kwargs, found, error))
            suites_out.append(_suite_result(plan, target, rows, items))
        timings["validate"] = time.perf_counter() - clock
        for name, value in timings.items():
            for suite in suites_out:
                if suite["target"] == target:
                    suite.setdefault("seconds", {})[name] = round(value, 3)
        del pdf
    if config.data_docs:
        clock = time.perf_counter()
        _build_data_docs(context)
        docs_seconds = time.perf_counter() - clock
    index = docs_dir / "index.html"
    result = {
        "success": all(s["success"] for s in suites_out),
        "great_expectations": gx.__version__,
        "seconds": round(time.perf_counter() - started, 3),
        "import_seconds": round(import_seconds, 3),
        "data_docs_seconds": round(docs_seconds, 3) if config.data_docs else None,
        "data_docs": str(index.relative_to(run_dir)) if config.data_docs and index.is_file() and index.is_relative_to(run_dir) else None,
        "suites": suites_out,
    }
    from curate.files import write_json_atomic

    (run_dir / "reports").mkdir(exist_ok=True)
    write_json_atomic(result, run_dir / RESULTS)
    return result


RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_VALUES}


def _suite_results(context: Any, gx: Any, definition: Any, batch: Any, pdf: Any) -> dict[str, Any]:
    """Each expectation's GX result by its id, or the error text of one GX raised on.
    A suite runs as one checkpoint (its results stored for Data Docs). When that raises
    (GX 1.24 cannot store column_quantile_values_to_be_between's numpy booleans, and one
    such expectation would lose the suite), each of its expectations is validated on its
    own, unstored, so one that raises is an error of its own and the others keep their
    results; such a suite is not in Data Docs."""
    checkpoint = context.checkpoints.add(gx.Checkpoint(name=f"curate_{definition.name}", validation_definitions=[definition],
                                                       actions=[], result_format=RESULT_FORMAT))
    try:
        outcome = checkpoint.run(batch_parameters={"dataframe": pdf})
        return {r.expectation_config.id: r for vr in outcome.run_results.values() for r in vr.results}
    except Exception:  # noqa: BLE001 - GX's own failure: found expectation by expectation below
        pass
    loaded = batch.get_batch(batch_parameters={"dataframe": pdf})
    results: dict[str, Any] = {}
    for expectation in definition.suite.expectations:
        try:
            results[expectation.id] = loaded.validate(expectation, result_format=RESULT_FORMAT)
        except Exception as exc:  # noqa: BLE001 - GX's own failure, named on this expectation alone
            results[expectation.id] = f"error: great-expectations failed on it: {type(exc).__name__}: {first_line(exc)}"
    return results


def _suite_result(plan: _Planned, target: str, rows: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    failed = sum(1 for i in items if i["status"] in ("failed", "error"))
    return {
        "suite": plan.suite.name,
        "file": str(plan.suite.path),
        "description": plan.suite.description,
        "target": target,
        "rows": rows,
        "success": failed == 0,
        "evaluated": sum(1 for i in items if i["status"] != "skipped"),
        "passed": sum(1 for i in items if i["status"] == "passed"),
        "failed": failed,
        "skipped": sum(1 for i in items if i["status"] == "skipped"),
        "expectations": items,
    }


def _item(spec: Expectation, kwargs: dict[str, Any] | None, result: Any, error: str | None) -> dict[str, Any]:
    shown = kwargs if kwargs is not None else spec.kwargs
    item: dict[str, Any] = {
        "expectation": spec.type,
        "column": _jsonable(shown.get("column") or shown.get("column_list") or shown.get("column_A")),
        "kwargs": _jsonable({k: v for k, v in shown.items() if k not in ("column",)}),
    }
    if error and error.startswith("skipped"):
        return item | {"status": "skipped", "success": None, "note": error.removeprefix("skipped: ")}
    if error:
        return item | {"status": "error", "success": False, "error": error.removeprefix("error: ")}
    if result is None:
        return item | {"status": "error", "success": False, "error": "great-expectations returned no result"}
    raised = _error_text(result.exception_info)
    values = result.result or {}
    item.update({
        "status": "error" if raised else ("passed" if result.success else "failed"),
        "success": bool(result.success),
        "element_count": _jsonable(values.get("element_count")),
        "missing_count": _jsonable(values.get("missing_count")),
        "unexpected_count": _jsonable(values.get("unexpected_count")),
        "unexpected_percent": _jsonable(values.get("unexpected_percent")),
        "observed_value": _jsonable(values.get("observed_value")),
        "unexpected_values": _jsonable(list(values.get("partial_unexpected_list") or [])[:SAMPLE_VALUES]),
    })
    if raised:
        item["error"] = raised
    return item


def expectation_label(item: dict[str, Any]) -> str:
    """`expect_column_values_to_be_in_set(lang)`; a table-level expectation, which names no
    column, without parentheses."""
    return item["expectation"] + (f"({item['column']})" if item.get("column") else "")


def failure_line(validation: dict[str, Any] | None) -> str | None:
    """One line for the terminal and the JSON log when the manifest's `validation` (its
    `summary`) did not pass or did not run, else None: without `must_pass` the exit code
    does not say so."""
    if validation is None or validation.get("success"):
        return None
    if validation.get("error"):
        return f"validation did not run ({validation['error']}): no suite judged the data"
    failed = [s for s in validation["suites"] if not s["success"]]
    which = "; ".join(f"{s['target']}.{s['suite']}: " + ", ".join(label.removeprefix("expect_") for label in s["failed_expectations"]) for s in failed)
    return f"validation: {len(failed)} of {len(validation['suites'])} suites failed ({which}); results in {RESULTS}"


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """What the manifest and the JSON log keep of a validation."""
    return {
        "success": result["success"],
        "results": RESULTS,
        "data_docs": result.get("data_docs"),
        "seconds": result["seconds"],
        "suites": [
            {k: s[k] for k in ("suite", "target", "success", "rows", "evaluated", "passed", "failed", "skipped")}
            | {"failed_expectations": [expectation_label(e) for e in s["expectations"] if e["status"] in ("failed", "error")]}
            for s in result["suites"]
        ],
    }

