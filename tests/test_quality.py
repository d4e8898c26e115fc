"""The quality stage and its rule files: schema errors, combining, per-language
overrides, C4 line cleaning, reasons, report statistics."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import ConfigError, CurateError
from curate.report.samples import criteria_for, decision
from curate.run.accounting import merge
from curate.stages import STAGES
from curate.stages.base import REASON, Columns, settle_rewrite
from curate.stages.quality import REASONS, Quality, QualityConfig
from curate.stages.quality.metrics import metric_names
from curate.stages.quality.rules import builtin_rule_names, load_rule_set, resolve

GOOD = (
    "The old harbour town grew quickly after the railway arrived in 1871. Merchants built warehouses along "
    "the river, and the population doubled within a decade. A new school opened near the market square.\n"
    "Fishing remained important, but trade with inland cities became the main source of wealth. The town "
    "council paved the main streets and installed gas lamps. Visitors often praised the clean air and the "
    "views of the bay. Today the museum keeps records of that period, including letters, maps and photographs "
    "of the first steam ships that called at the port."
)
"""A text every built-in rule set keeps (enough words, stop words, sentences, no repeats)."""


def stage(**options) -> Quality:
    return Quality(QualityConfig(stage="quality", **options), Columns(text="text", id="id"))


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def error_of(refs: list[str], **kw) -> str:
    with pytest.raises(ConfigError) as info:
        load_rule_set(refs, **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- built-in rule files ---------------------------------------------------------------------------


def test_builtin_rule_sets_load_with_the_published_thresholds():
    assert {"gopher_quality", "gopher_repetition", "c4", "fineweb"} <= set(builtin_rule_names())
    rules = {r.name: r for r in load_rule_set(["gopher_quality", "gopher_repetition", "c4", "fineweb"]).rules}
    expect = {
        "gopher_short_doc": (">=", 50),
        "gopher_long_doc": ("<=", 100_000),
        "gopher_below_avg_threshold": (">=", 3),
        "gopher_above_avg_threshold": ("<=", 10),
        "gopher_too_many_hashes": ("<=", 0.1),
        "gopher_too_many_ellipsis": ("<=", 0.1),
        "gopher_too_many_bullets": ("<=", 0.9),
        "gopher_too_many_end_ellipsis": ("<=", 0.3),
        "gopher_below_alpha_threshold": (">=", 0.8),
        "gopher_few_stop_words": (">=", 2),
        "gopher_dup_line_frac": ("<=", 0.3),
        "gopher_dup_para_frac": ("<=", 0.3),
        "gopher_dup_line_char_frac": ("<=", 0.2),
        "gopher_dup_para_char_frac": ("<=", 0.2),
        "gopher_top_2gram": ("<=", 0.20),
        "gopher_top_3gram": ("<=", 0.18),
        "gopher_top_4gram": ("<=", 0.16),
        "gopher_dup_5gram": ("<=", 0.15),
        "gopher_dup_10gram": ("<=", 0.10),
        "c4_too_few_sentences": (">=", 5),
        "fineweb_line_punct_ratio": (">=", 0.12),
        "fineweb_short_line_ratio": ("<=", 0.67),
        "fineweb_char_dup_ratio": ("<=", 0.01),
        "fineweb_list_ratio": ("<=", 0.3),
    }
    for name, (op, threshold) in expect.items():
        assert (rules[name].keep_if, rules[name].threshold) == (op, threshold), name


def test_a_rule_set_is_found_by_path_and_by_name(tmp_path):
    path = write(tmp_path, "rules:\n  - {name: short, metric: word_count, keep_if: '>=', threshold: 3}\n")
    source, text = resolve(path)
    assert source == path and "short" in text
    source, _ = resolve("c4")
    assert source.endswith("c4.yaml")


def test_a_wheel_ships_the_rules_and_suites(tmp_path):
    """A non-editable install has no rules/ beside the package: the wheel carries them."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "wheel"), str(repo)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "wheel").glob("curate-*.whl"))
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(tmp_path / "site"), str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    probe = ("import curate, curate.stages.quality.rules as r, curate.checks.suites as s; "
             "import json; print(curate.__file__); print(json.dumps(r.builtin_rule_names())); print(s.load_suite('basic').name)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")})
    assert out.returncode == 0, out.stderr
    location, names, suite = out.stdout.splitlines()
    assert location.startswith(str(tmp_path / "site"))
    assert {"c4", "fineweb", "gopher_quality", "gopher_repetition"} <= set(json.loads(names))
    assert suite == "basic"


def test_unknown_rule_set_names_the_builtins():
    message = error_of(["gopher_qualty"])
    assert "'gopher_qualty' not found" in message and "gopher_quality" in message


# --- schema errors --------------------------------------------------------------------------------


def test_unknown_metric_names_file_rule_and_valid_metrics(tmp_path):
    path = write(tmp_path, "rules:\n  - {name: a, metric: word_count, keep_if: '>=', threshold: 1}\n  - {name: b, metric: foo, keep_if: '>=', threshold: 1}\n")
    message = error_of([path])
    assert path in message and "rules[1].metric" in message and "unknown metric 'foo'" in message
    assert "valid:" in message and "word_count" in message and "top_<n>gram_char_frac" in message


def test_unknown_key_in_a_rule(tmp_path):
    path = write(tmp_path, "rules:\n  - {name: a, metric: word_count, keep_if: '>=', treshold: 1}\n")
    message = error_of([path])
    assert "line 2: rules[0].treshold: unknown key (did you mean `threshold`?)" in message
    assert "valid keys: name, metric, keep_if, threshold" in message


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, "rulez: []\nrules:\n  - {name: a, metric: word_count, keep_if: '>=', threshold: 1}\n")
    assert "line 1: rulez: unknown key (did you mean `rules`?)" in error_of([path])


