from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from runs import cli, run, write_pipeline, write_shards

from curate.config import parse_pipeline
from curate.errors import ConfigError
from curate.cli import _parameters
from curate.stages import STAGES, DatasetStage

REPO = Path(__file__).resolve().parent.parent


def test_stages_lists_every_stage_one_line_each():
    result = cli("stages")
    assert result.returncode == 0
    for kind, stage in STAGES.items():
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(kind))
        assert line.split()[1] == ("dataset" if issubclass(stage, DatasetStage) else "shard")


def test_stages_name_shows_parameters_and_defaults():
    result = cli("stages", "exact_dedup")
    assert result.returncode == 0
    line = next(line for line in result.stdout.splitlines() if "normalize.lowercase" in line)
    assert line.split()[1:3] == ["bool", "false"]
    near = {row[0]: row[1] for row in _parameters(STAGES["near_dedup"].Config)}
    assert (near["threshold"], near["num_perm"], near["name"]) == ("float, > 0.0, ≤ 1.0", "int, 2–1024", "str, matching ^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    slices = {row[0]: row[1] for row in _parameters(STAGES["slices"].Config)}
    assert (slices["numeric.<key>.quantiles"], slices["numeric.<key>.edges"]) == ("int, 2–100", "list[float]")
    assert "filter | annotate" in result.stdout
    assert result.stdout.split("Columns it adds")[1].splitlines()[-1] == "dup_hash, dup_of"
    assert "clean_text: annotate mode only" in " ".join(cli("stages", "clean").stdout.split())
    assert cli("stages", "slices").stdout.strip().endswith("none: it writes a report, not columns")
    unknown = _invoke("stages", "near-dedup")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: unknown stage 'near-dedup' (did you mean `near_dedup`?); valid stages: clean, ")


def test_stages_to_a_reader_that_stops_early_or_a_full_disk():
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "200"}
    piped = subprocess.run(f"{sys.executable} -m curate stages | head -1; echo \"${{PIPESTATUS[0]}}\"", shell=True, executable="/bin/bash",
                           capture_output=True, text=True, env=env)
    assert piped.stdout.splitlines()[-1] == "0" and piped.stderr == ""
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "curate", "stages"], stdout=full, stderr=subprocess.PIPE, text=True, env=env)
    assert (result.returncode, result.stderr) == (4, "error: cannot write to standard output: No space left on device (ENOSPC); free space or write elsewhere\n")


def test_a_full_disk_under_stdout_or_stderr_never_changes_how_a_run_ends(tmp_path):
    """cron's `curate run … >> /var/log/curate.log` with /var full: the run finishes with
    its own code; a command whose output is what it delivers (show, -h) names stdout."""
    import os
    import subprocess
    import sys

    import polars as pl

    pl.DataFrame({"text": ["a sentence long enough to keep", "short", "another sentence long enough"]}).write_parquet(tmp_path / "in.parquet")
    (tmp_path / "p.yaml").write_text("input:\n  path: in.parquet\nstages:\n  - stage: length_filter\n    min_chars: 10\n")
    env = {**os.environ, "COLUMNS": "200"}

    def curate(*args: str, full: str) -> subprocess.CompletedProcess:
        with open("/dev/full", "w") as disk:
            streams = {"stdout": disk, "stderr": subprocess.PIPE} if full == "stdout" else {"stdout": subprocess.PIPE, "stderr": disk}
            return subprocess.run([sys.executable, "-m", "curate", *args], text=True, env=env, cwd=tmp_path, **streams)

    out = tmp_path / "out"
    for attempt in ("run", "rerun of the finished run"):
        ran = curate("run", "p.yaml", "-o", "out", full="stdout")
        assert ran.returncode == 0, (attempt, ran.stderr)
        assert ran.stderr.splitlines()[-1] == (f"warning: standard output could not be written: No space left on device (ENOSPC); "
                                               f"the summary table is lost, {out}/manifest.json holds its counts")
    assert json.loads((out / "manifest.json").read_text())["rows_kept"] == 2
    for args in (["show", "out"], ["check", "p.yaml"], ["run", "-h"]):
        shown = curate(*args, full="stdout")
        assert (shown.returncode, shown.stderr) == (4, "error: cannot write to standard output: No space left on device (ENOSPC); free space or write elsewhere\n")
    for log_format in ("rich", "json"):
        ran = curate("run", "p.yaml", "-o", f"err-{log_format}", "--log-format", log_format, full="stderr")
        assert ran.returncode == 0
        assert json.loads((tmp_path / f"err-{log_format}" / "manifest.json").read_text())["status"] == "complete"


def test_a_file_system_error_of_a_command_without_output_gives_advice_it_can_act_on(tmp_path):
    import polars as pl

    write_shards(tmp_path, [pl.DataFrame({"text": ["a sentence long enough to keep", "short"]})])
    result = run(write_pipeline(tmp_path, [{"stage": "length_filter", "min_chars": 10}]), tmp_path / "run")
    (result.output / "report.html").unlink()
    (result.output / "report.html").mkdir()
    report = _invoke("report", str(result.output))
    assert (report.exit_code, report.stderr) == (4, f"error: {result.output / 'report.html'}: a folder is where curate writes a file: move it away (EISDIR)\n")


