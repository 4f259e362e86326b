"""The model in the loop: every pair's score under a model, stored in the project (issue 12).

A *prediction set* is one model's cosine similarity of every pair, keyed by run (0: the
project's base model). :func:`predict_pairs` builds one in the background: the sentences are
embedded once through the corpus cache of :mod:`stsstudio.core.inference` (so a second set
for the same model and data costs only the dot products), then pairs are scored and written in
pages. A set counts only once it is complete, so a cancelled or crashed scoring never leaves a
half set that the queue would read as whole.

The features that read predictions (the slider marker, the queue orders, calibration) use
:func:`current_prediction_run`: the best run's set when it is complete, else the base model's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from stsstudio.core.errors import Cancelled, UserError

BASE_RUN = 0          # the run id under which the base model's predictions are stored
PAGE = 5000           # pairs scored per page
WRITE_ROWS = 500      # predictions written per transaction: a label waits at most for one of these
_ENCODE_SHARE = 0.8   # of the progress bar, for embedding the sentences


class NoPredictionsError(UserError):
    """A feature needs predictions and none exist yet (the caller offers to compute them)."""


@dataclass(frozen=True)
class PredictionResult:
    """What :func:`predict_pairs` did: which model, how many pairs, how long."""

    run_id: int
    model: str
    pairs: int
    seconds: float
    mae_cosine: float | None = None       # held-out MAE of the raw cosine (display scale)
    mae_calibrated: float | None = None   # ... and of the calibrated guess

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run_id, "model": self.model, "pairs": self.pairs,
                "seconds": round(self.seconds, 2), "mae_cosine": self.mae_cosine,
                "mae_calibrated": self.mae_calibrated}


def prediction_target(project: Any, model: str | int = "best") -> tuple[int, str]:
    """The run id predictions are stored under, and the model reference that makes them.

    Args:
        model: ``"base"``, ``"best"`` (the base model while no run is trained), ``"run:N"``,
            or a run id (0: base).

    Raises:
        UserError: an unknown reference or run.
    """
    if isinstance(model, int):
        model = "base" if model == BASE_RUN else f"run:{model}"
    text = str(model).strip()
    if text == "best":
        run = project.runs.best()
        return (BASE_RUN, "base") if run is None else (run.id, f"run:{run.id}")
    if text == "base":
        return BASE_RUN, "base"
    if text.startswith("run:"):
        try:
            run_id = int(text[4:])
        except ValueError:
            raise UserError(f"{text!r} is not a run reference; use run:<number>.") from None
        if project.runs.get(run_id) is None:
            raise UserError(f"Run {run_id} does not exist in {project.name}.")
        return run_id, text
    raise UserError(f"Unknown model {text!r}: use base, best or run:<number>.")


class _Share:
    """Maps one phase's progress onto a part of the caller's task (0..1000)."""

    def __init__(self, task: Any, start: float, width: float) -> None:
        self.task, self.start, self.width = task, start, width

    def progress(self, done: int, total: int) -> None:
        if self.task is not None:
            frac = done / total if total else 1.0
            self.task.progress(int(1000 * (self.start + self.width * frac)), 1000)

    def is_cancelled(self) -> bool:
        return self.task is not None and self.task.is_cancelled()


def predict_pairs(project: Any, model: str | int = "best", task: Any = None, device: str = "auto",
                  page: int = PAGE) -> PredictionResult:
    """Score every pair of the project with one model and store the scores, keyed by run.

    Args:
        project: the open (writable) project.
        model: ``"base"``, ``"best"``, ``"run:N"`` or a run id (0: base).
        task: optional handle with ``progress(done, total)``, ``status(text)`` and
            ``is_cancelled()`` (the GUI's TaskState; the CLI's progress line).
        device: where to load the model.
        page: pairs scored and written per step (progress and cancel granularity).

    Returns:
        The run id, the model, the number of pairs scored and the seconds it took.

    Raises:
        Cancelled: the task was cancelled; the run's earlier set is gone and no new set counts.
        UserError: an unknown model or a model folder that is missing.
    """
    from stsstudio.core.inference import _cache, _device_id, corpus_embeddings, resolve_model_ref

    t0 = time.perf_counter()
    run_id, ref = prediction_target(project, model)
    path = resolve_model_ref(project, ref)
    if task is not None and hasattr(task, "status"):
        task.status(f"Scoring pairs with {'the base model' if run_id == BASE_RUN else f'run {run_id}'}…")
    version = project.pairs.version()
    loaded = _cache.get(path, _device_id(device))
    # While this runs, a label's commit never waits for a checkpoint of the log (see the store).
    with project.background_writes() as checkpoint:
        checkpoint()
        corpus, emb = corpus_embeddings(project, loaded, path, task=_Share(task, 0.0, _ENCODE_SHARE))
        row_of = {s: i for i, s in enumerate(corpus)}
        project.predictions.start(run_id)
        scoring = _Share(task, _ENCODE_SHARE, 1.0 - _ENCODE_SHARE)
        done = _score_pages(project, run_id, row_of, emb, scoring, page, checkpoint)
        project.predictions.finish(run_id, ref if run_id else project.base_model, version, done)
    from stsstudio.core.calibration import fit_calibration

    cal = fit_calibration(project, run_id)
    return PredictionResult(run_id, ref, done, time.perf_counter() - t0,
                            None if cal is None else cal.mae_raw,
                            None if cal is None else cal.mae_calibrated)


def _score_pages(project: Any, run_id: int, row_of: dict[str, int], emb: np.ndarray, task: Any,
                 page: int, checkpoint: Any) -> int:
    """Score the pairs a page at a time from the sentence embeddings and store the scores."""
    total = project.pairs.count()
    done, last = 0, 0
    while True:
        if task.is_cancelled():
            raise Cancelled()
        rows = project.pairs.text_page(last, page)
        if not rows:
            return done
        # A pair added while the corpus was embedded has a sentence the corpus lacks: skip it,
        # the next scoring picks it up.
        keep = [(i, row_of.get(a), row_of.get(b)) for i, a, b in rows]
        keep = [(i, a, b) for i, a, b in keep if a is not None and b is not None]
        if keep:
            a = np.fromiter((k[1] for k in keep), dtype=np.int64, count=len(keep))
            b = np.fromiter((k[2] for k in keep), dtype=np.int64, count=len(keep))
            scores = np.einsum("ij,ij->i", emb[a], emb[b])
            values = [(k[0], float(s), None) for k, s in zip(keep, scores)]
            for start in range(0, len(values), WRITE_ROWS):
                project.predictions.add(run_id, values[start:start + WRITE_ROWS])
                time.sleep(0)   # let the GUI thread take the lock and the GIL between writes
            checkpoint()
        done += len(keep)
        last = rows[-1][0]
        task.progress(min(done, total), max(total, 1))


def next_scoring_target(project: Any) -> int | None:
    """Which model to score next: the best run without a current set, else the base model
    without one (:data:`BASE_RUN`).

    A set that misses pairs added since it was made is not current. The app's scheduler scores
    what this returns after each run and when a project opens; ``stsstudio predict PROJECT
    --model next`` does the same once. Uses only index seeks (no scan of the pairs), so the GUI
    thread may call it.

    Returns:
        The run id to score (0: the base model), or None while a run trains (it needs the cores)
        or when every wanted set is current.
    """
    runs = project.runs.all()
    if any(r.status == "running" for r in runs):
        return None
    sets = project.predictions.sets()
    newest = project.pairs.max_id() if sets else 0
    best = project.runs.best()
    for run_id in ([best.id] if best is not None else []) + [BASE_RUN]:
        if run_id not in sets or project.predictions.highest_pair_id(run_id) < newest:
            return run_id
    return None


def current_prediction_run(project: Any) -> int | None:
    """The run whose predictions the features read: the best run's set when complete, else the
    base model's, else None (nothing scored yet)."""
    sets = project.predictions.sets()
    best = project.runs.best()
    if best is not None and best.id in sets:
        return best.id
    if BASE_RUN in sets:
        return BASE_RUN
    return max(sets) if sets else None