def test_unknown_comparison(tmp_path):
    path = write(tmp_path, "rules:\n  - {name: a, metric: word_count, keep_if: '=>', threshold: 1}\n")
    message = error_of([path])
    assert "unknown comparison '=>'" in message and ">=, >, <=, <, ==, !=" in message


def test_threshold_must_be_a_number_not_an_expression(tmp_path):
    path = write(tmp_path, "rules:\n  - {name: a, metric: word_count, keep_if: '>=', threshold: '__import__(\"os\")'}\n")
    assert "rules[0].threshold" in error_of([path])


@pytest.mark.parametrize("written", [".nan", ".inf", "'3'", "true"])
def test_threshold_is_a_finite_number_as_written(tmp_path, written):
    # NaN would fail every comparison and remove every row; a string or true would be converted
    path = write(tmp_path, f"rules:\n  - name: a\n    metric: word_count\n    keep_if: '>='\n    threshold: {written}\n")
    assert "line 5: rules[0].threshold: a threshold is a finite number" in error_of([path])


def test_a_whole_number_threshold_too_large_for_a_float_is_a_mistake_not_an_internal_error(tmp_path):
    # math.isfinite raised OverflowError on a YAML integer of 400 digits: exit 1
    huge = "1" + "0" * 400
    path = write(tmp_path, (f"rules:\n  - {{name: a, metric: char_count, keep_if: '<=', threshold: {huge}}}\n"
                            f"overrides:\n  de: {{rules: {{a: {{threshold: -{huge}}}}}}}\n"))
    with pytest.raises(CurateError) as info:
        load_rule_set([path])
    assert info.value.exit_code == 2 and str(info.value).splitlines() == [
        f"{path}, line 2: rules[0].threshold: a threshold is a finite number (got 100000… (a whole number of 401 digits))",
        f"{path}, line 4: overrides.de.rules.a.threshold: a threshold is a finite number (got -100000… (a whole number of 401 digits))",
    ]
    with pytest.raises(ValueError, match=r"gopher_long_doc: a threshold is a finite number, or \{language: number\} \(got 100000… \(a whole number of 401 digits\)\)"):
        QualityConfig(stage="quality", thresholds={"gopher_long_doc": int(huge)})
    with pytest.raises(ValueError, match=r"gopher_long_doc\.ja: a threshold is a finite number \(got 100000…"):
        QualityConfig(stage="quality", thresholds={"gopher_long_doc": {"ja": int(huge)}})
    # more digits than Python turns into an int (4,300): YAML's own constructor raised ValueError
    longer = write(tmp_path, f"rules:\n  - {{name: a, metric: char_count, keep_if: '<=', threshold: 1{'0' * 5000}}}\n", "longer.yaml")
    assert error_of([longer]) == f"{longer}, line 2: a whole number of 5,001 characters (100000…); no setting takes a number that long"


def test_a_threshold_outside_its_metrics_values_is_a_mistake(tmp_path):
    # 80 (a percentage) for a share, a negative count: no row could pass, or every row would
    path = write(tmp_path, (
        "rules:\n"
        "  - {name: letters, metric: alpha_word_ratio, keep_if: '>=', threshold: 80}\n"
        "  - {name: words, metric: word_count, keep_if: '>=', threshold: 50}\n"
        "  - {name: chant, metric: top_2gram_char_frac, keep_if: '<=', threshold: 1.2}\n"
        "overrides:\n"
        "  de: {rules: {words: {threshold: -1}}}\n"
    ))
    with pytest.raises(CurateError) as info:
        load_rule_set([path])
    assert info.value.exit_code == 2 and str(info.value).splitlines() == [
        f"{path}, line 2: rules[0].threshold: alpha_word_ratio is a share from 0 to 1 (got 80)",
        f"{path}, line 6: overrides.de.rules.words.threshold: word_count is never negative (got -1)",
    ]
    with pytest.raises(ValueError, match=r"thresholds: fineweb_short_line_ratio.ja: short_line_ratio is a share from 0 to 1 \(got -0.5\)"):
        QualityConfig(stage="quality", rules=["fineweb"], thresholds={"fineweb_short_line_ratio": {"ja": -0.5}})
    with pytest.raises(ValueError, match=r"thresholds: fineweb_line_punct_ratio: line_punct_ratio is a share from 0 to 1 \(got 12\)"):
        QualityConfig(stage="quality", rules=["fineweb"], thresholds={"fineweb_line_punct_ratio": 12})


def test_a_number_yaml_reads_as_text_says_how_to_write_it(tmp_path):
    # YAML 1.1 takes 1e-2 (an exponent without a dot) for a string
    path = write(tmp_path, "rules:\n  - {name: a, metric: hash_word_ratio, keep_if: '<=', threshold: 1e-2}\n")
    assert error_of([path]).endswith("rules[0].threshold: a threshold is a finite number (got '1e-2'); YAML reads 1e-2 as text (a number with an exponent needs a dot, as in 1.0e-2): write 0.01")
    with pytest.raises(ValueError, match=r"gopher_too_many_hashes: .*\(got '1e-1'\); YAML reads 1e-1 as text .*: write 0.1"):
        QualityConfig(stage="quality", thresholds={"gopher_too_many_hashes": "1e-1"})