def test_every_shipped_pipeline_passes_check():
    files = sorted((REPO / "pipelines").glob("*.yaml"))
    assert files, "pipelines/ must ship ready pipelines"
    result = cli("check", *map(str, files))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok (") == len(files)


def test_check_names_the_bad_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input:\n  path: x.parquet\nstages:\n  - stage: exact_dedup\n    mode: drop\n")
    result = cli("check", str(bad))
    assert result.returncode == 2
    assert "bad.yaml, line 5: stages[0].mode: should be 'filter' or 'annotate' (got 'drop')" in result.stderr


def _render(*args: str) -> str:
    """A command's output as a user's 200-column terminal shows it (in-process: fast)."""
    from typer.testing import CliRunner

    from curate.cli import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"}, terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def _commands() -> list[str]:
    from curate.cli import app

    return [command.name or command.callback.__name__ for command in app.registered_commands]


LEFTOVER_MARKUP = re.compile(r"\[/?(bold|dim|italic|red|green|yellow|blue|cyan|magenta|link|code)\b[^\]]*\]|\[/\]")


@pytest.mark.parametrize("args", [["--help"], *[[c, "--help"] for c in _commands()]])
def test_help_renders_without_markup_leftovers_or_value_types_on_flags(args):
    text = _render(*args)
    assert not LEFTOVER_MARKUP.search(text), LEFTOVER_MARKUP.search(text)
    assert "<bool>" not in text  # a flag takes no value: showing a type invites `--fresh true`
    assert "<list[" not in text  # a repeatable option takes one value each time it is given
    if args[0] == "run":
        assert "pip install -e '.[ray]'" in text  # rich markup must not swallow the extra's name
    assert "<Path>" not in text and "{pipelines}" not in text and "{run_dir}" not in text  # one spelling of metavars
    assert "Exit codes: " in text
    if args[0] != "--help":
        assert "Examples" in text and "--debug" in text  # the internal-error line says --debug shows the traceback
    assert _render(*args[:-1], "-h") == text


@pytest.mark.parametrize("kind", sorted(STAGES))
def test_stage_parameters_show_plain_type_names(kind):
    from curate.cli import _parameters

    text = _render("stages", kind)
    assert not LEFTOVER_MARKUP.search(text)
    assert "Optional" not in text and "typing." not in text and "Annotated" not in text
    for name, type_name, default, _ in _parameters(STAGES[kind].Config):
        assert type_name.count("[") == type_name.count("]"), (name, type_name)
        assert "None" not in type_name and "NoneType" not in type_name, (name, type_name)
        assert default != "None", (name, default)  # YAML spells it null
        assert name in text


def test_show_help_example_ids_are_rows_of_the_demo():
    """`curate show --help` shows `runs/demo --id ...`: the id must be a row of the demo data, or the example fails."""
    import polars as pl

    ids = re.findall(r"curate show runs/demo --id (\S+)", _render("show", "--help"))
    demo = pl.read_parquet(REPO / "pipelines" / "data" / "demo" / "*.parquet")["id"]
    assert ids and demo.is_in(ids).sum() == len(ids), ids


@pytest.mark.parametrize("command", _commands())
def test_help_at_80_columns_cuts_no_option_help_and_wraps_no_example(command):
    from typer.testing import CliRunner

    from curate.cli import app

    result = CliRunner().invoke(app, [command, "-h"], env={"COLUMNS": "80", "NO_COLOR": "1"}, terminal_width=80)
    assert result.exit_code == 0 and "…" not in result.output.replace("s3://…", "")  # rich's ellipsis: a token cut off
    shown = [line.strip(" │") for line in result.output.splitlines()]
    examples = [line.strip() for line in result.output.split("Examples")[1].split("Exit codes")[0].splitlines() if line.strip()]
    assert examples and all(line.startswith(("curate ", "# ")) for line in examples), examples  # no command wrapped onto a line of its own
    if command == "run":
        assert "stages.NAME.KEY=VALUE (an" in shown and "curate run my.yaml --set stages.quality.thresholds.gopher_short_doc=10" in examples


def test_run_help_teaches():
    result = cli("run", "--help")
    assert result.returncode == 0
    for option in ("--input", "--output", "--workers", "--annotate-only", "--fresh", "--log-format", "--quiet", "Exit codes"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages:\n  - stage: exact_dedup\n", "p.yaml, line 1: input: missing required key"),
        ("input: {path: a}\nstages: []\n", "stages: needs a list of at least one stage"),
        ("input: {path: a}\nstages:\n  - exact_dedup\n", "stages[0]: each stage must be a mapping"),
        ("input: {path: a}\nstages:\n  - stage: exact_dedup\n    normalize: {lowercas: true}\n", "stages[0].normalize.lowercas: unknown key (did you mean `lowercase`?); valid keys: nfkc, lowercase"),
        ("input: {path: a}\nstages:\n  - stage: length_filter\n  - stage: length_filter\n", "stage name 'length_filter' is used twice"),
        ("- a\n- b\n", "a pipeline file is a mapping"),
        ("input: {path: a}\nstages:\n  - stage: exact_dedup\n    name: ../x\n", "stages[0].name: string should match pattern"),
        ("input: {path: a}\noutptu: x\nstages:\n  - stage: exact_dedup\n", "p.yaml, line 2: outptu: unknown key (did you mean `output`?); valid keys: input, output, stages"),
    ],
)
def test_pipeline_errors_are_located(text, message):
    with pytest.raises(ConfigError) as error:
        parse_pipeline(text, "p.yaml")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("output:\n  path: out\n  fromat: jsonl\n",
         "p.yaml, line 6: output.fromat: unknown key (did you mean `format`?); valid keys: path, storage_options, format, max_rows_per_file"),
        ("output: 2026-11-20\n", 'p.yaml, line 4: output: should be a valid string (got 2026-11-20); YAML reads the value as a date: quote it, e.g. "2026-11-20"'),
        ("output: {path: yes}\n", 'p.yaml, line 4: output.path: should be a valid string (got True); YAML reads the value as true/false: quote it, e.g. "true"'),
    ],
)
def test_a_mistake_is_one_line_without_pydantics_type_names(text, message):
    with pytest.raises(ConfigError) as error:
        parse_pipeline("input: {path: a}\nstages:\n  - stage: exact_dedup\n" + text, "p.yaml")
    assert str(error.value) == message


