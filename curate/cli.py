"""The `curate` command line."""

from __future__ import annotations

import contextlib
import itertools
import re
import signal
import sys
import traceback
import types
import typing
from enum import Enum
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, Union

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from curate import __version__
from curate.console import take_lost_stdout, terminal_text
from curate.errors import CurateError, StorageError, storage_error

if TYPE_CHECKING:
    from pydantic import BaseModel

    from curate.config import Pipeline

app = typer.Typer(
    name="curate",
    help="Curate text datasets: Parquet, JSON Lines, CSV or Arrow in (local or object storage); curated shards, removed rows with reasons, and reports out.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "[bold]Start here[/bold]: curate check my.yaml, then curate run my.yaml; curate COMMAND -h for each command's examples.\n\n"
        "Exit codes: 0 done, 1 internal error, 2 pipeline/usage error, 3 input data error, 4 output directory error, "
        "5 a gate failed (docs/scheduling.md). Docs: README.md and docs/."
    ),
)

_option_type = typer.core.TyperOption.display_type_rich
_argument_type = typer.core.TyperArgument.display_type_rich


def _one_value(shown: Any) -> Any:
    # A repeatable option, or an argument given several times, takes one value each time:
    # its help shows `<str>`, not typer 0.29's `<list[str]>`.
    return re.sub(r"<list\[(\w+)\]>", lambda m: f"<{'path' if m.group(1) == 'Path' else m.group(1)}>", shown) if isinstance(shown, str) else shown


def _no_type_for_flags(option: typer.core.TyperOption, ctx: Any) -> str | None:
    # typer 0.29 shows `<bool>` beside every flag, which reads as if `--fresh true` were
    # the syntax; a flag takes no value, so its help shows no type.
    return None if option.is_flag else _one_value(_option_type(option, ctx))


typer.core.TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]
typer.core.TyperArgument.display_type_rich = lambda argument, ctx: _one_value(_argument_type(argument, ctx))  # type: ignore[method-assign]


SET_HELP = (
    "KEY=VALUE (repeatable): set a key of the pipeline file by its dotted path, a stage by its name: "
    "input.text_column=body, stages.NAME.KEY=VALUE (an example below); VALUE is YAML. Validated like the file; "
    "recorded in the manifest."
)

# Each example fits in 80 columns (a pipe, CI logs, a default terminal) with its comment
# on the line above: a wrapped command would lose its end when copied.
EXAMPLES = """
[bold]Examples[/bold]

  curate run pipelines/demo.yaml
  curate run my.yaml -i 'raw/*.parquet' -o runs/2026-11-20 --workers 4
  [dim]# schedulers: JSON lines on stderr[/dim]
  curate run my.yaml --annotate-only --log-format json
  curate run my.yaml -i s3://bucket/crawl/ -o s3://bucket/curated/2026-11-20
  [dim]# try the pipeline on the first rows[/dim]
  curate run my.yaml --limit 10000
  [dim]# try a threshold[/dim]
  curate run my.yaml --set stages.quality.thresholds.gopher_short_doc=10
  [dim]# report.html again, with what changed[/dim]
  curate report runs/today --compare runs/yesterday
  [dim]# did curating help? a fixed model, before and after[/dim]
  curate evaluate runs/today --test test.parquet

Exit codes: 0 done, 1 internal error, 2 pipeline/usage error, 3 input data error, 4 output directory error \
(also: in use by another run, disk full, read-only), 5 a gate failed (the run's data is written; docs/scheduling.md), \
130/143/129 stopped by Ctrl-C/SIGTERM/SIGHUP, 137 a worker process was killed (out of memory?): run the same \
command again to resume.
The run directory layout is described in docs/run-layout.md.
"""


CHECK_EXAMPLES = """
[bold]Examples[/bold]

  curate check my.yaml
  [dim]# before the data exists[/dim]
  curate check pipelines/*.yaml --no-input
  curate check my.yaml --set stages.quality.thresholds.gopher_short_doc=10
  [dim]# the very command a scheduler runs[/dim]
  curate check my.yaml -i 'crawl/*.jsonl.gz' -o runs/2026-11-20

Exit codes: 0 every file is ok, 2 a pipeline/usage error, 3 an input error (files, columns), 4 an output directory \
error (a file, input inside it, files curate did not write); with several kinds, the lowest.
"""

SHOW_EXAMPLES = """
[bold]Examples[/bold]

  [dim]# the summary table[/dim]
  curate show runs/demo
  curate show runs/demo --stage quality --reason gopher_short_doc --limit 5
  [dim]# one row through every stage[/dim]
  curate show runs/demo --id demo-000019

Exit codes: 0 shown, 2 a path that is not a run, or an unknown --stage, --reason or --id.
"""

