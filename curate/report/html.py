"""report.html: one self-contained page a reviewer opens, with no other file needed.

No network requests and no JavaScript: the style is inline, charts are inline SVG
(curate/report/charts.py), and every string that comes from data, stage names, reasons, file
names or parameters is HTML-escaped before it reaches the page. Sections: the run, the
funnel, changes since an earlier run (with `--compare` or a `max_change_vs` gate),
gates, validation, one section per stage (its charts and tables from the stage report's
`stats`, drawn by curate/report/stats.py), and samples of removed rows per reason with a
link to their `removed/` file.

`curate report RUN_DIR [--compare OLDER_RUN_DIR]` renders it again from the run directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from curate.files import read_json, write_text_atomic
from curate.report.charts import (
    KEPT,
    REMOVED,
    esc,
    fmt_delta,
    fmt_int,
    fmt_pct,
    funnel,
    meter,
    table,
    truncate,
)
from curate.report.stats import (
    Html,
    cell,
    folded_table,
    humanize,
    kv_table,
    render_stats,
)

STYLE = """
:root{--ink:#1d2330;--muted:#5c6576;--line:#e3e6eb;--bg:#f6f7f9;--kept:#3b6fd4;--removed:#d4583b;--ok:#1f7a3f;--bad:#b3261e}
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:var(--ink);background:#fff}
main{max-width:1180px;margin:0 auto;padding:0 1.5rem 4rem}
header.top{background:var(--bg);border-bottom:1px solid var(--line);padding:1.2rem 0 1rem}
header.top .inner{max-width:1180px;margin:0 auto;padding:0 1.5rem}
h1{font-size:1.45rem;margin:0 0 .3rem}h1 .path{font-weight:400;color:var(--muted);font-size:1rem;margin-left:.5rem;word-break:break-all}
h2{font-size:1.2rem;margin:2.2rem 0 .6rem;padding-bottom:.25rem;border-bottom:2px solid var(--line)}
h3{font-size:1.05rem;margin:1.6rem 0 .4rem}h4{font-size:.95rem;margin:1.2rem 0 .3rem;color:#333b4a}
nav.toc{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:.45rem 0;margin-bottom:.5rem}
nav.toc .inner{max-width:1180px;margin:0 auto;padding:0 1.5rem;display:flex;flex-wrap:wrap;gap:.3rem .9rem;font-size:13px}
nav.toc a{color:var(--kept);text-decoration:none}nav.toc a:hover{text-decoration:underline}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:.8rem}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.5rem .8rem;min-width:8.5rem}
.card .v{font-size:1.25rem;font-weight:600}.card .k{color:var(--muted);font-size:12px}
.pill{display:inline-block;border-radius:999px;padding:.05rem .6rem;font-size:12px;font-weight:600;vertical-align:middle}
.pill.ok{background:#e3f3e8;color:var(--ok)}.pill.bad{background:#fbe5e3;color:var(--bad)}.pill.info{background:#e8eefb;color:#2b55a8}.pill.skip{background:#eef0f3;color:var(--muted)}
table{border-collapse:collapse;margin:.4rem 0 .8rem;font-size:13px}
th,td{padding:.28rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{background:none;color:var(--muted);font-weight:500}
table.heat th{text-align:right}table.heat td{min-width:2.6rem}
.scroll{overflow-x:auto;max-width:100%}
section,article,h2,h3{scroll-margin-top:3rem}
td .snip{min-width:22rem}.sentence{min-width:24rem;max-width:36rem}
.snip{white-space:pre-wrap;word-break:break-word;max-width:46rem;max-height:9.5rem;overflow:auto;font-size:12.5px;background:#fafbfc;border:1px solid var(--line);border-radius:4px;padding:.25rem .4rem}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
code{background:#f0f2f5;border-radius:3px;padding:0 .25rem}
pre{white-space:pre-wrap;word-break:break-word;background:#fafbfc;border:1px solid var(--line);border-radius:6px;padding:.6rem;font-size:12px;max-height:30rem;overflow:auto}
details{margin:.4rem 0}summary{cursor:pointer;color:#2b55a8}
.muted{color:var(--muted)}.small{font-size:12px}
.meta{color:var(--muted);margin:.2rem 0 .6rem}
.two{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:0 2rem}
@media (max-width:900px){.two{grid-template-columns:1fr}}
h3.first{margin-top:.4rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:.4rem 1.2rem}
svg.chart{max-width:100%;height:auto;display:block;margin:.3rem 0 .6rem}
svg.meter{vertical-align:middle}
.delta-up{color:#a33b12;font-weight:600}.delta-down{color:#1f5fa8;font-weight:600}.delta-zero{color:var(--muted)}
.fail{color:var(--bad);font-weight:600}.pass{color:var(--ok);font-weight:600}
article.stage{border-top:1px solid var(--line);margin-top:1.6rem}
footer{color:var(--muted);font-size:12px;margin-top:3rem;border-top:1px solid var(--line);padding-top:.6rem}
"""


# ------------------------------------------------------------------------------ sections


def _slice_text(cut: dict[str, Any] | None) -> str:
    """`--limit` / `--sample`: the run saw only part of its input."""
    if not cut:
        return "none: every input row"
    parts = []
    if cut.get("limit") is not None:
        parts.append(f"--limit {cut['limit']:,} (the first rows in run order)")
    if cut.get("sample") is not None:
        parts.append(f"--sample {cut['sample']} --seed {cut['seed']}")
    return "; ".join(parts)


def _stage_configs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return list(manifest.get("pipeline", {}).get("stages", []))


def section_run(run_dir: Path, manifest: dict[str, Any], reports: list[dict[str, Any]]) -> str:
    versions = manifest.get("versions") or {"curate": manifest.get("curate_version")}
    facts = {
        "run directory": str(run_dir),
        "status": manifest.get("status"),
        "exit code": manifest.get("exit_code"),
        "started (UTC)": manifest.get("started_at"),
        "finished (UTC)": manifest.get("finished_at"),
        "duration": f"{manifest.get('seconds', 0):,.2f} s",
        "annotate only": bool(manifest.get("annotate_only")),
        "trial slice": _slice_text(manifest.get("slice")),
        "pipeline hash": (manifest.get("pipeline_hash") or "")[:16],
        "versions": Html(", ".join(f"{esc(k)}&nbsp;{esc(v)}" for k, v in versions.items())),
    }
    inputs = manifest.get("inputs", [])
    rows = [[f'<span class="mono">{esc(i.get("source") or i["path"])}</span>', esc(i.get("format", "parquet")), fmt_int(i["rows"]), fmt_int(i["bytes"]),
             f'<span class="mono">{esc(i.get("xxh3_64") or i.get("etag", ""))}</span>'] for i in inputs]
    total_bytes = sum(i["bytes"] for i in inputs)
    inputs_html = folded_table(rows, ["file", "format", "rows", "bytes", "xxh3_64 / etag"], numeric_from=2)
    pipeline = manifest.get("pipeline", {})
    spec = pipeline.get("input", {})
    input_facts = {"path": spec.get("path"), "text column": spec.get("text_column"), "id column": spec.get("id_column") or "curate_id (added by curate)",
                   "label column": spec.get("label_column")}
    stage_rows = []
    for i, stage in enumerate(_stage_configs(manifest)):
        params = {k: v for k, v in stage.items() if k not in ("stage", "name", "mode")}
        shown = "; ".join(f"<code>{esc(k)}</code>: {esc(json.dumps(v, ensure_ascii=False, default=str))}" for k, v in params.items())
        stage_rows.append([str(i + 1), esc(stage.get("name") or stage["stage"]), esc(stage["stage"]), esc(stage.get("mode", "")), f'<span class="small">{shown}</span>'])
    checks = ""
    for key in ("expectations", "gates"):
        if pipeline.get(key):
            checks += f"<h4>{esc(humanize(key))}</h4><pre>{esc(json.dumps(pipeline[key], indent=1, ensure_ascii=False))}</pre>"
    return (
        '<section id="run"><h2>Run</h2><div class="two"><div>' + kv_table(facts) + "</div><div>"
        + f"<h3 class=\"first\">Inputs <span class=\"muted small\">{len(inputs):,} files · {sum(i['rows'] for i in inputs):,} rows · {total_bytes:,} bytes</span></h3>"
        + inputs_html + kv_table(input_facts) + "</div></div>"
        + "<h3>Pipeline</h3>"
        + '<div class="scroll">' + table(["#", "name", "stage", "mode", "parameters (defaults included)"], stage_rows, numeric_from=99) + "</div>"
        + checks + "</section>"
    )


def section_funnel(manifest: dict[str, Any], reports: list[dict[str, Any]]) -> str:
    total = manifest["rows_in"]
    steps = [("input", total, 0)] + [(f"{r['index']:02d} {r['name']}", r["rows_kept"], r["rows_removed"]) for r in reports]
    chart = funnel(steps, total, label="Rows through the stages")
    rows = [["input", "", "", "", fmt_int(total), fmt_pct(1.0)]]
    for r in reports:
        flagged = sum((r.get("would_remove_by_reason") or {}).values())
        rows.append([
            f'<a href="#stage-{r["index"]}">{esc(r["index"])}. {esc(r["name"])}</a> <span class="muted small">{esc(r["stage"])} · {esc(r["mode"])}</span>',
            fmt_int(r["rows_in"]),
            fmt_int(r["rows_removed"]) + (f' <span class="muted">({flagged:,} flagged)</span>' if flagged else ""),
            fmt_pct(r["rows_removed"] / r["rows_in"] if r["rows_in"] else 0.0),
            fmt_int(r["rows_kept"]),
            fmt_pct(r["rows_kept"] / total if total else 0.0),
        ])
    return (
        '<section id="funnel"><h2>Funnel</h2>'
        f'<p>{total:,} rows in → <b>{manifest["rows_kept"]:,} kept</b> ({fmt_pct(manifest["rows_kept"] / total if total else 0)}), '
        f'{manifest["rows_removed"]:,} removed ({fmt_pct(manifest["rows_removed"] / total if total else 0)}).</p>'
        + chart
        + '<div class="scroll">' + table(["step", "rows in", "removed", "removed of rows in", "rows after", "of run input"], rows) + "</div></section>"
    )


def section_gates(manifest: dict[str, Any]) -> str:
    gates = manifest.get("gates")
    if not gates:
        return ""
    rows = []
    for g in gates["results"]:
        verdict = '<span class="pill ok">pass</span>' if g["passed"] else '<span class="pill bad">FAIL</span>'
        value, limit = g.get("value"), g.get("limit")
        rows.append([f"<code>{esc(g['gate'])}</code>", verdict, cell(value, g["gate"] if "fraction" in g["gate"] or "rate" in g["gate"] else ""),
                     cell(limit, g["gate"] if "fraction" in g["gate"] or "rate" in g["gate"] else ""), esc(g["message"])])
    failed = [g for g in gates["results"] if not g["passed"]]
    head = (f'<p><span class="pill bad">{len(failed)} of {len(gates["results"])} gates failed</span> The run\'s data is written; '
            f"<code>curate run</code> exited with code {esc(manifest.get('exit_code'))}.</p>") if failed else \
        f'<p><span class="pill ok">all {len(gates["results"])} gates passed</span></p>'
    return '<section id="gates"><h2>Gates</h2>' + head + '<div class="scroll">' + table(["gate", "result", "value", "limit", "detail"], rows, numeric_from=99) + "</div></section>"


def section_validation(manifest: dict[str, Any], validation: dict[str, Any] | None) -> str:
    if validation is None:
        return ""
    parts = ['<section id="validation"><h2>Validation (great-expectations)</h2>']
    if validation.get("error"):
        parts.append(f'<p><span class="pill bad">validation did not run</span> {esc(validation["error"])}</p></section>')
        return "".join(parts)
    suites = validation.get("suites", [])
    passed = sum(1 for s in suites if s["success"])
    pill = '<span class="pill ok">all suites passed</span>' if validation["success"] else f'<span class="pill bad">{len(suites) - passed} of {len(suites)} suites failed</span>'
    docs = validation.get("data_docs")
    link = f' GX\'s own Data Docs: <a href="{esc(docs)}">{esc(docs)}</a> <span class="muted small">(they load their style from the network)</span>.' if docs else ""
    parts.append(f"<p>{pill} great-expectations {esc(validation.get('great_expectations', ''))}, {validation.get('seconds', 0):.2f} s in all.{link}</p>")
    for suite in suites:
        status = '<span class="pill ok">passed</span>' if suite["success"] else '<span class="pill bad">failed</span>'
        timing = ", ".join(f"{esc(k)} {v:.2f} s" for k, v in (suite.get("seconds") or {}).items())
        parts.append(f'<h3 id="suite-{esc(suite["target"])}-{esc(suite["suite"])}">{esc(suite["target"])} · {esc(suite["suite"])} {status}</h3>'
                     f'<p class="meta">{suite["passed"]} of {suite["evaluated"]} expectations met'
                     + (f", {suite['skipped']} skipped" if suite.get("skipped") else "")
                     + f" · {suite['rows']:,} rows · {timing} · <span class=\"mono\">{esc(suite['file'])}</span></p>"
                     + (f"<p>{esc(suite['description'])}</p>" if suite.get("description") else ""))
        rows = []
        for e in suite["expectations"]:
            verdict = {"passed": '<span class="pill ok">met</span>', "failed": '<span class="pill bad">not met</span>',
                       "error": '<span class="pill bad">error</span>', "skipped": '<span class="pill skip">skipped</span>'}[e["status"]]
            params = "; ".join(f"<code>{esc(k)}</code>: {esc(json.dumps(v, ensure_ascii=False, default=str))}" for k, v in (e.get("kwargs") or {}).items())
            unexpected = ""
            if e.get("unexpected_count") is not None:
                unexpected = f"{fmt_int(e['unexpected_count'])}"
                if e.get("unexpected_percent") is not None:
                    unexpected += f" ({e['unexpected_percent']:.2f}%)"
            examples = e.get("unexpected_values") or []
            detail = ""
            if examples:
                detail = "<br>".join(f'<span class="mono" dir="auto">{esc(truncate(repr(v) if not isinstance(v, str) else v, 160))}</span>' for v in examples[:5])
            if e.get("observed_value") is not None:
                detail = f"observed: {cell(e['observed_value'])}" + ("<br>" + detail if detail else "")
            if e.get("error") or e.get("note"):
                detail = esc(e.get("error") or e.get("note")) + ("<br>" + detail if detail else "")
            rows.append([f"<code>{esc(e['expectation'].removeprefix('expect_'))}</code>", esc(e.get("column") if not isinstance(e.get("column"), list) else ", ".join(map(str, e["column"]))),
                         f'<span class="small">{params}</span>', verdict, fmt_int(e["element_count"]) if e.get("element_count") is not None else "", unexpected, detail])
        parts.append('<div class="scroll">' + table(["expectation", "column", "parameters", "result", "rows", "unexpected", "examples / detail"], rows, numeric_from=99) + "</div>")
    parts.append("</section>")
    return "".join(parts)


def section_compare(comparison: dict[str, Any] | None) -> str:
    if not comparison:
        return ""
    c = comparison
    parts = [f'<section id="compare"><h2>Changes since the earlier run</h2><p>This run compared with <span class="mono">{esc(c["old_run"])}</span>'
             f' (finished {esc(c.get("old_finished_at") or "?")}). Deltas are this run minus the earlier one; rates in percentage points (pp).</p>']
    rows = []
    for t in c["totals"]:
        if t["kind"] == "pp":
            rows.append([esc(humanize(t["metric"])), fmt_pct(t["old"], 2), fmt_pct(t["new"], 2), fmt_delta(t["delta"], "pp")])
        else:
            rows.append([esc(humanize(t["metric"])), fmt_int(t["old"]), fmt_int(t["new"]), fmt_delta(t["delta"])])
    parts.append(table(["", "earlier", "this run", "change"], rows))
    if c.get("pipeline_changes"):
        items = "".join(f"<li><code>{esc(truncate(x, 300))}</code></li>" for x in c["pipeline_changes"][:50])
        parts.append(f"<h3>Pipeline changes</h3><ul>{items}</ul>")
    else:
        parts.append('<p class="muted">Same pipeline parameters.</p>')
    rows = [[esc(s["stage"]), fmt_int(s["old_removed"]) if s["old_removed"] is not None else "–", fmt_int(s["new_removed"]) if s["new_removed"] is not None else "–",
             fmt_pct(s["old_rate"], 2), fmt_pct(s["new_rate"], 2), fmt_delta(s["delta_rate"], "pp")] for s in c["stages"]]
    parts.append("<h3>Removal per stage</h3>" + table(["stage", "removed, earlier", "removed, now", "rate, earlier", "rate, now", "change"], rows))
    rows = [[esc(r["stage"]), f'<span dir="auto">{esc(r["reason"])}</span>', fmt_int(r["old_rows"]), fmt_int(r["new_rows"]), fmt_pct(r["old_rate"], 2), fmt_pct(r["new_rate"], 2), fmt_delta(r["delta_rate"], "pp")]
            for r in c["reasons"]]
    parts.append("<h3>Removal per reason <span class=\"muted small\">(rate: share of the rows the stage saw)</span></h3>"
                 + (folded_table(rows, ["stage", "reason", "rows, earlier", "rows, now", "rate, earlier", "rate, now", "change"], numeric_from=2) if rows else '<p class="muted">Nothing removed in either run.</p>'))
    for key, title in (("languages", "Language shares of the output"), ("labels", "Label shares of the output")):
        block = c.get(key)
        if not block:
            continue
        rows = [[f'<span dir="auto">{esc(r["value"])}</span>', fmt_pct(r["old"], 2), fmt_pct(r["new"], 2), fmt_delta(r["delta"], "pp")] for r in block["rows"]]
        parts.append(f'<h3>{esc(title)} <span class="muted small">(column <code>{esc(block["column"])}</code>)</span></h3>' + folded_table(rows, ["value", "earlier", "this run", "change"]))
    parts.append("</section>")
    return "".join(parts)


def section_stage(run_dir: Path, report: dict[str, Any], config: dict[str, Any]) -> str:
    index, name = report["index"], report["name"]
    removed = report.get("removed_by_reason") or {}
    flagged = report.get("would_remove_by_reason") or {}
    reasons = removed or flagged
    verb = "removed" if removed else "flagged (annotate mode: kept)"
    meta = (f'{esc(report["stage"])} · {esc(report["mode"])} · {report["rows_in"]:,} rows in · {report["rows_kept"]:,} kept · '
            f'{report["rows_removed"]:,} removed · {report.get("seconds", 0):.2f} s')
    if report.get("annotation_columns"):
        meta += " · adds " + ", ".join(f"<code>{esc(c)}</code>" for c in report["annotation_columns"])
    parts = [f'<article class="stage" id="stage-{esc(index)}"><h2>{esc(index)}. {esc(name)} <span class="muted small">({esc(report["stage"])})</span></h2>',
             f'<p class="meta">{meta}</p>']
    for warning in report.get("warnings") or []:
        parts.append(f'<p class="warning"><span class="pill bad">warning</span> {esc(warning)}</p>')
    if reasons:
        total = report["rows_in"] or 1
        rows = [[f'<span dir="auto">{esc(r)}</span>', fmt_int(n), fmt_pct(n / total, 2), meter(n / total, REMOVED if removed else KEPT)]
                for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
        parts.append(f"<h3>Rows {esc(verb)} by reason</h3>" + folded_table(rows, ["reason", "rows", "of rows in", ""]))
        if report.get("removed_files"):
            link = report["removed_files"]
            parts.append(f'<p class="small">All removed rows: <a href="{esc(link)}">{esc(link)}</a> (Parquet; samples in <a href="#samples-{esc(index)}">Removed rows</a>).</p>')
    else:
        parts.append("<p>Nothing removed or flagged.</p>")
    if report.get("tables"):
        links = ", ".join(f'<a href="{esc(path)}">{esc(t)}</a>' for t, path in report["tables"].items())
        parts.append(f'<p class="small">Tables (Parquet): {links}</p>')
    stats = render_stats(report, config)
    if stats:
        parts.append("<h3>Statistics</h3>" + stats)
    parts.append("</article>")
    return "".join(parts)


def _sample_files(run_dir: Path, report: dict[str, Any], id_column: str) -> dict[str, str]:
    """Sample id → the removed/ part file that holds it."""
    folder = run_dir / "removed" / report["name"]
    files = sorted(folder.glob("part-*.parquet"))
    ids = [str(s.get(id_column)) for rows in (report.get("samples") or {}).values() for s in rows if s.get(id_column) is not None]
    if not files or not ids:
        return {}
    try:
        if id_column not in pl.read_parquet_schema(files[0]):
            return {}
        found = (
            pl.scan_parquet(files, include_file_paths="_file")
            .select(pl.col(id_column).cast(pl.String), "_file")
            .filter(pl.col(id_column).is_in(ids))
            .collect()
        )
    except Exception:
        return {}
    return {i: f"removed/{report['name']}/{Path(f).name}" for i, f in found.iter_rows()}


def section_samples(run_dir: Path, manifest: dict[str, Any], reports: list[dict[str, Any]]) -> str:
    spec = manifest.get("pipeline", {}).get("input", {})
    id_column = spec.get("id_column") or "curate_id"
    text_column = spec.get("text_column") or "text"
    parts = ['<section id="samples"><h2>Removed rows: samples per reason</h2>'
             '<p class="muted">The first rows of each reason in run order (text cut at 300 characters). Every removed row is in '
             "<code>removed/&lt;stage&gt;/</code>, with all its columns plus <code>curate_stage</code> and <code>curate_reason</code>.</p>"]
    any_samples = False
    for report in reports:
        samples = report.get("samples") or {}
        if not samples:
            continue
        any_samples = True
        removing = bool(report.get("removed_by_reason"))
        files = _sample_files(run_dir, report, id_column) if removing else {}
        parts.append(f'<h3 id="samples-{esc(report["index"])}">{esc(report["index"])}. {esc(report["name"])}'
                     + ("" if removing else ' <span class="pill info">annotate: flagged, kept</span>') + "</h3>")
        for reason, rows in samples.items():
            count = (report.get("removed_by_reason") or report.get("would_remove_by_reason") or {}).get(reason, len(rows))
            table_rows = []
            for s in rows:
                rid = s.get(id_column)
                text = s.get(text_column)
                others = {k: v for k, v in s.items() if k not in (id_column, text_column)}
                extra = "<br>".join(f'<span class="muted">{esc(k)}:</span> {cell(v, k)}' for k, v in others.items())
                link = files.get(str(rid))
                where = f'<a href="{esc(link)}">{esc(Path(link).name)}</a>' if link else ('<span class="muted">kept (annotate mode)</span>' if not removing else "")
                text_html = '<span class="muted">(null)</span>' if text is None else ('<span class="muted">(empty)</span>' if text == "" else f'<div class="snip" dir="auto">{esc(text)}</div>')
                table_rows.append([f'<span class="mono">{esc(rid)}</span>', text_html, f'<span class="small">{extra}</span>', where])
            folder = f'removed/{report["name"]}/'
            head = f'<p><b dir="auto">{esc(reason)}</b> <span class="muted">· {count:,} rows</span>' + (f' · <a href="{esc(folder)}">{esc(folder)}</a>' if removing else "") + "</p>"
            parts.append(head + '<div class="scroll">' + table([id_column, text_column, "annotations", "file"], table_rows, numeric_from=99) + "</div>")
    if not any_samples:
        parts.append("<p>No row was removed or flagged.</p>")
    parts.append("</section>")
    return "".join(parts)


# ------------------------------------------------------------------------------ the page


def _cards(manifest: dict[str, Any], reports: list[dict[str, Any]], validation: dict[str, Any] | None) -> str:
    total = manifest["rows_in"] or 0
    cards = [
        ("rows in", f"{total:,}"),
        ("kept", f"{manifest['rows_kept']:,} <span class=\"small muted\">{fmt_pct(manifest['rows_kept'] / total if total else 0)}</span>"),
        ("removed", f"{manifest['rows_removed']:,} <span class=\"small muted\">{fmt_pct(manifest['rows_removed'] / total if total else 0)}</span>"),
        ("stages", f"{len(reports)}"),
        ("duration", f"{manifest.get('seconds', 0):,.1f} s"),
    ]
    gates = manifest.get("gates")
    if gates:
        failed = sum(1 for g in gates["results"] if not g["passed"])
        cards.append(("gates", '<span class="pass">all passed</span>' if not failed else f'<span class="fail">{failed} failed</span>'))
    if validation is not None:
        ok = validation.get("success")
        cards.append(("validation", '<span class="pass">passed</span>' if ok else '<span class="fail">failed</span>'))
    return '<div class="cards">' + "".join(f'<div class="card"><div class="v">{v}</div><div class="k">{esc(k)}</div></div>' for k, v in cards) + "</div>"


def page(run_dir: Path, manifest: dict[str, Any], reports: list[dict[str, Any]], validation: dict[str, Any] | None,
         comparison: dict[str, Any] | None) -> str:
    status = manifest.get("status", "")
    pill = "ok" if status == "complete" else "bad"
    configs = _stage_configs(manifest)
    nav = [("run", "Run"), ("funnel", "Funnel")]
    if comparison:
        nav.append(("compare", "Changes"))
    if manifest.get("gates"):
        nav.append(("gates", "Gates"))
    if validation is not None:
        nav.append(("validation", "Validation"))
    nav += [(f"stage-{r['index']}", f"{r['index']}. {r['name']}") for r in reports]
    nav.append(("samples", "Removed rows"))
    body = [
        section_run(run_dir, manifest, reports),
        section_funnel(manifest, reports),
        section_compare(comparison),
        section_gates(manifest),
        section_validation(manifest, validation),
        '<section id="stages">',
        *(section_stage(run_dir, r, configs[r["index"] - 1] if r["index"] - 1 < len(configs) else {}) for r in reports),
        "</section>",
        section_samples(run_dir, manifest, reports),
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>curate run report: {esc(run_dir.name)}</title>
<style>{STYLE}</style></head>
<body>
<header class="top"><div class="inner">
<h1>curate run report<span class="path">{esc(run_dir.name)}</span> <span class="pill {pill}">{esc(status)}</span></h1>
<div class="muted small">finished {esc(manifest.get('finished_at', ''))} UTC · curate {esc(manifest.get('curate_version', ''))}</div>
{_cards(manifest, reports, validation)}
</div></header>
<nav class="toc" aria-label="sections"><div class="inner">{''.join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t in nav)}</div></nav>
<main>
{''.join(body)}
<footer>Written by curate {esc(manifest.get('curate_version', ''))}. This page is self-contained: no scripts, no network requests. The run directory's layout is described in docs/run-layout.md.</footer>
</main>
</body></html>
"""


def render_report(run_dir: Path, manifest: dict[str, Any], reports: list[dict[str, Any]],
                  comparison: dict[str, Any] | None = None) -> Path:
    """Write `run_dir/report.html` from the run's manifest, stage reports and (when
    present) reports/validation.json."""
    validation_path = run_dir / "reports" / "validation.json"
    validation = read_json(validation_path) if validation_path.is_file() else None
    if validation is None and (manifest.get("validation") or {}).get("error"):
        validation = manifest["validation"]
    html = page(run_dir, manifest, reports, validation, comparison)
    path = run_dir / "report.html"
    write_text_atomic(html, path)
    return path


def rerender(run_dir: Path, older: Path | None = None) -> tuple[Path, dict[str, Any] | None]:
    """`curate report`: render a finished run's page again, optionally with the changes
    since an older run."""
    from curate.report.compare import compare_runs, load_run

    run = load_run(run_dir)
    comparison = compare_runs(run, load_run(older)) if older is not None else None
    return render_report(run.path, run.manifest, run.reports, comparison), comparison