def test_rule_file_mistakes_are_named_as_the_file_makes_them(tmp_path):
    # a quoted number was told to write 3.0 for an exponent it lacks; overrides.fr.rules
    # was said to take threshold and enabled (the keys of its values); a key of 5 was on
    # the line of overrides:, as overrides[5].[key]; enabled: "no" and 1 were read as false and true
    quoted = write(tmp_path, "rules:\n  - {name: a, metric: char_count, keep_if: '>=', threshold: '3'}\n", "quoted.yaml")
    assert error_of([quoted]).endswith("rules[0].threshold: a threshold is a finite number (got '3'); the quotes make it text: write 3 without them")
    with pytest.raises(ValueError, match=r"gopher_short_doc\.ja: .*\(got '20'\); the quotes make it text: write 20 without them"):
        QualityConfig(stage="quality", thresholds={"gopher_short_doc": {"ja": "20"}})
    shapes = write(tmp_path, (
        "rules:\n"
        "  - {name: a, metric: char_count, keep_if: '>=', threshold: 1, enabled: 'no'}\n"
        "  - {name: b, metric: word_count, keep_if: '>=', threshold: 3, enabled: 1}\n"
        "overrides:\n"
        "  fr: {rules: ~}\n"
        "  de: {rules: {a: {enabled: 'on'}}}\n"
        "  5: {}\n"
    ), "shapes.yaml")
    with pytest.raises(CurateError) as info:
        load_rule_set([shapes])
    assert info.value.exit_code == 2 and str(info.value).splitlines() == [
        f"{shapes}, line 2: rules[0].enabled: should be true or false (got 'no')",
        f"{shapes}, line 3: rules[1].enabled: should be true or false (got 1)",
        f"{shapes}, line 5: overrides.fr.rules: should be a mapping, each value a mapping with keys threshold, enabled, not NoneType",
        f"{shapes}, line 6: overrides.de.rules.a.enabled: should be true or false (got 'on')",
        f"{shapes}, line 7: overrides.5: should be a valid string (got 5); YAML reads the value as a number: quote it, e.g. \"5\"",
    ]
    no_overrides = write(tmp_path, "rules:\n  - {name: a, metric: char_count, keep_if: '>=', threshold: 1}\noverrides: ~\n", "none.yaml")
    assert error_of([no_overrides]).endswith("line 3: overrides: should be a mapping, each value a mapping with keys params, rules, not NoneType")
    german = write(tmp_path, "rules:\n  - {name: my_len, metric: char_count, keep_if: '>=', threshold: 1}\noverrides:\n  de: {params: {stop_words: {words: [der, die]}}}\n", "de.yaml")
    assert error_of(["gopher_quality", german]).startswith(
        f"{german}: overrides.de.params.stop_words: differs from the value set in {resolve('gopher_quality')[0]} (its overrides.de); ")
    with pytest.raises(ValueError, match=r"'jq' is a code .* the \"\*\" settings and the Unicode tokenizer"):
        QualityConfig(stage="quality", lang="jq")


def test_every_mistake_in_a_rule_file_at_once_each_with_its_line(tmp_path):
    path = write(tmp_path, (
        "rules:\n"
        "  - {name: a, metric: word_count, keep_if: '>=', treshold: 1}\n"
        "  - {name: b, metric: wordcount, keep_if: '=>', threshold: 1}\n"
        "  - {name: a, metric: word_count, keep_if: '>=', threshold: 2}\n"
    ))
    with pytest.raises(CurateError) as info:
        load_rule_set([path])
    assert info.value.exit_code == 2 and str(info.value).splitlines() == [
        f"{path}, line 2: rules[0].treshold: unknown key (did you mean `threshold`?); valid keys: name, metric, keep_if, threshold, description, enabled",
        f"{path}, line 3: rules[1].keep_if: unknown comparison '=>'; valid: >=, >, <=, <, ==, !=",
        f"{path}, line 3: rules[1].metric: unknown metric 'wordcount' (did you mean `word_count`?); valid: {', '.join(metric_names())}",
        f"{path}, line 4: rules[2].name: rule 'a' is defined twice; rule names must be unique",
    ]


def test_unknown_parameter_group_and_parameter(tmp_path):
    path = write(tmp_path, "params: {stopwords: {words: [a]}}\nrules:\n  - {name: a, metric: word_count, keep_if: '>=', threshold: 1}\n")
    message = error_of([path])
    assert "params.stopwords" in message and "valid: stop_words, short_line, c4_lines" in message
    path = write(tmp_path, "params: {short_line: {max_len: 3}}\nrules:\n  - {name: a, metric: word_count, keep_if: '>=', threshold: 1}\n", "b.yaml")
    message = error_of([path])
    assert "params.short_line.max_len" in message and "valid keys: max_chars" in message


def test_parameters_are_taken_as_written_and_reported_with_the_rules_mistakes(tmp_path):
    # "yes" was read as true, true as 1 and 2.0 as 2; a parameter mistake came without its
    # line, one at a time, and only once every rule was right
    path = write(tmp_path, (
        "params:\n"
        "  c4_lines: {remove_citations: 'yes', min_words_per_line: true, max_word_length: 2.0}\n"
        "  stop_words: {words: the}\n"
        "rules:\n"
        "  - {name: a, metric: stop_wordcount, keep_if: '>=', threshold: 1}\n"
        "overrides:\n"
        "  de: {params: {short_line: {max_chars: -1}, stopwords: {words: [der]}}}\n"
    ))
    with pytest.raises(CurateError) as info:
        load_rule_set([path])
    assert info.value.exit_code == 2 and str(info.value).splitlines() == [
        f"{path}, line 5: rules[0].metric: unknown metric 'stop_wordcount' (did you mean `stop_word_count`?); valid: {', '.join(metric_names())}",
        f"{path}, line 2: params.c4_lines.remove_citations: should be true or false (got 'yes')",
        f"{path}, line 2: params.c4_lines.min_words_per_line: should be a whole number (got True)",
        f"{path}, line 2: params.c4_lines.max_word_length: should be a whole number (got 2.0)",
        f"{path}, line 3: params.stop_words.words: should be a list (got 'the'); write [the]",
        f"{path}, line 7: overrides.de.params.short_line.max_chars: should be greater than or equal to 0 (got -1)",
        f"{path}, line 7: overrides.de.params.stopwords: unknown parameter group (did you mean `stop_words`?); valid: stop_words, short_line, c4_lines",
    ]
    fixed = write(tmp_path, (
        "params: {c4_lines: {remove_citations: false, max_word_length: 2}, stop_words: {words: [the, 'of']}}\n"
        "rules:\n  - {name: a, metric: stop_word_count, keep_if: '>=', threshold: 1}\n"
    ), "fixed.yaml")
    params = load_rule_set([fixed]).params
    assert params["stop_words"].words == ("the", "of") and params["c4_lines"].remove_citations is False and params["c4_lines"].max_word_length == 2


