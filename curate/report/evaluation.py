"""report.html's evaluation section: what `curate evaluate` measured (reports/evaluation.json):
the fixed model trained on the run's input rows and on its curated rows, scored on one
test set, with the differences and their bootstrap confidence intervals."""

from __future__ import annotations

from typing import Any

from curate.report.charts import esc, table


def section_evaluation(evaluation: dict[str, Any] | None) -> str:
    if not evaluation:
        return ""

    def points(value: float) -> str:
        return f"{value * 100:+.2f}".replace("-", "−")

    rows = []
    for metric, key in (("accuracy", "accuracy"), ("macro-F1", "macro_f1")):
        diff = evaluation[key]
        rows.append([
            esc(metric),
            f"{evaluation['input'][key]:.4f}",
            f"{evaluation['curated'][key]:.4f}",
            points(diff["difference"]),
            f"{points(diff['ci_low'])} to {points(diff['ci_high'])}",
        ])
    boot = evaluation["bootstrap"]
    return (
        '<section id="evaluation"><h2>Evaluation: did curating help?</h2>'
        f'<p><strong>{esc(evaluation["verdict"])}</strong></p>'
        f'<p class="muted small">Model: {esc(evaluation["model"])}, trained on the run\'s input rows ({evaluation["input"]["train_rows"]:,}) '
        f'and on its curated rows ({evaluation["curated"]["train_rows"]:,}); test set <span class="mono">{esc(evaluation["test"])}</span> '
        f'({evaluation["test_rows"]:,} rows, {evaluation["classes"]} classes). Differences in points (curated − input); '
        f'{boot["confidence"]:.0%} paired bootstrap interval over {boot["rounds"]:,} resamples of the test rows.</p>'
        '<div class="scroll">'
        + table(["metric", "trained on input", "trained on curated", "difference (points)", "95% CI (points)"], rows)
        + "</div></section>"
    )
