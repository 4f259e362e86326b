"""Score cells and scales: parse raw scores, detect their scale, map them to 0..1 and back.

One home for these rules: the import (:mod:`stsstudio.core.importers`, ``stsstudio import``)
and the import wizard's preview call the same functions, so the preview shows the very
numbers the import stores.

- :func:`parse_scores` reads raw cells: numbers, booleans (0/1), decimal commas ("3,5");
  blank cells are unlabeled pairs; words are collected (never guessed) so the caller can say
  what is wrong with the whole column.
- :func:`guess_scale` picks a scale among :data:`SCALE_RANGES`, from a scale written in the
  column name ("Similarity (1-5)", "0–100", "/5", "score_1_5") or from the values, and says
  in plain words when the guess is ambiguous, or refuses it when it rests on a few outliers.
- :func:`to_stored` and :func:`to_display` convert between the stored 0..1 value and a
  project's display scale (numbers or arrays); :func:`format_score` and :func:`format_delta`
  write a score and a difference as a person reads them, with :func:`display_digits` decimals
  (the precision the keys give, :func:`key_steps`, :func:`nudge`, :func:`snap`);
  :func:`display_column` names the exported column (``score_1_5``).
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stsstudio.core.errors import UserError

if TYPE_CHECKING:  # numpy is imported where it is used: the CLI reads SCALES at start-up
    import numpy as np

# (low, high) of each scale; scores are mapped linearly from it to 0..1.
SCALE_RANGES: dict[str, tuple[float, float]] = {
    "0-1": (0.0, 1.0), "0-5": (0.0, 5.0), "1-5": (1.0, 5.0), "0-10": (0.0, 10.0),
    "1-10": (1.0, 10.0), "0-100": (0.0, 100.0)}
SCALES = ("auto", *SCALE_RANGES)
# What a person reads, e.g. in the wizard's scale menu.
SCALE_LABELS = {"0-1": "0 – 1", "0-5": "0 – 5", "1-5": "1 – 5", "0-10": "0 – 10",
                "1-10": "1 – 10", "0-100": "0 – 100"}
# Outliers: a guess rests on a few outliers when at most this share of the scores (and at
# least one) lies above the next smaller scale while the rest, at least OUTLIER_MIN_REST
# of them, fit it.
OUTLIER_SHARE = 0.02
OUTLIER_MIN_REST = 5


class ScoreScaleError(UserError):
    """A scale name that does not exist."""


def check_scale(scale: str, *, allow_auto: bool = True) -> str:
    """``scale`` if it is a known scale name (or "auto"), else a :class:`UserError`."""
    known = SCALES if allow_auto else tuple(SCALE_RANGES)
    if scale not in known:
        raise ScoreScaleError(f"unknown score scale {scale!r}; use one of {', '.join(known)}")
    return scale


# --------------------------------------------------------------------------------------
# Parsing cells


@dataclass
class ParsedScores:
    """Raw score cells read as numbers.

    Attributes:
        values: one float per cell; NaN where the cell is blank or not a number.
        labeled: True where the cell holds something (a number, or a word that is not one).
        bad: True where the cell holds something that is not a number (or is "NaN").
        texts: the text of each bad cell, in row order (for messages).
    """

    values: np.ndarray
    labeled: np.ndarray
    bad: np.ndarray
    texts: list[str] = field(default_factory=list)

    @property
    def numbers(self) -> np.ndarray:
        """The scores of the cells that hold a number."""
        return self.values[self.labeled & ~self.bad]

    def problem(self) -> str:
        """What is wrong with the column as a whole, in plain words ("" when nothing is).

        E.g. "39 of 40 values are not numbers (low, high)".
        """
        n_bad = int(self.bad.sum())
        if not n_bad:
            return ""
        filled = int(self.labeled.sum())
        examples = list(dict.fromkeys(t.strip() for t in self.texts))
        shown = ", ".join(e if len(e) <= 20 else e[:19] + "…" for e in examples[:3])
        if len(examples) > 3:
            shown += ", …"
        verb = "value is" if filled == 1 else "values are"
        noun = "a number" if n_bad == 1 else "numbers"
        return f"{n_bad:,} of {filled:,} {verb} not {noun} ({shown})"


def parse_scores(series: Any) -> ParsedScores:
    """Read a column of raw score cells (a pandas Series of any dtype).

    Numbers stay numbers and booleans become 0/1. Text is trimmed: blank cells are
    unlabeled, "3.5" and "3,5" (a decimal comma) are numbers, anything else is *bad*
    and is reported, never guessed.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(float)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        labeled = ~pd.isna(series).to_numpy()
        return ParsedScores(values, labeled, np.zeros(len(values), dtype=bool))
    if not pd.api.types.is_string_dtype(series.dtype) or pd.api.types.is_object_dtype(series.dtype):
        # Mixed cells (JSON): numbers and booleans stay numbers; text goes through the parser.
        series = series.map(_cell_to_text)
    arr = pc.utf8_trim_whitespace(_arrow_text(series))
    empty = pc.equal(arr, "")
    labeled = np.logical_not(empty.to_numpy(zero_copy_only=False))
    cells = pc.if_else(empty, pa.scalar(None, pa.large_string()), arr)
    try:
        values = pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False)
        values = np.asarray(values, dtype=float)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        texts = cells.to_pylist()
        parsed = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
        values = np.array(parsed.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        # Decimal commas ("3,5") are common in European spreadsheets.
        for i in np.flatnonzero(np.isnan(values) & labeled):
            text = texts[i] or ""
            if re.fullmatch(r"[+-]?\d+,\d+", text):
                values[i] = float(text.replace(",", "."))
    bad = labeled & np.isnan(values)
    texts_bad = [str(t) for t in np.asarray(cells.to_pylist(), dtype=object)[bad]] if bad.any() else []
    return ParsedScores(values, labeled, bad, texts_bad)


def _cell_to_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    return repr(v) if isinstance(v, float) else str(v)


def _arrow_text(series: Any) -> Any:
    """A column as an Arrow large_string array without nulls (zero-copy for Arrow strings)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = None
    if isinstance(series.dtype, (pd.StringDtype, pd.ArrowDtype)):
        try:
            arr = pa.array(series.array)
        except (TypeError, pa.ArrowInvalid):
            arr = None
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array(series.map(_cell_to_text) if series.dtype == object else series.fillna(""),
                       type=pa.large_string(), from_pandas=True)
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    return pc.fill_null(arr, "") if arr.null_count else arr


# --------------------------------------------------------------------------------------
# Guessing the scale


@dataclass
class ScaleGuess:
    """The scale of a score column and how sure we are.

    Attributes:
        scale: the scale the scores are read on.
        source: "chosen" (by the user), "header" (written in the column name), "data"
            (guessed from the values) or "none" (no scores).
        ambiguous: the values fit another scale too; ``note`` says why.
        note: plain words for the user ("" when the scale is certain).
        question: a yes/no question that settles it ("Is 1 your lowest possible score?").
        choices: ``(answer, scale)`` pairs that answer ``question`` or the refusal.
        refused: non-empty when the guess rests on a few outliers: the import needs an
            explicit scale. The text says which rows and what to choose.
    """

    scale: str
    source: str = "data"
    ambiguous: bool = False
    note: str = ""
    question: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    refused: str = ""

    def summary(self) -> str:
        """One line for the import summary, e.g. "1-5 (guessed; is 1 your lowest ...)"."""
        how = {"chosen": "chosen", "header": "from the column name", "data": "detected",
               "none": "no scores"}[self.source]
        text = f"{self.scale} ({how})"
        if self.note:
            text += f"; {self.note}"
        return text


_HEADER_RANGE = re.compile(r"(?<![\d.])(\d{1,3})\s*(?:-|–|—|_|\.\.|to)\s*(\d{1,3})(?![\d.])")
_HEADER_TOP = re.compile(r"(?:/|out\s+of\s+|of\s+)\s*(\d{1,3})(?![\d.])")


def scale_from_name(name: str | None) -> tuple[float | None, float] | None:
    """The scale written in a column name: ``(low, high)``, ``(None, high)`` when only the top
    is written ("/5", "out of 10"), or None.

    >>> scale_from_name("Similarity (1-5)"), scale_from_name("score_0–100"), scale_from_name("/5")
    ((1.0, 5.0), (0.0, 100.0), (None, 5.0))
    """
    if not name:
        return None
    text = str(name).lower()
    for m in _HEADER_RANGE.finditer(text):
        low, high = float(m.group(1)), float(m.group(2))
        if _scale_name(low, high) is not None:
            return low, high
    m = _HEADER_TOP.search(text)
    if m and float(m.group(1)) in {hi for _, hi in SCALE_RANGES.values()}:
        return None, float(m.group(1))
    return None


def _scale_name(low: float, high: float) -> str | None:
    for name, (lo, hi) in SCALE_RANGES.items():
        if lo == low and hi == high:
            return name
    return None


def _fmt(x: float) -> str:
    return f"{x:g}"


# Scale tops from small to large: each top's scales (low 0, low 1).
_TOPS = ((1.0, "0-1", None), (5.0, "0-5", "1-5"), (10.0, "0-10", "1-10"), (100.0, "0-100", None))


def guess_scale(values: Any, column: str | None = None, *, rows: Any = None,
                requested: str = "auto") -> ScaleGuess:
    """The scale of raw scores, with what is uncertain about it.

    Args:
        values: the numeric scores (blank cells left out; NaN is ignored).
        column: the score column's name; a scale written in it ("Similarity (1-5)", "/5")
            is used before the values.
        rows: each value's row number, for naming outliers (default 1, 2, ...).
        requested: "auto", or a scale the user chose (then it is used as is).

    Rules, in order: a chosen scale; a scale in the column name; otherwise the smallest
    top (1, 5, 10, 100) that no score exceeds, with the low end 1 when the smallest score
    is exactly 1 or every score is a whole number of at least 1 ("1-5", "1-10"), else 0.
    The guess is *ambiguous* when the smallest score is at least 1 (is 1 the lowest?), when
    every score is equal, or when the largest score is far below the top (it fits a larger
    scale too). It is *refused* when the top rests on a few outliers: at most 2 % of the
    scores (at least one) lie above the next smaller top and the rest fit it.
    """
    import numpy as np
    check_scale(requested)
    arr = np.asarray(values, dtype=float)
    finite = np.isfinite(arr)
    row_of = (np.arange(1, arr.size + 1) if rows is None else np.asarray(rows))
    arr, row_of = arr[finite], row_of[finite]
    if requested != "auto":
        return ScaleGuess(requested, source="chosen")
    if arr.size == 0:
        return ScaleGuess("0-1", source="none")
    low, high = float(arr.min()), float(arr.max())
    whole = bool(np.all(arr == np.round(arr)))
    header = scale_from_name(column)
    if header is not None and header[0] is not None:
        return ScaleGuess(_scale_name(header[0], header[1]) or "0-1", source="header")

    if header is not None:  # only the top is written ("/5")
        top = header[1]
        zero_scale, one_scale = next((z, o) for t, z, o in _TOPS if t == top)
        source = "header"
    else:
        top, zero_scale, one_scale = next(((t, z, o) for t, z, o in _TOPS if high <= t), _TOPS[-1])
        source = "data"
    one_based = one_scale is not None and low >= 1.0 and (low == 1.0 or whole)
    scale = one_scale if one_based else zero_scale
    guess = ScaleGuess(scale, source=source)

    notes: list[str] = []
    if arr.size > 1 and low == high:
        guess.ambiguous = True
        notes.append(f"every score is {_fmt(low)}, so the scale cannot be told from the data")
    if one_scale is not None and low >= 1.0:
        guess.ambiguous = True
        if low != high:
            notes.append(f"no score is below {_fmt(low)}")
        guess.question = "Is 1 your lowest possible score?"
        guess.choices = [(f"Yes: read the scores as {one_scale}", one_scale),
                         (f"No, 0 is: read them as {zero_scale}", zero_scale)]
    if source == "data" and top > 1.0 and high < 0.6 * top and low != high:
        larger = [z for t, z, _ in _TOPS if t > top]
        guess.ambiguous = True
        notes.append(f"the highest score is {_fmt(high)}, far below {_fmt(top)}"
                     + (f" (it fits {', '.join(larger)} too)" if larger else ""))
        if not guess.question:
            guess.question = f"Is {_fmt(top)} your highest possible score?"
            guess.choices = [(f"Yes: read the scores as {scale}", scale)] + [
                (f"No, {_fmt(t)} is: read them as {z}", z) for t, z, _ in _TOPS if t > top]

    if source == "data":   # a top that rests on a few outliers: the rest fit a smaller one
        _refuse_outlier_top(guess, notes, arr, row_of, top, scale, low, whole)
    guess.note = "; ".join(notes)
    return guess


def _refuse_outlier_top(guess: ScaleGuess, notes: list[str], arr: Any, row_of: Any, top: float,
                       scale: str, low: float, whole: bool) -> None:
    """A top that rests on a few outliers: the rest fit the next smaller top. Then the guess
    is refused, with a question and the two choices."""
    smaller = [(t, z, o) for t, z, o in _TOPS if t < top]
    if smaller:
        s_top, s_zero, s_one = smaller[-1]
        above = arr > s_top
        k, rest = int(above.sum()), int(arr.size - above.sum())
        if 0 < k <= max(1, OUTLIER_SHARE * arr.size) and rest >= OUTLIER_MIN_REST:
            s_scale = s_one if (s_one is not None and low >= 1.0 and (low == 1.0 or whole)) else s_zero
            shown = ", ".join(f"row {int(r)}: {_fmt(v)}" for r, v in
                              zip(row_of[above][:3], arr[above][:3], strict=True))
            more = ", …" if k > 3 else ""
            guess.ambiguous = True
            guess.refused = (
                f"the scale {scale} rests on {k} of {arr.size} scores ({shown}{more}); the other "
                f"{rest} fit {s_scale}. Choose the scale yourself: {s_scale} or {scale} (--scale "
                "on the command line)")
            notes.append(f"only {k} of {arr.size} scores {'is' if k == 1 else 'are'} above "
                         f"{_fmt(s_top)}")
            guess.question = f"Is {_fmt(top)} your highest possible score?"
            guess.choices = [(f"Yes: read the scores as {scale}", scale),
                             (f"No, {_fmt(s_top)} is: read them as {s_scale} (those rows will "
                              "be refused)", s_scale)]


def detect_scale(values: Any, column: str | None = None) -> str:
    """The scale :func:`guess_scale` picks (without its doubts)."""
    return guess_scale(values, column).scale


# --------------------------------------------------------------------------------------
# Mapping


def scale_problem(values: Any, scale: str) -> tuple[int, str] | None:
    """The first score that cannot be read on ``scale``: ``(index, detail)``, or None.

    ``values`` are numbers (blank cells left out); NaN and values outside the scale are
    problems. The importer turns the answer into an error naming the row.
    """
    import numpy as np
    low, high = SCALE_RANGES[check_scale(scale, allow_auto=False)]
    arr = np.asarray(values, dtype=float)
    nan = np.isnan(arr)
    if nan.any():
        return int(np.flatnonzero(nan)[0]), "the score is NaN; leave the cell empty for an unlabeled pair"
    eps = 1e-9 * max(1.0, high)
    outside = (arr < low - eps) | (arr > high + eps)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        n = int(outside.sum())
        return i, (f"the score {_fmt(arr[i])} is outside the {scale} scale"
                   + (f" ({n:,} scores are)" if n > 1 else "")
                   + "; choose another scale if that is wrong")
    return None


@dataclass
class ScoredColumn:
    """A score column read, its scale guessed and mapped to 0..1 (see :func:`score_column`).

    Attributes:
        parsed: the cells read as numbers.
        guess: the scale and its doubts.
        scores: one 0..1 score per row; NaN for blank cells and cells that are not numbers
            (values outside the scale are clipped here; ``problem`` names them).
        problem: ``(index, detail)`` of the first problem that stops the import, or None.
    """

    parsed: ParsedScores
    guess: ScaleGuess
    scores: np.ndarray
    problem: tuple[int, str] | None = None

    @property
    def labeled(self) -> np.ndarray:
        return self.parsed.labeled


def score_column(series: Any, column: str | None = None, scale: str = "auto",
                 rows: Any = None) -> ScoredColumn:
    """Parse a score column, pick its scale and map it to 0..1: the one path for import and preview.

    Args:
        series: the raw cells (a pandas Series).
        column: the column's name (a scale written in it is read).
        scale: "auto" or a scale name.
        rows: each cell's row number as messages name it (default 1, 2, ...).

    The first problem, in this order: cells that are not numbers (the detail counts them all
    and names a few); a guessed scale that rests on outliers; a score that is NaN or outside
    the scale.
    """
    import numpy as np
    parsed = parse_scores(series)
    ok = parsed.labeled & ~parsed.bad
    row_numbers = np.arange(1, len(parsed.values) + 1) if rows is None else np.asarray(rows)
    guess = guess_scale(parsed.values[ok], column, rows=row_numbers[ok], requested=scale)
    scores = np.full(len(parsed.values), np.nan)
    scores[ok] = to_stored(parsed.values[ok], guess.scale)
    problem: tuple[int, str] | None = None
    if parsed.bad.any():
        i = int(np.flatnonzero(parsed.bad)[0])
        detail = f"the score {parsed.texts[0]!r} is not a number"
        if parsed.bad.sum() > 1:
            detail += (f"; {parsed.problem()}: choose another score column, or none to import "
                       "the pairs unlabeled")
        problem = (i, detail)
    elif guess.refused:
        above = np.flatnonzero(ok)[np.flatnonzero(parsed.values[ok] > _next_smaller_top(guess.scale))]
        problem = (int(above[0]) if above.size else 0, guess.refused)
    else:
        found = scale_problem(parsed.values[ok], guess.scale)
        if found is not None:
            problem = (int(np.flatnonzero(ok)[found[0]]), found[1])
    return ScoredColumn(parsed, guess, scores, problem)


def _next_smaller_top(scale: str) -> float:
    top = SCALE_RANGES[scale][1]
    return max((t for t, _, _ in _TOPS if t < top), default=0.0)


def scale_range(scale: str | None) -> tuple[float, float]:
    """``(low, high)`` of a display scale; None (never set) is 0-1."""
    return SCALE_RANGES[check_scale(scale or "0-1", allow_auto=False)]


def span(scale: str | None) -> float:
    """``high - low`` of a display scale: what a stored difference of 1 is on it."""
    low, high = scale_range(scale)
    return high - low


def scale_text(scale: str | None) -> str:
    """A scale as a person reads it in running text, e.g. "1–5"."""
    low, high = scale_range(scale)
    return f"{_fmt(low)}–{_fmt(high)}"


def to_display(stored: Any, scale: str | None) -> Any:
    """Stored 0..1 score(s) on a display scale: a float for a number, an array for an array
    (NaN stays NaN), None for None. No scale means 0-1."""
    if stored is None:
        return None
    low, high = scale_range(scale)
    if isinstance(stored, numbers.Real):
        return low + float(stored) * (high - low)
    import numpy as np
    return low + np.asarray(stored, dtype=float) * (high - low)


def to_stored(value: Any, scale: str | None) -> Any:
    """Score(s) on a display scale as the stored 0..1 value, clipped to 0..1 (outside values
    clip, NaN stays NaN): a float for a number, an array for an array. The import, the keys,
    the slider and every view go through this one formula."""
    low, high = scale_range(scale)
    if isinstance(value, numbers.Real):
        # Rounded past float noise, so 2.2 on 1-5 is stored as 0.3, not 0.30000000000000004.
        return min(1.0, max(0.0, round((float(value) - low) / (high - low), 12)))
    import numpy as np
    return np.clip((np.asarray(value, dtype=float) - low) / (high - low), 0.0, 1.0)


# The older name of :func:`to_stored` (scalar use).
from_display = to_stored


def display_digits(scale: str | None) -> int:
    """The decimals a score is shown with on a scale: the precision the keys give (0-1: 2,
    0-100: 0, the others: 1)."""
    scale = check_scale(scale or "0-1", allow_auto=False)
    return 2 if scale == "0-1" else (0 if scale == "0-100" else 1)


def display_step(scale: str | None) -> float:
    """The smallest difference a person can read on a scale (one unit of its last decimal)."""
    return 10.0 ** -display_digits(scale)


def snap(stored: float | None, scale: str | None) -> float | None:
    """A stored score moved to the nearest value a person can read on the scale, so what is
    stored is exactly ``to_stored`` of the number on screen (2.24 on 1-5 becomes 2.2)."""
    if stored is None:
        return None
    shown = round(to_display(min(1.0, max(0.0, float(stored))), scale), display_digits(scale))
    return to_stored(shown, scale)


def _strips(scale: str | None) -> bool:
    # 0-1 keeps its fixed two decimals ("0.50", as it always read); the other scales drop
    # trailing zeros ("4", "4.4"), as the keys' own numbers read.
    return (scale or "0-1") != "0-1"


def _text(value: float, digits: int, strip: bool) -> str:
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")   # "-0.0" reads as "0.0"
    if strip and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_score(stored: float | None, scale: str | None, empty: str = "–") -> str:
    """A stored 0..1 score as a person reads it on the project's scale ("4.4" on 1-5),
    ``empty`` when there is none. Every view and the CLI call this one function."""
    if stored is None or stored != stored:
        return empty
    return _text(to_display(float(stored), scale), display_digits(scale), _strips(scale))


# The older name of :func:`format_score`.
format_display = format_score


def delta_to_display(diff: Any, scale: str | None) -> Any:
    """A difference of stored scores in display units: scaled by the span only, never
    shifted by the low end (0.1 stored is 0.4 on 1-5, not 1.4)."""
    if isinstance(diff, numbers.Real):
        return float(diff) * span(scale)
    import numpy as np
    return np.asarray(diff, dtype=float) * span(scale)


def format_delta(diff: float | None, scale: str | None, *, signed: bool = False,
                 empty: str = "", more: int = 0) -> str:
    """A difference of stored scores as a person reads it on the scale, e.g. "0.4" (or
    "+0.4" with ``signed``) for 0.1 stored on 1-5; ``more`` decimals than a label (a mean
    difference is worth one more)."""
    if diff is None or diff != diff:
        return empty
    value = delta_to_display(float(diff), scale)
    text = _text(abs(value), display_digits(scale) + more, _strips(scale))
    if float(text) == 0:
        return text
    sign = ("+" if value > 0 else "-") if signed else ("-" if value < 0 else "")
    return sign + text


# The arrow keys' steps in display units: (←/→, Shift+←/→). Shift moves one readable unit.
KEY_STEPS: dict[str, tuple[float, float]] = {
    "0-1": (0.05, 0.01), "0-5": (0.2, 0.1), "1-5": (0.2, 0.1), "0-10": (0.5, 0.1),
    "1-10": (0.5, 0.1), "0-100": (5.0, 1.0)}


def key_steps(scale: str | None) -> tuple[float, float]:
    """How far ←/→ and Shift+←/→ move a score, in the scale's own units."""
    return KEY_STEPS[check_scale(scale or "0-1", allow_auto=False)]


def nudge(stored: float | None, direction: int, scale: str | None, *, fine: bool = False) -> float:
    """The score after an arrow key: one step (``fine``: Shift's step) up (+1) or down (-1)
    on the display scale, snapped to what the screen shows and kept inside the scale. With
    no score yet, the first press sets the middle of the scale."""
    if stored is None:
        return snap(0.5, scale)
    low, high = scale_range(scale)
    step = key_steps(scale)[1 if fine else 0]
    digits = display_digits(scale)
    shown = round(to_display(float(stored), scale), digits)
    moved = round(min(high, max(low, shown + direction * step)), digits)
    return to_stored(moved, scale)


# Axis ticks of a plot on each scale, in display units.
_TICK_STEP = {"0-1": 0.2, "0-5": 1.0, "1-5": 1.0, "0-10": 2.0, "1-10": 1.0, "0-100": 20.0}


def axis_ticks(scale: str | None) -> list[tuple[float, str]]:
    """Where a plot of stored scores puts its ticks and what they read: ``(stored, text)`` at
    round values of the display scale (1-5: 1, 2, 3, 4, 5)."""
    low, high = scale_range(scale)
    step = _TICK_STEP[check_scale(scale or "0-1", allow_auto=False)]
    count = int(round((high - low) / step))
    return [(to_stored(low + k * step, scale), _text(low + k * step, display_digits(scale), True))
            for k in range(count + 1)]


def display_column(scale: str | None) -> str | None:
    """The name of the column holding the score on the project's display scale (``score_1_5``),
    or None when the project shows 0-1 (the ``score`` column already is). The name reads as
    that scale on import, so a re-import that picks it gets the same values."""
    if not scale or scale == "0-1":
        return None
    return "score_" + scale.replace("-", "_")


# Every such column name: the import leaves them out of metadata beside a "score" column.
DISPLAY_COLUMNS = frozenset(c for c in map(display_column, SCALE_RANGES) if c)


def key_scores(scale: str | None) -> dict[int, float]:
    """Digit key -> stored 0..1 score for labelling on a display scale.

    On 1-5, key 1 is a 1 (stored 0.0) and key 5 a 5 (1.0); on 0-5 keys 0-5; on 0-10 keys
    0-9 (0 is 0, 9 is 0.9); on 1-10 keys 1-9 and 0 for 10; on 0-1 and 0-100 keys 0-5 step
    a fifth of the range.
    """
    scale = check_scale(scale or "0-1", allow_auto=False)
    if scale in ("0-1", "0-100"):
        return {k: k / 5 for k in range(6)}
    low, high = SCALE_RANGES[scale]
    keys = {}
    for k in range(10):
        value = 10.0 if (k == 0 and scale == "1-10") else float(k)
        if low <= value <= high:
            keys[k] = to_stored(value, scale)
    return keys


# The STS rubric's six steps, from the bottom of a scale to the top.
STS_MEANINGS = ("unrelated", "same topic", "some details", "roughly equivalent", "mostly equivalent",
                "equivalent")
# A five-point scale (1-5) has one step fewer: "some details" goes.
_FIVE_MEANINGS = ("unrelated", "same topic", "roughly equivalent", "mostly equivalent", "equivalent")


def rubric(scale: str | None) -> list[tuple[float, str, str]]:
    """The labelling rubric on a display scale: ``(stored 0..1, value as shown, meaning)``.

    The Label view's slider ticks read it; on 1-5 the ticks are 1, 2, 3, 4, 5 (stored 0,
    0.25, ... 1), elsewhere the six STS steps at fifths of the range (0-5: 0 ... 5).
    """
    scale = check_scale(scale or "0-1", allow_auto=False)
    if scale == "1-5":
        return [(k / 4, str(k + 1), m) for k, m in enumerate(_FIVE_MEANINGS)]
    steps = [(k / 5, m) for k, m in enumerate(STS_MEANINGS)]
    if scale == "0-1":
        return [(v, f"{v:.1f}", m) for v, m in steps]
    return [(v, format_score(v, scale), m) for v, m in steps]


def key_range(scale: str | None) -> str:
    """The digit keys that label on a display scale, as a hint reads them ("1–5")."""
    if check_scale(scale or "0-1", allow_auto=False) == "1-10":
        return "1–9, 0 for 10"
    keys = sorted(key_scores(scale))
    return f"{keys[0]}–{keys[-1]}"