def require_predictions(project: Any) -> int:
    """:func:`current_prediction_run`, or a clear error saying that no model has scored the pairs
    (the app scores them in the background; ``stsstudio queue`` and ``predict`` score them too)."""
    run_id = current_prediction_run(project)
    if run_id is None:
        raise NoPredictionsError(f"No model has scored the pairs of {project.name} yet, so there are "
                                 "no guesses to rank them by.")
    return run_id


def guesses(project: Any, pair_ids: list[int], run_id: int | None = None) -> dict[int, float]:
    """The model's calibrated guess (0..1) of each pair that has a prediction.

    Uses ``run_id``'s predictions (default: :func:`current_prediction_run`) and that run's
    calibration when one is stored, else the cosine clipped to 0..1.
    """
    from stsstudio.core.calibration import Calibration

    if run_id is None:
        run_id = current_prediction_run(project)
    if run_id is None or not pair_ids:
        return {}
    if len(pair_ids) > 5000:   # one read of the whole set beats many id-list queries
        wanted = set(pair_ids)
        preds = {pid: v for pid, v in project.predictions.get(run_id).items() if pid in wanted}
    else:
        preds = project.predictions.get(run_id, pair_ids)
    if not preds:
        return {}
    cal = Calibration.load(project, run_id)
    ids = list(preds)
    raw = np.array([preds[i][0] for i in ids], dtype=float)
    values = cal.apply(raw) if cal is not None else np.clip(raw, 0.0, 1.0)
    return {i: float(v) for i, v in zip(ids, values)}


SURPRISE_GAP = 0.25   # stored 0..1 units: one point on a 1-5 scale, 1.25 on 0-5


def is_surprise(label: float, guess: float | None, gap: float = SURPRISE_GAP) -> bool:
    """Whether a label differs from the model's guess by more than ``gap`` (a surprise: the
    expert is teaching the model something)."""
    return guess is not None and abs(float(label) - float(guess)) > gap