def test_one_rule_set_not_in_a_list_is_named_as_written(tmp_path):
    # the name was resolved as a path first: "should be a valid list (got '/abs/dir/gopher_quality')"
    pl.DataFrame({"id": ["1"], "text": [GOOD]}).write_parquet(tmp_path / "in.parquet")
    (tmp_path / "p.yaml").write_text("input: {path: in.parquet, id_column: id}\noutput: out\nstages:\n  - stage: quality\n    rules: gopher_quality\n")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "p.yaml")])
    assert result.exit_code == 2 and result.stderr.strip().endswith(
        "p.yaml, line 5: stages[0].rules: should be a list (got 'gopher_quality'); write [gopher_quality]"), result.stderr


def test_rule_names_are_unique_across_combined_sets(tmp_path):
    path = write(tmp_path, "rules:\n  - {name: gopher_short_doc, metric: word_count, keep_if: '>=', threshold: 1}\n")
    message = error_of(["gopher_quality", path])
    assert "'gopher_short_doc' is also defined in" in message


def test_combined_sets_must_agree_on_parameters(tmp_path):
    path = write(tmp_path, "params: {short_line: {max_chars: 10}}\nrules:\n  - {name: mine, metric: short_line_ratio, keep_if: '<=', threshold: 0.5}\n")
    assert "params.short_line: differs" in error_of(["fineweb", path])


def test_override_of_a_missing_rule(tmp_path):
    path = write(tmp_path, "rules:\n  - {name: a, metric: word_count, keep_if: '>=', threshold: 1}\noverrides:\n  de: {rules: {b: {threshold: 2}}}\n")
    assert "overrides.de.rules.b" in error_of([path])


def test_language_codes_no_row_can_have_are_mistakes_with_the_code_meant(tmp_path):
    """Codes no language has (empty, und) are mistakes in any rule file; a code langid's
    lid.176 never gives (jp, zh-CN, english) is one only when langid writes the column the
    stage reads: an input's own language column may hold any code."""
    path = write(tmp_path, (
        "rules:\n  - {name: a, metric: word_count, keep_if: '>=', threshold: 5}\n"
        "overrides:\n  ja: {}\n  jp: {}\n  zh-CN: {}\n  deu_Latn: {}\n  und: {}\n  '*': {}\n"
    ))
    with pytest.raises(CurateError) as info:
        load_rule_set([path])
    assert info.value.exit_code == 2 and str(info.value).splitlines() == [
        f"{path}, line 8: overrides.und: und is no language: rows langid cannot identify get the rules of rows without a language (the defaults)",
    ]
    (tmp_path / "rules.yaml").write_text(Path(path).read_text().replace("  und: {}\n", ""))
    codes = "; langid's codes are lid.176's (en, de, ja, zh, ...)"
    spec = {"input": {"path": "in.parquet", "id_column": "id"}, "output": "out",
            "stages": [{"stage": "langid"}, {"stage": "quality", "rules": ["gopher_quality", "./rules.yaml"], "thresholds": {"gopher_short_doc": {"english": 20, "ja": 30}}}]}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    pl.DataFrame({"id": ["1"], "text": ["Ein Satz."]}).write_parquet(tmp_path / "in.parquet")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "p.yaml")])
    rules = tmp_path / "rules.yaml"
    assert result.exit_code == 2 and [line.split("(quality): ", 1)[1] for line in result.stderr.splitlines()] == [
        f"{rules}: overrides.jp: 'jp' is not a language code rows can have (did you mean `ja`?){codes}",
        f"{rules}: overrides.zh-CN: 'zh-CN' is not a language code rows can have (did you mean `zh`?){codes}",
        f"{rules}: overrides.deu_Latn: 'deu_Latn' is not a language code rows can have (did you mean `de`?){codes}",
        f"thresholds: gopher_short_doc.english: 'english' is not a language code rows can have (did you mean `en`?){codes}",
    ], result.stderr
    spec["stages"] = spec["stages"][1:]  # the input's own lang column: any code may be its
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    assert CliRunner().invoke(app, ["check", str(tmp_path / "p.yaml")]).exit_code == 0
    for lang, message in (("jp", "did you mean `ja`"), (" ", "an empty language code matches no row"), ("*", "not \"\\*\"")):
        with pytest.raises(ValueError, match=message):
            QualityConfig(stage="quality", lang=lang)
    for lang in ("zh-CN", "pt-BR", "zh_Hans", "ZH", "deu_Latn"):  # a regional or script code is its base language's
        assert QualityConfig(stage="quality", lang=lang).lang == lang
    # a thresholds: key whose rows get another language's settings would take those away from them
    with pytest.raises(ValueError, match="gopher_short_doc.zh-CN: rows of 'zh-CN' get the settings of 'zh', which the rule files list: write zh"):
        QualityConfig(stage="quality", thresholds={"gopher_short_doc": {"zh-CN": 40}})
    assert QualityConfig(stage="quality", lang="nb", thresholds={"gopher_short_doc": {"swh_Latn": 20}}).lang == "nb"
    assert QualityConfig(stage="quality", lang="jp", rules=[str(rules)]).lang == "jp"  # a rule file has settings for it


def test_malformed_yaml(tmp_path):
    path = write(tmp_path, "rules: [\n")
    assert "malformed YAML" in error_of([path])


def test_stage_config_checks_rules_thresholds_and_disable_at_validation():
    with pytest.raises(ValueError, match="thresholds: no rule called 'nope'"):  # pydantic's, located in the pipeline file
        QualityConfig(stage="quality", rules=["fineweb"], thresholds={"nope": 1})
    with pytest.raises(ValueError, match="rules\n.*rule set 'missing_set' not found"):  # at the key, so a --set that wrote it is named
        QualityConfig(stage="quality", rules=["missing_set"])
    assert "quality" in STAGES