def test_input_given_as_a_path_says_it_is_a_mapping():
    with pytest.raises(ConfigError) as error:
        parse_pipeline("input: data/*.parquet\nstages:\n  - stage: exact_dedup\n", "p.yaml")
    assert str(error.value) == ("p.yaml, line 1: input: should be a mapping with keys path, format, csv, storage_options, text_column, id_column, "
                                "label_column, bad_ids, not 'data/*.parquet'; e.g. input: {path: data/*.parquet}")


def test_input_path_accepts_one_or_many():
    one = parse_pipeline("input: {path: a.parquet}\nstages:\n  - stage: exact_dedup\n", "p")
    many = parse_pipeline("input: {path: [a.parquet, 'b/*.parquet']}\nstages:\n  - stage: exact_dedup\n", "p")
    assert one.input.path == ["a.parquet"] and many.input.path == ["a.parquet", "b/*.parquet"]
    assert one.fingerprint() != many.fingerprint()


def test_stage_paths_resolve_against_the_pipeline_file(tmp_path):
    from curate.config import load_pipeline

    (tmp_path / "p.yaml").write_text("input: {path: a.parquet}\nstages:\n  - stage: near_dedup\n    index: state/near\n")
    spec = load_pipeline(tmp_path / "p.yaml")
    assert spec.stages[0].index == str(tmp_path / "state" / "near")
    assert spec.input.path == [str(tmp_path / "a.parquet")]


def test_a_home_relative_path_is_the_home_folders(tmp_path):
    from curate.config import load_pipeline

    (tmp_path / "p.yaml").write_text("input: {path: ~/data/a.parquet}\noutput: ~/runs/a\nstages:\n  - stage: near_dedup\n    index: ~/state/near\n")
    spec = load_pipeline(tmp_path / "p.yaml")
    home = Path.home()
    assert (spec.input.path, spec.output_path, spec.stages[0].index) == ([str(home / "data" / "a.parquet")], str(home / "runs" / "a"), str(home / "state" / "near"))


def test_a_rule_file_path_resolves_against_the_pipeline_file(tmp_path):
    from curate.config import load_pipeline

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mine.yaml").write_text("rules:\n  - {name: long_enough, metric: word_count, keep_if: '>=', threshold: 3}\n")
    (tmp_path / "conf" / "p.yaml").write_text("input: {path: a.parquet}\nstages:\n  - stage: quality\n    rules: [c4, mine.yaml]\n")
    spec = load_pipeline(tmp_path / "conf" / "p.yaml")  # from a working directory elsewhere
    assert spec.stages[0].rules == ["c4", str(tmp_path / "conf" / "mine.yaml")]


