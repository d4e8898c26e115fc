"""Gates: limits a finished run must meet, for scheduled jobs.

A failed gate does not stop or undo anything: the run's data, reports and report.html
are written, the manifest records every gate's outcome with `status: gates_failed` and
`exit_code: 5`, and `curate run` prints one line per failed gate and exits with 5
(docs/scheduling.md).

Rates are fractions (0–1). A stage's removed fraction, and a reason's, are rows divided
by the rows that stage saw; a stage in annotate mode (or under --annotate-only) is
measured by what it flagged. The run's removed fraction is removed rows / input rows.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import polars as pl

from curate.checks.config import ChangeGate, GatesConfig
from curate.checks.validation import expectation_label
from curate.errors import GATE_FAILED, ConfigError, OutputError
from curate.errors import percent_apart as _pct
from curate.existing_runs import running_holder
from curate.files import parquet_schema
from curate.report.compare import (
    RunData,
    load_run,
    reason_rates,
    removed_fraction,
    stage_counts,
)


def _result(gate: str, passed: bool, value: Any, limit: Any, message: str) -> dict[str, Any]:
    return {"gate": gate, "passed": passed, "value": value, "limit": limit, "message": message}


def _verb(report: dict[str, Any]) -> str:
    """What a stage did with the rows it counts: annotate mode flags them (and keeps them)."""
    return "flagged" if report.get("would_remove_by_reason") and not report.get("removed_by_reason") else "removed"


def _pp(x: float) -> str:
    return f"{x * 100:+.1f} points".replace("-", "−")


def label_issue_rate(run_dir: Path, report: dict[str, Any]) -> tuple[int, int]:
    """(issues, rows assessed) of one label_noise stage, counted in the run's files: the
    stage's `label_issue` column in data/ and in every removed/ folder (rows removed
    before the stage lack the column and are not counted)."""
    column = next((c for c in report.get("annotation_columns", []) if c == "label_issue"), None) or next(
        (c for c in report.get("annotation_columns", []) if "label_issue" in c), None
    )
    if column is None:  # the stage names its column otherwise: fall back on its counts
        flagged = sum(stage_counts(report).values())
        return flagged, report["rows_in"]
    issues = assessed = 0
    for path in [*sorted((run_dir / "data").glob("part-*.parquet")), *sorted((run_dir / "removed").glob("*/part-*.parquet"))]:
        if column not in parquet_schema(path):
            continue
        counts = pl.scan_parquet(path, glob=False).select(
            pl.col(column).cast(pl.Boolean).sum().alias("issues"), pl.col(column).is_not_null().sum().alias("assessed")
        ).collect()
        issues += int(counts["issues"][0] or 0)
        assessed += int(counts["assessed"][0] or 0)
    return issues, assessed


def earlier_run(gate: ChangeGate) -> Path:
    """The directory `max_change_vs.run` leads to now: a link such as `runs/latest` is
    followed when the gates run (not when the pipeline is read), and each
    `max_change_vs` result records where it led (`compared_with`)."""
    return Path(gate.run).resolve()


def evaluate(gates: GatesConfig, run_dir: Path, manifest: dict[str, Any], reports: list[dict[str, Any]],
             validation: dict[str, Any] | None, earlier: Path | None = None) -> dict[str, Any]:
    """Every configured gate's outcome, in a fixed order. `earlier`: where
    `max_change_vs.run` led (default: followed now)."""
    results: list[dict[str, Any]] = []
    if gates.max_removed_fraction is not None:
        value = removed_fraction(manifest)
        limit = gates.max_removed_fraction
        results.append(_result("max_removed_fraction", value <= limit, round(value, 6), limit,
                               f"the run removed {_pct(value, limit)} of its input rows ({manifest['rows_removed']:,} of {manifest['rows_in']:,}); limit {_pct(limit, value)}"))
    if gates.min_rows_out is not None:
        rows = manifest["rows_kept"]
        results.append(_result("min_rows_out", rows >= gates.min_rows_out, rows, gates.min_rows_out,
                               f"the run kept {rows:,} rows; at least {gates.min_rows_out:,} required"))
    by_name = {r["name"]: r for r in reports}
    for name, limit in gates.max_removed_fraction_by_stage.items():
        report = by_name.get(name)
        if report is None:
            results.append(_result(f"max_removed_fraction_by_stage[{name}]", False, None, limit, f"no stage named {name!r} in this run"))
            continue
        count = sum(stage_counts(report).values())
        value = count / report["rows_in"] if report["rows_in"] else 0.0
        verb = _verb(report)
        results.append(_result(f"max_removed_fraction_by_stage[{name}]", value <= limit, round(value, 6), limit,
                               f"stage {name} {verb} {_pct(value, limit)} of the rows it saw ({count:,} of {report['rows_in']:,}); limit {_pct(limit, value)}"))
    for pattern, limit in gates.max_removed_fraction_by_reason.items():
        worst: tuple[float, str, int, int, list[str], str] | None = None
        for report in reports:
            matched = {r: n for r, n in stage_counts(report).items() if fnmatch.fnmatchcase(r, pattern)}
            if not matched:
                continue
            count = sum(matched.values())
            value = count / report["rows_in"] if report["rows_in"] else 0.0
            if worst is None or value > worst[0]:
                worst = (value, report["name"], count, report["rows_in"], sorted(matched), _verb(report))
        gate = f"max_removed_fraction_by_reason[{pattern}]"
        if worst is None:
            results.append(_result(gate, True, 0.0, limit, f"no row was removed for reason {pattern}; limit {_pct(limit)}"))
        else:
            value, stage, count, rows_in, reasons, verb = worst
            what = reasons[0] if len(reasons) == 1 else f"{pattern} ({len(reasons)} reasons)"
            results.append(_result(gate, value <= limit, round(value, 6), limit,
                                   f"stage {stage} {verb} {_pct(value, limit)} of the rows it saw for {what} ({count:,} of {rows_in:,}); limit {_pct(limit, value)}"))
    if gates.max_removed_fraction_by_language is not None:
        results.append(_by_language(gates.max_removed_fraction_by_language, reports))
    if gates.max_label_issue_rate is not None:
        limit = gates.max_label_issue_rate
        for report in reports:
            if report["stage"] != "label_noise":
                continue
            issues, assessed = label_issue_rate(run_dir, report)
            value = issues / assessed if assessed else 0.0
            results.append(_result(f"max_label_issue_rate[{report['name']}]", value <= limit, round(value, 6), limit,
                                   f"stage {report['name']} found label issues in {_pct(value, limit)} of the rows it assessed ({issues:,} of {assessed:,}); limit {_pct(limit, value)}"))
    if gates.expectations == "must_pass":
        if validation is None:
            results.append(_result("expectations", False, None, "must_pass", "no expectation suite ran"))
        elif validation.get("error"):
            results.append(_result("expectations", False, None, "must_pass", f"validation did not run: {validation['error']}"))
        else:
            results.append(_must_pass(validation["suites"]))
    if gates.max_change_vs is not None:
        results += _change(gates.max_change_vs, earlier or earlier_run(gates.max_change_vs), RunData(run_dir, manifest, reports))
    failed = [r for r in results if not r["passed"]]
    return {"passed": not failed, "exit_code": GATE_FAILED if failed else 0, "results": results,
            "failed": [f"{r['gate']}: {r['message']}" for r in failed]}


def _must_pass(suites: list[dict[str, Any]]) -> dict[str, Any]:
    """Every suite passed: none of its expectations failed or erred, and it evaluated at
    least one (a suite whose every expectation was skipped checked nothing)."""
    def failure(suite: dict[str, Any]) -> str:
        if suite["success"]:
            return f"{suite['target']}.{suite['suite']}: evaluated none of its {suite['skipped']} expectations (all skipped)"
        return f"{suite['target']}.{suite['suite']}: " + ", ".join(
            expectation_label(e).removeprefix("expect_") for e in suite["expectations"] if e["status"] in ("failed", "error"))

    failed = [s for s in suites if not s["success"] or not s["evaluated"]]
    evaluated, skipped = sum(s["evaluated"] for s in suites), sum(s["skipped"] for s in suites)
    counts = f"{evaluated} expectations evaluated" + (f", {skipped} skipped" if skipped else "")
    total = len(suites)
    message = (f"all {total} expectation suites passed ({counts})" if not failed
               else f"{len(failed)} of {total} expectation suites failed ({counts}): {'; '.join(failure(s) for s in failed)}")
    return _result("expectations", not failed, len(failed), "must_pass", message)


def _by_language(limit: float, reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The worst language of any stage that reports removal by language."""
    gate = "max_removed_fraction_by_language"
    worst: tuple[float, dict[str, Any], dict[str, Any]] | None = None
    too_few: list[tuple[dict[str, Any], dict[str, Any], int]] = []  # (report, language row, warn_min_rows)
    for report in reports:
        stats = report.get("stats", {})
        min_rows = stats.get("wipe_out", {}).get("warn_min_rows", 0)
        for row in stats.get("by_language", []):
            if row["rows"] < min_rows:
                too_few.append((report, row, min_rows))
                continue
            share = _language_removal(row)[1]
            if worst is None or share > worst[0]:
                worst = (share, report, row)
    if worst is None and too_few:  # nothing judged: say what was not, with no value a scheduler would read as 0%
        shown = sorted(too_few, key=lambda t: (-t[1]["rows"], t[1]["language"]))
        languages = ", ".join(f"{row['language']} {row['rows']:,} rows, {_pct(_language_removal(row)[1])} {_verb(report)} (stage {report['name']})"
                              for report, row, _ in shown[:5]) + (f" and {len(shown) - 5:,} more" if len(shown) > 5 else "")
        minimum = ", ".join(sorted({f"{min_rows:,}" for _, _, min_rows in too_few}))
        return _result(gate, True, None, limit, f"no language reached the stage's warn_min_rows ({minimum}), so none was judged: {languages}; limit {_pct(limit)}")
    if worst is None:
        return _result(gate, True, 0.0, limit, f"no stage reported removal by language; limit {_pct(limit)}")
    value, report, row = worst
    return _result(gate, value <= limit, value, limit,
                   f"stage {report['name']} {_verb(report)} {_pct(value, limit)} of language {row['language']!r} ({_language_removal(row)[0]:,} of {row['rows']:,} rows; "
                   f"most for {row['top_reason']}); limit {_pct(limit, value)}")