# --- the stage ----------------------------------------------------------------------------------------


def test_reasons_in_file_order_first_is_the_removal_reason():
    frame = pl.DataFrame({"id": ["ok", "bad", "none"], "text": [GOOD, "#" * 40, None]})
    out = stage(rules=["gopher_quality", "fineweb"]).annotate(frame)
    assert out.height == 3 and out["id"].to_list() == ["ok", "bad", "none"]
    assert out[REASON][0] is None and out[REASONS][0].to_list() == []
    bad = out[REASONS][1].to_list()
    assert bad[0] == "gopher_short_doc" and out[REASON][1] == "gopher_short_doc"
    assert bad == [r for r in [r.name for r in load_rule_set(["gopher_quality", "fineweb"]).rules] if r in bad]
    assert "fineweb_line_punct_ratio" in bad
    assert out[REASON][2] == "gopher_short_doc"  # null text is empty text
    assert "quality_non_symbol_word_count" in out.columns and "quality_line_punct_ratio" in out.columns



def test_c4_reason_is_the_line_rule_datatrove_meets_first_in_the_text():
    curly = "The function body is written as { return x; } in the code."
    lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit."
    both = "The template says lorem ipsum inside { braces } for now."
    frame = pl.DataFrame({"id": ["curly_first", "lorem_first", "same_line", "curly_only"],
                          "text": [f"{curly}\n{lorem}", f"{lorem}\n{curly}", both, f"{GOOD}\n{curly}"]})
    out = stage(rules=["c4"]).annotate(frame)
    # datatrove's C4QualityFilter returns at the first line with either, lorem ipsum tested first on a line
    assert out[REASON].to_list() == ["c4_curly_bracket", "c4_lorem_ipsum", "c4_lorem_ipsum", "c4_curly_bracket"]
    assert out[REASONS][0].to_list() == ["c4_curly_bracket", "c4_lorem_ipsum", "c4_too_few_sentences"]
    assert out[REASONS][1].to_list() == ["c4_lorem_ipsum", "c4_curly_bracket", "c4_too_few_sentences"]
    # without the curly-bracket rule the lorem ipsum line decides, wherever the "{" line is
    assert stage(rules=["c4"], disable=["c4_curly_bracket"]).annotate(frame)[REASON].to_list()[:3] == ["c4_lorem_ipsum"] * 3

def test_thresholds_and_disable_options():
    frame = pl.DataFrame({"id": ["a"], "text": ["Only five words are here."]})
    assert stage(rules=["gopher_quality"]).annotate(frame)[REASON][0] == "gopher_short_doc"
    out = stage(rules=["gopher_quality"], thresholds={"gopher_short_doc": 5}).annotate(frame)
    assert out[REASON][0] == "gopher_few_stop_words"
    out = stage(rules=["gopher_quality"], thresholds={"gopher_short_doc": 5}, disable=["gopher_few_stop_words"]).annotate(frame)
    assert out[REASON][0] is None


def test_a_users_rule_file_with_a_family_metric(tmp_path):
    path = write(tmp_path, "name: mine\nrules:\n  - {name: no_chant, metric: top_1gram_char_frac, keep_if: '<', threshold: 0.5}\n".replace("top_1", "top_2"))
    frame = pl.DataFrame({"id": ["x", "y"], "text": ["la la la la la la", "a normal sentence with words"]})
    out = stage(rules=[path]).annotate(frame)
    assert out[REASON].to_list() == ["no_chant", None]


LANG_RULES = """
name: lang_demo
params: {stop_words: {words: [the, and]}}
rules:
  - {name: few_words, metric: non_symbol_word_count, keep_if: ">=", threshold: 6}
  - {name: few_stop_words, metric: stop_word_count, keep_if: ">=", threshold: 1}
overrides:
  de:
    params: {stop_words: {words: [der, und]}}
    rules: {few_words: {threshold: 3}}
  fr:
    rules: {few_stop_words: {enabled: false}}
"""


def test_per_language_overrides_change_parameters_thresholds_and_enabled(tmp_path):
    path = write(tmp_path, LANG_RULES)
    frame = pl.DataFrame(
        {
            "id": list("abcdef"),
            "text": ["der Hund und die Katze", "the dog and the cat", "the cat and dog run far away", "le chat et le chien", "le chat et le chien noir", "x y"],
            "lang": ["de", "de", "en", "fr", "fr", None],
        }
    )
    out = stage(rules=[path]).annotate(frame)
    # de: 5 words pass the lowered threshold of 3; German stop words count, English do not
    assert out["quality_stop_word_count"].to_list()[:3] == [2, 0, 2]
    assert out[REASON].to_list() == [None, "few_stop_words", None, "few_words", None, "few_words"]


def test_what_if_tables_scale_each_languages_own_threshold(tmp_path):
    path = write(tmp_path, LANG_RULES)
    frame = pl.DataFrame(
        {
            "id": list("abcdef"),
            "text": ["eins zwei drei vier fünf", "a b c d e", "one two three four five six seven", "un deux trois quatre cinq",
                     "un deux trois quatre cinq six", "x y"],
            "lang": ["de", "de", "en", "fr", "fr", None],
        }
    )
    st = stage(rules=[path])
    stats = st.shard_stats(st.annotate(frame))
    # few_words: 3 for de, 6 for every other row; words 5, 5, 7, 5, 6, 2
    failed = [stats["what_if"]["few_words"][f"x{f}"]["failed"] for f in (0.75, 0.9, 1.0, 1.1, 1.25)]
    assert failed == [1, 2, 2, 3, 4]
    assert stats["rules"]["few_words"]["failed"] == 2