STAGES_EXAMPLES = """
[bold]Examples[/bold]

  curate stages                         [dim]# every stage type, one line each[/dim]
  [dim]# its parameters, types, defaults and the columns it adds[/dim]
  curate stages quality
  curate stages near_dedup | less

Exit codes: 0 shown, 2 an unknown stage type (the message lists the stage types).
"""

REPORT_EXAMPLES = """
[bold]Examples[/bold]

  curate report runs/today
  curate report runs/today --compare runs/yesterday --json

Exit codes: 0 written, 2 a path that is not a finished run, 4 report.html cannot be written (or a run works in the directory).
"""

EVALUATE_EXAMPLES = """
[bold]Examples[/bold]

  curate evaluate runs/today --test test.parquet
  curate evaluate runs/today --test test.jsonl --model sklearn.svm.LinearSVC
  [dim]# the test file calls its labels topic[/dim]
  curate evaluate runs/today --test test.parquet --test-label-column topic

Exit codes: 0 compared, 2 a path that is not a finished run, or a --model that cannot be imported or builds no classifier, \
3 the test file or the run's data lacks a column or a usable label, 4 a run works in the directory or replaced the run \
meanwhile (nothing written; docs/evaluate.md).
"""


class Executor(str, Enum):
    local = "local"
    ray = "ray"


class LogFormat(str, Enum):
    rich = "rich"
    json = "json"


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (cron, systemd, Kubernetes, Airflow, a closed terminal): the run
    stops the way Ctrl-C stops it: workers stopped, one line, a resume hint."""

    def __init__(self, received: signal.Signals):
        super().__init__(received.name)
        self.signal = received


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_stop_received: Stopped | None = None
"""The `Stopped` the signal handler raised during this command, if any. Ray's `ray.get`
and `ray.wait` catch it (a KeyboardInterrupt) and raise a bare KeyboardInterrupt in its
place: `_fail` takes it back, so that a stop on Ray says SIGTERM and exits 143, not 130."""


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the run as Ctrl-C does (`Stopped`). The handlers before are
    restored at the end, so that a caller of the command in-process (a test, a notebook),
    and the processes it starts later, keep theirs: an ignored signal is inherited."""
    global _stop_received

    def stop(number: int, frame: Any) -> None:
        global _stop_received
        for other in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(other, signal.SIG_DFL)  # a second signal during the clean-up kills at once
        _stop_received = Stopped(signal.Signals(number))
        raise _stop_received

    before = {received: signal.getsignal(received) for received in STOP_SIGNALS}
    _stop_received = None
    for received in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(received, stop)
    try:
        yield
    finally:
        _stop_received = None
        for received, handler in before.items():
            signal.signal(received, handler if handler is not None else signal.SIG_DFL)


def _ignore_stop_signals() -> None:
    """The run is finished (a stop signal before this, after its manifest, is the
    runner's to ignore): one now, while the result is printed, would only turn a finished
    run's exit code into "not finished". `_stop_on_signals` restores the handlers after."""
    for received in STOP_SIGNALS:
        signal.signal(received, signal.SIG_IGN)


def _fail(error: BaseException, debug: bool, json_log: bool, has_output: bool = True) -> None:
    """`has_output`: the command has `--output`, which a file system error's advice may name."""
    if debug:  # the traceback, then the same line and exit code as without --debug
        traceback.print_exception(error)
    if type(error) is KeyboardInterrupt and _stop_received is not None:
        error = _stop_received  # what Ray made of the stop signal: see `_stop_received`
    if not isinstance(error, CurateError):
        error = storage_error(error, None) or error
    if isinstance(error, StorageError) and not has_output:
        message, code = error.without_output, error.exit_code
    elif isinstance(error, CurateError):
        message, code = str(error), error.exit_code
    elif isinstance(error, Stopped):
        message, code = f"stopped by {error.signal.name}; run the same command again to resume", 128 + error.signal.value
    elif isinstance(error, KeyboardInterrupt):
        message, code = "interrupted; run the same command again to resume", 130
    else:
        last = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
        where = f" at {Path(last.filename).name}:{last.lineno}" if last else ""
        what = str(error).strip().splitlines()[0] if str(error).strip() else ""
        message, code = f"internal error{where}: {type(error).__name__}: {what} (please report it; --debug shows the traceback)", 1
    if json_log:
        from curate.console import emit_json

        emit_json("error", message=message, exit_code=code)
    else:
        console = Console(stderr=True, highlight=False, soft_wrap=True)
        for line in message.splitlines():  # several errors at once: one line each
            console.print(terminal_text("error: ", "bold red") + terminal_text(line))
    raise typer.Exit(code)