def _language_removal(row: dict[str, Any]) -> tuple[int, float]:
    """(rows, share) of one language a stage removed, or flagged: an annotate-mode stage's
    table names them `would_remove` and `would_remove_share` (nothing was removed)."""
    if "removed" in row:
        return row["removed"], row["removed_share"]
    return row["would_remove"], row["would_remove_share"]


def _change(gate: ChangeGate, earlier: Path, current: RunData) -> list[dict[str, Any]]:
    def result(name: str, passed: bool, value: Any, limit: Any, message: str) -> dict[str, Any]:
        return _result(name, passed, value, limit, message) | {"compared_with": str(earlier)}

    if earlier == current.path.resolve():  # the link was moved to this run while it ran (checked before the run)
        return [result("max_change_vs", False, None, gate.run,
                       f"{gate.run} leads to this run's own directory: a run cannot be compared with itself; point it at the earlier run")]
    shown = gate.run if str(earlier) == gate.run else f"{gate.run} (→ {earlier})"
    if not earlier.exists():  # the first scheduled run: what if_missing is for
        return [result("max_change_vs", gate.if_missing == "pass", None, gate.run,
                       f"no earlier run to compare with at {shown} (it does not exist); if_missing: {gate.if_missing}")]
    try:
        previous = load_run(earlier)
    except (ConfigError, OutputError) as exc:  # there, but no finished run: unfinished, being rewritten, or not curate's
        holder = running_holder(earlier)
        why = f"{earlier} is being rewritten by a curate run now ({holder}), its manifest gone" if holder else str(exc)
        return [result("max_change_vs", False, None, gate.run,
                       f"cannot compare with the earlier run: {why}; the gate fails whatever if_missing says "
                       "(it is for an earlier run that does not exist yet)")]
    results = []
    if gate.max_removed_fraction_change is not None:
        new, old = removed_fraction(current.manifest), removed_fraction(previous.manifest)
        limit = gate.max_removed_fraction_change
        results.append(result("max_change_vs.removed_fraction", abs(new - old) <= limit + 1e-12, round(new - old, 6), limit,
                              f"the removed fraction moved {_pp(new - old)} ({_pct(old)} → {_pct(new)}) against {previous.path}; limit ±{limit * 100:.1f} points"))
    if gate.max_reason_rate_change is not None:
        old_rates, new_rates = reason_rates(previous.reports), reason_rates(current.reports)
        limit = gate.max_reason_rate_change
        worst_key, worst = None, 0.0
        for key in set(old_rates) | set(new_rates):
            delta = new_rates.get(key, (0, 0.0))[1] - old_rates.get(key, (0, 0.0))[1]
            if worst_key is None or abs(delta) > abs(worst):
                worst_key, worst = key, delta
        if worst_key is None:
            message = f"neither run removed any row (against {previous.path})"
        else:
            o, n = old_rates.get(worst_key, (0, 0.0))[1], new_rates.get(worst_key, (0, 0.0))[1]
            message = (f"the largest change of a reason's removal rate is {worst_key[0]}/{worst_key[1]}: {_pp(worst)} "
                       f"({_pct(o)} → {_pct(n)}) against {previous.path}; limit ±{limit * 100:.1f} points")
        results.append(result("max_change_vs.reason_rate", abs(worst) <= limit + 1e-12, round(worst, 6), limit, message))
    return results