@pytest.mark.parametrize(("changed", "fails"), [
    ({}, [False, False, False, True, False, True]),
    # a number is the rule's own threshold: de keeps the 3 of its override
    ({"few_words": 7}, [False, False, False, True, True, True]),
    ({"few_words": {"fr": 5}}, [False, False, False, False, False, True]),
    # "*": every row the mapping does not name, the rule files' languages and null included
    ({"few_words": {"de": 6, "*": 2}}, [True, True, False, False, False, False]),
])
def test_stage_thresholds_keep_the_rule_files_own_language_values_unless_named(tmp_path, changed, fails):
    frame = pl.DataFrame({"id": list("abcdef"), "lang": ["de", "de", "en", "fr", "fr", None],
                          "text": ["eins zwei drei vier fünf", "a b c d e", "one two three four five six seven",
                                   "un deux trois quatre cinq", "un deux trois quatre cinq six", "x y"]})
    out = stage(rules=[write(tmp_path, LANG_RULES)], thresholds=changed).annotate(frame)
    assert out[REASONS].list.contains("few_words").to_list() == fails


def test_stage_threshold_mistakes_are_one_line_each():
    with pytest.raises(ValueError, match=r"gopher_short_doc\.ja: a threshold is a finite number \(got 'x'\)"):
        QualityConfig(stage="quality", thresholds={"gopher_short_doc": {"ja": "x"}})
    with pytest.raises(ValueError, match=r"gopher_short_doc: a threshold is a finite number, or \{language: number\} \(got True\)"):
        QualityConfig(stage="quality", thresholds={"gopher_short_doc": True})



def test_what_if_thresholds_are_the_decimals_a_run_would_be_given():
    # 50 × 1.1 and 0.8 × 1.1 are 55.00000000000001 and 0.8800000000000001 in floats: a row
    # exactly at 55 words or at an alpha ratio of 22/25 passes a run given 55 or 0.88
    frame = pl.DataFrame({"id": ["words55", "words54", "alpha88", "alpha84"],
                          "text": [" ".join(["house"] * 55), " ".join(["house"] * 54),
                                   " ".join(["house"] * 66 + ["1990"] * 9), " ".join(["house"] * 63 + ["1990"] * 12)]})
    st = stage(rules=["gopher_quality"])
    report = st.finish_stats(st.shard_stats(st.annotate(frame)))
    rows = {r["rule"]: r for r in report["rules"]}
    for rule, scaled in (("gopher_short_doc", 55), ("gopher_below_alpha_threshold", 0.88)):
        what_if = rows[rule]["what_if"][f"1.1x threshold ({scaled:g})"]
        real = stage(rules=["gopher_quality"], thresholds={rule: scaled})
        real_report = real.finish_stats(real.shard_stats(real.annotate(frame)))
        assert what_if["failed"] == next(r["failed"] for r in real_report["rules"] if r["rule"] == rule)
    assert rows["gopher_short_doc"]["what_if"]["1.1x threshold (55)"]["failed"] == 1  # words54
    assert rows["gopher_below_alpha_threshold"]["what_if"]["1.1x threshold (0.88)"]["failed"] == 1  # alpha84 only


ARABIC_LONG_WORDS = " ".join(["مستشفياتنا"] * 60 + ["في", "من"])
"""Mean word length 9.74: over Arabic's maximum of 9, under the 12 of other languages."""


def test_sample_cards_show_the_threshold_of_each_rows_own_language():
    # ar-EG and arb_Arab reach the rule files' ar through mapping; under `lang: ar` no column says it
    frame = pl.DataFrame({"id": ["ar", "ar-EG", "arb_Arab"], "text": [ARABIC_LONG_WORDS] * 3, "lang": ["ar", "ar-EG", "arb_Arab"]})
    st = stage(rules=["gopher_quality"])
    out = st.annotate(frame)
    assert out[REASON].to_list() == ["gopher_above_avg_threshold"] * 3
    explain = st.report_explain(st.finish_stats(st.shard_stats(out))).as_json()
    for row in out.to_dicts():
        card = decision(criteria_for(explain, "gopher_above_avg_threshold")[0], row)
        assert card.endswith("<b>9.742</b> &gt; 9"), card
    fixed = stage(rules=["gopher_quality"], lang="ar")
    out = fixed.annotate(frame.drop("lang"))
    assert out[REASON].to_list() == ["gopher_above_avg_threshold"] * 3
    explain = fixed.report_explain(fixed.finish_stats(fixed.shard_stats(out))).as_json()
    assert decision(criteria_for(explain, "gopher_above_avg_threshold")[0], out.row(0, named=True)).endswith("&gt; 9")


def test_the_rule_table_shows_the_per_language_settings_that_failed_rows(tmp_path):
    path = write(tmp_path, "rules:\n  - {name: min_chars, metric: char_count, keep_if: '>=', threshold: 100, enabled: false}\n"
                           "overrides:\n  de: {rules: {min_chars: {enabled: true, threshold: 50}}}\n")
    frame = pl.DataFrame({"id": ["1", "2", "3"], "text": ["Ein kurzer Satz.", "A short sentence.", "Noch ein kurzer Satz."], "lang": ["de", "en", "de-AT"]})
    st = stage(rules=[path])
    row = next(r for r in st.finish_stats(st.shard_stats(st.annotate(frame)))["rules"] if r["rule"] == "min_chars")
    assert (row["enabled"], row["keep_if"], row["failed"]) == (False, ">= 100", 2)  # the defaults, and what the overrides removed
    assert row["by_language"] == {"de": {"keep_if": ">= 50", "failed": 2}}

def test_without_a_lang_column_the_defaults_apply(tmp_path):
    path = write(tmp_path, LANG_RULES)
    frame = pl.DataFrame({"id": ["a"], "text": ["der Hund und die Katze"]})
    out = stage(rules=[path]).annotate(frame)
    assert out[REASON][0] == "few_words" and out["quality_stop_word_count"][0] == 0