@contextlib.contextmanager
def _one_line_errors(debug: bool = False, json_log: bool = False, has_output: bool = True) -> Iterator[None]:
    """The CLI's one place for a clean exit: every error as one line and its exit code.
    BaseException, because a panic inside polars or pyarrow's Rust/C++ code reaches
    Python as `PanicException`, which is not an Exception. `has_output`: as for `_fail`."""
    try:
        yield
    except (SystemExit, GeneratorExit, typer.Exit):
        raise
    except BaseException as error:  # noqa: BLE001 - see the docstring
        _fail(error, debug, json_log, has_output)


def unwritable_stdout(args: list[str]) -> None:
    """A command that ended well but could not write to standard output (a full disk) did
    not deliver what it shows: one line naming standard output, exit 4 (SystemExit: the
    command has returned). `curate run` has taken such a loss itself: its result is the
    run directory. A reader that left early (`| head`) has what it wanted: no failure."""
    lost = take_lost_stdout()
    if lost is None:
        return
    from curate.errors import OutputError

    try:
        _fail(OutputError(f"cannot write to standard output: {lost}; free space or write elsewhere"), False, _asks_for_json(args))
    except typer.Exit as end:
        raise SystemExit(end.exit_code) from None


def _asks_for_json(args: list[str]) -> bool:
    return "--log-format=json" in args or any(a == "--log-format" and b == "json" for a, b in zip(args, args[1:]))