@pytest.mark.parametrize("command", ["run", "check", "show", "report"])
def test_curates_own_bugs_are_one_line_even_a_rust_panic(tmp_path, monkeypatch, command):
    """A panic inside polars reaches Python as PanicException, a BaseException: it must
    still be one line with exit 1, like any other of curate's own bugs."""
    from polars.exceptions import PanicException
    from typer.testing import CliRunner

    import curate.report.html
    import curate.report.show
    import curate.run.preflight
    import curate.run.runner
    from curate.cli import app

    def panic(*args, **kwargs):
        raise PanicException("called `Result::unwrap()` on an `Err` value\nsecond line of the panic")

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input:\n  path: x.parquet\nstages:\n  - stage: exact_dedup\n")
    monkeypatch.setattr(curate.run.runner, "run_pipeline", panic)
    monkeypatch.setattr(curate.run.preflight, "preflight", panic)
    monkeypatch.setattr(curate.report.show, "show", panic)
    monkeypatch.setattr(curate.report.html, "rerender", panic)
    args = {"run": [str(pipeline)], "check": [str(pipeline)], "show": [str(tmp_path)], "report": [str(tmp_path)]}[command]
    result = CliRunner().invoke(app, [command, *args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: internal error at ") and "PanicException: called `Result::unwrap()`" in lines[0], result.output
    assert "second line" not in result.output


def test_every_stage_parameter_is_explained():
    from curate.cli import _parameters

    unexplained = [f"{kind}.{name}" for kind, stage in STAGES.items() for name, _, _, meaning in _parameters(stage.Config) if not meaning.strip()]
    assert unexplained == []


def test_check_names_the_pipeline_of_a_reference_glob_that_matches_nothing(tmp_path):
    (tmp_path / "p.yaml").write_text("input: {path: a.parquet}\nstages:\n  - stage: overlap\n    references: [refs/*.parquet]\n")
    result = cli("check", "--no-input", str(tmp_path / "p.yaml"))
    assert result.returncode == 2  # a file the pipeline names, as a missing rule file
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'p.yaml'}, line 4: stages[0].references: {tmp_path / 'refs' / '*.parquet'} matches no file; fix the path or glob, or give a Parquet or JSONL file"
    ]


def test_progress_lines_print_the_datas_names_as_they_are(capsys):
    # a note or warning names files, columns and languages: "[/]" is not markup, ":x:" not an emoji
    from curate.console import RichReporter

    reporter = RichReporter()
    reporter.note("reading runs/exp[1]/part [/] :x:")
    reporter.warning("quality", "removed 90% of language 'x[/b]'")
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["reading runs/exp[1]/part [/] :x:", "warning: stage quality removed 90% of language 'x[/b]'"]


def _invoke(*args: str, cwd: Path | None = None):
    """A command run in-process (fast), its stderr kept apart."""
    import os

    from typer.testing import CliRunner

    from curate.cli import app

    here = os.getcwd()
    os.chdir(cwd or here)
    try:
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    finally:
        os.chdir(here)


@pytest.mark.parametrize("name, content", [
    ("in.jsonl", '{"id": "a", "text": "one"}\n{"id": "b", "text": "two"}\n'),
    ("in.csv", "id,text\na,one\nb,two\n"),
])
def test_check_and_run_read_the_columns_of_a_converted_input_before_the_run_directory(tmp_path, name, content):
    (tmp_path / name).write_text(content)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"input:\n  path: {name}\n  text_column: body\nstages:\n  - stage: exact_dedup\n  - stage: slices\n    columns: [nosuch]\n")
    missing = f"{tmp_path / name}: no column 'body' (input.text_column); columns are: id, text. Set the right name in the pipeline's input section"
    flow = ("stages[1] (slices): reads column 'nosuch', which neither the input nor an earlier stage has; "
            "columns at this point: id, text, body, curate_source, curate_id, dup_hash, dup_of")
    checked = _invoke("check", str(pipeline))
    assert checked.exit_code == 3
    assert checked.stderr.splitlines() == [f"error: {pipeline}: {missing}", f"error: {pipeline}, line 6: {flow}"]
    ran = _invoke("run", str(pipeline), "-o", str(tmp_path / "out"), "-q")
    assert ran.exit_code == 3 and ran.stderr.splitlines() == [f"error: {missing}", f"error: {pipeline}, line 6: {flow}"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, id_column, header, advice", [
    # Excel where the decimal mark is a comma saves "CSV" with semicolons
    ("id;text\n1;hello world foo\n2;second row\n", "id", "id;text", "The file looks separated by ';': set input.csv.separator: \";\""),
    ("id\ttext\n1\thello world\n", None, "id\\ttext", 'The file looks separated by tabs: set input.csv.separator: "\\t"'),
    # a comma inside a header name makes two columns, one of them holding the name the pipeline wants
    ("id;name, full;text\n1;Doe, Jane;hello world\n", None, "id;name,  full;text", "The file looks separated by ';': set input.csv.separator: \";\""),
    ("id,body\n1,hello world\n", None, "id, body", "Set the right name in the pipeline's input section"),
], ids=["semicolons", "tabs", "split name", "another name"])
def test_a_csv_separated_by_another_character_is_told_to_set_the_separator(tmp_path, content, id_column, header, advice):
    (tmp_path / "export.csv").write_text(content)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"input:\n  path: export.csv\n  id_column: {id_column or 'null'}\nstages:\n  - stage: length_filter\n")
    what = "'text' (input.text_column)" + ("; 'id' (input.id_column)" if id_column else "")
    line = f"{tmp_path / 'export.csv'}: no column {what}; columns are: {header}. {advice}"
    checked = _invoke("check", str(pipeline))
    assert (checked.exit_code, checked.stderr.splitlines()) == (3, [f"error: {pipeline}: {line}"])
    ran = _invoke("run", str(pipeline), "-o", str(tmp_path / "out"), "-q")
    assert (ran.exit_code, ran.stderr.splitlines()) == (3, [f"error: {line}"])
    assert not (tmp_path / "out").exists()
    if advice.startswith("The file"):  # the advice, followed, reads the file
        separator = ";" if ";" in header else "\t"
        fixed = _invoke("run", str(pipeline), "-o", str(tmp_path / "out"), "-q", "--set", f"input.csv.separator={json.dumps(separator)}")
        assert fixed.exit_code == 0, fixed.stderr
        manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
        assert (manifest["rows_in"], manifest["rows_kept"]) == (content.count("\n") - 1, content.count("\n") - 1)