def test_c4_clean_lines_replaces_text_of_kept_rows_only():
    kept_text = "This is the first sentence. Here is a second one. And a third.\nA fourth line here. A fifth sentence too.\nmenu | home"
    frame = pl.DataFrame({"id": ["k", "r"], "text": [kept_text, "Too short."]})
    cleaning = stage(rules=["c4"], clean_lines=True)
    annotated = cleaning.annotate(frame)
    assert annotated["text"].to_list() == frame["text"].to_list()  # the runner settles the rewrite
    assert annotated["quality_text"][0] == kept_text.rsplit("\n", 1)[0]
    out = settle_rewrite(cleaning, annotated, applied=True)
    assert out[REASON].to_list() == [None, "c4_too_few_sentences"]
    assert out["text"][0] == kept_text.rsplit("\n", 1)[0]
    assert out["text"][1] == "Too short."
    assert settle_rewrite(cleaning, annotated, applied=False)["text"].to_list() == frame["text"].to_list()
    assert out["quality_c4_lines_removed"].to_list() == [1, 1]
    assert out["quality_c4_chars_removed"][0] == len("\nmenu | home")
    untouched = stage(rules=["c4"]).annotate(frame)
    assert untouched["text"].to_list() == frame["text"].to_list()
    assert untouched["quality_c4_lines_removed"].to_list() == [1, 1]


def test_the_report_says_the_text_was_changed_only_in_filter_mode():
    kept_text = "This is the first sentence. Here is a second one. And a third.\nA fourth line here. A fifth sentence too.\nmenu | home"
    cleaning = stage(rules=["c4"], clean_lines=True)
    stats = cleaning.shard_stats(cleaning.annotate(pl.DataFrame({"id": ["k"], "text": [kept_text]})))
    filtered = cleaning.finish_stats(stats, applied=True)["c4_cleaning"]
    assert filtered == {"lines_removed": 1, "chars_removed": len("\nmenu | home"), "applied_to_text": True}
    assert cleaning.finish_stats(stats, applied=False)["c4_cleaning"]["applied_to_text"] is False  # annotate mode


def test_the_cleaning_report_counts_the_rows_it_rewrote_and_emptied():
    """The counts took in the rows the stage removed, whose text stays whole in removed/
    (58 characters for the 6 cut), and null or blank input as rows the cleaning emptied."""
    kept_text = "First sentence is long enough.\nshort\nSecond sentence is long enough."
    texts = [kept_text, "no terminal punctuation on this line\nnor on this one", None, ""]
    cleaning = stage(rules=["c4"], thresholds={"c4_too_few_sentences": 1}, clean_lines=True)
    annotated = cleaning.annotate(pl.DataFrame({"id": ["kept", "emptied", "null", "blank"], "text": texts}))
    assert annotated[REASON].to_list() == [None, "c4_too_few_sentences", "c4_too_few_sentences", "c4_too_few_sentences"]
    assert annotated["quality_reasons"].list.contains("quality_empty").to_list() == [False, True, True, True]
    report = cleaning.finish_stats(cleaning.shard_stats(annotated))
    assert report["c4_cleaning"] == {"lines_removed": 1, "chars_removed": len("\nshort"), "applied_to_text": True}
    assert report["rows_left_empty"] == 1  # the row whose two lines the cleaning cut


def test_samples_name_binary_ids_that_are_not_utf8_as_python_writes_bytes():
    """A binary id column of digests stopped the stage with an internal error when it
    picked its samples (polars cannot cast such bytes to text)."""
    st = stage()
    annotated = st.annotate(pl.DataFrame({"id": [b"\xff\x00", b"\xfe", b"ok"], "text": [GOOD, "short text", "#" * 40]}))
    samples = st.finish_stats(st.shard_stats(annotated))["samples"]
    assert {s["id"] for rule in samples.values() for s in rule} == {"b'\\xfe'", "ok"}


def test_keep_original_needs_clean_lines():
    with pytest.raises(ValueError, match="needs clean_lines: true"):
        QualityConfig(stage="quality", rules=["c4"], keep_original="raw")


def test_stats_add_up_across_shards_and_finish_into_a_report():
    texts = [GOOD, "#" * 40, "short text", GOOD + "\n" + GOOD, "a b " * 60]
    assert stage().annotate(pl.DataFrame({"id": ["g"], "text": [GOOD]}))[REASON][0] is None
    frame = pl.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts})
    st = stage()
    whole = st.shard_stats(st.annotate(frame))
    parts = merge(merge({}, st.shard_stats(st.annotate(frame.head(2)))), st.shard_stats(st.annotate(frame.tail(3))))
    for key in ("rows", "removed", "rules", "what_if", "histograms"):
        assert parts[key] == whole[key], key
    report = st.finish_stats(parts)
    assert report["rows"] == 5 and report["removed"] == whole["removed"]
    short = next(r for r in report["rules"] if r["rule"] == "gopher_short_doc")
    assert short["failed"] == short["removed_alone"] + short["removed_with_others"]
    assert set(short["what_if"]) == {f"{f}x threshold ({50 * f:g})" for f in (0.75, 0.9, 1.0, 1.1, 1.25)}
    assert short["what_if"]["1.0x threshold (50)"]["failed"] == short["failed"]
    hist = report["histograms"]["non_symbol_word_count"]
    assert sum(hist["counts"]) + hist["null"] == 5 and hist["thresholds"][0]["threshold"] == 50
    assert len(report["samples"]["gopher_short_doc"]) <= 5 and "value" in report["samples"]["gopher_short_doc"][0]
    assert report["c4_cleaning"]["applied_to_text"] is False


@pytest.mark.shared_data
def test_enwiki_sample_runs_and_removes_a_plausible_share(shared_data):
    frame = pl.read_parquet(shared_data / "web" / "enwiki.parquet", columns=["doc_id", "text"]).head(400)
    st = Quality(QualityConfig(stage="quality"), Columns(text="text", id="doc_id"))
    out = st.annotate(frame)
    assert out.height == 400 and out["doc_id"].to_list() == frame["doc_id"].to_list()
    share = out[REASON].is_not_null().mean()
    assert 0.3 < share < 0.9  # many enwiki stubs are under 50 words
    assert out["quality_non_symbol_word_count"].null_count() == 0