class _CommandLineMistakes(typer.core.TyperCommand):
    """`curate run` and `check`: a mistake in the command line itself (a bad or missing
    option value, `--workers 0`, `--limit` without one, an unknown option, an extra or
    missing argument) is a JSON `error` event, as every later error is, when the line asks
    for `--log-format json`: a scheduler parsing stderr gets no boxed usage text. An
    unquoted `--input` glob the shell expanded is one line saying to quote it: `run`
    would box "unexpected extra arguments", `check` check its pipeline against the
    first file alone and call the others pipelines."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            from typer._click.exceptions import UsageError  # click's, which typer 0.29 vendors without exporting it
        except ImportError:  # a typer before 0.29 depends on click itself
            from click.exceptions import UsageError

        json_log = _asks_for_json(args)
        expanded = _expanded_glob(args)
        if expanded:
            from curate.errors import ConfigError

            _fail(ConfigError(expanded), False, json_log)
        try:
            return super().parse_args(ctx, args)
        except UsageError as error:
            if not json_log:
                raise
            from curate.console import emit_json

            emit_json("error", message=f"{error.format_message()} ({ctx.command_path} --help lists the options)", exit_code=error.exit_code)
            raise typer.Exit(error.exit_code) from None


def _data_format(argument: str) -> str | None:
    """The format of a data file a command-line argument names by its suffix (`.parquet`,
    `.jsonl.gz`), else None. A `.json` name is not taken for data: a pipeline may be
    written as JSON."""
    from curate.run.sources import format_of

    path = Path(argument)
    if not path.is_file() or path.suffix.lower() == ".json":
        return None
    try:
        return format_of(argument, None)[0]
    except CurateError:  # a name that says no data format (my.yaml)
        return None


def _expanded_glob(args: list[str]) -> str | None:
    """What to say when data files follow an `--input` value as more arguments (`curate
    run my.yaml -i raw/*.parquet`: the shell gave `-i raw/a.parquet raw/b.parquet`), else None."""
    from curate.run.sources import COMPRESSION_BY_SUFFIX

    for index, argument in enumerate(args):
        if argument in ("--input", "-i") and index + 1 < len(args):
            value, rest = args[index + 1], args[index + 2:]
        elif argument.startswith("--input="):
            value, rest = argument.split("=", 1)[1], args[index + 1:]
        else:
            continue
        extra = list(itertools.takewhile(lambda following: _data_format(following) is not None, rest))
        if extra:
            suffixes = Path(value).suffixes
            suffix = "".join(suffixes[-2:] if suffixes and suffixes[-1].lower() in COMPRESSION_BY_SUFFIX else suffixes[-1:])
            more = f" and {len(extra) - 1:,} more" if len(extra) > 1 else ""
            return (f"--input {value} is followed by more data files ({extra[0]}{more}): the shell expanded an unquoted glob; "
                    f"quote the glob: --input \"{Path(value).parent / ('*' + suffix)}\"")
    return None


def _refuse_data_as_pipeline(path: Path, command: str) -> None:
    """A data file where the pipeline file goes (`curate run data.parquet`): said so, not
    read as YAML (a Parquet file "is not UTF-8 text"; a CSV, malformed YAML)."""
    from curate.errors import ConfigError

    found = _data_format(str(path))
    if found is not None:
        raise ConfigError(f"{path}: a data file ({found}), not a pipeline file (YAML); give it with --input: curate {command} PIPELINE --input {path}")


@app.command(epilog=EXAMPLES, cls=_CommandLineMistakes)
def run(
    pipeline: Annotated[Path, typer.Argument(metavar="PIPELINE", help="Pipeline file (YAML); see pipelines/ for ready ones.", show_default=False)],
    input: Annotated[Optional[list[str]], typer.Option("--input", "-i", help="Input file, glob, directory or URL (repeatable); replaces input.path.")] = None,
    overrides: Annotated[Optional[list[str]], typer.Option("--set", help=SET_HELP, show_default=False)] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Run directory or URL (s3://…); replaces the pipeline's output:. Default: the pipeline's output: (relative to its file), else runs/<pipeline name> in the current folder.")] = None,
    work_dir: Annotated[Optional[Path], typer.Option("--work-dir", help="With an output URL: the local folder the run is computed in before upload. Default: a folder per URL under ~/.cache/curate/runs/.", show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N input rows in run order (a trial run; recorded in the manifest).", show_default=False)] = None,
    sample: Annotated[Optional[float], typer.Option("--sample", min=0.0, max=1.0, help="Keep each input row with this probability (a trial run; recorded in the manifest). With --limit: of the first N rows.", show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of --sample: the same seed keeps the same rows. Default: 0.", show_default=False)] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Worker processes for shard work. Default: as many as repay their start-up (0.6 to 2.7 CPU seconds each), up to the cores and shards: 1 for small inputs; a rerun that reuses stages runs in-process when the work left would not repay one (docs/run-layout.md).", show_default=False)] = None,
    annotate_only: Annotated[bool, typer.Option("--annotate-only", help="Every stage adds its columns; nothing is removed.")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete curate's own earlier or unfinished run in the run directory and start over (never files curate did not write).")] = False,
    executor: Annotated[Executor, typer.Option("--executor", help="local: worker processes on this machine; ray: Ray tasks (pip install -e '.\\[ray]').")] = Executor.local,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="With --executor ray: auto, HOST:6379 or ray://HOST:10001 joins a cluster (docs/ray.md); default starts a local Ray.", show_default=False)] = None,
    log_format: Annotated[LogFormat, typer.Option("--log-format", help="rich: progress bars and a table; json: one JSON event per line on stderr.")] = LogFormat.rich,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors and failed gates (with --log-format json: the error, warning, gate_failed and run_finished events).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")] = False,
) -> None:
    """Run a pipeline: kept rows to data/, removed rows to removed/<stage>/, reports to reports/.

    A killed run resumes where it stopped when the same command runs again.
    """
    from curate.config import load_pipeline
    from curate.console import JsonReporter, Reporter, RichReporter
    from curate.errors import OutputError, resolved
    from curate.run.runner import RunOptions, run_pipeline
    from curate.run.sources import is_url
    from curate.run.upload import RemoteRun, local_run_dir

    json_log = log_format is LogFormat.json
    with _stop_on_signals():
        with _one_line_errors(debug, json_log):
            _refuse_data_as_pipeline(pipeline, "run")
            spec, target = _with_input_and_output(load_pipeline(pipeline, overrides or ()), pipeline, input, output)
            _refuse_options_that_do_nothing(output, target, work_dir, executor, ray_address, sample, seed)
            remote = RemoteRun(target, spec.output_storage_options) if is_url(target) else None
            run_dir = local_run_dir(target, work_dir) if remote else Path(target)
            options = RunOptions(workers=workers, annotate_only=annotate_only, fresh=fresh, executor=executor.value, ray_address=ray_address,
                                 limit=limit, sample=sample, seed=seed or 0, remote=remote, overrides=tuple(overrides or ()), input_from_option=bool(input))
            reporter: Reporter = JsonReporter(quiet) if json_log else Reporter() if quiet else RichReporter()
            where = resolved(run_dir, "--work-dir" if remote else "output", OutputError, f"choose another {'--work-dir' if remote else '--output'}")
            result = run_pipeline(spec, where, options, reporter)
            _ignore_stop_signals()
        if not quiet and not json_log:
            where = remote.url if remote else result.output
            Console(stderr=True, soft_wrap=True).print(terminal_text(f"run directory: {where} (report: {where}/report.html)"))
            _print_headlines(result.reports)
            from curate.checks.validation import failure_line

            failed_validation = failure_line(result.manifest.get("validation"))
            if failed_validation is not None:  # without must_pass the exit code does not say so
                Console(stderr=True, soft_wrap=True).print(terminal_text(f"warning: {failed_validation}", "yellow"), highlight=False)
            lost = take_lost_stdout()
            if lost is not None:  # the run's result is its directory, not the table: its exit code stands
                Console(stderr=True, soft_wrap=True).print(terminal_text(
                    f"warning: standard output could not be written: {lost}; the summary table is lost, {where}/manifest.json holds its counts", "yellow"),
                    highlight=False)
        if not json_log:  # JSON: gate_failed events and the run_finished summary instead
            for line in (result.manifest.get("gates") or {}).get("failed", []):
                sys.stderr.write(f"gate failed: {line}\n")
    raise typer.Exit(result.manifest["exit_code"])


def _refuse_options_that_do_nothing(output: str | None, target: str, work_dir: Path | None, executor: Executor, ray_address: str | None,
                                    sample: float | None, seed: int | None) -> None:
    """An option that would change nothing in this combination is a mistake in the command
    line (a forgotten --executor ray, say): exit 2, before any work. `target`: where the
    run is written (--output, the pipeline's output:, or the default)."""
    from curate.errors import ConfigError
    from curate.run.sources import is_url

    if output is not None and not output.strip():
        raise ConfigError("--output is empty; give a run directory or URL, or leave the option out for the default")
    if ray_address is not None and executor is not Executor.ray:
        raise ConfigError(f"--ray-address {ray_address} does nothing without --executor ray; add --executor ray, or leave --ray-address out")
    if work_dir is not None and not is_url(target):
        raise ConfigError("--work-dir does nothing without an output URL (s3://…): a local run is computed in its run directory; leave --work-dir out")
    if seed is not None and sample is None:
        raise ConfigError(f"--seed {seed} does nothing without --sample; add --sample FRACTION, or leave --seed out")


def _with_input_and_output(spec: Pipeline, pipeline: Path, input: list[str] | None, output: str | None) -> tuple[Pipeline, str]:
    """The pipeline with `--input` in place of input.path (relative to the current folder),
    and where the run is written: `--output`, the pipeline's output:, or runs/<name>."""
    from curate.errors import ConfigError, InputDataError, resolved
    from curate.run.sources import is_url, local_path

    if input and "-" in input and not Path("-").exists():
        raise ConfigError("--input -: rows cannot be read from standard input; write them to a file "
                          "(Parquet, JSON Lines, CSV or Arrow) and give its path")
    if input:
        paths = [p if is_url(p) else str(resolved(local_path(p), "--input", InputDataError, "give another --input", keep_name=True)) for p in input]
        spec = spec.model_copy(update={"input": spec.input.model_copy(update={"path": paths})})
    return spec, local_path(output or spec.output_path or str(Path("runs") / pipeline.stem))


def _print_headlines(reports: list[dict[str, Any]]) -> None:
    """A stage's one-line summary (`stats.headline`, e.g. label_noise's flagged rows and
    the model's accuracy). Stage warnings are the runner's (reporter.warning)."""
    for report in reports:
        headline = report.get("stats", {}).get("headline")
        if headline:
            sys.stderr.write(f"stage {report['name']}: {headline}\n")


@app.command(epilog=REPORT_EXAMPLES)
def report(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A finished run directory.", show_default=False)],
    compare: Annotated[Optional[Path], typer.Option("--compare", help="An older run directory: show what changed (row counts, removal rates per stage and reason, language and label shares).", show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON on stdout.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")] = False,
) -> None:
    """Write a finished run's report.html again; with --compare, include what changed since an older run."""
    from curate.report.html import rerender

    with _one_line_errors(debug, has_output=False):
        path, comparison = rerender(run_dir, compare)
    if json_out:
        import json

        typer.echo(json.dumps({"report": str(path), "comparison": comparison}, indent=1, ensure_ascii=False))
        return
    console = Console()
    if comparison:
        _print_comparison(console, comparison)
    console.print(terminal_text(f"report: {path}"))


def _print_comparison(console: Console, c: dict[str, Any]) -> None:
    def pp(x: float | None) -> str:
        return "–" if x is None else f"{x * 100:+.2f} pp".replace("-", "−")

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{x * 100:.2f}%"

    console.print(terminal_text(c["new_run"], "bold") + terminal_text(f" compared with {c['old_run']}"))
    # What differs besides the rows comes first: it is what the numbers below are put down to.
    for key, what in (("input_changes", "input"), ("run_changes", "run setting"), ("pipeline_changes", "pipeline")):
        changes = c.get(key) or []
        for change in changes[:10]:
            console.print(terminal_text(f"{what}: {change}"), highlight=False)
        if len(changes) > 10:
            console.print(f"{what}: … and {len(changes) - 10:,} more (see report.html or --json)", markup=False, highlight=False)
    if not any(c.get(key) for key in ("input_changes", "run_changes", "pipeline_changes")):
        console.print("same pipeline parameters, input files and run settings", markup=False, highlight=False)
    table = Table(box=None)
    for header in ("", "earlier", "now", "change"):
        table.add_column(header, justify="left" if not header else "right")
    for t in c["totals"]:
        if t["kind"] == "pp":
            table.add_row(t["metric"], pct(t["old"]), pct(t["new"]), pp(t["delta"]))
        else:
            table.add_row(t["metric"], f"{t['old']:,}", f"{t['new']:,}", f"{t['delta']:+,}".replace("-", "−"))
    console.print(table)
    for title, rows, key in (("removal rate per reason (share of the stage's rows in)", c["reasons"], "delta_rate"),
                             ("language shares of the output", (c.get("languages") or {}).get("rows", []), "delta")):
        changed = sorted([r for r in rows if r[key]], key=lambda r: -abs(r[key]))[:12]
        if not changed:
            continue
        table = Table(title=title, title_justify="left", box=None)
        for header in ("", "earlier", "now", "change"):
            table.add_column(header, justify="left" if not header else "right")
        for r in changed:
            name = f"{r['stage']} / {r['reason']}" + (" (flagged, kept)" if r.get("kind") == "flagged" else "") if "reason" in r else r["value"]
            old, new = (r["old_rate"], r["new_rate"]) if "reason" in r else (r["old"], r["new"])
            table.add_row(terminal_text(name), pct(old), pct(new), pp(r[key]))
        console.print(table)
    decisions = c.get("decisions") or {}
    if decisions.get("unique_ids"):
        console.print(f"rows whose decision changed (join on {decisions['id_column']}: {decisions['rows_compared']:,} rows in both runs, "
                      f"{decisions['only_old']:,} only in the earlier, {decisions['only_new']:,} only in this one): {decisions['changed']:,} "
                      f"({decisions['kept_to_removed']:,} kept → removed, {decisions['removed_to_kept']:,} removed → kept)", markup=False, highlight=False)


@app.command(epilog=EVALUATE_EXAMPLES)
def evaluate(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A finished run directory of labelled data.", show_default=False)],
    test: Annotated[Path, typer.Option("--test", help="Held-out test set: Parquet or JSONL with the run's text and label columns (other names: --test-text-column, --test-label-column).", show_default=False)],
    model: Annotated[Optional[str], typer.Option("--model", help="An estimator by import path, built with no arguments: a classifier class (sklearn.svm.LinearSVC) gets TF-IDF features in front; a function returning a Pipeline (mypackage.models:make) is used as given. Default: TF-IDF + logistic regression.", show_default=False)] = None,
    text_column: Annotated[Optional[str], typer.Option("--text-column", help="Text column (default: the run's input.text_column).", show_default=False)] = None,
    label_column: Annotated[Optional[str], typer.Option("--label-column", help="Label column (default: the run's input.label_column).", show_default=False)] = None,
    test_text_column: Annotated[Optional[str], typer.Option("--test-text-column", help="The test file's text column, when its name differs from the run's (default: the run's text column).", show_default=False)] = None,
    test_label_column: Annotated[Optional[str], typer.Option("--test-label-column", help="The test file's label column, when its name differs from the run's (default: the run's label column).", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the bootstrap resamples.")] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")] = False,
) -> None:
    """Did curating help? Train one fixed model on the run's input rows and on its curated rows, compare both on a test set.

    Writes reports/evaluation.json and an evaluation section in report.html.
    """
    from curate.evaluate import evaluate as run_evaluation

    with _one_line_errors(debug, has_output=False):
        result = run_evaluation(run_dir, test, model, text_column, label_column, seed,
                                test_text_column=test_text_column, test_label_column=test_label_column)
    console = Console()
    table = Table(title=f"curate evaluate: {result['model']}", title_justify="left", box=None)
    for header in ("", "trained on input", "trained on curated", "difference", "95% CI"):
        table.add_column(header, justify="left" if not header else "right")
    table.add_row("train rows", f"{result['input']['train_rows']:,}", f"{result['curated']['train_rows']:,}", "", "")
    for name, key in (("accuracy", "accuracy"), ("macro-F1", "macro_f1")):
        d = result[key]
        table.add_row(name, f"{result['input'][key]:.4f}", f"{result['curated'][key]:.4f}", f"{d['difference'] * 100:+.2f} pp",
                      f"{d['ci_low'] * 100:+.2f} to {d['ci_high'] * 100:+.2f} pp")
    console.print(table)
    console.print(result["verdict"], markup=False, highlight=False)
    console.print(terminal_text(f"written: {run_dir / 'reports' / 'evaluation.json'}, {run_dir / 'report.html'} (test: {result['test_rows']:,} rows)"))


@app.command(epilog=CHECK_EXAMPLES, cls=_CommandLineMistakes)
def check(
    pipelines: Annotated[list[Path], typer.Argument(metavar="PIPELINE", help="Pipeline files to check.", show_default=False)],
    overrides: Annotated[Optional[list[str]], typer.Option("--set", help="KEY=VALUE (repeatable), as for `curate run`.", show_default=False)] = None,
    input: Annotated[Optional[list[str]], typer.Option("--input", "-i", help="As for `curate run`: input file, glob, directory or URL (repeatable); replaces input.path.", show_default=False)] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="As for `curate run`: the run directory whose location is checked.", show_default=False)] = None,
    no_input: Annotated[bool, typer.Option("--no-input", help="Do not read the input files (their columns are then not checked).")] = False,
    annotate_only: Annotated[bool, typer.Option("--annotate-only", help="As for `curate run`: check the columns the stages leave when every stage annotates.")] = False,
    log_format: Annotated[LogFormat, typer.Option("--log-format", help="rich: one line per error; json: one JSON `error` event on stderr holding every error, as `curate run`.")] = LogFormat.rich,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")] = False,
) -> None:
    """Check pipeline files without running them, every error at once: keys, types, stage names and parameters,
    the files stages need, the input files and the column flow (each column a stage reads exists by then; none is added twice),
    and the output location. `curate run` runs these checks before it touches the output directory; the types of a
    JSON Lines, CSV or Arrow input, and inputs at a URL, are checked once the run has converted or fetched them."""
    from curate.config import load_pipeline_partly
    from curate.errors import OutputError, raise_all, resolved
    from curate.run.preflight import preflight
    from curate.run.sources import is_url

    errors: list[CurateError] = []
    with _one_line_errors(debug, log_format is LogFormat.json):
        for path in pipelines:
            try:
                _refuse_data_as_pipeline(path, "check")
                spec, problems = load_pipeline_partly(path, overrides or ())
                if spec is not None:  # what did validate is checked on: every mistake at once
                    spec, target = _with_input_and_output(spec, path, input, output)
                    written = None if is_url(target) else resolved(target, "output", OutputError, "choose another --output")
                    problems += preflight(spec, read_input=not no_input, output=written, input_from_option=bool(input), annotate_only=annotate_only).errors
            except CurateError as error:
                errors.append(error)
                continue
            if problems:
                errors.extend(problems)
                continue
            count = len(spec.stages)
            typer.echo(f"{path}: ok ({count} stage{'' if count == 1 else 's'}: {', '.join(s.label for s in spec.stages)})")
        raise_all(errors)


@app.command(epilog=SHOW_EXAMPLES)
def show(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run directory, finished or not.", show_default=False)],
    stage: Annotated[Optional[str], typer.Option("--stage", help="Show rows this stage removed, with the annotations that decided them.", show_default=False)] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="With --stage: only rows removed for this reason.", show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="With --stage: how many rows to show. Default: 10.", show_default=False)] = None,
    row_id: Annotated[Optional[str], typer.Option("--id", help="One row's journey: each stage's verdict and annotations.", show_default=False)] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")] = False,
) -> None:
    """A run in the terminal: the summary table; with --stage, sample removed rows; with --id, one row's journey."""
    from curate.report.show import show as show_run

    with _one_line_errors(debug, has_output=False):
        show_run(run_dir, stage, reason, limit, row_id, Console())


