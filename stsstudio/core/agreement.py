"""How much the annotators agree, and the human ceiling a model can hope to reach.

All figures use each annotator's latest label per pair (:meth:`Project.labels.by_annotator`):
adjudicated values are not any one annotator's label and are left out.

- Krippendorff's alpha, interval metric, from the ``krippendorff`` package; it copes with
  pairs that only some annotators labelled.
- Spearman between each two annotators, on the pairs both labelled.
- The mean absolute difference between two annotators' labels on a pair (0-1 scale).
- The human ceiling: the mean Spearman of each annotator against the mean of the others.

Each comes with a seeded percentile-bootstrap 95 % interval over pairs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from stsstudio.core.errors import UserError
from stsstudio.core.store import SPLITS, Project

DEFAULT_BOOTSTRAP = 1000
MAX_BOOTSTRAP = 100_000  # beyond this a 95 % interval gains nothing and the command seems to hang
DISAGREEMENT_THRESHOLD = 0.25  # on the 0-1 scale: a quarter of the range
_MIN_PAIRS = 3  # fewer common pairs give no Spearman


@dataclass
class LabelMatrix:
    """Annotators by pairs: ``values[i, j]`` is annotator i's label on pair j, or NaN."""

    annotators: list[str]
    pair_ids: list[int]
    splits: list[str]
    values: np.ndarray

    def multi(self) -> LabelMatrix:
        """Only the pairs with two or more labels (the ones agreement is measured on)."""
        keep = np.flatnonzero(np.sum(~np.isnan(self.values), axis=0) >= 2)
        return LabelMatrix(self.annotators, [self.pair_ids[j] for j in keep],
                           [self.splits[j] for j in keep], self.values[:, keep])

    def of_split(self, split: str) -> LabelMatrix:
        keep = [j for j, s in enumerate(self.splits) if s == split]
        return LabelMatrix(self.annotators, [self.pair_ids[j] for j in keep], [split] * len(keep),
                           self.values[:, keep])


def matrix_from_rows(rows: list[tuple[int, str, str, float]]) -> LabelMatrix:
    """A :class:`LabelMatrix` from ``(pair_id, split, annotator, score)`` rows."""
    annotators = sorted({r[2] for r in rows})
    pair_ids = sorted({r[0] for r in rows})
    col = {pid: j for j, pid in enumerate(pair_ids)}
    row = {a: i for i, a in enumerate(annotators)}
    values = np.full((len(annotators), len(pair_ids)), np.nan)
    splits = ["none"] * len(pair_ids)
    for pid, split, annotator, score in rows:
        values[row[annotator], col[pid]] = score
        splits[col[pid]] = split
    return LabelMatrix(annotators, pair_ids, splits, values)


def label_matrix(project: Project, split: str | None = None) -> LabelMatrix:
    """Every annotator's latest label on every labelled pair (of one split)."""
    return matrix_from_rows(project.labels.by_annotator(split=split))


# --------------------------------------------------------------------------------------
# The statistics, on an annotators x pairs array with NaN for "not labelled"


# The krippendorff package builds a units x values x values array: fine for a few hundred
# pairs on the slider's 0.01 grid, gigabytes for thousands of pairs with free-form scores.
# Above this many cells the same interval alpha is computed from per-pair sums (below).
_PACKAGE_CELLS = 5_000_000


def krippendorff_alpha(values: np.ndarray) -> float | None:
    """Krippendorff's alpha with the interval metric; None when it is undefined.

    Uses the ``krippendorff`` package where its memory use is modest, and otherwise the
    interval metric's closed form on per-pair sums (:func:`_alpha_parts`), which a test
    holds equal to the package.
    """
    import krippendorff

    values = np.asarray(values, dtype=float)
    pairable = np.sum(~np.isnan(values), axis=0) >= 2
    if pairable.sum() < 2:
        return None
    data = values[:, pairable]
    if np.nanmax(data) == np.nanmin(data):
        return None  # no variation at all: alpha is 0/0
    distinct = np.unique(data[~np.isnan(data)]).size
    if data.shape[1] * distinct * distinct > _PACKAGE_CELLS:
        return _alpha_from_sums(*(p.sum() for p in _alpha_parts(data)))
    try:
        alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="interval"))
    except (ValueError, ZeroDivisionError):
        return None
    return alpha if np.isfinite(alpha) else None


def _alpha_parts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pairable pair: number of labels m, sum, sum of squares, and the within-pair term
    sum over ordered label pairs of (a - b)^2 / (m - 1) (interval metric)."""
    mask = ~np.isnan(values)
    m = mask.sum(axis=0)
    keep = m >= 2
    v = np.where(mask, values, 0.0)[:, keep]
    m = m[keep].astype(float)
    s1 = v.sum(axis=0)
    s2 = (v * v).sum(axis=0)
    within = 2.0 * (m * s2 - s1 * s1) / (m - 1.0)
    return m, s1, s2, within


def _alpha_from_sums(n: Any, s1: Any, s2: Any, within: Any) -> Any:
    """alpha = 1 - D_o / D_e from totals over pairs (arrays of totals work too)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = within / n
        expected = 2.0 * (n * s2 - s1 * s1) / (n * (n - 1.0))
        alpha = 1.0 - observed / expected
    if np.ndim(alpha) == 0:
        return float(alpha) if np.isfinite(alpha) and expected > 1e-15 else None
    return np.where(expected > 1e-15, alpha, np.nan)


