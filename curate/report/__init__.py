"""Reports for people: report.html (html), the per-stage statistics (stats), inline SVG
charts (charts) and run-to-run comparison (compare).

It reads a finished run directory and writes HTML; it never changes data/ or removed/,
and it imports nothing from the runner or the stages.
"""
