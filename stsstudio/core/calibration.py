"""Guesses on the expert's scale: a monotone map from a model's cosine to the label (issue 12).

Raw cosine is not on the rubric: a base model scores unrelated pairs around 0.1-0.3 and
squeezes the ends, so "0.786" means little on a 1-5 scale. :func:`fit_calibration` fits an
isotonic regression (cosine -> stored 0..1 label) on the run's labelled dev pairs, or on all
labelled pairs when the dev part is too small, and measures its error on held-out labels by
k-fold: MAE on the display scale, calibrated against the cosine read as a score.

The map is kept as breakpoints ``x`` (cosine) and ``y`` (0..1 label) and applied with linear
interpolation (``numpy.interp``), which is monotone and is all an exported model's user needs.
It is stored with the run (``Project.predictions.set_calibration``) and applied wherever a score is shown
as a guess: the slider marker, the queue, Try, ``similarity --calibrated`` and the export.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from stsstudio.core.scales import (
    SCALE_RANGES,
    delta_to_display,
    format_score,
    rubric,
    scale_range,
    to_display,
)

MIN_DEV_LABELS = 30   # fewer labelled dev pairs: fit on all labels (k-fold for the error)
MIN_LABELS = 5        # fewer labels in all: no calibration
FOLDS = 5
# Fewer labelled pairs, or fewer distinct guesses, and the map is too coarse to tell pairs
# apart: on 8 labels most cosines fall in one flat step and many pairs get the same guess.
MIN_USEFUL_LABELS = 30
MIN_USEFUL_LEVELS = 4

def rubric_meaning(stored: float, scale: str | None = None) -> str:
    """The meaning of the rubric step nearest to a stored 0..1 score, on the display scale's
    rubric (:func:`stsstudio.core.scales.rubric`, the one the slider's ticks show)."""
    return min(rubric(scale), key=lambda r: abs(r[0] - stored))[2]


def describe_guess(stored: float, scale: str | None) -> str:
    """A guess as the expert reads it, e.g. ``"3.9 of 5: mostly equivalent"``."""
    high = scale_range(scale)[1]
    return f"{format_score(stored, scale)} of {high:g}: {rubric_meaning(stored, scale)}"


def isotonic(y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Non-decreasing least-squares fit of ``y`` (already in x order)."""
    try:
        from scipy.optimize import isotonic_regression  # scipy >= 1.12

        return np.asarray(isotonic_regression(y, weights=weights).x, dtype=float)
    except ImportError:  # pragma: no cover - scipy is installed with sentence-transformers
        return _pav(np.asarray(y, dtype=float),
                    np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float))


def _pav(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pool-adjacent-violators: the fallback when scipy's isotonic_regression is missing."""
    values: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for v, wt in zip(y, w):
        values.append(float(v))
        weights.append(float(wt))
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            wsum = weights[-2] + weights[-1]
            merged = (values[-2] * weights[-2] + values[-1] * weights[-1]) / wsum
            values[-2:], weights[-2:], sizes[-2:] = [merged], [wsum], [sizes[-2] + sizes[-1]]
    return np.repeat(values, sizes)


def fit_map(x: Any, y: Any) -> tuple[list[float], list[float]]:
    """Breakpoints of the isotonic map from cosine ``x`` to 0..1 label ``y``.

    Equal cosines are pooled first; each constant block keeps its two ends, so
    ``numpy.interp`` is flat inside a block and linear between blocks.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ux, inverse = np.unique(x, return_inverse=True)
    counts = np.bincount(inverse).astype(float)
    means = np.bincount(inverse, weights=y) / counts
    fitted = np.clip(isotonic(means, counts), 0.0, 1.0)
    xs: list[float] = []
    ys: list[float] = []
    for i, (xv, yv) in enumerate(zip(ux, fitted)):
        first = i == 0 or fitted[i - 1] != yv
        last = i == len(ux) - 1 or fitted[i + 1] != yv
        if first or last:
            xs.append(float(xv))
            ys.append(float(yv))
    return xs, ys


@dataclass
class Calibration:
    """A fitted cosine -> label map of one run (0: the base model), with its held-out error."""

    run_id: int
    x: list[float]
    y: list[float]
    labels: int                      # labelled pairs it was fitted on
    fitted_on: str                   # "dev" or "all labels"
    scale: str | None = None         # display scale the MAE figures are on
    mae_raw: float | None = None     # cosine read as the score (clipped to 0..1), held out
    mae_calibrated: float | None = None
    notes: list[str] = field(default_factory=list)

    def apply(self, cosine: Any) -> np.ndarray:
        """Calibrated guesses (stored 0..1 scale) for cosine scores."""
        return np.interp(np.asarray(cosine, dtype=float), self.x, self.y)

    def guess(self, cosine: float) -> float:
        return float(self.apply([cosine])[0])

    @property
    def levels(self) -> int:
        """How many different guesses the map can give at its breakpoints."""
        return len({round(v, 4) for v in self.y})

    @property
    def coarse(self) -> bool:
        """Fitted on too few pairs (or with too few steps) for its guesses to tell pairs apart."""
        return self.labels < MIN_USEFUL_LABELS or self.levels < MIN_USEFUL_LEVELS

    def caveat(self) -> str:
        """Why a guess through this map is rough, in plain words; "" when it is not."""
        if not self.coarse:
            return ""
        return (f"rough: fitted on only {self.labels} labelled pair{'s' if self.labels != 1 else ''}"
                f", so many pairs get the same guess (it sharpens from about {MIN_USEFUL_LABELS})")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """A calibration from its stored form; ValueError when it is not one (a damaged or edited
        payload: missing fields, points that are not numbers, lengths that differ, ...)."""
        if not isinstance(data, dict):
            raise ValueError("a calibration is a JSON object")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        try:
            cal = cls(**known)
            x = np.asarray(cal.x, dtype=float)
            y = np.asarray(cal.y, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not a calibration: {exc}") from None
        if x.ndim != 1 or x.shape != y.shape or not x.size or not np.isfinite(x).all() \
                or not np.isfinite(y).all() or (np.diff(x) < 0).any() or (y < 0).any() or (y > 1).any():
            raise ValueError("the calibration's points are not an increasing map into 0..1")
        if cal.scale is not None and cal.scale not in SCALE_RANGES:
            raise ValueError(f"unknown scale {cal.scale!r}")
        cal.x, cal.y = x.tolist(), y.tolist()
        return cal

    def save(self, project: Any) -> None:
        project.predictions.set_calibration(self.run_id, self.as_dict())

    @classmethod
    def load(cls, project: Any, run_id: int) -> Calibration | None:
        data = project.predictions.calibration(run_id)
        if data is None:
            return None
        try:
            return cls.from_dict(data)
        except ValueError:
            return None  # damaged or edited: as if there were none (predict fits it again)

    def export_payload(self) -> dict[str, Any]:
        """What an exported model ships as ``calibration.json``: enough to apply it anywhere."""
        return {
            "input": "cosine similarity of the two sentence embeddings",
            "method": "isotonic regression; apply with linear interpolation between the points",
            "scale": self.scale or "0-1",
            "cosine": self.x,
            "score": [round(v, 6) for v in to_display(self.y, self.scale).tolist()],
            "fitted_on_labels": self.labels,
            "mae_calibrated": self.mae_calibrated,
            "mae_cosine": self.mae_raw,
        }


@dataclass(frozen=True)
class Guess:
    """The model's guess for one pair, on the stored 0..1 scale, and where it comes from."""

    run_id: int                        # 0: the base model
    cosine: float
    value: float                       # stored 0..1: calibrated, else the cosine clipped
    calibration: Calibration | None = None

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    @property
    def model(self) -> str:
        return "base model" if self.run_id == 0 else f"run {self.run_id}"

    def describe(self, scale: str | None) -> str:
        """``"3.9 of 5: mostly equivalent"`` on the display scale."""
        return describe_guess(self.value, scale)

    def caveat(self) -> str:
        """Why the guess is rough (no calibration yet, or one fitted on too few pairs)."""
        if self.calibration is None:
            return f"not fitted to your labels yet (that needs {MIN_LABELS} labelled pairs)"
        return self.calibration.caveat()


def calibrated_guess(cosine: float, run_id: int, calibration: Calibration | None) -> Guess:
    """The guess of a model's cosine through its calibration (the cosine clipped without one).

    The one rule behind every guess a person reads: the Label view's marker and note, Try's
    score cards and ``stsstudio similarity --calibrated``.
    """
    value = calibration.guess(cosine) if calibration is not None else min(1.0, max(0.0, float(cosine)))
    return Guess(run_id, float(cosine), float(value), calibration)


def project_guess(project: Any, run_id: int, cosine: float) -> Guess:
    """:func:`calibrated_guess` with run ``run_id``'s stored calibration."""
    return calibrated_guess(cosine, run_id, Calibration.load(project, run_id))


def _kfold_mae(x: np.ndarray, y: np.ndarray, folds: int, seed: int = 0) -> tuple[float, float]:
    """Held-out MAE (0..1 units) of the cosine as a score and of the calibrated guess."""
    order = np.random.default_rng(seed).permutation(len(x))
    raw_err, cal_err = [], []
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        if len(train) < 2 or len(test) == 0:
            continue
        xs, ys = fit_map(x[train], y[train])
        cal_err.append(np.abs(np.interp(x[test], xs, ys) - y[test]))
        raw_err.append(np.abs(np.clip(x[test], 0.0, 1.0) - y[test]))
    return float(np.concatenate(raw_err).mean()), float(np.concatenate(cal_err).mean())


def fit_calibration(project: Any, run_id: int, *, save: bool = True) -> Calibration | None:
    """Fit run ``run_id``'s calibration from its predictions and the project's labels.

    The run's labelled dev pairs when it has at least :data:`MIN_DEV_LABELS`; otherwise every
    labelled pair with a prediction (a tuned run has seen its train pairs, so that fit is
    optimistic; the note says so). The held-out MAE comes from k-fold on the same pairs.

    Returns:
        The calibration (stored with the run when ``save``), or None with fewer than
        :data:`MIN_LABELS` labelled pairs that have a prediction.
    """
    preds = project.predictions.get(run_id)
    labeled = {pid: score for pid, score, _ in project.pairs.targets(labeled=True) if pid in preds}
    notes: list[str] = []
    dev = project.runs.pair_ids(run_id, "dev") if run_id else set()
    dev = {p for p in dev if p in labeled}
    if not dev and run_id == 0:
        dev = {pid for pid, _, split in project.pairs.targets(split="dev", labeled=True) if pid in preds}
    if len(dev) >= MIN_DEV_LABELS:
        ids, fitted_on = sorted(dev), "dev"
    else:
        ids, fitted_on = sorted(labeled), "all labels"
        if run_id:
            notes.append("fitted on all labels, train pairs included: the error is optimistic")
    if len(ids) < MIN_LABELS:
        return None
    x = np.array([preds[i][0] for i in ids], dtype=float)
    y = np.array([labeled[i] for i in ids], dtype=float)
    scale = project.display_scale()
    mae_raw, mae_cal = _kfold_mae(x, y, min(FOLDS, len(ids)))
    xs, ys = fit_map(x, y)
    cal = Calibration(run_id, xs, ys, len(ids), fitted_on, scale, round(delta_to_display(mae_raw, scale), 4),
                      round(delta_to_display(mae_cal, scale), 4), notes)
    if save:
        cal.save(project)
    return cal


EXPORT_FILE = "calibration.json"


def write_export_calibration(project: Any, run_id: int, folder: Any) -> bool:
    """Write ``calibration.json`` into an exported model's folder; False when the run has none."""
    import json
    from pathlib import Path

    cal = Calibration.load(project, run_id)
    if cal is None:
        return False
    (Path(folder) / EXPORT_FILE).write_text(json.dumps(cal.export_payload(), indent=1) + "\n",
                                            encoding="utf-8")
    return True


def card_section(project: Any, run_id: int) -> str:
    """The model card's "Scores on the labellers' scale" section (empty without a calibration)."""
    cal = Calibration.load(project, run_id)
    if cal is None:
        return ""
    scale = cal.scale or "0-1"
    fmt = (lambda v: "–" if v is None else f"{v:.3f}")  # noqa: E731
    return "\n".join([
        "",
        "## Scores on the labellers' scale (calibration)",
        "",
        f"Cosine similarity is not on the {scale} scale the labels use. `{EXPORT_FILE}` holds a "
        f"monotone map (isotonic regression, fitted on {cal.labels:,} labelled pairs: {cal.fitted_on}) "
        "from this model's cosine to that scale. Held out (k-fold), its mean absolute error is "
        f"{fmt(cal.mae_calibrated)} against {fmt(cal.mae_raw)} for the cosine read as a score "
        f"(on the {scale} scale). The map was fitted on full-size embeddings.",
        "",
        "```python",
        "import json",
        "import numpy as np",
        "from sentence_transformers import SentenceTransformer",
        "",
        'model = SentenceTransformer("path/to/this/folder")',
        f'cal = json.load(open("path/to/this/folder/{EXPORT_FILE}"))',
        'a, b = model.encode(["first sentence", "second sentence"], normalize_embeddings=True)',
        'score = float(np.interp(a @ b, cal["cosine"], cal["score"]))'
        f"  # on the {scale} scale",
        "```",
        "",
    ])
