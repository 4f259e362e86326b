"""Model commands: train, resume, predict, evaluate (the training engine's CLI)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from stsstudio.cli.common import (
    _add_import_options,
    _model_ref,
    _open_project,
    _PredictProgress,
    _print_json,
    _quote,
)
from stsstudio.cli.terminal import _raw_write
from stsstudio.core.errors import UserError
from stsstudio.core.losses import LOSS_NAMES


class _ProgressReporter:
    """The CLI's training reporter: a one-line progress bar on stderr (rank 0 only).

    On a terminal the bar is redrawn in place at most ~10 times a second; otherwise one line is
    written per evaluation so that logs stay readable.
    """

    def __init__(self) -> None:
        import time

        self._time = time.monotonic
        self.total = 0
        self.step_no = 0
        self.loss: float | None = None
        self.spearman: float | None = None
        self.tty = sys.stderr.isatty()
        self._last_draw = 0.0
        self.plan: Any = None  # training.data_plan(...), printed when the run starts

    def _draw(self, force: bool = False) -> None:
        now = self._time()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        width = 30
        done = int(width * self.step_no / self.total) if self.total else 0
        bar = "#" * done + "." * (width - done)
        loss = f"loss {self.loss:.4f}" if self.loss is not None else "loss -"
        rho = f"dev Spearman {self.spearman:.4f}" if self.spearman is not None else "dev Spearman -"
        line = f"[{bar}] {self.step_no}/{self.total}  {loss}  {rho}"
        if self.tty:
            _raw_write(sys.stderr, "\r" + line + "\x1b[K")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def _end_line(self) -> None:
        if self.tty and self._last_draw:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def started(self, total_steps: int, device: str) -> None:
        self.total = total_steps
        if self.plan is not None:
            _print_plan(self.plan)
        print(f"Training {total_steps} steps on {device}", file=sys.stderr, flush=True)

    def step(self, step: int, loss: float, learning_rate: float, epoch: float) -> None:
        self.step_no, self.loss = step, loss
        if self.tty:
            self._draw()

    def evaluated(self, step: int, spearman: float, pearson: float) -> None:
        self.step_no, self.spearman = step, spearman
        self._draw(force=True)

    def checkpoint(self, path: str) -> None:
        pass

    def status(self, message: str) -> None:
        self._end_line()
        print(message, file=sys.stderr, flush=True)

    def finished(self, result: Any) -> None:
        self._draw(force=True)
        self._end_line()

    def failed(self, message: str) -> None:
        self._end_line()

    def cancelled(self) -> None:
        self._end_line()

    def is_cancelled(self) -> bool:
        return False


def _train_summary(result: Any, args: argparse.Namespace) -> int:
    """Print a run's outcome (and the --json line last); the exit status of train/resume."""
    if int(os.environ.get("RANK", "0") or 0) != 0:
        return 0 if result.status != "failed" else 2
    fmt = (lambda v: "-" if v is None else f"{v:.4f}")  # noqa: E731
    if result.status == "failed":
        print(f"stsstudio {args.command}: run {result.run_id} failed: {result.message}", file=sys.stderr)
    else:
        ci = getattr(result, "dev_spearman_ci", None)
        interval = f" (95 % interval {ci[0]:.4f} to {ci[1]:.4f})" if ci else ""
        print(f"Run {result.run_id} {result.status}: {result.steps} steps in {result.seconds:.0f} s on "
              f"{result.device}; dev Spearman {fmt(result.base_dev_spearman)} -> {fmt(result.dev_spearman)}"
              f"{interval}" + (f"; model in {result.model_dir}" if result.model_dir else ""),
              file=sys.stderr if args.json else sys.stdout)
        if getattr(result, "verdict", ""):
            print(result.verdict, file=sys.stderr if args.json else sys.stdout)
        if result.model_dir:
            print(_next_step(result), file=sys.stderr if args.json else sys.stdout)
        if result.message and result.message != getattr(result, "verdict", ""):
            print(result.message, file=sys.stderr)
    if args.json:
        out = {"run": result.run_id, "status": result.status, "device": result.device,
               "steps": result.steps, "base_dev_spearman": result.base_dev_spearman,
               "dev_spearman": result.dev_spearman, "seconds": round(result.seconds, 2),
               "dev_spearman_ci": list(result.dev_spearman_ci) if getattr(result, "dev_spearman_ci", None)
               else None,
               "verdict": getattr(result, "verdict", "") or None,
               "outcome": getattr(result, "outcome", "") or None,
               "next_step": _next_step(result),
               "schedule": getattr(result, "schedule", None),
               "cv": getattr(result, "cv", None)}
        ceiling = getattr(result, "human_ceiling", None)
        if ceiling is not None:
            out["human_ceiling"] = ceiling
        _print_json(out)
    return 2 if result.status == "failed" else 0