# ------------------------------------------------------------------------------ after a run


def versions(validated: bool) -> dict[str, str]:
    """Versions of what produced the run (read from package metadata, nothing imported)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from curate import __version__

    out = {"curate": __version__, "python": platform.python_version()}
    for package in ("polars", "pyarrow", "numpy", *(("great-expectations", "pandas") if validated else ())):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def check_run(pipeline: Any, run_dir: Path, manifest: dict[str, Any], reports: list[dict[str, Any]],
              input_paths: list[Path], input_schema: Any = None) -> dict[str, Any] | None:
    """The checks of a finished run, once its data and reports are in place: validation
    suites, then gates. Records `versions`, `validation` and `gates` in `manifest` and
    sets `status: gates_failed` / `exit_code: 5` when a gate fails. Returns the
    comparison with the `max_change_vs` run, when there is one, for report.html.
    `input_schema`: the run's Arrow schema for input files converted from other formats."""
    manifest["versions"] = versions(pipeline.expectations is not None)
    validation = None
    if pipeline.expectations is not None:
        from curate.checks.validation import placeholder_columns, run_validation, summary

        try:
            validation = run_validation(run_dir, pipeline.expectations, placeholder_columns(pipeline.input),
                                        sorted((run_dir / "data").glob("part-*.parquet")), list(input_paths), input_schema=input_schema)
            manifest["validation"] = summary(validation)
        except Exception as exc:
            manifest["validation"] = {"success": False, "error": f"{type(exc).__name__}: {exc}", "suites": []}
            validation = {"success": False, "suites": [], "error": manifest["validation"]["error"]}
    gates: GatesConfig | None = pipeline.gates
    comparison = None
    if gates is not None and not gates.is_empty():
        earlier = earlier_run(gates.max_change_vs) if gates.max_change_vs is not None else None
        outcome = evaluate(gates, run_dir, manifest, reports, validation, earlier)
        manifest["gates"] = outcome
        if not outcome["passed"]:
            manifest["status"] = "gates_failed"
            manifest["exit_code"] = GATE_FAILED
        if earlier is not None and earlier != run_dir.resolve():
            try:
                from curate.report.compare import compare_runs

                comparison = compare_runs(RunData(run_dir, manifest, reports), load_run(earlier))
            except (ConfigError, OutputError):
                comparison = None
    return comparison
