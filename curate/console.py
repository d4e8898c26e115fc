"""What a run tells the person or scheduler watching it: rich progress bars and a
summary table, JSON lines for schedulers, or nothing but errors."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""What a terminal would obey rather than show: C0 and C1 controls (ESC starts sequences
that clear the screen, recolour, retitle the window or make links), DEL, and the bidi
embeddings, overrides and isolates that reorder the rest of the line. Newline and tab stay."""


def _visible_control(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ESC shows as ␛
    return "\u2421" if code == 0x7F else f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible_controls(text: str, controls: re.Pattern[str] = CONTROL_CHARACTERS) -> str:
    """`text` with each character `controls` matches shown as a symbol (NUL as ␀, ESC as ␛, DEL as ␡, others as \\x..)."""
    return controls.sub(_visible_control, text)


def terminal_text(value: Any, style: str = "") -> Text:
    """A value from the data (or a path, or a message quoting either) for a rich console:
    never read as markup (`[/]`, `[link=…]`), its control characters shown, not obeyed."""
    return Text(visible_controls(str(value)), style=style)


class _ReaderMayLeave:
    """A standard stream whose reader may go away (`curate run … | head`, a dead `tee`)
    or whose file cannot take more (`>> /var/log/curate.log` on a full disk): once a
    write or flush fails, the stream writes to /dev/null from then on. The command goes
    on and exits with its own code: a run is never stopped half-way, or a finished one
    called failed, because a line could not be shown. A failure other than a closed pipe
    is kept in `lost`, for the command line to name (`take_lost_stdout`)."""

    def __init__(self, stream: Any):
        self._stream = stream
        self.lost: OSError | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            self._discard(exc)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            self._discard(exc)

    def _discard(self, exc: OSError) -> None:
        if not isinstance(exc, BrokenPipeError) and self.lost is None:
            self.lost = exc
        # /dev/null on the stream's own descriptor: what it still buffers, and what the
        # interpreter flushes at exit, goes there too, with no "Exception ignored" line
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)
        self._stream.flush()


def survive_closed_pipes() -> None:
    """stdout and stderr outlive their readers and a full disk (`_ReaderMayLeave`); the command line's start calls it."""
    sys.stdout = _ReaderMayLeave(sys.stdout)
    sys.stderr = _ReaderMayLeave(sys.stderr)


def take_lost_stdout() -> str | None:
    """Why standard output could not be written (`No space left on device (ENOSPC)`), once;
    None when it was, or its reader merely left. Taking it says the caller has handled it."""
    import errno

    stdout = sys.stdout
    lost = getattr(stdout, "lost", None)
    if lost is None:
        return None
    stdout.lost = None
    return f"{lost.strerror} ({errno.errorcode.get(lost.errno or 0, lost.errno)})"


class SegmentProgress(Protocol):
    def advance(self, rows: int, shards: int) -> None: ...
    def close(self) -> None: ...