def test_a_json_lines_key_that_first_appears_after_the_records_sniffed_is_found(tmp_path):
    # unlabelled rows first: the label key appears only after the records read up front
    lines = [json.dumps({"text": f"row {i} text"}) for i in range(3000)] + [json.dumps({"text": "late", "label": "x"})]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input:\n  path: in.jsonl\n  label_column: label\nstages:\n  - stage: exact_dedup\n")
    assert _invoke("check", str(pipeline)).exit_code == 0
    ran = _invoke("run", str(pipeline), "-o", str(tmp_path / "out"), "-q")
    assert ran.exit_code == 0, ran.stderr


def test_a_json_lines_key_that_first_appears_after_the_records_sniffed_may_be_named_by_a_suite(tmp_path):
    lines = [json.dumps({"text": f"row {i} text"}) for i in range(3000)] + [json.dumps({"text": "late", "extra": "x"})]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "extra.yaml").write_text("expectations:\n  - expect: column_values_to_be_in_set\n    column: extra\n    value_set: [x]\n")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input:\n  path: in.jsonl\nstages:\n  - stage: exact_dedup\nexpectations: {input: [extra.yaml], output: [extra.yaml]}\n")
    checked = _invoke("check", str(pipeline))
    assert checked.exit_code == 0, checked.stderr
    ran = _invoke("run", str(pipeline), "-o", str(tmp_path / "out"), "-q")
    assert ran.exit_code == 0, ran.stderr
    suites = json.loads((tmp_path / "out" / "manifest.json").read_text())["validation"]["suites"]
    assert [(s["target"], s["rows"], s["passed"]) for s in suites] == [("output", 3001, 1), ("input", 3001, 1)]


def test_check_lists_every_mistake_at_once_each_at_its_line(tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        f"input:\n  path: {REPO / 'pipelines' / 'data' / 'demo'}/*.parquet\nstages:\n  - stage: length_filter\n"
        "  - stage: slices\n    columns: [nosuchcol]\n  - stage: quality\n    rules: [gopher_qualty]\n"
        "  - stage: overlap\n    references: [./missing_ref.parquet]\n"
        "gates:\n  max_removed_fraction_by_stage: {nosuch: 0.1, quality: 0.5}\nexpectations:\n  output: [basik]\n"
    )
    result = _invoke("check", str(pipeline))
    assert result.exit_code == 2
    lines = [line.split(";")[0] for line in result.stderr.splitlines()]
    assert lines == [
        f"error: {pipeline}, line 8: stages[2].rules: rule set 'gopher_qualty' not found (did you mean `gopher_quality`?) (looked in gopher_qualty",
        f"error: {pipeline}, line 12: gates.max_removed_fraction_by_stage.nosuch: no stage is named 'nosuch'",
        f"error: {pipeline}, line 14: expectations.output[0]: suite 'basik' (did you mean `basic`?): {REPO / 'rules' / 'expectations' / 'basik.yaml'} not found",
        f"error: {pipeline}, line 10: stages[3].references: {tmp_path / 'missing_ref.parquet'} matches no file",
        f"error: {pipeline}, line 5: stages[1] (slices): reads column 'nosuchcol', which neither the input nor an earlier stage has",
    ]
    # a column read after a stage that did not validate is not reported: that stage may add it
    # (the demo with langid's min_score=abc: its slices stage reads lang)
    invalid = _invoke("check", str(REPO / "pipelines" / "demo.yaml"), "--set", "stages.langid.min_score=abc")
    assert invalid.exit_code == 2 and len(invalid.stderr.splitlines()) == 1 and "min_score" in invalid.stderr