def _alpha_ci(values: np.ndarray, n_boot: int, seed: int) -> list[float | None]:
    """Bootstrap interval of alpha over pairs, on per-pair sums (vectorised, any size)."""
    parts = _alpha_parts(values)
    n = parts[0].size
    if n_boot <= 0 or n < 2:
        return [None, None]
    rng = np.random.default_rng(seed)
    samples = []
    batch = max(1, 2_000_000 // n)
    for start in range(0, n_boot, batch):
        idx = rng.integers(0, n, size=(min(batch, n_boot - start), n))
        samples.append(_alpha_from_sums(*(p[idx].sum(axis=1) for p in parts)))
    return _percentile_ci(np.concatenate(samples))


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(x) < _MIN_PAIRS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rho = float(spearmanr(x, y).statistic)
    return rho if np.isfinite(rho) else None


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman of each row of x with the same row of y (the bootstrap, vectorised)."""
    from scipy.stats import rankdata

    rx = rankdata(x, axis=1)
    ry = rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (rx * ry).sum(axis=1) / denom, np.nan)


def _percentile_ci(samples: np.ndarray) -> list[float | None]:
    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if samples.size < 10:
        return [None, None]
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return [float(lo), float(hi)]


def pairwise_spearman(values: np.ndarray, annotators: list[str], *, n_boot: int = 0,
                      seed: int = 0) -> list[dict[str, Any]]:
    """Spearman between each two annotators on the pairs both labelled.

    Returns one ``{"a", "b", "spearman", "ci", "pairs"}`` per pair of annotators that share at
    least one labelled pair; ``spearman`` is None below three common pairs or without variation.
    """
    out = []
    rng = np.random.default_rng(seed)
    for i, j in itertools.combinations(range(len(annotators)), 2):
        both = ~np.isnan(values[i]) & ~np.isnan(values[j])
        n = int(both.sum())
        if n == 0:
            continue
        x, y = values[i, both], values[j, both]
        rho = _spearman(x, y)
        ci: list[float | None] = [None, None]
        if rho is not None and n_boot > 0:
            samples = []
            batch = max(1, 2_000_000 // n)  # bounds memory on large projects
            for start in range(0, n_boot, batch):
                idx = rng.integers(0, n, size=(min(batch, n_boot - start), n))
                samples.append(_spearman_rows(x[idx], y[idx]))
            ci = _percentile_ci(np.concatenate(samples))
        out.append({"a": annotators[i], "b": annotators[j], "spearman": rho, "ci": ci, "pairs": n})
    return out


def _pair_abs_diffs(values: np.ndarray) -> np.ndarray:
    """Per pair (column): the mean |difference| over every two annotators who labelled it."""
    total = np.zeros(values.shape[1])
    count = np.zeros(values.shape[1])
    for i, j in itertools.combinations(range(values.shape[0]), 2):
        both = ~np.isnan(values[i]) & ~np.isnan(values[j])
        total[both] += np.abs(values[i, both] - values[j, both])
        count[both] += 1
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def mean_abs_diff(values: np.ndarray) -> float | None:
    """The mean over pairs of the mean |a - b| between their annotators (0-1 scale)."""
    per_pair = _pair_abs_diffs(values)
    per_pair = per_pair[np.isfinite(per_pair)]
    return float(per_pair.mean()) if per_pair.size else None


def _bootstrap_columns(values: np.ndarray, statistic: Any, n_boot: int, seed: int) -> list[float | None]:
    """Percentile interval of ``statistic(values[:, resampled columns])``."""
    n = values.shape[1]
    if n_boot <= 0 or n < 2:
        return [None, None]
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n_boot):
        value = statistic(values[:, rng.integers(0, n, size=n)])
        samples.append(np.nan if value is None else value)
    return _percentile_ci(np.array(samples))


def agreement(matrix: LabelMatrix, *, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> dict[str, Any]:
    """Alpha, pairwise Spearman and mean absolute difference, each with a 95 % interval."""
    multi = matrix.multi()
    values = multi.values
    present = [a for i, a in enumerate(multi.annotators) if (~np.isnan(values[i])).any()]
    alpha = krippendorff_alpha(values)
    alpha_ci = _alpha_ci(values, n_boot, seed) if alpha is not None else [None, None]
    per_pair = _pair_abs_diffs(values)
    mad = float(per_pair.mean()) if per_pair.size else None
    mad_ci: list[float | None] = [None, None]
    if per_pair.size >= 2 and n_boot > 0:
        idx = np.random.default_rng(seed + 1).integers(0, per_pair.size, size=(n_boot, per_pair.size))
        mad_ci = _percentile_ci(per_pair[idx].mean(axis=1))
    return {
        "annotators": present,
        "labeled_pairs": len(matrix.pair_ids),
        "pairs_with_multiple_labels": len(multi.pair_ids),
        "alpha": alpha,
        "alpha_ci": alpha_ci,
        "pairwise_spearman": pairwise_spearman(values, multi.annotators, n_boot=n_boot, seed=seed + 2),
        "mean_abs_diff": mad,
        "mean_abs_diff_ci": mad_ci,
    }


def agreement_report(project: Project, split: str | None = None, *, n_boot: int = DEFAULT_BOOTSTRAP,
                     seed: int = 0) -> dict[str, Any]:
    """``stsstudio agreement --json``: the figures overall (or of one split) and per split.

    Keys: ``alpha``, ``alpha_ci``, ``pairwise_spearman``, ``mean_abs_diff``,
    ``mean_abs_diff_ci``, ``pairs_with_multiple_labels``, ``annotators``, ``labeled_pairs``,
    ``split``, ``bootstrap``, ``seed`` and, without ``split``, ``splits`` (the same figures
    for each split that has pairs with two or more labels).
    """
    if not 0 <= int(seed) < 2**32:
        raise UserError(f"the seed must be a whole number from 0 to {2**32 - 1}, not {seed}")
    if not 0 <= int(n_boot) <= MAX_BOOTSTRAP:
        raise UserError(f"the bootstrap takes 0 to {MAX_BOOTSTRAP:,} resamples, not {n_boot:,} "
                        "(1,000 is plenty for a 95 % interval)")
    matrix = label_matrix(project, split)
    report = agreement(matrix, n_boot=n_boot, seed=seed)
    report.update(split=split, bootstrap=n_boot, seed=seed, label_aggregate=project.labels.aggregate)
    if split is None:
        multi = matrix.multi()
        report["splits"] = {s: agreement(multi.of_split(s), n_boot=n_boot, seed=seed)
                            for s in SPLITS if s in multi.splits}
    return report


# --------------------------------------------------------------------------------------
# The human ceiling


def _ceiling(values: np.ndarray) -> float | None:
    rhos = []
    for i in range(values.shape[0]):
        others = np.delete(values, i, axis=0)
        mine = ~np.isnan(values[i])
        has_other = np.sum(~np.isnan(others), axis=0) >= 1
        both = mine & has_other
        if both.sum() < _MIN_PAIRS:
            continue
        with np.errstate(invalid="ignore"):
            rest = np.nanmean(others[:, both], axis=0)
        rho = _spearman(values[i, both], rest)
        if rho is not None:
            rhos.append(rho)
    return float(np.mean(rhos)) if rhos else None


def human_ceiling(project: Project, split: str = "dev", *, n_boot: int = DEFAULT_BOOTSTRAP,
                  seed: int = 0) -> dict[str, Any] | None:
    """The human agreement line of the dev-correlation plot, or None.

    The mean Spearman of each annotator against the mean of the other annotators, on the
    ``split`` pairs with two or more labels, with a bootstrap 95 % interval over pairs. None
    unless two or more annotators have labelled the same (at least three) pairs of the split.

    Returns:
        ``{"spearman", "ci", "annotators", "pairs", "split"}``.
    """
    multi = label_matrix(project, split).multi()
    values = multi.values
    present = [a for i, a in enumerate(multi.annotators) if (~np.isnan(values[i])).any()]
    if len(present) < 2:
        return None
    rho = _ceiling(values)
    if rho is None:
        return None
    return {"spearman": rho, "ci": _bootstrap_columns(values, _ceiling, n_boot, seed),
            "annotators": present, "pairs": len(multi.pair_ids), "split": split}


# --------------------------------------------------------------------------------------
# Disagreements (the adjudication queue)


@dataclass(frozen=True)
class Disagreement:
    pair_id: int
    spread: float
    labels: dict[str, float]
    adjudicated: float | None


def disagreements(project: Project, threshold: float = DISAGREEMENT_THRESHOLD, *,
                  split: str | None = None, include_adjudicated: bool = False) -> list[Disagreement]:
    """Pairs whose annotators' labels differ by more than ``threshold`` (max - min), largest
    spread first: the "Resolve disagreements" queue and the Agreement panel's list.

    Pairs already adjudicated are left out unless ``include_adjudicated``.
    """
    adjudicated = project.labels.adjudicated()
    by_pair: dict[int, dict[str, float]] = {}
    for pid, _split, annotator, score in project.labels.by_annotator(split=split):
        by_pair.setdefault(pid, {})[annotator] = score
    out = []
    for pid, labels in by_pair.items():
        if len(labels) < 2 or (pid in adjudicated and not include_adjudicated):
            continue
        spread = max(labels.values()) - min(labels.values())
        if spread > threshold + 1e-12:
            out.append(Disagreement(pid, spread, labels, adjudicated.get(pid)))
    out.sort(key=lambda d: (-d.spread, d.pair_id))
    return out


def disagreement_pair_ids(project: Project, threshold: float = DISAGREEMENT_THRESHOLD) -> list[int]:
    """The ids of :func:`disagreements`, for a queue order."""
    return [d.pair_id for d in disagreements(project, threshold)]