class Reporter:
    """Silent base: `--quiet`."""

    def note(self, message: str) -> None:
        pass

    def segment(self, label: str, total_rows: int, total_shards: int) -> SegmentProgress:
        return _NoProgress()

    def deciding(self, stage: str) -> None:
        pass

    def warning(self, stage: str | None, message: str) -> None:
        """A finding a person should look at (e.g. a stage removed most of one language);
        `stage` None: about the run (it replaces a finished run of another pipeline)."""

    def finished(self, reports: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
        pass


class _NoProgress:
    def advance(self, rows: int, shards: int) -> None:
        pass

    def close(self) -> None:
        pass


class RichReporter(Reporter):
    def __init__(self) -> None:
        self.console = Console(stderr=True)

    def note(self, message: str) -> None:
        self.console.print(terminal_text(message, "dim"))

    def segment(self, label: str, total_rows: int, total_shards: int) -> SegmentProgress:
        return _RichSegment(self.console, label, total_rows, total_shards)

    def deciding(self, stage: str) -> None:
        self.console.print(terminal_text(f"{stage}: deciding over the whole dataset…", "dim"))

    def warning(self, stage: str | None, message: str) -> None:
        about = f"stage {stage} " if stage is not None else ""
        self.console.print(terminal_text(f"warning: {about}{message}", "yellow"), highlight=False, soft_wrap=True)

    def finished(self, reports: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
        Console().print(summary_table(reports, manifest))


def summary_table(reports: list[dict[str, Any]], manifest: dict[str, Any]) -> Table:
    """A finished run's table: one line per stage, then the run's totals."""
    table = Table(title=f"curate run: {manifest['status']}", title_justify="left")
    for header in ("stage", "rows in", "kept", "removed", "seconds", "work"):
        table.add_column(header, justify="left" if header in ("stage", "work") else "right")
    for r in reports:
        removed = f"{r['rows_removed']:,}"
        if r.get("would_remove_by_reason"):
            removed += f" ({sum(r['would_remove_by_reason'].values()):,} flagged)"
        # a reused stage's seconds are those of the run that did its work
        table.add_row(f"{r['index']:02d} {r['name']}", f"{r['rows_in']:,}", f"{r['rows_kept']:,}", removed, f"{r['seconds']:.2f}", r.get("work", "ran"))
    table.add_section()
    table.add_row("run", f"{manifest['rows_in']:,}", f"{manifest['rows_kept']:,}", f"{manifest['rows_removed']:,}", f"{manifest['seconds']:.2f}", "")
    return table


class _RichSegment:
    def __init__(self, console: Console, label: str, total_rows: int, total_shards: int):
        self.started = time.perf_counter()
        self.rows = 0
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("shards · {task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task = self.progress.add_task(label, total=total_shards, rate="")
        self.progress.start()

    def advance(self, rows: int, shards: int) -> None:
        self.rows += rows
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, advance=shards, rate=f"{self.rows:,} rows · {self.rows / elapsed:,.0f} rows/s")

    def close(self) -> None:
        self.progress.stop()


def emit_json(event: str, **fields: Any) -> None:
    """One JSON event on stderr, as `--log-format json` writes every event."""
    sys.stderr.write(json.dumps({"event": event, "time": time.time(), **fields}, default=str) + "\n")
    sys.stderr.flush()


class JsonReporter(Reporter):
    """One JSON object per line on stderr, for schedulers (`--log-format json`). `quiet`
    (`--quiet`) drops the progress events (`note`, `segment_started`, `deciding`) and
    keeps what a scheduler acts on: `warning`, `gate_failed`, `run_finished` (and the
    CLI's `error`)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def emit(self, event: str, **fields: Any) -> None:
        emit_json(event, **fields)

    def note(self, message: str) -> None:
        if not self.quiet:
            self.emit("note", message=message)

    def segment(self, label: str, total_rows: int, total_shards: int) -> SegmentProgress:
        if not self.quiet:
            self.emit("segment_started", stages=label, rows=total_rows, shards=total_shards)
        return _NoProgress()

    def deciding(self, stage: str) -> None:
        if not self.quiet:
            self.emit("deciding", stage=stage)

    def warning(self, stage: str | None, message: str) -> None:
        self.emit("warning", **({"stage": stage} if stage is not None else {}), message=message)

    def finished(self, reports: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
        summary = [{k: r[k] for k in ("name", "stage", "rows_in", "rows_kept", "rows_removed", "removed_by_reason", "seconds")}
                   | {"work": r.get("work", "ran")} for r in reports]
        from curate.checks.validation import failure_line

        failed_validation = failure_line(manifest.get("validation"))
        if failed_validation is not None:
            self.emit("warning", check="validation", message=failed_validation)
        gates = manifest.get("gates")
        for result in (gates or {}).get("results", []):
            if not result["passed"]:
                self.emit("gate_failed", **result)
        checks: dict[str, Any] = {}
        if gates is not None:
            checks["gates"] = {"passed": gates["passed"], "failed": gates["failed"], "results": gates["results"]}
        if manifest.get("validation") is not None:
            checks["validation"] = manifest["validation"]
        self.emit(
            "run_finished",
            status=manifest["status"],
            exit_code=manifest["exit_code"],
            rows_in=manifest["rows_in"],
            rows_kept=manifest["rows_kept"],
            rows_removed=manifest["rows_removed"],
            seconds=manifest["seconds"],
            stages=summary,
            **checks,
        )