def test_check_lists_the_input_files_error_beside_a_mistake_in_another_section(tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input:\n  path: nosuch/*.parquet\n  bogus: 1\nstages:\n  - stage: exact_dedup\n"
                        "output: {path: out, fromat: jsonl}\ngates:\n  min_rows_out: -1\n")
    result = _invoke("check", str(pipeline))
    assert result.exit_code == 2
    assert [line.split(";")[0] for line in result.stderr.splitlines()] == [
        f"error: {pipeline}, line 3: input.bogus: unknown key",
        f"error: {pipeline}, line 6: output.fromat: unknown key (did you mean `format`?)",
        f"error: {pipeline}, line 8: gates.min_rows_out: should be greater than or equal to 0 (got -1)",
        f"error: {pipeline}: input.path '{tmp_path / 'nosuch' / '*.parquet'}' matches no file",
    ]


def test_standard_input_as_the_pipeline_or_input_is_refused_as_such(tmp_path):
    (tmp_path / "p.yaml").write_text("input: {path: in.parquet}\nstages:\n  - stage: exact_dedup\n")
    for args, message in (
        (["run", "-", "-o", "out"], "-: a pipeline cannot be read from standard input (its relative paths start at its file's folder); give the pipeline file's path"),
        (["check", "-"], "-: a pipeline cannot be read from standard input (its relative paths start at its file's folder); give the pipeline file's path"),
        (["run", "p.yaml", "-i", "-", "-o", "out"], "--input -: rows cannot be read from standard input; write them to a file (Parquet, JSON Lines, CSV or Arrow) and give its path"),
    ):
        result = _invoke(*args, cwd=tmp_path)
        assert (result.exit_code, result.stderr) == (2, f"error: {message}\n"), args
    assert not (tmp_path / "out").exists()


def test_a_data_file_as_the_pipeline_and_an_unquoted_input_glob_are_named_as_such(tmp_path):
    (tmp_path / "raw").mkdir()
    for shard in range(3):
        write_shards(tmp_path / "raw" / str(shard), [pl.DataFrame({"id": [f"{shard}-a", f"{shard}-b"], "text": ["one text", "two texts"]})])
        (tmp_path / "raw" / str(shard) / "in" / "shard-000.parquet").rename(tmp_path / "raw" / f"part-0000{shard}.parquet")
    (tmp_path / "export.csv").write_text("id,text\na,one text\n")
    (tmp_path / "p.yaml").write_text("input: {path: raw/*.parquet, id_column: id}\nstages:\n  - stage: exact_dedup\n")
    expanded = ["raw/part-00000.parquet", "raw/part-00001.parquet", "raw/part-00002.parquet"]  # `-i raw/*.parquet` after the shell
    glob_line = ("--input raw/part-00000.parquet is followed by more data files (raw/part-00001.parquet and 1 more): "
                 'the shell expanded an unquoted glob; quote the glob: --input "raw/*.parquet"')
    for args, message, checked in (
        (["run", "raw/part-00000.parquet"], "raw/part-00000.parquet: a data file (parquet), not a pipeline file (YAML); "
                                            "give it with --input: curate run PIPELINE --input raw/part-00000.parquet", ""),
        (["check", "p.yaml", "export.csv"], "export.csv: a data file (csv), not a pipeline file (YAML); give it with --input: "
                                            "curate check PIPELINE --input export.csv", "p.yaml: ok (1 stage: exact_dedup)\n"),
        (["run", "p.yaml", "-i", *expanded, "-o", "out"], glob_line, ""),
        (["run", "-i", *expanded, "p.yaml", "-o", "out"], glob_line, ""),
        (["check", "p.yaml", "--input", *expanded], glob_line, ""),  # it checked p.yaml against the first file alone, said ok
    ):
        result = _invoke(*args, cwd=tmp_path)
        assert (result.exit_code, result.stdout, result.stderr) == (2, checked, f"error: {message}\n"), args
    assert not (tmp_path / "out").exists()
    # the same files each with --input, or a .json pipeline: no mistake
    repeated = _invoke("check", "p.yaml", "-i", expanded[0], "-i", expanded[1], "-o", "out", cwd=tmp_path)
    assert (repeated.exit_code, repeated.stdout) == (0, "p.yaml: ok (1 stage: exact_dedup)\n")
    (tmp_path / "p.json").write_text(json.dumps({"input": {"path": "raw/*.parquet", "id_column": "id"}, "stages": [{"stage": "exact_dedup"}]}))
    assert _invoke("check", "p.json", "-o", "out", cwd=tmp_path).stdout == "p.json: ok (1 stage: exact_dedup)\n"
    # binary without a data suffix: not "save the pipeline file as UTF-8"
    (tmp_path / "part-00000").write_bytes((tmp_path / "raw" / "part-00000.parquet").read_bytes())
    binary = _invoke("check", "part-00000", cwd=tmp_path)
    assert (binary.exit_code, binary.stderr) == (2, "error: part-00000: binary data, not a pipeline file (YAML text); check the path\n")
    (tmp_path / "notepad.yaml").write_text("input: {path: raw/*.parquet}\n", encoding="utf-16")  # its NUL bytes are UTF-16's
    utf16 = _invoke("check", "notepad.yaml", cwd=tmp_path)
    assert (utf16.exit_code, utf16.stderr) == (2, "error: notepad.yaml, line 1: not UTF-8 text (byte 0xff); save the pipeline file as UTF-8\n")


def test_check_takes_input_and_output_as_run_does_and_checks_the_output_location(tmp_path):
    (tmp_path / "sub").mkdir()
    pipeline = tmp_path / "sub" / "p.yaml"
    pipeline.write_text("input: {path: data.jsonl}\noutput: ../afile.txt\nstages:\n  - stage: exact_dedup\n")
    (tmp_path / "afile.txt").write_text("a file")
    (tmp_path / "in.jsonl").write_text('{"text": "one"}\n')
    missing = _invoke("check", str(pipeline), "--input", "nodata/*.jsonl", "-o", "out", cwd=tmp_path)
    assert (missing.exit_code, missing.stderr.strip()) == (
        3, f"error: {pipeline}: --input '{tmp_path / 'nodata' / '*.jsonl'}' matches no file; check the path or glob (relative paths start at the current folder)")
    a_file = _invoke("check", str(pipeline), "--input", "in.jsonl", cwd=tmp_path)
    assert (a_file.exit_code, a_file.stderr.strip()) == (4, f"error: {pipeline}: output {tmp_path / 'afile.txt'} exists and is not a directory; choose another --output")
    inside = _invoke("check", str(pipeline), "--input", "in.jsonl", "--output", ".", cwd=tmp_path)
    assert inside.exit_code == 4 and f"input {tmp_path / 'in.jsonl'} lies inside the output directory {tmp_path}" in inside.stderr
    assert _invoke("check", str(pipeline), "-i", "in.jsonl", "-o", "out", cwd=tmp_path).stdout == f"{pipeline}: ok (1 stage: exact_dedup)\n"


@pytest.mark.parametrize("text, message", [
    ('input:\n  path: "a.parquet\nstages:\n  - stage: exact_dedup\n',
     "p.yaml, line 2, column 9: malformed YAML (while scanning a quoted scalar: found unexpected end of stream at line 5, column 1)"),
    ("input: {path: a}\nstages:\n  - stage: exact_dedup\n    mode: [filter\n",
     "p.yaml, line 4, column 11: malformed YAML (while parsing a flow sequence: expected ',' or ']', but got '<stream end>' at line 5, column 1)"),
    # a mis-indented key: the line where it is, not the start of the mapping around it
    ("input: {path: a}\nstages:\n  - stage: exact_dedup\n gates: {}\n",
     "p.yaml, line 4, column 2: malformed YAML (expected <block end>, but found '<block mapping start>')"),
])
def test_malformed_yaml_points_where_the_unclosed_construct_starts(text, message):
    with pytest.raises(ConfigError) as error:
        parse_pipeline(text, "p.yaml")
    assert str(error.value) == f"{message}; fix the syntax (indentation, colons, quotes)"


def test_a_column_many_input_files_lack_is_one_line(tmp_path):
    import polars as pl

    for index in range(30):
        pl.DataFrame({"text": ["a"], "id": [str(index)]}).write_parquet(tmp_path / f"p{index:02d}.parquet")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input: {path: '*.parquet', text_column: body}\nstages:\n  - stage: exact_dedup\n")
    result = _invoke("check", str(pipeline))
    assert (result.exit_code, result.stderr.splitlines()) == (3, [
        f"error: {pipeline}: {tmp_path / 'p00.parquet'} and 29 more of the 30 input files: no column 'body' (input.text_column); "
        "columns are (in p00.parquet): text, id. Set the right name in the pipeline's input section"
    ])


def test_check_without_input_still_finds_a_read_before_the_stage_that_adds_it(tmp_path):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input: {path: a.parquet}\nstages:\n  - stage: length_filter\n  - stage: slices\n    columns: [lang]\n  - stage: langid\n")
    result = _invoke("check", "--no-input", str(pipeline))
    assert (result.exit_code, result.stderr.strip()) == (2, f"error: {pipeline}, line 4: stages[1] (slices): reads column 'lang', which no earlier stage adds; "
                                                            "stage 'langid' adds it but runs later: move 'slices' after it")


@pytest.mark.parametrize("args, message", [
    (["--ray-address", "auto"], "--ray-address auto does nothing without --executor ray; add --executor ray, or leave --ray-address out"),
    (["--work-dir", "wd"], "--work-dir does nothing without an output URL (s3://…): a local run is computed in its run directory; leave --work-dir out"),
    (["--seed", "7"], "--seed 7 does nothing without --sample; add --sample FRACTION, or leave --seed out"),
    (["--output", ""], "--output is empty; give a run directory or URL, or leave the option out for the default"),
])
def test_run_refuses_an_option_that_does_nothing_here(tmp_path, args, message):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input: {path: a.parquet}\noutput: out\nstages:\n  - stage: exact_dedup\n")
    result = _invoke("run", str(pipeline), *args, cwd=tmp_path)
    assert (result.exit_code, result.stderr.strip()) == (2, f"error: {message}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_check_reports_its_errors_as_a_json_event_when_asked(tmp_path):
    import json

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input: {path: a.parquet}\nstages:\n  - stage: exact_dedup\n    mode: drop\n")
    result = _invoke("check", "--no-input", "--log-format", "json", str(pipeline))
    (event,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert result.exit_code == 2 and (event["event"], event["exit_code"]) == ("error", 2)
    assert event["message"] == f"{pipeline}, line 4: stages[0].mode: should be 'filter' or 'annotate' (got 'drop')"


@pytest.mark.parametrize("args, message", [
    ("run p.yaml --log-format json --limit", "Option '--limit' requires an argument. (curate run --help lists the options)"),
    ("run p.yaml --log-format json extra.yaml", "Got unexpected extra argument(s) (extra.yaml) (curate run --help lists the options)"),
    ("run p.yaml --wokers 4 --log-format json", "No such option: --wokers (Possible options: --workers) (curate run --help lists the options)"),
    ("check --log-format json", "Missing argument 'PIPELINE'. (curate check --help lists the options)"),
    ("check p.yaml --log-format json --set", "Option '--set' requires an argument. (curate check --help lists the options)"),
])
def test_a_command_line_mistake_is_a_json_error_event_when_json_is_asked(args, message):
    result = _invoke(*args.split())
    (event,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert result.exit_code == 2 and (event["event"], event["message"], event["exit_code"]) == ("error", message, 2)


def test_gates_without_a_stage_list_are_one_error_not_a_crash():
    with pytest.raises(ConfigError) as error:
        parse_pipeline("input: {path: a}\ngates: {max_removed_fraction_by_stage: {exact: 0.1}}\n", "p.yaml")
    assert str(error.value) == "p.yaml, line 1: stages: needs a list of at least one stage, e.g. `- stage: exact_dedup`"


def test_an_empty_json_lines_input_says_it_has_no_rows_and_a_long_first_csv_row_is_read(tmp_path):
    (tmp_path / "blank.jsonl").write_text("\n\n")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input: {path: blank.jsonl}\nstages:\n  - stage: exact_dedup\n")
    ran = _invoke("run", str(pipeline), "-o", str(tmp_path / "out"), "-q")
    assert ran.exit_code == 3 and "the input has zero rows" in ran.stderr  # not "no column 'text'; columns are: "
    (tmp_path / "big.csv").write_text('id,text\na,"' + ("line\n" * 300_000) + '"\nb,short\n')  # a first row of 1.5 MB
    pipeline.write_text("input: {path: big.csv}\nstages:\n  - stage: exact_dedup\n")
    assert _invoke("check", str(pipeline)).exit_code == 0


def test_an_output_section_without_a_path_writes_to_output_or_the_default_folder(tmp_path):
    """`output: {format: jsonl}` sets the files only: the folder is --output's, else
    runs/<pipeline file name>, as without an `output:` section."""
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input: {path: in.jsonl}\noutput: {format: jsonl}\nstages:\n  - stage: length_filter\n    min_words: 2\n")
    (tmp_path / "in.jsonl").write_text('{"text": "two words"}\n{"text": "one"}\n')
    for args, folder in ((["-o", "chosen"], tmp_path / "chosen"), ([], tmp_path / "runs" / "p")):
        ran = _invoke("run", str(pipeline), *args, "-q", cwd=tmp_path)
        assert ran.exit_code == 0, ran.stderr
        assert sorted(p.name for p in (folder / "data").iterdir()) == ["part-00000.jsonl.gz"]
        assert sorted(p.name for p in (folder / "removed" / "length_filter").iterdir()) == ["part-00000.jsonl.gz"]


def test_set_reaches_output_given_as_a_path_and_a_stage_renamed_by_an_earlier_set(tmp_path):
    from curate.config import apply_overrides

    data = {"input": {"path": "a.parquet"}, "output": "runs/x", "stages": [{"stage": "exact_dedup", "name": "exact"}]}
    changed, _, errors = apply_overrides(data, ["output.format=jsonl", "stages.exact.name=dedup", "stages.dedup.mode=annotate"], "p.yaml")
    assert errors == []
    assert changed["output"] == {"path": "runs/x", "format": "jsonl"} and changed["stages"] == [{"stage": "exact_dedup", "name": "dedup", "mode": "annotate"}]
    (error,) = apply_overrides(data, ["stages=foo"], "p.yaml")[2]
    assert str(error) == "p.yaml: --set stages=foo: name a stage and its key, e.g. stages.exact.mode=annotate"


def test_check_takes_annotate_only_and_judges_the_columns_that_run_leaves(tmp_path):
    # clean leaves clean_text only in annotate mode: a suite naming it is right for
    # `curate run --annotate-only`, and wrong for a filter run
    import polars as pl

    pl.DataFrame({"id": ["a", "b"], "text": ["<b>one</b> two three four five", "six seven eight nine ten"]}).write_parquet(tmp_path / "in.parquet")
    (tmp_path / "s.yaml").write_text("expectations:\n  - expect: column_values_to_not_be_null\n    column: clean_text\n")
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input: {path: in.parquet, id_column: id}\nstages:\n  - {stage: clean, markup: html}\nexpectations:\n  output: [s.yaml]\n")
    annotating = _invoke("check", "--annotate-only", str(pipeline))
    assert annotating.exit_code == 0, annotating.stderr
    filtering = _invoke("check", str(pipeline))
    assert filtering.exit_code == 2 and "the output has no column 'clean_text'" in filtering.stderr
