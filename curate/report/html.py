"""report.html: one self-contained page a reviewer reads in five minutes, with no other
file needed.

No network requests and no JavaScript: the style is inline, charts are inline SVG
(curate/report/charts.py), and every string that comes from data, stage names, reasons, file
names or parameters is HTML-escaped before it reaches the page. The page opens on a
summary (the funnel, the gates, top findings, warnings), `curate evaluate`'s result
(reports/evaluation.json), then the changes since an
earlier run (with `--compare` or a `max_change_vs` gate), then one collapsed section per
stage (<details>: its key numbers in the summary line; inside, rows per reason, kept vs
removed histograms, removal by language and slice, samples that explain themselves
(curate/report/samples.py), all statistics), then validation and the run's facts,
collapsed too. Long tables scroll in their own box, so nothing is wider than the window.

`curate report RUN_DIR [--compare OLDER_RUN_DIR]` renders it again from the run directory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from curate.existing_runs import unchanged_run
from curate.files import input_identity, read_json, write_text_atomic
from curate.report.charts import (
    esc,
    fmt_delta,
    fmt_int,
    fmt_pct,
    funnel,
    table,
    truncate,
)
from curate.report.compare import flags_on_kept_rows, kept_flag_counts, slice_text
from curate.report.evaluation import section_evaluation
from curate.report.rows import RunRows
from curate.report.stage_section import relabelled_label, section_stage, slice_columns, stage_fates
from curate.report.stats import (
    Html,
    cell,
    folded_table,
    humanize,
    kv_table,
)

STYLE = """
:root{--ink:#1d2330;--muted:#5c6576;--line:#e3e6eb;--bg:#f6f7f9;--kept:#3b6fd4;--removed:#d4583b;--ok:#1f7a3f;--bad:#b3261e;--warn:#8a5a00}
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:var(--ink);background:#fff;overflow-wrap:anywhere}
main{max-width:1180px;margin:0 auto;padding:0 1.5rem 3rem}
header.top{background:var(--bg);border-bottom:1px solid var(--line);padding:1rem 0 .9rem}
header.top .inner{max-width:1180px;margin:0 auto;padding:0 1.5rem}
h1{font-size:1.45rem;margin:0 0 .3rem}h1 .path{font-weight:400;color:var(--muted);font-size:1rem;margin-left:.5rem;word-break:break-all}
h2{font-size:1.2rem;margin:1.6rem 0 .5rem;padding-bottom:.25rem;border-bottom:2px solid var(--line)}
summary h2{display:inline;border:0;margin:0;padding:0}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}h4{font-size:.95rem;margin:1rem 0 .3rem;color:#333b4a}
nav.toc{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:.4rem 0;margin-bottom:.5rem}
nav.toc .inner{max-width:1180px;margin:0 auto;padding:0 1.5rem;display:flex;gap:.9rem;font-size:13px;overflow-x:auto;white-space:nowrap}
nav.toc a{color:var(--kept);text-decoration:none}nav.toc a:hover{text-decoration:underline}
.cards{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.7rem}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.4rem .7rem;min-width:7.5rem}
.card .v{font-size:1.2rem;font-weight:600}.card .k{color:var(--muted);font-size:12px}
.pill{display:inline-block;border-radius:999px;padding:.05rem .6rem;font-size:12px;font-weight:600;vertical-align:middle}
.pill.ok{background:#e3f3e8;color:var(--ok)}.pill.bad{background:#fbe5e3;color:var(--bad)}.pill.info{background:#e8eefb;color:#2b55a8}.pill.skip{background:#eef0f3;color:var(--muted)}.pill.warn{background:#fdf1d8;color:var(--warn)}
table{border-collapse:collapse;margin:.4rem 0 .8rem;font-size:13px;display:block;max-width:100%;overflow-x:auto}
th,td{padding:.28rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;overflow-wrap:normal}
th{background:var(--bg);font-weight:600;white-space:nowrap}
td code{white-space:nowrap;overflow-wrap:normal}
@media (max-width:700px){td:last-child:not(.num){min-width:14rem}}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{background:none;color:var(--muted);font-weight:500;white-space:normal}
table.heat th{text-align:right}table.heat td{min-width:2.6rem}
.scroll{overflow:auto;max-width:100%;max-height:32rem}
section,article,details,h2,h3{scroll-margin-top:3rem}
.sentence{min-width:16rem;max-width:36rem}
.snip{white-space:pre-wrap;word-break:break-word;max-width:100%;max-height:9.5rem;overflow:auto;font-size:12.5px;background:#fafbfc;border:1px solid var(--line);border-radius:4px;padding:.25rem .4rem;margin:.2rem 0}
td .snip{min-width:14rem;max-width:40rem}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
code,.mono,a,b,.why{unicode-bidi:isolate}
code{background:#f0f2f5;border-radius:3px;padding:0 .25rem;overflow-wrap:anywhere}
pre{white-space:pre-wrap;word-break:break-word;background:#fafbfc;border:1px solid var(--line);border-radius:6px;padding:.6rem;font-size:12px;max-height:24rem;overflow:auto}
details{margin:.4rem 0}summary{cursor:pointer;color:#2b55a8}
.muted{color:var(--muted)}.small{font-size:12px}
.meta{color:var(--muted);margin:.2rem 0 .6rem}
.two{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:0 2rem}
@media (max-width:900px){.two{grid-template-columns:minmax(0,1fr)}}
h3.first{margin-top:.4rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,480px),1fr));gap:.4rem 1.2rem}
svg.chart{max-width:100%;height:auto;display:block;margin:.3rem 0 .6rem}
svg.meter{vertical-align:middle;max-width:30vw}
.delta-bad{color:var(--bad);font-weight:600}.delta-good{color:var(--ok);font-weight:600}.delta-neutral{color:#333b4a;font-weight:600}.delta-zero{color:var(--muted)}
.fail{color:var(--bad);font-weight:600}.pass{color:var(--ok);font-weight:600}
details.stage{border:1px solid var(--line);border-radius:8px;margin:.5rem 0;padding:0 .8rem}
details.stage>summary{padding:.55rem 0;color:var(--ink);list-style-position:outside}
details.stage>summary .sname{font-weight:600;font-size:1.05rem}
details.stage[open]>summary{border-bottom:1px solid var(--line);margin-bottom:.4rem}
section>details>summary{padding:.3rem 0}
.sample{border:1px solid var(--line);border-radius:6px;padding:.4rem .6rem;margin:.4rem 0;background:#fff;max-width:100%}
.shead{font-size:13px}.shead .reason{font-weight:600}.why{background:#fdf1ee;border-radius:4px;padding:0 .3rem}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:.6rem}
@media (max-width:700px){.pair{grid-template-columns:minmax(0,1fr)}}
mark.del{background:#fbd5cc;color:inherit}mark.ins{background:#d3e3fb;color:inherit}
ul.kvlist{columns:2 18rem;margin:.2rem 0;padding-left:1.1rem;font-size:12px}
ol.findings li,ul.warnings li{margin:.2rem 0}
footer{color:var(--muted);font-size:12px;margin-top:2rem;border-top:1px solid var(--line);padding-top:.6rem}
"""




# ------------------------------------------------------------------------------ sections


def _stage_configs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return list(manifest.get("pipeline", {}).get("stages", []))


def _validation_verdict(validation: dict[str, Any]) -> str:
    if validation.get("error"):
        return '<span class="pill bad">did not run</span>'
    return '<span class="pill ok">all suites passed</span>' if validation.get("success") else '<span class="pill bad">failed</span>'


def _flagged(report: dict[str, Any]) -> int:
    return sum((report.get("would_remove_by_reason") or {}).values())


def funnel_block(manifest: dict[str, Any], reports: list[dict[str, Any]]) -> str:
    total = manifest["rows_in"]
    steps = [("input", total, 0)] + [(f"{r['index']:02d} {r['name']}", r["rows_kept"], r["rows_removed"]) for r in reports]
    chart = funnel(steps, total, label="Rows through the stages")
    rows = [["input", "", "", "", fmt_int(total), fmt_pct(1.0)]]
    for r in reports:
        flagged = _flagged(r)
        rows.append([
            f'<a href="#stage-{r["index"]}">{esc(r["index"])}. {esc(r["name"])}</a> <span class="muted small">{esc(r["stage"])} · {esc(r["mode"])}</span>',
            fmt_int(r["rows_in"]),
            fmt_int(r["rows_removed"]) + (f' <span class="muted">({flagged:,} flagged, kept)</span>' if flagged else ""),
            fmt_pct(r["rows_removed"] / r["rows_in"] if r["rows_in"] else 0.0),
            fmt_int(r["rows_kept"]),
            fmt_pct(r["rows_kept"] / total if total else 0.0),
        ])
    return (
        '<div id="funnel"><h3 class="first">Funnel</h3>'
        f'<p>{total:,} rows in → <b>{manifest["rows_kept"]:,} kept</b> ({fmt_pct(manifest["rows_kept"] / total if total else 0)}), '
        f'{manifest["rows_removed"]:,} removed ({fmt_pct(manifest["rows_removed"] / total if total else 0)}).</p>'
        + chart
        + "<details><summary>The funnel as a table</summary>"
        + '<div class="scroll">' + table(["step", "rows in", "removed", "removed of rows in", "rows after", "of run input"], rows) + "</div></details></div>"
    )


def _grouped_reasons(report: dict[str, Any]) -> dict[str, int]:
    """A stage's removed rows per reason as HTML, the reasons that share a prefix its
    `explain` declares (`lang_not_kept:` for `lang_not_kept:fr`) as one, with its largest
    values: 75 languages' share each is small, their total is the finding."""
    prefixes = [p for p in ((report.get("explain") or {}).get("reasons") or {}) if p.endswith(":")]
    groups: dict[str, dict[str, int]] = {}
    out = {}
    for reason, n in (report.get("removed_by_reason") or {}).items():
        prefix = next((p for p in prefixes if reason.startswith(p)), None)
        if prefix is None:
            out[f"<code>{esc(reason)}</code>"] = n
        else:
            groups.setdefault(prefix, {})[reason[len(prefix):]] = n
    for prefix, values in groups.items():
        largest = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
        listed = ", ".join(f'<span dir="auto">{esc(v)}</span> {n:,}' for v, n in largest[:3]) + (f", and {len(largest) - 3:,} more" if len(largest) > 3 else "")
        out[f"<code>{esc(prefix)}*</code> ({listed})"] = sum(values.values())
    return out


def top_findings(manifest: dict[str, Any], reports: list[dict[str, Any]]) -> list[str]:
    """What a reviewer should look at first, as sentences: the reasons that removed the
    most rows, rows flagged for review, and the statistical findings stages report
    (`findings: [{sentence}]`, e.g. slices: who the curation removed)."""
    total = manifest["rows_in"] or 1
    out = []
    reasons = sorted(((n, r, reason) for r in reports for reason, n in _grouped_reasons(r).items()), key=lambda x: (-x[0], x[1]["index"]))
    for n, r, reason in reasons[:3]:
        out.append(f'<a href="#stage-{r["index"]}">{esc(r["name"])}</a> removed <b>{n:,}</b> row{"s" if n != 1 else ""} as {reason} '
                   f'({fmt_pct(n / (r["rows_in"] or 1))} of the rows it saw, {fmt_pct(n / total)} of the input)')
    for r in reports:
        flagged = _flagged(r)
        if flagged:
            reasons_text = ", ".join(f"<code>{esc(k)}</code> {v:,}" for k, v in sorted((r.get("would_remove_by_reason") or {}).items(), key=lambda kv: -kv[1])[:3])
            kept = kept_flag_counts(r)
            in_data = flagged if kept is None else sum(kept.values())
            fate = (f"and kept them ({reasons_text})" if in_data == flagged else
                    f"({reasons_text}); {in_data:,} of them reached <code>data/</code>, a later stage removed the rest")
            out.append(f'<a href="#stage-{r["index"]}">{esc(r["name"])}</a> flagged <b>{flagged:,}</b> rows for review {fate}')
    for r in reports:
        findings = (r.get("stats") or {}).get("findings")
        if isinstance(findings, list):
            sentences = [f["sentence"] for f in findings if isinstance(f, dict) and isinstance(f.get("sentence"), str)]
            for sentence in sentences[:3]:
                out.append(f'<a href="#stage-{r["index"]}">{esc(r["name"])}</a>: ' + re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(sentence)))
    return out


def run_warnings(manifest: dict[str, Any], reports: list[dict[str, Any]], validation: dict[str, Any] | None) -> list[str]:
    """Everything in the run that needs a reviewer's attention: failed gates, failed or
    skipped validation, a trial or annotate-only run, stages that removed most of what
    they saw, and any `warnings` the run, a stage report or its statistics carry."""
    out = []
    for g in (manifest.get("gates") or {}).get("results", []):
        if not g["passed"]:
            out.append(f'gate <code>{esc(g["gate"])}</code> failed: {esc(g["message"])}')
    if validation is not None:
        if validation.get("error"):
            out.append(f"validation did not run: {esc(validation['error'])}")
        for suite in validation.get("suites", []):
            name = f'validation suite <code>{esc(suite["suite"])}</code> on {esc(suite["target"])}'
            if not suite["success"]:
                out.append(f'{name}: {suite["evaluated"] - suite["passed"]} of {suite["evaluated"]} expectations not met')
            if suite.get("skipped"):
                notes = sorted({e["note"] for e in suite.get("expectations", []) if e["status"] == "skipped" and e.get("note")})
                why = f" ({esc('; '.join(notes))})" if notes else ""
                if not suite["evaluated"]:
                    out.append(f'<strong>{name} checked nothing</strong>: all {suite["skipped"]} of its expectations were skipped{why}')
                else:
                    out.append(f'{name}: {suite["skipped"]} of {suite["evaluated"] + suite["skipped"]} expectations skipped{why}')
    if manifest.get("slice"):
        file_rows = [i.get("rows") for i in manifest.get("inputs") or []]
        whole = f" of the input files' {sum(file_rows):,}" if file_rows and None not in file_rows else ""
        out.append(f"trial run, {esc(slice_text(manifest['slice']))}: {manifest['rows_in']:,}{whole} rows; "
                   "every count, gate and suite on this page judges those rows only")
    if manifest.get("annotate_only"):
        out.append("annotate-only run: every stage added its columns and removed nothing")
    for r in reports:
        if r["rows_in"] and r["rows_removed"] / r["rows_in"] > 0.5:
            out.append(f'<a href="#stage-{r["index"]}">{esc(r["name"])}</a> removed {fmt_pct(r["rows_removed"] / r["rows_in"])} of the rows it saw')
    for warning in manifest.get("warnings") or []:
        out.append(f'<span dir="auto">{esc(warning)}</span>')
    # A stage's warnings about one slice of the rows (quality's per language: `wipe_out`) come
    # after every run- and stage-level one, so that dozens of them cannot push those out of sight.
    per_slice = []
    for r in reports:
        slice_messages = {f.get("message") for f in ((r.get("stats") or {}).get("wipe_out") or {}).get("flagged") or []}
        for warning in [*(r.get("warnings") or []), *((r.get("stats") or {}).get("warnings") or [])]:
            line = f'<a href="#stage-{r["index"]}">{esc(r["name"])}</a>: <span dir="auto">{esc(warning)}</span>'
            (per_slice if warning in slice_messages else out).append(line)
    return out + per_slice


FINDINGS_SHOWN = 8
WARNINGS_SHOWN = 12
"""Items of the Summary's lists shown open; the rest are one click away."""


def _folded_list(items: list[str], shown: int, tag: str, kind: str) -> str:
    """The first `shown` items as a list, the rest in a <details> that says how many
    (`kind`: the items' plural, `findings`, and the lists' CSS class)."""
    head = f'<{tag} class="{kind}">' + "".join(f"<li>{item}</li>" for item in items[:shown]) + f"</{tag}>"
    rest = items[shown:]
    if not rest:
        return head
    start = f' start="{shown + 1}"' if tag == "ol" else ""
    noun = kind if len(rest) > 1 else kind.removesuffix("s")
    return (head + f'<details><summary>{len(rest):,} more {noun}</summary><{tag} class="{kind}"{start}>'
            + "".join(f"<li>{item}</li>" for item in rest) + f"</{tag}></details>")


def section_summary(manifest: dict[str, Any], reports: list[dict[str, Any]], validation: dict[str, Any] | None) -> str:
    findings = top_findings(manifest, reports)
    warnings = run_warnings(manifest, reports, validation)
    findings_html = _folded_list(findings, FINDINGS_SHOWN, "ol", "findings") if findings else '<p class="muted">Nothing removed or flagged.</p>'
    warnings_html = _folded_list(warnings, WARNINGS_SHOWN, "ul", "warnings") if warnings else '<p><span class="pill ok">none</span></p>'
    return (
        '<section id="summary"><h2>Summary</h2><div class="two"><div>' + funnel_block(manifest, reports) + "</div><div>"
        + f'<div id="findings"><h3 class="first">Top findings</h3>{findings_html}</div>'
        + f'<div id="warnings"><h3>Warnings <span class="pill {"warn" if warnings else "ok"}">{len(warnings)}</span></h3>{warnings_html}</div>'
        + "</div></div>" + section_gates(manifest) + "</section>"
    )


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
        "trial slice": slice_text(manifest.get("slice")),
        "pipeline hash": (manifest.get("pipeline_hash") or "")[:16],
        "versions": Html(", ".join(f"{esc(k)}&nbsp;{esc(v)}" for k, v in versions.items())),
    }
    inputs = manifest.get("inputs", [])
    rows = [[f'<span class="mono">{esc(i.get("source") or i["path"])}</span>', esc(i.get("format", "parquet")), fmt_int(i["rows"]), fmt_int(i["bytes"]),
             f'<span class="mono">{esc(input_identity(i) or "")}</span>'] for i in inputs]
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
        '<section id="run"><details><summary><h2>Run</h2> <span class="muted small">directory, versions, inputs, every stage parameter</span></summary><div class="two"><div>' + kv_table(facts) + "</div><div>"
        + f"<h3 class=\"first\">Inputs <span class=\"muted small\">{len(inputs):,} files · {sum(i['rows'] for i in inputs):,} rows · {total_bytes:,} bytes</span></h3>"
        + inputs_html + kv_table(input_facts) + "</div></div>"
        + "<h3>Pipeline</h3>"
        + '<div class="scroll">' + table(["#", "name", "stage", "mode", "parameters (defaults included)"], stage_rows, numeric_from=99) + "</div>"
        + checks + "</details></section>"
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
    return '<div id="gates"><h3>Gates</h3>' + head + '<div class="scroll">' + table(["gate", "result", "value", "limit", "detail"], rows, numeric_from=99) + "</div></div>"




def section_validation(manifest: dict[str, Any], validation: dict[str, Any] | None) -> str:
    if validation is None:
        return ""
    parts = ['<section id="validation"><details><summary><h2>Validation (great-expectations)</h2> ' + _validation_verdict(validation) + "</summary>"]
    if validation.get("error"):
        parts.append(f'<p><span class="pill bad">validation did not run</span> {esc(validation["error"])}</p></details></section>')
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
    parts.append("</details></section>")
    return "".join(parts)




BAD_WHEN = {"rows_in": None, "rows_kept": "down", "rows_removed": "up", "removed_fraction": "up", "flags_on_kept_rows": "up"}
"""Which way each total's change is bad (red); the other way, and unlisted metrics, are neutral."""


def section_compare(comparison: dict[str, Any] | None) -> str:
    if not comparison:
        return ""
    c = comparison
    parts = [(f'<section id="compare"><h2>Changes since the earlier run</h2><p>This run compared with <span class="mono">{esc(c["old_run"])}</span>'
             f' (finished {esc(c.get("old_finished_at") or "?")}). Deltas are this run minus the earlier one; rates in percentage points (pp). '
             '<span class="delta-bad">Red</span>: more rows removed (or fewer kept); a fall in removals is not coloured. Flagged rows were kept by an annotate-mode stage and are counted apart; flags on kept rows count one per stage, so a row two stages flagged counts twice.</p>')]
    rows = []
    for t in c["totals"]:
        bad = BAD_WHEN.get(t["metric"])
        if t["kind"] == "pp":
            rows.append([esc(humanize(t["metric"])), fmt_pct(t["old"], 2), fmt_pct(t["new"], 2), fmt_delta(t["delta"], "pp", bad)])
        else:
            rows.append([esc(humanize(t["metric"])), fmt_int(t["old"]), fmt_int(t["new"]), fmt_delta(t["delta"], bad=bad)])
    parts.append('<div class="two"><div>' + table(["", "earlier", "this run", "change"], rows) + "</div><div>")
    parts.append(_what_differs(c))
    parts.append("</div></div>")
    parts.append(_decision_changes(c.get("decisions")))
    def count(value: int | None) -> str:
        return fmt_int(value) if value is not None else "–"
    rows = [[esc(s["stage"]), count(s["old_removed"]), count(s["new_removed"]), fmt_pct(s["old_rate"], 2), fmt_pct(s["new_rate"], 2),
             fmt_delta(s["delta_rate"], "pp", "up"), count(s.get("old_flagged")), count(s.get("new_flagged"))] for s in c["stages"]]
    parts.append("<h3>Removal per stage</h3>" + folded_table(rows, ["stage", "removed, earlier", "removed, now", "rate, earlier", "rate, now", "change",
                                                                    "flagged (kept), earlier", "flagged (kept), now"]))
    rows = [[esc(r["stage"]), f'<span dir="auto">{esc(r["reason"])}</span>' + (' <span class="pill info">flagged, kept</span>' if r.get("kind") == "flagged" else ""),
             count(r["old_rows"]), count(r["new_rows"]), fmt_pct(r["old_rate"], 2), fmt_pct(r["new_rate"], 2),
             fmt_delta(r["delta_rate"], "pp", "up" if r.get("kind", "removed") == "removed" else None)]
            for r in c["reasons"]]
    parts.append("<h3>Per reason <span class=\"muted small\">(rate: share of the rows the stage saw)</span></h3>"
                 + (folded_table(rows, ["stage", "reason", "rows, earlier", "rows, now", "rate, earlier", "rate, now", "change"], numeric_from=2) if rows else '<p class="muted">Nothing removed in either run.</p>'))
    for key, title in (("languages", "Language shares of the output"), ("labels", "Label shares of the output")):
        block = c.get(key)
        if not block:
            continue
        rows = [[f'<span dir="auto">{esc(r["value"])}</span>', fmt_pct(r["old"], 2), fmt_pct(r["new"], 2), fmt_delta(r["delta"], "pp")] for r in block["rows"]]
        parts.append(f'<details><summary>{esc(title)} <span class="muted small">(column <code>{esc(block["column"])}</code>)</span></summary>'
                     + folded_table(rows, ["value", "earlier", "this run", "change"]) + "</details>")
    parts.append("</section>")
    return "".join(parts)


def _what_differs(c: dict[str, Any]) -> str:
    """Whatever besides the data's own rows differs between the runs: the pipeline's
    parameters, the input files and the run's settings, each a cause a change in rows may
    come from."""
    blocks = [(title, c.get(key) or []) for key, title in (("pipeline_changes", "Pipeline changes"), ("input_changes", "Input changes"),
                                                            ("run_changes", "Run setting changes"))]
    if not any(changes for _, changes in blocks):
        return '<p class="muted">Same pipeline parameters, input files and run settings.</p>'
    out = []
    for title, changes in blocks:
        if changes:
            items = "".join(f'<li><code dir="auto">{esc(truncate(x, 300))}</code></li>' for x in changes[:50])
            more = f'<li class="muted">… and {len(changes) - 50:,} more</li>' if len(changes) > 50 else ""
            out.append(f'<h3 class="first">{title}</h3><ul>{items}{more}</ul>')
        else:
            out.append(f'<p class="muted">{title}: none.</p>')
    return "".join(out)


def _decision_changes(d: dict[str, Any] | None) -> str:
    """The rows whose decision changed between the runs, from the join on id."""
    if d is None:
        return '<p class="muted">Rows cannot be matched between the runs: they name rows by different id columns, or a run\'s files are missing.</p>'
    if not d.get("unique_ids"):
        return f'<p class="muted">Ids in <code>{esc(d["id_column"])}</code> repeat: rows cannot be matched one to one.</p>'
    head = (f'<h3 id="changed-rows">Rows whose decision changed <span class="muted small">(join on <code>{esc(d["id_column"])}</code>: '
            f'{d["rows_compared"]:,} rows in both runs'
            + (f', {d["only_old"]:,} only in the earlier, {d["only_new"]:,} only in this one' if d["only_old"] or d["only_new"] else "") + ")</span></h3>")
    if not d["changed"]:
        return head + "<p>No row changed its decision.</p>"
    summary = (f'<p><b>{d["changed"]:,}</b> rows changed: <span class="delta-bad">{d["kept_to_removed"]:,} kept before, removed now</span>, '
               f'<span class="delta-neutral">{d["removed_to_kept"]:,} removed before, kept now</span>, '
               f'{d["changed"] - d["kept_to_removed"] - d["removed_to_kept"]:,} removed for another reason.</p>')
    transitions = [[f'<span dir="auto">{esc(t["before"])}</span>', f'<span dir="auto">{esc(t["after"])}</span>', fmt_int(t["rows"])] for t in d["transitions"]]
    rows = [[f'<span class="mono">{esc(r["id"])}</span>', f'<span dir="auto">{esc(r["before"])}</span>', f'<span dir="auto">{esc(r["after"])}</span>',
             f'<span class="small" dir="auto">{esc(r.get("text") or "")}</span>'] for r in d["rows"]]
    more = f' <span class="muted small">(the first {len(rows):,} of {d["changed"]:,})</span>' if len(rows) < d["changed"] else ""
    return (head + summary + folded_table(transitions, ["before", "after", "rows"], numeric_from=2)
            + f"<h4>The rows{more}</h4>" + f'<div class="scroll">{table([d["id_column"], "before", "after", "text"], rows, numeric_from=99)}</div>')


# ------------------------------------------------------------------------------ the page


def _cards(manifest: dict[str, Any], reports: list[dict[str, Any]], validation: dict[str, Any] | None) -> str:
    total = manifest["rows_in"] or 0
    flagged = flags_on_kept_rows(reports)
    cards = [
        ("rows in", f"{total:,}"),
        ("kept", f"{manifest['rows_kept']:,} <span class=\"small muted\">{fmt_pct(manifest['rows_kept'] / total if total else 0)}</span>"),
        ("removed", f"{manifest['rows_removed']:,} <span class=\"small muted\">{fmt_pct(manifest['rows_removed'] / total if total else 0)}</span>"),
    ]
    if flagged:  # flags, not rows: a row two stages flag counts twice
        cards.append(("flags for review on rows in data/ (one per stage that flagged the row)", f"{flagged:,}"))
    cards += [("stages", f"{len(reports)}"), ("duration", f"{manifest.get('seconds', 0):,.1f} s")]
    gates = manifest.get("gates")
    if gates:
        failed = sum(1 for g in gates["results"] if not g["passed"])
        cards.append(("gates", '<span class="pass">all passed</span>' if not failed else f'<span class="fail">{failed} failed</span>'))
    if validation is not None:
        ok = validation.get("success")
        cards.append(("validation", '<span class="pass">passed</span>' if ok else '<span class="fail">failed</span>'))
    return '<div class="cards">' + "".join(f'<div class="card"><div class="v">{v}</div><div class="k">{esc(k)}</div></div>' for k, v in cards) + "</div>"


def page(run_dir: Path, manifest: dict[str, Any], reports: list[dict[str, Any]], validation: dict[str, Any] | None,
         comparison: dict[str, Any] | None, evaluation: dict[str, Any] | None = None) -> str:
    status = manifest.get("status", "")
    pill = "ok" if status == "complete" else "bad"
    spec = manifest.get("pipeline", {}).get("input", {})
    rows = RunRows(run_dir, [r["name"] for r in reports], spec.get("id_column") or "curate_id", (manifest.get("state") or {}).get("output_files"))
    columns = slice_columns(manifest)
    fates, unreadable = stage_fates(rows, reports, columns)
    nav = [("summary", "Summary")]
    if evaluation:
        nav.append(("evaluation", "Evaluation"))
    if comparison:
        nav.append(("compare", "Changes"))
    nav += [(f"stage-{r['index']}", f"{r['index']}. {r['name']}") for r in reports]
    if validation is not None:
        nav.append(("validation", "Validation"))
    nav.append(("run", "Run"))
    body = [
        section_summary(manifest, reports, validation),
        section_evaluation(evaluation),
        section_compare(comparison),
        '<section id="stages"><h2>Stages <span class="muted small">(open one for its reasons, samples and charts)</span></h2>',
        (f'<p class="warning"><span class="pill bad">incomplete</span> The run\'s files in <code>data/</code> and <code>removed/</code> are missing or could not be read '
         f'({esc(unreadable)}): removal by language and slice, and kept vs removed in the histograms, are left out of every stage.</p>' if unreadable else ""),
        *(section_stage(r, rows, fates, columns, spec.get("text_column") or "text", relabelled_label(manifest, reports)) for r in reports),
        "</section>",
        section_validation(manifest, validation),
        section_run(run_dir, manifest, reports),
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
                  comparison: dict[str, Any] | None = None, path: Path | None = None) -> Path:
    """Write `run_dir/report.html` (or `path`) from the run's manifest, stage reports and
    (when present) reports/validation.json."""
    path = path or run_dir / "report.html"
    write_text_atomic(report_page(run_dir, manifest, reports, comparison), path)
    return path


def report_page(run_dir: Path, manifest: dict[str, Any], reports: list[dict[str, Any]],
                comparison: dict[str, Any] | None = None, evaluation: dict[str, Any] | None = None) -> str:
    """report.html's text. `evaluation`: `curate evaluate`'s result; by default, its
    reports/evaluation.json when there is one."""
    validation_path = run_dir / "reports" / "validation.json"
    validation = read_json(validation_path) if validation_path.is_file() else None
    if validation is None and (manifest.get("validation") or {}).get("error"):
        validation = manifest["validation"]
    evaluation_path = run_dir / "reports" / "evaluation.json"
    if evaluation is None and evaluation_path.is_file():
        evaluation = read_json(evaluation_path)
    return page(run_dir, manifest, reports, validation, comparison, evaluation)


def rerender(run_dir: Path, older: Path | None = None) -> tuple[Path, dict[str, Any] | None]:
    """`curate report`: render a finished run's page again, optionally with the changes
    since an older run. The page is written only beside the run it was rendered from
    (a rerun working in the directory, or one that replaced the run meanwhile, stops it)."""
    from curate.report.compare import compare_runs, load_run

    run = load_run(run_dir)
    comparison = compare_runs(run, load_run(older)) if older is not None else None
    html = report_page(run.path, run.manifest, run.reports, comparison)
    path = run.path / "report.html"
    with unchanged_run(run.path, run.manifest, "report"):
        write_text_atomic(html, path)
    return path, comparison