STAR_RULES = """
rules:
  - {name: few_words, metric: non_symbol_word_count, keep_if: ">=", threshold: 4}
  - {name: few_stop_words, metric: stop_word_count, keep_if: ">=", threshold: 1}
overrides:
  en: {}
  "*":
    params: {stop_words: {words: [und]}}
    rules: {few_words: {threshold: 2}}
"""


def test_star_override_applies_to_every_other_identified_language(tmp_path):
    path = write(tmp_path, STAR_RULES)
    frame = pl.DataFrame(
        {
            "id": list("abcd"),
            "text": ["the cat and dog", "Hund und Katze", "Hund und Katze", "the cat sat"],
            "lang": ["en", "de", None, "de"],
        }
    )
    out = stage(rules=[path]).annotate(frame)
    assert out["quality_stop_word_count"].to_list() == [2, 1, 0, 0]  # en: the default list (the, and, ...)
    assert out[REASON].to_list() == [None, None, "few_words", "few_stop_words"]


def test_star_is_per_file_a_language_named_in_another_file_keeps_it(tmp_path):
    # Swahili named only by a user file keeps gopher_quality's "*" (no stop-word check,
    # not the English list); German named only by gopher_quality gets the user file's "*"
    mine = write(tmp_path, """
rules:
  - {name: english_min_chars, metric: char_count, keep_if: ">=", threshold: 1000}
overrides:
  sw: {rules: {english_min_chars: {threshold: 10}}}
  en: {}
  "*": {rules: {english_min_chars: {enabled: false}}}
""")
    swahili = "Mji wa zamani ulikua haraka baada ya reli kufika mwaka elfu moja mia nane. " * 5
    german = "Die Stadt wuchs schnell nachdem die Eisenbahn im Sommer kam und der Hafen neue Schiffe sah. " * 4
    frame = pl.DataFrame({"id": list("abc"), "text": [swahili, german, GOOD], "lang": ["sw", "de", "en"]})
    out = stage(rules=["gopher_quality", mine]).annotate(frame)
    assert out["quality_stop_word_count"].to_list()[:2] == [0, 4]
    assert out[REASON].to_list() == [None, None, "english_min_chars"]
    assert stage(rules=["gopher_quality", mine]).rule_set.params_for("sw")["stop_words"] == load_rule_set(["gopher_quality"]).params_for("sw")["stop_words"]


def test_a_star_parameter_group_must_agree_with_every_other_files(tmp_path):
    # a user file's "*" c4_lines would replace C4's own for every language neither file names
    # (English included): rule sets must agree on parameters, as on params:, in either order
    mine = write(tmp_path, """
rules:
  - {name: my_min_chars, metric: char_count, keep_if: ">=", threshold: 10}
overrides:
  "*": {params: {c4_lines: {min_words_per_line: 5}}}
""")
    with pytest.raises(ConfigError, match=r"overrides\.\*\.params\.c4_lines: differs from the value set in .*c4\.yaml"):
        load_rule_set(["c4", mine])
    with pytest.raises(ConfigError, match=r"c4\.yaml: params\.c4_lines: differs from the value set in .* \(its overrides\.\*\)"):
        load_rule_set([mine, "c4"])
    assert load_rule_set([mine]).params_for("de")["c4_lines"].min_words_per_line == 5


def test_builtin_gopher_quality_checks_each_languages_own_stop_words():
    german = "Die Stadt wuchs schnell nachdem die Eisenbahn im Sommer kam und der Hafen neue Schiffe sah. " * 4
    no_stop_words = "Stadt wuchs schnell nachdem Eisenbahn damals kam. Hafen wuchs rasch weil Handel blühte. " * 5
    frame = pl.DataFrame(
        {"id": list("abcde"), "text": [german, no_stop_words, german, no_stop_words, no_stop_words], "lang": ["de", "de", None, "eo", "en"]}
    )
    out = stage(rules=["gopher_quality"]).annotate(frame)
    # de: FineWeb-2's German stop words (die, im, und, der); a language without settings
    # (eo) has no stop-word check; English and no language: the English list
    assert out["quality_stop_word_count"].to_list()[:2] == [4, 0]
    assert out[REASON].to_list() == [None, "gopher_few_stop_words", "gopher_few_stop_words", None, "gopher_few_stop_words"]


def test_und_is_no_language_and_gets_the_rules_for_a_null_language():
    german = "Die Stadt wuchs schnell nachdem die Eisenbahn im Sommer kam und der Hafen neue Schiffe sah. " * 4
    frame = pl.DataFrame({"id": list("abc"), "text": [german, german, german], "lang": ["und", None, "de"]})
    st = stage(rules=["gopher_quality"])
    out = st.annotate(frame)
    assert out[REASON].to_list() == ["gopher_few_stop_words", "gopher_few_stop_words", None]
    report = st.finish_stats(st.shard_stats(out))
    assert [(r["language"], r["settings"], r["tokenizer"]) for r in report["by_language"]] == [
        ("(none)", "no language", "english"), ("de", "rule files", "unicode"), ("und", "no language", "english")]
    assert report["languages_without_settings"] == {}


def test_a_named_stage_prefixes_its_columns_so_two_stages_keep_both():
    frame = pl.DataFrame({"id": ["a"], "text": [GOOD]})
    first = Quality(QualityConfig(stage="quality", name="c4clean", rules=["c4"], clean_lines=True), Columns(text="text", id="id"))
    second = Quality(QualityConfig(stage="quality", rules=["fineweb"]), Columns(text="text", id="id"))
    out = second.annotate(first.annotate(frame).drop(REASON))
    assert {"c4clean_c4_sentence_count", "c4clean_reasons", "quality_line_punct_ratio", "quality_reasons"} <= set(out.columns)
