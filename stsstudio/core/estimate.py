"""After the model: how good it is, and how much more labels would give (issue 23).

``train`` hands over the model first; this step follows, in the background in the app and after
the model line in ``stsstudio train``. It never touches the model: cancelling it, or a failure,
leaves the run and its model as they were, with the estimate marked cancelled or failed.

- A small project without a dev split (``run.config["cv_folds"]`` > 0): k-fold cross-validation.
  Each fold trains one model on its training part with the run's own rule for that many labels
  (core/schedule.py) and predicts the fold's held-out pairs: the verdict against the base model
  (paired bootstrap, as a dev set would). Small models, each on one fold alone, predict other
  folds' pairs: against their fold models, the label curve (core/label_curve.py).
- A run with a dev set (its own or held out): the verdict came with training; one more model on a
  seeded half of the train pairs, scored on the same dev pairs, gives the label curve.

The results land in the run's summary (``cv``, ``verdict``, ``label_curve``, ``estimate``), which
the Train view, the model card and ``train --json`` read.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any, Protocol

from stsstudio.core.errors import Cancelled, TrainingError, UserError


class EstimateReporter(Protocol):
    def status(self, message: str) -> None: ...
    def is_cancelled(self) -> bool: ...


class _Quiet:
    def status(self, message: str) -> None: pass
    def is_cancelled(self) -> bool: return False


def pending(run: Any) -> bool:
    """True when ``run`` finished and its estimate has not been made yet."""
    state = ((getattr(run, "summary", None) or {}).get("estimate") or {}).get("status")
    return getattr(run, "status", "") == "finished" and state in ("pending", "cancelled", "failed")


def estimate(project: Any, run_id: int, reporter: EstimateReporter | None = None) -> dict[str, Any]:
    """Make the estimate of run ``run_id`` and store it in the run's summary.

    Returns the summary's ``estimate`` entry (``status`` "done", "cancelled" or "failed", plus
    ``seconds``). Raises UserError when the run cannot be estimated (no such run, not finished).
    """
    from stsstudio.core import training

    reporter = reporter or _Quiet()
    run = project.runs.get(int(run_id))
    if run is None:
        raise TrainingError(f"The project has no run {run_id}.")
    if run.status != "finished" or not run.model_dir:
        raise TrainingError(f"Run {run_id} has no finished model to estimate.")
    known = set(training.TrainConfig.__dataclass_fields__)
    config = training.TrainConfig(**{k: v for k, v in (run.config or {}).items() if k in known})
    t0 = time.perf_counter()
    try:
        with training.no_library_gc():
            found = _estimate(project, run, config, reporter)
        entry = {"status": "done", "seconds": round(time.perf_counter() - t0, 1)}
    except Cancelled:
        found, entry = {}, {"status": "cancelled", "seconds": round(time.perf_counter() - t0, 1)}
    except UserError as exc:
        found, entry = {}, {"status": "failed", "message": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the model stands; the estimate says why it is missing
        found, entry = {}, {"status": "failed", "message": f"{type(exc).__name__}: {exc}"}
    _store(project, run, found, entry)
    return entry


def _store(project: Any, run: Any, found: dict[str, Any], entry: dict[str, Any]) -> None:
    summary = dict(run.summary or {})
    summary.update(found.get("summary", {}))
    summary["estimate"] = {**(summary.get("estimate") or {}), **entry}
    fields: dict[str, Any] = {"summary": summary}
    fields.update(found.get("fields", {}))
    project.runs.update(run.id, **fields)


def _estimate(project: Any, run: Any, config: Any, reporter: EstimateReporter) -> dict[str, Any]:
    from stsstudio.core import training
    from stsstudio.core.devices import resolve_device
    from stsstudio.core.models import load_model

    data = training._collect_data(project, config.seed, config.cv_folds)
    ids = project.runs.pair_ids(run.id, "train")
    if ids:   # the labels the run trained on, as they are now (a pair labeled since stays out)
        keep = [i for i, pid in enumerate(data.train.ids) if pid in ids]
        data.train = data.train.subset(keep)
    try:
        device = resolve_device(config.device)
    except UserError:
        device = resolve_device("auto")
    reporter.status("estimating, loading the base model…")
    base = load_model(run.base_model, device=device.id, max_seq_length=config.max_seq_length)
    if data.cv_folds:
        return _cross_validate(base, data, config, device, reporter)
    return _dev_curve(run, base, data, config, device, reporter)


def predict(model: Any, split: Any) -> Any:
    """Cosine similarity of each pair of ``split`` under ``model`` (core/evaluation.py's rule)."""
    from stsstudio.core.evaluation import cosine_scores

    return cosine_scores(model, split.sentence1, split.sentence2).astype(float)


def fit(base: Any, split: Any, config: Any, device: Any, seed: int,
        reporter: EstimateReporter | None = None) -> Any:
    """A copy of ``base`` trained on ``split`` with the run's rule for that many labels (blend
    included), quietly: no evaluation, no checkpoints. Raises Cancelled when the user stops."""
    import copy
    import tempfile

    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from transformers import PrinterCallback, TrainerCallback

    from stsstudio.core import training
    from stsstudio.core.devices import precision_for
    from stsstudio.core.losses import build_loss

    reporter = reporter or _Quiet()
    schedule = training._schedule(config, len(split), 0)
    model = copy.deepcopy(base)
    base_state = training._copy_state(base) if schedule.blend < 1 else None
    precision = precision_for(device)

    class Stop(TrainerCallback):
        stopped = False

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            if reporter.is_cancelled():
                control.should_training_stop = True
                Stop.stopped = True
            return control

    # The run's own batching: pairs of similar length together when the run grouped them (it
    # does by default), which is also a third less padding to compute on a CPU.
    sampler = ({"batch_sampler": training._LengthGrouping(training._pair_lengths(model, split))}
               if config.group_by_length else {})
    with tempfile.TemporaryDirectory(prefix="stsstudio_estimate_") as tmp:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, max_steps=schedule.steps, num_train_epochs=math.ceil(schedule.epochs),
            per_device_train_batch_size=int(config.batch_size), learning_rate=schedule.learning_rate,
            warmup_steps=math.ceil(schedule.steps * schedule.warmup_ratio), seed=seed, data_seed=seed,
            eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none",
            disable_tqdm=True, use_cpu=device.kind == "cpu", bf16=precision["bf16"], fp16=precision["fp16"],
            **sampler)
        ds = Dataset.from_dict({"sentence1": split.sentence1, "sentence2": split.sentence2,
                                "score": split.scores})
        loss = build_loss(schedule.loss, model, matryoshka=config.matryoshka)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds, loss=loss,
                                             callbacks=[Stop()])
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    if Stop.stopped:
        raise Cancelled()
    if base_state is not None:
        training.blend_with_base(model, base_state, schedule.blend)
    return model


