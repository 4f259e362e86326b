"""Model commands: train, resume, predict, estimate (the training engine's CLI)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from stsstudio.cli.common import (
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
        if getattr(result, "label_curve", None):
            from stsstudio.core.label_curve import sentence

            print(sentence(result.label_curve), file=sys.stderr if args.json else sys.stdout)
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
               "cv": getattr(result, "cv", None),
               "estimate": getattr(result, "estimate", None),
               "label_curve": getattr(result, "label_curve", None)}
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


def _auto_int(text: str) -> int | str:
    """argparse type: a whole number >= 0, or ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or auto, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, not {value}")
    return value


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
                        ("device", args.device), ("cv_folds", args.cv), ("silver", args.silver),
                        ("blend", args.blend)):
        if value is not None and value != "auto":
            setattr(config, attr, value)
    config.estimate = not args.no_estimate
    config.select_best = {"yes": True, "no": False}.get(args.select_best)
    config.matryoshka = bool(args.matryoshka)
    _quiet_training_logs()
    # Under torchrun only rank 0 writes; the other ranks read the project without the writer lock.
    readonly = int(os.environ.get("RANK", "0") or 0) != 0
    with _open_project(args.project, readonly=readonly) as project:
        reporter = _ProgressReporter()
        if not readonly:  # shown once the run has started (an error stays one line)
            reporter.plan = data_plan(project, config)
            if not reporter.plan.can_start and project.counts.get().labeled("none"):
                raise UserError(f"{' '.join(reporter.plan.problems)} From the command line: "
                                f"stsstudio split {_quote(args.project)} --to train --from none")
        result = train(project, config, reporter)
        if not readonly and result.status == "finished" and result.model_dir:
            _predict_after_run(project, result.run_id)
            result = _estimate_after_run(project, result, args)
    return _train_summary(result, args)


def _estimate_after_run(project: Any, result: Any, args: argparse.Namespace) -> Any:
    """The model is ready: say so, then make the estimate (core/estimate.py). Ctrl+C stops only
    the estimate; the model stays."""
    from stsstudio.core.estimate import estimate, with_estimate

    if (result.estimate or {}).get("status") != "pending":
        return result
    print(f"Model ready after {result.seconds:.0f} s: {result.model_dir}", file=sys.stderr)
    print("Estimating how much better it is than the base model (Ctrl+C stops the estimate; the model "
          "stays)…", file=sys.stderr)

    class Lines:
        stopped = False

        def status(self, message: str) -> None:
            print("  " + message, file=sys.stderr, flush=True)

        def is_cancelled(self) -> bool:
            return self.stopped

    lines = Lines()
    try:
        entry = estimate(project, result.run_id, lines)
    except KeyboardInterrupt:
        entry = {"status": "cancelled"}
    if entry["status"] != "done":
        print(f"The estimate {entry['status']}{': ' + entry['message'] if entry.get('message') else ''}; "
              f"the model is kept. Run it later with: stsstudio estimate {_quote(args.project)} "
              f"{result.run_id}", file=sys.stderr)
    return with_estimate(result, project)


def _cmd_estimate(args: argparse.Namespace) -> int:
    from stsstudio.core.estimate import estimate
    from stsstudio.core.label_curve import sentence

    with _open_project(args.project) as project:
        run_id = args.run if args.run is not None else (
            project.runs.all()[-1].id if project.runs.all() else None)
        if run_id is None:
            raise UserError(f"{args.project} has no run to estimate.")

        class Lines:
            def status(self, message: str) -> None:
                print(message, file=sys.stderr, flush=True)

            def is_cancelled(self) -> bool:
                return False

        entry = estimate(project, int(run_id), Lines())
        summary = project.runs.get(int(run_id)).summary or {}
    if args.json:
        _print_json({"run": run_id, "estimate": entry, "verdict": summary.get("verdict"),
                     "label_curve": summary.get("label_curve")})
    else:
        for text in (summary.get("verdict"), sentence(summary.get("label_curve"))):
            if text:
                print(text)
    return 0 if entry["status"] == "done" else 2


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
        if not readonly and result.status == "finished" and result.model_dir:
            result = _estimate_after_run(project, result, args)
    return _train_summary(result, args)


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
                   help="train on every label, then estimate by K-fold cross-validation (0: off, hold "
                        "out 10 %% instead; default: 3 folds when there is no dev split and fewer than "
                        "500 labels)")
    p.add_argument("--no-estimate", action="store_true",
                   help="skip the estimate after the model (the verdict and 'how many labels' figures)")
    p.add_argument("--silver", type=_auto_int, default="auto", metavar="N",
                   help="silver pairs labeled by a cross-encoder trained on your labels (0: off; auto: "
                        "the automatic rule)")
    p.add_argument("--blend", type=_auto_float, default="auto", metavar="W",
                   help="blend the tuned model with the base model, W the tuned weight (1: off; auto)")
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


def add_estimate(sub: Any) -> None:
    p = sub.add_parser("estimate", help="how much better a run is than the base model, and what more "
                       "labels would add (runs after train; again here if it was stopped)")
    p.add_argument("project")
    p.add_argument("run", type=int, nargs="?", help="default: the latest run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_estimate)


def add_resume(sub: Any) -> None:
    p = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    p.add_argument("project")
    p.add_argument("run", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_resume)
