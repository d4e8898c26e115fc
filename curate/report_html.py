"""report.html: one self-contained page a reviewer opens. No network requests: the
style is inline and every piece of document text is escaped."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from curate.io import write_text_atomic

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d2330}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d5d9e0}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #e6e8ec;text-align:right}
td:first-child,th:first-child{text-align:left}.bar{background:#4a7bd0;height:.8rem;display:inline-block}
.sample{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;max-width:60rem;text-align:left}
.muted{color:#667}
"""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _funnel(manifest: dict[str, Any], reports: list[dict[str, Any]]) -> str:
    total = max(manifest["rows_in"], 1)
    rows = [["input", f"{manifest['rows_in']:,}", "", f'<span class="bar" style="width:20rem"></span>']]
    for r in reports:
        width = 20 * r["rows_kept"] / total
        rows.append([escape(f"{r['index']:02d} {r['name']} ({r['stage']}, {r['mode']})"), f"{r['rows_kept']:,}", f"−{r['rows_removed']:,}",
                     f'<span class="bar" style="width:{width:.2f}rem"></span>'])
    return _table(["step", "rows after", "removed", ""], rows)


def _stage_section(report: dict[str, Any]) -> str:
    reasons = report["removed_by_reason"] or report.get("would_remove_by_reason", {})
    verb = "removed" if report["removed_by_reason"] else "flagged (annotate mode: kept)"
    title = f"{report['index']:02d} {report['name']}"
    parts = [f"<h2 id=\"stage-{report['index']}\">{escape(title)}</h2>",
             f"<p class=\"muted\">{escape(report['stage'])} · {escape(report['mode'])} · {report['rows_in']:,} rows in · {report['seconds']:.2f} s"
             + (f" · annotation columns: {escape(', '.join(report['annotation_columns']))}" if report["annotation_columns"] else "") + "</p>"]
    if reasons:
        link = report.get("removed_files")
        parts.append(_table(["reason", verb, "share of rows in"], [
            [escape(reason), f"{count:,}", f"{count / max(report['rows_in'], 1):.1%}"] for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1])
        ]))
        if link:
            parts.append(f'<p>Removed rows: <a href="{escape(link)}">{escape(link)}</a></p>')
    else:
        parts.append("<p>Nothing removed or flagged.</p>")
    for reason, samples in report.get("samples", {}).items():
        rows = [[escape(str(next(iter(s.values()), ""))), f'<div class="sample">{escape(json.dumps(s, ensure_ascii=False, indent=1))}</div>'] for s in samples]
        parts.append(f"<details><summary>Samples: {escape(reason)} ({len(samples)})</summary>{_table(['id', 'row'], rows)}</details>")
    if report.get("stats"):
        parts.append(f"<details><summary>Statistics</summary><div class=\"sample\">{escape(json.dumps(report['stats'], indent=1, ensure_ascii=False, default=str))}</div></details>")
    return "\n".join(parts)


def render_report(run_dir: Path, manifest: dict[str, Any], reports: list[dict[str, Any]]) -> Path:
    inputs = _table(["file", "rows", "bytes"], [[escape(i["path"]), f"{i['rows']:,}", f"{i['bytes']:,}"] for i in manifest["inputs"]])
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>curate run report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>curate run report</h1>
<section id="run"><h2>Run</h2>
<p>Status <b>{escape(manifest['status'])}</b> · curate {escape(manifest['curate_version'])} · started {escape(manifest['started_at'])} · {manifest['seconds']:.2f} s ·
{manifest['rows_in']:,} rows in, {manifest['rows_kept']:,} kept, {manifest['rows_removed']:,} removed · pipeline {escape(manifest['pipeline_hash'][:12])}</p>
<details><summary>Inputs ({len(manifest['inputs'])} files)</summary>{inputs}</details></section>
<section id="funnel"><h2>Funnel</h2>{_funnel(manifest, reports)}</section>
<section id="stages">{''.join(_stage_section(r) for r in reports)}</section>
</body></html>
"""
    path = run_dir / "report.html"
    write_text_atomic(html, path)
    return path