def _half(idx: list[int], seed: int) -> list[int]:
    order = list(idx)
    random.Random(seed).shuffle(order)
    return sorted(order[: max(2, len(order) // 2)])


def _cross_validate(base: Any, data: Any, config: Any, device: Any,
                    reporter: EstimateReporter) -> dict[str, Any]:
    """k fold models for the verdict, and small models, nested in them, for the label curve.

    Fold i's model trains on every fold but fold i and predicts fold i: together, out-of-fold
    predictions of every label from models on (k-1)/k of them, for the verdict. Each small model
    trains on one fold alone, a subset of the training part of every other fold's model, and
    predicts pairs of other folds, which it never saw (:func:`curve_subsets`): paired with their
    fold models' predictions, models on 1/k of the labels against models on (k-1)/k. How many small
    models: :func:`stsstudio.core.schedule.curve_models` (one per fold for small projects, where one
    small model alone is too noisy; one above, to keep the estimate within minutes on a CPU).
    """
    import numpy as np

    from stsstudio.core import label_curve, stats
    from stsstudio.core.schedule import curve_models, kfold

    k, n = data.cv_folds, len(data.train)
    gold = np.asarray(data.train.scores, dtype=float)
    reporter.status(f"estimating, scoring the {n} labels with the base model…")
    base_pred = predict(base, data.train)
    folds = kfold(n, k, config.seed)
    plan = curve_subsets(folds, curve_models(n, k))
    total = k + len(plan)
    oof = np.zeros(n)
    fold_spearman: list[float] = []
    sizes: list[int] = []
    for i, val_idx in enumerate(folds):
        val = set(val_idx)
        fit_idx = [j for j in range(n) if j not in val]
        _check(reporter)
        reporter.status(f"estimating, model {i + 1} of {total} (fold {i + 1}: {len(fit_idx)} of the {n} "
                        "labels)…")
        model = fit(base, data.train.subset(fit_idx), config, device, int(config.seed) + i + 1, reporter)
        oof[val_idx] = predict(model, data.train.subset(val_idx))
        fold_spearman.append(stats.spearman(oof[val_idx], gold[val_idx]))
        sizes.append(len(fit_idx))
        del model
    small_pred, covered, full_sizes, small_sizes = np.full(n, np.nan), [], [], []
    for m, (j, small_idx, predicted) in enumerate(plan):
        _check(reporter)
        reporter.status(f"estimating, model {k + m + 1} of {total} ({len(small_idx)} of the {n} labels, for "
                        "the label curve)…")
        small = fit(base, data.train.subset(small_idx), config, device, int(config.seed) + 100 + j, reporter)
        small_pred[predicted] = predict(small, data.train.subset(predicted))
        del small
        covered += predicted
        small_sizes.append(len(small_idx))
        full_sizes += [sizes[i] for i, fold in enumerate(folds) if set(fold) <= set(predicted)]
    comparison = stats.compare_to_base(oof, base_pred, gold, what=f"labels ({k}-fold cross-validation)")
    rest = sorted(covered)
    curve = label_curve.fit(gold[rest], base_pred[rest], oof[rest], small_pred[rest],
                            n_full=float(np.mean(full_sizes)), n_half=float(np.mean(small_sizes)), labels=n,
                            seed=int(config.seed))
    cv = {"folds": k, "fold_spearman": fold_spearman, "spearman": comparison.tuned,
          "spearman_ci": list(comparison.tuned_ci), "base_spearman": comparison.base,
          "comparison": comparison.as_dict()}
    c = comparison.as_dict()
    summary = {"cv": cv, "comparison": c, "outcome": c["outcome"], "verdict": c["verdict"],
               "dev_spearman_ci": list(comparison.tuned_ci), "label_curve": curve}
    fields: dict[str, Any] = {"base_dev_spearman": comparison.base, "best_dev_spearman": comparison.tuned}
    if c["outcome"] == "worse":
        fields["message"] = c["verdict"]
    return {"summary": summary, "fields": fields}


def curve_subsets(folds: list[list[int]], models: int) -> list[tuple[int, list[int], list[int]]]:
    """The label curve's small models: ``(j, labels, predicted)`` for each, trained on fold j alone.

    Fold i's pairs go to the first small model after it (j = i+1, i+2, ... round the folds) that
    is not fold i's own: each pair is predicted at most once, by a model that never saw it and whose
    labels lie inside the training part of the fold model that predicted the same pair. With one
    small model the first fold's pairs are left out; with one per fold every pair is predicted.
    """
    k = len(folds)
    chosen = list(range(max(1, min(models, k))))
    plan: dict[int, list[int]] = {j: [] for j in chosen}
    for i, fold in enumerate(folds):
        j = next((c % k for c in range(i + 1, i + k) if c % k in chosen), None)
        if j is not None:
            plan[j] += fold
    return [(j, sorted(folds[j]), sorted(plan[j])) for j in chosen if plan[j]]


def _check(reporter: EstimateReporter) -> None:
    if reporter.is_cancelled():
        raise Cancelled()


def _dev_curve(run: Any, base: Any, data: Any, config: Any, device: Any,
               reporter: EstimateReporter) -> dict[str, Any]:
    import numpy as np

    from stsstudio.core import label_curve
    from stsstudio.core.models import load_model

    n = len(data.train)
    if n < 20 or not len(data.dev):
        return {}
    reporter.status(f"estimating, scoring the {len(data.dev)} dev pairs…")
    base_pred = predict(base, data.dev)
    tuned_pred = predict(load_model(str(run.model_dir), device=device.id), data.dev)
    half_idx = _half(list(range(n)), int(config.seed) + 100)
    if reporter.is_cancelled():
        raise Cancelled()
    reporter.status(f"estimating, a model on half of the {n} train labels…")
    half_pred = predict(fit(base, data.train.subset(half_idx), config, device, int(config.seed) + 1,
                            reporter), data.dev)
    curve = label_curve.fit(np.asarray(data.dev.scores, float), base_pred, tuned_pred, half_pred,
                            n_full=float(n), n_half=float(len(half_idx)), labels=n, seed=int(config.seed))
    return {"summary": {"label_curve": curve}}


def with_estimate(result: Any, project: Any) -> Any:
    """``result`` (a RunResult) with the figures its stored estimate added."""
    from dataclasses import replace

    run = project.runs.get(int(result.run_id))
    summary = (getattr(run, "summary", None) or {}) if run is not None else {}
    changes: dict[str, Any] = {"estimate": summary.get("estimate"), "label_curve": summary.get("label_curve")}
    if summary.get("cv"):
        ci = summary.get("dev_spearman_ci")
        changes.update(cv=summary["cv"], comparison=summary.get("comparison"),
                       verdict=summary.get("verdict", ""), outcome=summary.get("outcome", ""),
                       dev_spearman=run.best_dev_spearman, base_dev_spearman=run.base_dev_spearman,
                       dev_spearman_ci=tuple(ci) if ci else None)
        if summary.get("outcome") == "worse":
            changes["message"] = summary.get("verdict", "")
    return replace(result, **changes)