def _next_step(result: Any) -> str | None:
    """What to do after a run, in plain words (core.advice; the Train view shows the same)."""
    from stsstudio.core.advice import run_advice

    return run_advice(result) if result.status != "failed" and result.model_dir else None


def _quiet_training_logs() -> None:
    # transformers' info/warning chatter would tear the progress bar apart.
    from stsstudio.core.quiet import quiet_libraries

    quiet_libraries()


def _auto_float(text: str) -> float | str:
    """argparse type: a positive number, or ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, not {text!r}") from None


def _cmd_train(args: argparse.Namespace) -> int:
    from stsstudio.core.training import TrainConfig, data_plan, train

    config = TrainConfig()
    for attr, value in (("base_model", args.base_model), ("loss", args.loss), ("epochs", args.epochs),
                        ("batch_size", args.batch_size), ("learning_rate", args.lr),
                        ("warmup_ratio", args.warmup_ratio), ("max_seq_length", args.max_seq_length),
                        ("seed", args.seed), ("eval_steps", args.eval_steps), ("max_steps", args.max_steps),
                        ("device", args.device), ("cv_folds", args.cv)):
        if value is not None and value != "auto":
            setattr(config, attr, value)
    config.select_best = {"yes": True, "no": False}.get(args.select_best)
    config.matryoshka = bool(args.matryoshka)
    _quiet_training_logs()
    # Under torchrun only rank 0 writes; the other ranks read the project without the writer lock.
    readonly = int(os.environ.get("RANK", "0") or 0) != 0
    with _open_project(args.project, readonly=readonly) as project:
        reporter = _ProgressReporter()
        if not readonly:  # shown once the run has started (an error stays one line)
            reporter.plan = data_plan(project, config)
            if not reporter.plan.can_start and project.counts().labeled("none"):
                raise UserError(f"{' '.join(reporter.plan.problems)} From the command line: "
                                f"stsstudio split {_quote(args.project)} --to train --from none")
        result = train(project, config, reporter)
        if not readonly and result.status == "finished" and result.model_dir:
            _predict_after_run(project, result.run_id)
    return _train_summary(result, args)


def _predict_after_run(project: Any, run_id: int) -> None:
    """Score every pair with the new run (issue 12): the queue orders and guesses read them."""
    from stsstudio.core.predictions import predict_pairs

    try:
        done = predict_pairs(project, run_id)
    except UserError as exc:  # the run stands; only its predictions are missing
        print(f"Note: the pairs were not scored with run {run_id}: {exc}", file=sys.stderr)
        return
    print(f"Scored {done.pairs:,} pairs with run {run_id} in {done.seconds:.1f} s.", file=sys.stderr)


def _cmd_predict(args: argparse.Namespace) -> int:
    from stsstudio.core.predictions import next_scoring_target, predict_pairs

    with _open_project(args.project) as project:
        model = next_scoring_target(project) if args.model == "next" else args.model
        if model is None:   # what the app would do: nothing while a run trains or all is current
            print("Nothing to score: every model's scores are current (or a run is training).",
                  file=sys.stderr)
            return 0
        progress = _PredictProgress()
        result = predict_pairs(project, model, task=progress, device=args.device)
        if progress.shown >= 0:
            sys.stderr.write("\n")
    fmt = (lambda v: "-" if v is None else f"{v:.3f}")  # noqa: E731
    print(f"Scored {result.pairs:,} pairs with {result.model} (stored as run {result.run_id}) in "
          f"{result.seconds:.1f} s; calibration MAE {fmt(result.mae_calibrated)} vs cosine "
          f"{fmt(result.mae_cosine)} on held-out labels.", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        _print_json(result.as_dict())
    return 0


def _print_plan(plan: Any) -> None:
    """What the run will use, on stderr (a plan that cannot start is the engine's error)."""
    if not plan.can_start:
        return
    source = "held out from train" if plan.held_out else "dev split"
    line = f"Data: {plan.train:,} train pairs, {plan.dev:,} dev pairs ({source})"
    if plan.labeled_test:
        line += f"; {plan.labeled_test:,} labeled test pairs stay untouched"
    print(line + ".", file=sys.stderr)
    for note in plan.notes:
        print(f"Note: {note}", file=sys.stderr)


def _cmd_resume(args: argparse.Namespace) -> int:
    from stsstudio.core.training import resume

    _quiet_training_logs()
    readonly = int(os.environ.get("RANK", "0") or 0) != 0
    device = None if args.device in (None, "auto") else args.device
    with _open_project(args.project, readonly=readonly) as project:
        result = resume(project, args.run, _ProgressReporter(), device=device)
    return _train_summary(result, args)


def _eval_data(args: argparse.Namespace) -> tuple[list[str], list[str], list[float]]:
    """Labeled pairs of ``--data FILE``, read with the same importer (and options) as ``import``."""
    from stsstudio.core.importers import ImportOptions, prepare_import

    options = ImportOptions(format=args.format, sentence1=args.sentence1, sentence2=args.sentence2,
                            score=args.score, has_header=False if args.no_header else None, scale=args.scale,
                            hf_config=args.hf_config, hf_split=args.hf_split)
    prepared = prepare_import(args.data, options)
    rows = [r for r in prepared.rows if r[2] is not None]
    if not rows:
        raise UserError(f"{args.data} has no scored pairs to evaluate on.")
    return [r[0] for r in rows], [r[1] for r in rows], [float(r[2]) for r in rows]


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from stsstudio.core.evaluation import evaluate_file_pairs, evaluate_pairs, evaluate_project
    from stsstudio.core.inference import get_model

    if args.model and (args.run is not None or args.base):
        raise UserError("use either --model or --run/--base, not both")
    if not args.model and not args.project:
        raise UserError("name a PROJECT (with --run ID or --base) or a model folder with --model DIR")
    if args.model and not args.project and not args.data:
        raise UserError("--model needs pairs to evaluate on: a PROJECT or --data FILE")
    worst: list[dict[str, Any]] = []
    if args.project:
        with _open_project(args.project, readonly=True) as project:
            what = args.model or _model_ref(args, project)
            if args.data:
                s1, s2, gold = _eval_data(args)
                result = evaluate_file_pairs(project, what, s1, s2, gold, device=args.device,
                                             include_trained=args.include_trained)
            else:
                result = evaluate_project(project, what, args.split, device=args.device,
                                          include_trained=args.include_trained)
                worst = _worst_rows(project, what, args, result) if args.worst else []
            if result.leak_note:
                print(("Warning: " if result.leaked else "Note: ") + result.leak_note, file=sys.stderr)
    else:
        s1, s2, gold = _eval_data(args)
        result = evaluate_pairs(get_model(args.model, device=args.device), s1, s2, gold)
    if args.json:
        _print_json(dict(result.as_dict(), **({"worst": worst} if worst else {})))
    else:
        where = args.data or result.source or f"the {args.split} split"
        fig = result.as_dict()
        spearman = "undefined" if fig["spearman"] is None else f"{fig['spearman']:.4f}"
        pearson = "undefined" if fig["pearson"] is None else f"{fig['pearson']:.4f}"
        ci = fig.get("spearman_ci") or [None, None]
        interval = f" (95 % interval {ci[0]:.4f} to {ci[1]:.4f})" if None not in ci else ""
        print(f"Spearman {spearman}{interval}  Pearson {pearson}  ({result.pairs:,} pairs of {where})")
        if worst:
            print(f"Largest disagreements ({len(worst)}):")
        for w in worst:
            print(f"  pair {w['pair']}: label {w['label']}, model {w['model']}  "
                  f"{w['sentence1']!r} / {w['sentence2']!r}")
    return 0


def _worst_rows(project: Any, what: str, args: argparse.Namespace, result: Any) -> list[dict[str, Any]]:
    """``evaluate --worst N``: the Try view's largest disagreements (core), on the project's scale."""
    from stsstudio.core.evaluation import worst_pairs
    from stsstudio.core.scales import format_display

    scale = project.display_scale()
    return [{"pair": w.pair_id, "label": format_display(w.gold, scale),
             "model": format_display(w.guess, scale), "sentence1": w.sentence1, "sentence2": w.sentence2}
            for w in worst_pairs(project, what, args.split, result=result, limit=args.worst)]


# ----------------------------------------------------------------------------------------
# parsers


def add_train(sub: Any) -> None:
    p = sub.add_parser("train", help="fine-tune a model on the project's labeled pairs")
    p.add_argument("project")
    p.add_argument("--base-model", help="embedded default, a local folder, or a Hub id")
    p.add_argument("--loss", choices=(*LOSS_NAMES, "auto"), default="auto",
                   help="default: auto (chosen from the label count)")
    p.add_argument("--matryoshka", action="store_true", help="wrap the loss in MatryoshkaLoss")
    p.add_argument("--epochs", type=_auto_float, default="auto",
                   help="a number, or auto (default): more epochs for fewer labels")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=_auto_float, default="auto", help="learning rate, or auto (default)")
    p.add_argument("--warmup-ratio", type=float)
    p.add_argument("--cv", type=int, metavar="K",
                   help="estimate by K-fold cross-validation, then train on every label (0: off; "
                        "default: 5 folds when there is no dev split and fewer than 300 labels)")
    p.add_argument("--select-best", choices=("auto", "yes", "no"), default="auto",
                   help="keep the best checkpoint by dev Spearman (auto: only with >= 300 dev pairs)")
    p.add_argument("--max-seq-length", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--eval-steps", type=int)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps or xpu")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    p.set_defaults(func=_cmd_train)


def add_predict(sub: Any) -> None:
    p = sub.add_parser("predict", help="score every pair with a model and store the scores "
                       "(the queue orders and the model's guesses read them)")
    p.add_argument("project")
    p.add_argument("--model", default="best", help="base, best (default; base while no run is "
                   "trained), run:N, or next (what the app would score next, if anything)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_predict)


def add_resume(sub: Any) -> None:
    p = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    p.add_argument("project")
    p.add_argument("run", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_resume)


def add_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="Spearman and Pearson of a model on a split or a file")
    p.add_argument("project", nargs="?")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--run", type=int, help="a run of the project (default: the best)")
    g.add_argument("--base", action="store_true", help="the project's base model")
    g.add_argument("--model", help="a model folder (no project needed)")
    p.add_argument("--split", choices=("train", "dev", "test"), default="dev")
    p.add_argument("--data", help="evaluate on this file instead of the project's pairs")
    p.add_argument("--include-trained", action="store_true",
                   help="keep pairs the run trained on (a leaked evaluation, flagged); default: left out")
    p.add_argument("--worst", type=int, metavar="N",
                   help="also list the N pairs the model gets most wrong (as Try's largest disagreements)")
    _add_import_options(p, with_split=False)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_evaluate)