def _type_name(annotation: Any) -> str:
    """A parameter's type as a user writes it: `int | None`, `list[str]`, `filter | annotate`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return " | ".join(str(a) for a in args)
    if origin in (Union, types.UnionType):  # `None` is said by the default (null), not the type
        return " | ".join(_type_name(a) for a in args if a is not type(None))
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]" if inner else getattr(origin, "__name__", str(origin))
    if isinstance(annotation, type):
        from pydantic import BaseModel  # here, not at the top: `curate --help` does not need pydantic (50 ms)

        return "options" if issubclass(annotation, BaseModel) else {"Path": "path"}.get(annotation.__name__, annotation.__name__)
    return str(annotation).replace("typing.", "")


@app.command(epilog=STAGES_EXAMPLES)
def stages(
    name: Annotated[Optional[str], typer.Argument(metavar="NAME", help="A stage type: show its parameters and defaults.", show_default=False)] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks.")] = False,
) -> None:
    """List every stage, one line each; with a NAME, its parameters and defaults."""
    with _one_line_errors(debug, has_output=False):
        _print_stages(name, Console())


def _print_stages(name: str | None, console: Console) -> None:
    from curate.errors import ConfigError, did_you_mean
    from curate.stages import STAGES, DatasetStage

    if name is None:
        table = Table(show_header=True, box=None)
        table.add_column("stage", style="bold")
        table.add_column("scope")
        table.add_column("what it does")
        for kind, stage in STAGES.items():
            table.add_row(kind, "dataset" if issubclass(stage, DatasetStage) else "shard", escape(stage.summary))
        console.print(table)
        console.print("\n[dim]`curate stages NAME` shows a stage's parameters.[/dim]")
        return
    if name not in STAGES:
        raise ConfigError(f"unknown stage {name!r}{did_you_mean(name, STAGES)}; valid stages: {', '.join(STAGES)}")
    stage = STAGES[name]
    console.print(f"[bold]{name}[/bold]: {escape(stage.summary)}\n")
    table = Table(box=None)
    for header in ("parameter", "type", "default", "meaning"):
        table.add_column(header)
    for row in _parameters(stage.Config):
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)
    console.print(f"\n[bold]Columns it adds[/bold] (default settings; docs/stages/{name}.md gives each one's type and meaning):")
    console.print(_added_columns(name), markup=False, highlight=False)


def _added_columns(kind: str) -> str:
    from curate.stages import STAGES
    from curate.stages.base import Columns

    stage_type = STAGES[kind]
    try:
        stage = stage_type(stage_type.Config(stage=kind), Columns(label="label"))
    except ValueError:  # a stage with a required setting (slices: columns) adds none to the rows
        return "none: it writes a report, not columns"
    added = stage.added_columns()
    if not added:
        return "none: it writes a report, not columns"
    line = ", ".join(added)
    if getattr(stage, "rewrites", False):
        line += (f" ({stage.rewrite_column}: annotate mode only; in filter mode the new text replaces "
                 "the text column)")
    return line


def _parameters(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
    """One row per parameter; nested option groups (e.g. `normalize`) unfold as `normalize.nfkc`."""
    from pydantic import BaseModel

    rows = []
    for field_name, field in model.model_fields.items():
        if field_name == "stage":
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.append((prefix + field_name, "options", "", " ".join((field.description or "").split())))
            rows.extend(_parameters(annotation, f"{prefix}{field_name}."))
            continue
        default = "(required)" if field.is_required() else _as_yaml(field.get_default(call_default_factory=True))
        kind = ", ".join([_type_name(annotation), *_limits(field.metadata)])
        rows.append((prefix + field_name, kind, default, " ".join((field.description or "").split())))
        # options per key of a mapping (`numeric: {<column>: {quantiles: 4}}`) unfold as `numeric.<column>.quantiles`
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        inner = args[-1] if origin in (dict, list) and args else None
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            rows.extend(_parameters(inner, f"{prefix}{field_name}.{'<key>.' if origin is dict else '[i].'}"))
    return rows


def _limits(metadata: list[Any]) -> list[str]:
    """A field's constraints as a user reads them: `2–50`, `> 0`, `≤ 1`, `matching ^[a-z]+$`."""
    bound = {name: getattr(item, name) for item in metadata for name in ("ge", "gt", "le", "lt") if getattr(item, name, None) is not None}
    shown = []
    if "ge" in bound and "le" in bound:
        shown.append(f"{bound['ge']}–{bound['le']}")
    else:
        shown += [f"{symbol} {bound[name]}" for name, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")) if name in bound]
    shown += [f"at least {item.min_length} long" for item in metadata if getattr(item, "min_length", None)]
    shown += [f"matching {item.pattern}" for item in metadata if getattr(item, "pattern", None)]
    return shown


def _as_yaml(value: Any) -> str:
    """A default as the pipeline file would spell it: null, true, [c4, fineweb]."""
    import yaml
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, (Path, Enum)):
        value = str(value.value if isinstance(value, Enum) else value)
    elif isinstance(value, tuple):
        value = list(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"curate {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """curate: data-centric dataset curation."""
