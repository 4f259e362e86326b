"""The headless ``stsstudio`` commands. Everything the GUI does, these do too.

Conventions: exit 0 on success, 2 on a user error (one line on stderr, no traceback),
``--help`` on every command, ``--json`` for machine-readable output where it makes sense.
Heavy modules (torch, sentence-transformers) are imported inside the commands that need them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from stsstudio import __version__
from stsstudio.core.data_export import LABEL_LAYOUTS
from stsstudio.core.errors import UserError
from stsstudio.core.export_formats import EXPORT_FORMATS
from stsstudio.core.export_formats import FORMAT_NAMES as EXPORT_FORMAT_NAMES
from stsstudio.core.formats import format_names, labels_list, suffix_list
from stsstudio.core.guidelines import TEMPLATE_NAMES, TEMPLATES
from stsstudio.core.label_queue import QUEUE_ORDERS
from stsstudio.core.losses import LOSS_NAMES
from stsstudio.core.scales import SCALES, format_delta, format_score, scale_text

FORMATS = (*format_names("pairs"), "hf")  # file formats (core/formats.py) and datasets
SPLIT_CHOICES = ("train", "dev", "test", "none")
VIEWS = ("welcome", "pairs", "label", "train", "try", "export", "agreement")


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))


def _open_project(path: str, *, readonly: bool = False):
    from stsstudio.core.store import Project

    return Project.open(path, readonly=readonly)


# ----------------------------------------------------------------------------------------
# project commands


def _cmd_new(args: argparse.Namespace) -> int:
    from stsstudio.core.guidelines import DEFAULT_TEMPLATE, template_text
    from stsstudio.core.store import Project

    guidelines = template_text(args.guidelines or DEFAULT_TEMPLATE)
    with Project.create(args.project, name=args.name, base_model=args.base_model,
                        guidelines=guidelines) as project:
        print(f"Created project {project.name!r} in {project.path}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    with _open_project(args.project, readonly=True) as project:
        stats = project.stats()
        runs = [{"id": r.id, "status": r.status, "loss": r.loss, "steps": r.steps,
                 "best_dev_spearman": r.best_dev_spearman} for r in project.runs()]
    if args.json:
        _print_json({**stats, "run_list": runs})
        return 0
    print(f"Project   {stats['name']}  ({stats['path']})")
    print(f"Base model {stats['base_model']}")
    print(f"Pairs     {stats['pairs']:,}  labeled {stats['labeled']:,}  "
          f"unlabeled {stats['unlabeled']:,}  flagged {stats['flagged']:,}")
    for split in SPLIT_CHOICES:
        n = stats["splits"][split]
        if n:
            print(f"  {split:<6} {n:>8,} pairs, {stats['labeled_splits'][split]:,} labeled")
    if stats.get("sentences"):
        print(f"Sentences {stats['sentences']:,} in the pool (stsstudio suggest-pairs makes pairs from them)")
    print(f"Runs      {stats['runs']}")
    for r in runs:
        rho = "-" if r["best_dev_spearman"] is None else f"{r['best_dev_spearman']:.4f}"
        print(f"  run {r['id']:<4} {r['status']:<11} {r['loss']:<8} {r['steps'] or 0:>6} steps  "
              f"dev Spearman {rho}")
    return 0


def _add_import_options(p: argparse.ArgumentParser, *, with_split: bool = True) -> None:
    p.add_argument("--format", choices=FORMATS, help="source format (default: from the extension)")
    p.add_argument("--sentence1", metavar="COL", help="column of the first sentence (name or 0-based index)")
    p.add_argument("--sentence2", metavar="COL", help="column of the second sentence")
    p.add_argument("--score", metavar="COL", help="column of the similarity score")
    p.add_argument("--no-header", action="store_true", help="the file has no header row")
    p.add_argument("--scale", choices=SCALES, default="auto", help="score scale (default: detect)")
    if with_split:
        p.add_argument("--split", choices=SPLIT_CHOICES, default=None,
                       help="split of the imported pairs when the file has no split column "
                            "(default: train with a seeded 10%% dev holdout, as in the import window)")
        p.add_argument("--dev-fraction", type=float, default=None, metavar="F",
                       help="without a split column, hold out this seeded share of the labeled pairs "
                            "as dev (default 0.1 when --split is not given, else 0)")
        p.add_argument("--annotator-column", metavar="COL",
                       help="column naming who gave each row's label (default: a column named "
                            "annotator, rater, labeler, coder, ...; '' for none)")
    p.add_argument("--hf-config", metavar="NAME", help="Hugging Face dataset config")
    p.add_argument("--hf-split", metavar="NAME", help="Hugging Face dataset split (default: train)")


def _dev_fraction(args: argparse.Namespace) -> float | None:
    """--dev-fraction, else the import window's default (None) unless --split was named."""
    if getattr(args, "dev_fraction", None) is not None:
        return args.dev_fraction
    return None if getattr(args, "split", None) is None and hasattr(args, "split") else 0.0


def _import_options(args: argparse.Namespace):
    """ImportOptions from the shared import flags (also used by `evaluate --data`)."""
    from stsstudio.core.importers import DEFAULT_SPLIT, ImportOptions

    return ImportOptions(
        format=args.format, sentence1=args.sentence1, sentence2=args.sentence2, score=args.score,
        has_header=False if args.no_header else None, scale=args.scale,
        split=getattr(args, "split", None) or DEFAULT_SPLIT, hf_config=args.hf_config,
        hf_split=args.hf_split, dev_fraction=_dev_fraction(args),
        annotator_column=getattr(args, "annotator_column", None))


def _cmd_import(args: argparse.Namespace) -> int:
    from stsstudio.core.importers import import_pairs

    options = _import_options(args)
    with _open_project(args.project) as project:
        try:
            report = import_pairs(project, args.source, options)
        except UserError as exc:
            _hint_sentence_list(args.source, options, exc)
            raise
        name = project.name
    if args.json:
        _print_json(report.as_dict())
        return 0
    cols = report.columns
    print(f"Imported {report.imported:,} of {report.rows:,} rows from {args.source} into {name!r}")
    print(f"  columns   sentence1={cols.get('sentence1')!r} sentence2={cols.get('sentence2')!r} "
          f"score={cols.get('score')!r}" + (f" split={cols['split']!r}" if cols.get("split") else "")
          + (f" annotator={cols['annotator']!r}" if cols.get("annotator") else ""))
    if cols.get("annotator"):
        from stsstudio.core.importers import raters_note

        print(f"  raters    {raters_note(report.annotators)}; {report.labels:,} labels on the new pairs"
              + (f", {report.labels_on_existing:,} on pairs already in the project"
                 if report.labels_on_existing else ""))
    if report.metadata_columns:
        print("  kept      " + ", ".join(report.metadata_columns) + " (other columns, per pair; "
              "export-data writes them back)")
    how = {"chosen": "chosen", "header": "from the column name", "data": "detected"}
    print(f"  scores    scale {report.scale} ({how.get(report.scale_source, 'no scores')}) -> 0-1; "
          f"{report.labeled:,} labeled, {report.unlabeled:,} unlabeled")
    if report.scale_ambiguous:
        print(f"  scale?    a guess: {report.scale_note}. If it is wrong, import into a new project "
              "with --scale")
    print(f"  dropped   {report.duplicates:,} duplicates ({report.duplicates_in_file:,} within the file, "
          f"{report.duplicates_in_project:,} already in the project); "
          f"{report.conflicting_duplicates:,} of them had a different score")
    if report.splits:
        print("  splits    " + ", ".join(f"{k} {v:,}" for k, v in report.splits.items())
              + (f" ({report.held_out:,} labeled pairs held out as dev, seeded)"
                 if report.held_out else ""))
    if report.leakage or report.leakage_sentences:
        print(f"  leakage   {report.leakage:,} pairs and {report.leakage_sentences:,} sentences "
              "appear in both train and dev/test")
    for warning in report.warnings:
        print(f"  warning   {warning}")
    wanted = args.split or "train"
    others = [k for k in report.existing_splits if k != wanted]
    if others and not cols.get("split"):
        print(f"  hint      to move the project's pairs from {others[0]} to {wanted}: stsstudio split "
              f"{_quote(args.project)} --to {wanted} --from {others[0]}")
    return 0


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(str(text))


def _hint_sentence_list(source: str, options: Any, exc: UserError) -> None:
    """A pair import failed: if the file is a list of sentences, say which command takes it."""
    from stsstudio.core.importers import ImportDataError, read_table
    from stsstudio.core.sentences import single_text_column

    if not isinstance(exc, ImportDataError) or options.sentence2 is not None:
        return
    try:
        column = single_text_column(read_table(source, options))
    except UserError:
        return
    if column is not None:
        raise UserError(f"{exc} It has one text column ({column!r}): it looks like a list of "
                        f"sentences. Add them to the pool with: stsstudio import-sentences PROJECT "
                        f"{source}, then stsstudio suggest-pairs PROJECT.") from None


def _cmd_import_sentences(args: argparse.Namespace) -> int:
    from stsstudio.core.sentences import SentenceImportOptions, import_sentences

    options = SentenceImportOptions(
        format=args.format, column=args.column, id_column=args.id_column,
        has_header=False if args.no_header else None, hf_config=args.hf_config,
        hf_split=args.hf_split)
    with _open_project(args.project) as project:
        report = import_sentences(project, args.source, options)
        name = project.name
    if args.json:
        _print_json(report.as_dict())
        return 0
    print(f"Added {report.imported:,} of {report.rows:,} sentences from {args.source} to the pool "
          f"of {name!r} (now {report.pool:,})")
    print(f"  columns   text={report.column!r} id={report.id_column!r}"
          + (f" metadata={report.metadata_columns}" if report.metadata_columns else ""))
    print(f"  dropped   {report.duplicates:,} duplicates ({report.duplicates_in_file:,} within the "
          f"file, {report.duplicates_in_pool:,} already in the pool)")
    for warning in report.warnings:
        print(f"  warning   {warning}")
    return 0


def _cmd_suggest_pairs(args: argparse.Namespace) -> int:
    from stsstudio.core.suggest import STRATUM_NAMES, SuggestOptions, suggest_pairs

    strata = tuple(s.strip() for s in args.strata.split(",") if s.strip())
    mix = None
    if args.mix:
        try:
            mix = {k.strip(): float(v) for k, v in (part.split("=") for part in args.mix.split(","))}
        except ValueError:
            raise UserError(f"--mix looks like near=0.4,mid=0.3,far=0.3, not {args.mix!r}") from None
    model = args.model
    if model.isdigit():
        model = f"run:{model}"
    options = SuggestOptions(pairs=args.pairs, strata=strata or STRATUM_NAMES, mix=mix, model=model,
                             seed=args.seed, dev_fraction=args.dev_fraction, search=args.search,
                             device=args.device)
    with _open_project(args.project) as project:
        result = suggest_pairs(project, options, commit=not args.dry_run)
    if args.json:
        _print_json(result.as_dict(with_pairs=args.dry_run))
        return 0
    verb = "Would add" if args.dry_run else "Added"
    print(f"{verb} {len(result.pairs):,} suggested pairs from {result.pool:,} pooled sentences "
          f"({result.search} search, model {result.model})")
    for name, n in result.planned.items():
        print(f"  {name:<5} planned {n:>6,}  made {result.made.get(name, 0):>6,}")
    print("  splits    " + ", ".join(f"{k} {v:,}" for k, v in result.splits.items()))
    print(f"  time      embed {result.seconds_embed:.1f} s, search {result.seconds_search:.1f} s")
    for warning in result.warnings:
        print(f"  warning   {warning}")
    return 0


def _cmd_export_data(args: argparse.Namespace) -> int:
    from stsstudio.core.data_export import export_pairs

    with _open_project(args.project, readonly=True) as project:
        written = export_pairs(project, args.out, split=args.split, labeled_only=args.labeled_only,
                               force=args.force, annotator=args.annotator, assignment=args.assignment,
                               labels=args.labels)
    what = "rows (one per pair and annotator)" if args.labels == "long" else "pairs"
    print(f"Wrote {written:,} {what} to {args.out}")
    return 0


def _cmd_merge_labels(args: argparse.Namespace) -> int:
    from stsstudio.core.merge import merge_labels

    with _open_project(args.project) as project:
        report = merge_labels(project, args.source, annotator=args.annotator, scale=args.scale,
                              on_conflict=args.on_conflict, dry_run=args.dry_run,
                              annotator_column=args.annotator_column)
        shown = project.display_scale()
    if args.json:
        _print_json(report.as_dict())
        return 0
    verb = "Would write" if args.dry_run else "Wrote"
    print(f"{verb} {report.written:,} labels from {args.source} "
          f"({', '.join(report.annotators) or 'no annotators'})")
    print(f"  matched {report.matched:,} (unchanged {report.unchanged:,}), new {report.new:,} "
          f"on {report.new_pairs:,} new pairs, conflicting {report.conflicting:,} "
          f"({report.on_conflict}), skipped {report.skipped:,}")
    if report.joined:
        print(f"  spellings of one annotator joined: {', '.join(report.joined)}")
    if report.adjudicated or report.adjudicated_left_out:
        print(f"  adjudicated values: {report.adjudicated:,} brought, {report.adjudicated_left_out:,} "
              "left out (this project settled those pairs differently)")
    for c in report.conflicts[:10]:
        print(f"  conflict  pair {c['pair_id']} {c['annotator']}: project "
              f"{format_score(c['project'], shown)}, source {format_score(c['source'], shown)}")
    return 0


def _cmd_agreement(args: argparse.Namespace) -> int:
    from stsstudio.core.agreement import agreement_report

    with _open_project(args.project, readonly=True) as project:
        report = agreement_report(project, split=args.split, n_boot=args.bootstrap, seed=args.seed)
        shown = project.display_scale()
    if args.json:
        _print_json(report)
        return 0

    def ci(pair: Any) -> str:
        return "" if not pair or pair[0] is None else f" [{pair[0]:.3f}, {pair[1]:.3f}]"

    def num(x: Any) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    print(f"Annotators {', '.join(report['annotators']) or 'none'}; "
          f"{report['pairs_with_multiple_labels']:,} pairs with two or more labels")
    print(f"  alpha (interval)  {num(report['alpha'])}{ci(report['alpha_ci'])}")
    # A difference on the project's scale (by its span), one decimal more than a label.
    low, high = report["mean_abs_diff_ci"] or (None, None)
    mad = format_delta(report["mean_abs_diff"], shown, more=1, empty="n/a")
    mad_ci = "" if low is None else \
        f" [{format_delta(low, shown, more=1)}, {format_delta(high, shown, more=1)}]"
    print(f"  mean |a - b|      {mad}{mad_ci} (on {scale_text(shown)})")
    for p in report["pairwise_spearman"]:
        print(f"  Spearman {p['a']} vs {p['b']}: {num(p['spearman'])}{ci(p['ci'])} on {p['pairs']} pairs")
    return 0


def _cmd_label_target(args: argparse.Namespace) -> int:
    with _open_project(args.project, readonly=args.how is None) as project:
        if args.how is None:
            print(project.label_aggregate)
            return 0
        changed = project.set_label_aggregate(args.how)
    print(f"Pairs with several annotators now train on the {args.how} of their labels "
          f"({changed:,} targets changed; adjudicated values still win).")
    return 0


def _cmd_assign_overlap(args: argparse.Namespace) -> int:
    with _open_project(args.project) as project:
        spell = project.annotator_spellings(args.annotators)
        summary = project.assign_overlap(args.annotators, args.overlap / 100, seed=args.seed,
                                         unlabeled_only=not args.all_pairs)
    if args.json:
        _print_json(summary)
        return 0
    for name, n in summary.items():
        print(f"{name}: {n['share']:,} pairs of their own + {n['overlap']:,} shared")
    joined = [f"{a!r} as {b!r}" for a, b in spell.items() if a != b]
    if joined:
        print(f"Spellings of one annotator joined: {', '.join(joined)}")
    return 0


def _cmd_assign_dev(args: argparse.Namespace) -> int:
    from stsstudio.core.splits import move_pairs

    with _open_project(args.project) as project:
        move = _moving(args, project, lambda: move_pairs(project, "dev", from_split="train",
                                                         fraction=args.fraction, seed=args.seed))
    print(f"Moved {move.moved:,} of {move.candidates:,} labeled train pairs to dev (seed {args.seed}).")
    return 0


def _cmd_split(args: argparse.Namespace) -> int:
    from stsstudio.core.splits import move_pairs

    labeled_only = True if args.labeled_only else (False if args.all_pairs else None)
    with _open_project(args.project) as project:
        move = _moving(args, project, lambda: move_pairs(
            project, args.to, from_split=args.from_split, fraction=args.fraction, seed=args.seed,
            labeled_only=labeled_only))
    if args.json:
        _print_json(move.as_dict())
        return 0
    what = "labeled pairs" if move.labeled_only else "pairs"
    share = "" if move.fraction >= 1 else f", a seeded {move.fraction:g} share (seed {move.seed})"
    print(f"Moved {move.moved:,} of {move.candidates:,} {what} from {move.from_split} to {move.to}{share}.")
    return 0


def _moving(args: argparse.Namespace, project: Any, move: Any) -> Any:
    """Run a split move; where nothing moved because the labels sit in `none`, say the command."""
    from stsstudio.core.splits import NothingToMove

    try:
        return move()
    except NothingToMove as exc:
        counts = project.counts()
        if counts.labeled("none") and not counts.labeled("train"):
            raise UserError(f"{exc}. Move them to train first: stsstudio split "
                            f"{_quote(args.project)} --to train --from none") from None
        raise


# ----------------------------------------------------------------------------------------
# model commands (training engine)


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


def _cmd_backup(args: argparse.Namespace) -> int:
    with _open_project(args.project, readonly=True) as project:  # no lock: safe while the app runs
        out = project.backup_to(args.file, force=args.force)
        name = project.name
    print(f"Backed up {name} to {out}")
    return 0


def _cmd_delete_run(args: argparse.Namespace) -> int:
    with _open_project(args.project) as project:
        freed = project.delete_run(int(args.run))
    print(f"Deleted run {args.run} ({freed / 1e6:.1f} MB freed).")
    return 0


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
            if not reporter.plan.can_start and project.counts().labeled("none"):
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
        run_id = args.run if args.run is not None else (project.runs()[-1].id if project.runs() else None)
        if run_id is None:
            raise UserError(f"{args.project} has no run to estimate.")

        class Lines:
            def status(self, message: str) -> None:
                print(message, file=sys.stderr, flush=True)

            def is_cancelled(self) -> bool:
                return False

        entry = estimate(project, int(run_id), Lines())
        summary = project.run(int(run_id)).summary or {}
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


class _PredictProgress:
    """``predict_pairs``' task on the CLI: a percentage on stderr when it changes."""

    def __init__(self, why: str = "") -> None:
        self.shown = -1
        self.why = why   # e.g. " for 'Most informative first'": the status line says what for

    def progress(self, done: int, total: int) -> None:
        pct = int(100 * done / total) if total else 100
        if pct != self.shown and sys.stderr.isatty():
            self.shown = pct
            _raw_write(sys.stderr, f"\rScoring pairs: {pct:3d}%")
            sys.stderr.flush()

    def status(self, text: str) -> None:
        print(text.removesuffix("…") + self.why + ("…" if self.why else ""), file=sys.stderr, flush=True)

    def is_cancelled(self) -> bool:
        return False


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


def _cmd_queue(args: argparse.Namespace) -> int:
    from stsstudio.core.label_queue import next_pairs, queue_order, why_empty

    if args.limit < 1:
        raise UserError(f"--limit must be at least 1, not {args.limit}.")
    _score_for_order(args.project, args.order)
    with _open_project(args.project, readonly=True) as project:
        choices = next_pairs(project, args.order, limit=args.limit, split=args.split,
                             annotator=args.annotator or "")
        pairs = project.pair_text_by_ids([c.pair_id for c in choices])
        why = None if choices else why_empty(project, args.order, split=args.split,
                                              annotator=args.annotator or "")
    if why is not None:   # an order with nothing to give says why, and which order has pairs
        print(f"{why.message} Try --order {why.switch_to}.", file=sys.stderr)
    if args.json:
        _print_json({"order": args.order, "label": queue_order(args.order).label,
                     "pairs": [{**c.as_dict(), "sentence1": pairs[c.pair_id][0],
                                "sentence2": pairs[c.pair_id][1]} for c in choices]})
        return 0
    for c in choices:
        print(f"{c.pair_id}\t{c.reason}")
    return 0


def _score_for_order(path: str, order: str) -> None:
    """A model order's missing scores, computed before the queue is read (one progress line)."""
    from stsstudio.core.label_queue import compute_missing_scores, order_plan, queue_order
    from stsstudio.core.store import ProjectLockedError

    with _open_project(path, readonly=True) as project:
        plan = order_plan(project, order)
    if not plan.missing:
        return
    try:
        with _open_project(path) as project:
            progress = _PredictProgress(f" for {queue_order(order).label!r}")
            compute_missing_scores(project, order, task=progress)
            if progress.shown >= 0:
                sys.stderr.write("\n")
    except ProjectLockedError:
        if not plan.ready:   # the app holding the project scores it: nothing to rank by yet
            raise
        print(f"Note: the project is open elsewhere, so {plan.missing_names} could not score the "
              "newest pairs; they are left out.", file=sys.stderr)


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


def _model_ref(args: argparse.Namespace, project: Any = None) -> str:
    """The model a project command uses: --base, --run ID, or (default) the best run."""
    if getattr(args, "base", False):
        return "base"
    if getattr(args, "run", None) is not None:
        return f"run:{args.run}"
    if project is not None and project.best_run() is None:
        from stsstudio.core.inference import no_best_run_message

        raise UserError(no_best_run_message(project, cli=True))
    return "best"


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


def _cmd_export(args: argparse.Namespace) -> int:
    from stsstudio.core.export_formats import get_format
    from stsstudio.core.export_verify import export_and_verify

    fmt = get_format(args.format)
    fmt.require()  # a missing extra: exit 2 with the pip line before opening anything
    with _open_project(args.project, readonly=True) as project:
        run = project.run(args.run) if args.run is not None else project.best_run()
        if args.run is None and run is None and any(r.model_dir for r in project.runs()):
            from stsstudio.core.inference import no_best_run_message

            raise UserError(no_best_run_message(project, cli=True, export=True))
        if run is not None:
            from stsstudio.core.advice import describe_export, run_advice

            text, warn = describe_export(run)
            if warn:
                print(f"Warning: {text} {run_advice(run)}", file=sys.stderr)
        check = export_and_verify(project, args.out, args.run, with_data=args.with_data, force=args.force,
                                  format=fmt.name, dims=args.dims)
    out = check.path
    print(check.describe(), file=sys.stderr)   # the same check the Export view shows
    if check.same is False:
        raise UserError(f"The export in {out} does not score the sample pair as the run does.")
    if fmt.name == "torch" and not args.dims:
        print(f"Exported run {run.id if run else args.run} to {out}")
    else:
        print(f"Exported run {run.id if run else args.run} as {fmt.label} to {out}")
        if fmt.backend == "torch":
            print(f"Load it with: {fmt.load_call(str(out), args.dims)}")
        else:
            print(f"{fmt.load_hint(str(out), args.dims)} Try it: stsstudio similarity --model {out} "
                  f"--format {fmt.name} S1 S2")
    return 0


def _cmd_compare_exports(args: argparse.Namespace) -> int:
    from stsstudio.core.export_compare import compare_exports
    from stsstudio.core.export_formats import format_size

    with _open_project(args.project, readonly=True) as project:
        result = compare_exports(project, args.run, formats=args.format or None)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    print(f"Run {result.run_id}: {result.dev_pairs} dev pairs; throughput over "
          f"{result.throughput_sentences} of the project's sentences")
    for r in result.rows:
        name = r.key
        if not r.available:
            print(f"  {name:<18} unavailable: {r.reason}")
            continue
        print(f"  {name:<18} Spearman {r.spearman:.4f}  change {r.delta:+.4f} "
              f"({r.delta_ci[0]:+.4f} to {r.delta_ci[1]:+.4f})  {r.sentences_per_s:8,.0f} sentences/s  "
              f"{format_size(r.size_bytes):>9}")
    return 0


def _cmd_similarity(args: argparse.Namespace) -> int:
    from stsstudio.core.inference import similarity

    if args.model:
        if args.run is not None or args.base:
            raise UserError("use either --model or a PROJECT with --run/--base, not both")
        if len(args.args) != 2:
            raise UserError("with --model give exactly two sentences: S1 S2")
        score = similarity(args.model, args.args[0], args.args[1], device=args.device, format=args.format)
    else:
        if len(args.args) != 3:
            raise UserError("give PROJECT S1 S2, or --model DIR S1 S2")
        with _open_project(args.args[0], readonly=True) as project:
            ref = _model_ref(args, project) if not (args.calibrated and project.best_run() is None) \
                else "base"
            score = similarity(ref, args.args[1], args.args[2], project=project, device=args.device,
                               format=args.format)
            if args.calibrated:
                print(_calibrated_line(project, ref, score))
                return 0
    if args.calibrated:
        raise UserError("--calibrated needs a PROJECT: the calibration is stored with its runs")
    print(f"{score:.4f}")
    return 0


def _calibrated_line(project: Any, ref: str, score: float) -> str:
    """``3.9 of 5: mostly equivalent (cosine 0.7861)``, from the run's stored calibration."""
    import shlex

    from stsstudio.core.calibration import project_guess
    from stsstudio.core.predictions import prediction_target

    run_id, _ = prediction_target(project, ref)
    guess = project_guess(project, run_id, score)
    if not guess.calibrated:
        raise UserError(f"{'The base model' if run_id == 0 else f'Run {run_id}'} has no calibration "
                        f"yet; run `stsstudio predict {shlex.quote(str(project.path))} --model "
                        f"{'base' if run_id == 0 else f'run:{run_id}'}` (it needs 5 labeled pairs).")
    caveat = guess.caveat()
    return (f"{guess.describe(project.display_scale())} (cosine {score:.4f})"
            + (f"; {caveat}" if caveat else ""))


_VARIANT_HELP = ("run this export variant of the model folder (written by `export --format`) with "
                 "onnxruntime or OpenVINO instead of torch (default: torch)")


def _cmd_search(args: argparse.Namespace) -> int:
    from stsstudio.core.inference import search

    if args.run is not None and args.base:
        raise UserError("use either --run or --base, not both")
    if args.model and (args.run is not None or args.base):
        raise UserError("use either --model or --run/--base, not both")
    with _open_project(args.project, readonly=True) as project:
        hits = search(project, args.model or _model_ref(args, project), args.query, top_k=args.top_k,
                      device=args.device, format=args.format)
    if args.json:
        _print_json([hit.as_dict() for hit in hits])
        return 0
    if not hits:
        print("The project has no sentences to search.")
    for hit in hits:
        ids = ", ".join(str(i) for i in hit.pair_ids[:5]) + (" ..." if len(hit.pair_ids) > 5 else "")
        print(f"{hit.score:.4f}  {hit.sentence}  [pairs {ids}]")
    return 0


def _cmd_devices(args: argparse.Namespace) -> int:
    from stsstudio.core.devices import list_devices

    devices = list_devices()
    if args.json:
        _print_json([d.as_dict() for d in devices])
    else:
        for d in devices:
            print(f"{d.id:<8} {d.label}")
    return 0


# ----------------------------------------------------------------------------------------
# GUI-facing commands


def _cmd_screenshot(args: argparse.Namespace) -> int:
    from stsstudio.gui.screenshot import screenshot

    return screenshot(args.project, args.out, view=args.view, size=args.size)


def _cmd_demo(args: argparse.Namespace) -> int:
    from stsstudio.app import run_gui

    return run_gui(demo=True, demo_fresh=args.fresh, first_paint=args.first_paint)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x800, not {text!r}") from None
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise argparse.ArgumentTypeError("size must be between 200x200 and 8000x8000")
    return w, h


# ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stsstudio",
        description="STS Studio: label sentence-pair similarity and fine-tune embedding models.\n"
                    "Run without a command to open the desktop app.",
        epilog="desktop menu entry (Linux, after a pip install):\n"
               "  stsstudio --install-desktop-entry      add STS Studio to the applications menu\n"
               "  stsstudio --uninstall-desktop-entry    remove it again",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("new", help="create a project")
    p.add_argument("project", help="folder of the new project (new or empty)")
    p.add_argument("--name", help="display name (default: the folder name)")
    p.add_argument("--base-model", help="default base model: a local folder or a Hub id")
    p.add_argument("--guidelines", choices=TEMPLATE_NAMES,
                   help="starting guidelines: " + "; ".join(f"{t.name}: {t.label}" for t in TEMPLATES)
                   + " (default sts)")
    p.set_defaults(func=_cmd_new)

    p = sub.add_parser("import", help="import sentence pairs from a file or a Hugging Face dataset")
    p.add_argument("project")
    p.add_argument("source", help=f"{labels_list('pairs')} file, dataset folder, or Hub dataset id")
    _add_import_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("import-sentences",
                       help="add single sentences (one text column) to the project's sentence pool")
    p.add_argument("project")
    p.add_argument("source", help=f"{labels_list('sentences')} file or a dataset folder")
    p.add_argument("--format", choices=(*format_names("sentences"), "hf"),
                   help="source format (default: detect)")
    p.add_argument("--column", metavar="COL", help="the text column (name or 0-based index)")
    p.add_argument("--id-column", metavar="COL", help="a column of ids kept with each sentence")
    p.add_argument("--no-header", action="store_true", help="the file has no header row")
    p.add_argument("--hf-config", metavar="NAME")
    p.add_argument("--hf-split", metavar="NAME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_import_sentences)

    p = sub.add_parser("suggest-pairs",
                       help="make unlabeled pairs from the sentence pool, spread over the similarity range")
    p.add_argument("project")
    p.add_argument("--pairs", type=int, default=500, help="how many pairs (default 500)")
    p.add_argument("--strata", default="near,mid,far",
                   help="strata to use: near (cosine >= 0.70), mid (0.40-0.70), far (< 0.40)")
    p.add_argument("--mix", metavar="W", help="weights, e.g. near=0.5,mid=0.3,far=0.2 "
                   "(default 0.4/0.3/0.3)")
    p.add_argument("--model", default="base", help="base, best, a run number, or run:<id>")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dev-fraction", type=float, default=0.1,
                   help="share of new pooled sentences assigned to dev (default 0.1)")
    p.add_argument("--search", choices=("auto", "exact", "index"), default="auto")
    p.add_argument("--device", default="auto")
    p.add_argument("--dry-run", action="store_true", help="show what would be made; write nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_suggest_pairs)

    p = sub.add_parser("info", help="show a project's counts")
    p.add_argument("project")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("export-data", help="write the project's pairs to a file")
    p.add_argument("project")
    p.add_argument("out", help=f"output file ending in {suffix_list('export')}")
    p.add_argument("--split", choices=SPLIT_CHOICES)
    p.add_argument("--labeled-only", action="store_true")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.add_argument("--annotator", metavar="NAME", help="with --assignment: whose labelling pack")
    p.add_argument("--assignment", action="store_true",
                   help="write the pairs assigned to --annotator (a labelling pack for merge-labels)")
    p.add_argument("--labels", choices=LABEL_LAYOUTS, default="wide",
                   help="who labelled what: wide (default) adds a label_<name> column per annotator "
                        "when there are several; long writes one row per pair and annotator")
    p.set_defaults(func=_cmd_export_data)

    p = sub.add_parser("merge-labels", help="merge another annotator's labels (project or file)")
    p.add_argument("project")
    p.add_argument("source", help=f"another project folder, or a {labels_list('pairs')} file with "
                                  "sentence1, sentence2, score and optionally annotator (or rater)")
    p.add_argument("--annotator", metavar="NAME", help="annotator of rows that name none")
    p.add_argument("--annotator-column", metavar="COL",
                   help="column naming each row's annotator (default: one named annotator, rater, "
                        "labeler, coder, ...; as for import)")
    p.add_argument("--scale", choices=SCALES, default="auto", help="score scale (default: detect)")
    p.add_argument("--on-conflict", choices=("keep", "replace"), default="keep",
                   help="where the same annotator already has another label (default: keep)")
    p.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_merge_labels)

    p = sub.add_parser("agreement", help="how much the annotators agree (alpha, Spearman)")
    p.add_argument("project")
    p.add_argument("--split", choices=SPLIT_CHOICES, help="only this split (default: all, and per split)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the 95%% intervals (default 1000; 0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_agreement)

    p = sub.add_parser("label-target", help="mean or median of several annotators' labels")
    p.add_argument("project")
    p.add_argument("how", nargs="?", choices=("mean", "median"), help="omit to show the current one")
    p.set_defaults(func=_cmd_label_target)

    p = sub.add_parser("assign-overlap", help="share the pairs among annotators, with a seeded "
                                              "overlap everyone labels")
    p.add_argument("project")
    p.add_argument("annotators", nargs="+", metavar="NAME")
    p.add_argument("--overlap", type=float, default=20.0, metavar="PERCENT",
                   help="percentage of pairs every annotator labels (default 20)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--all-pairs", action="store_true", help="assign labeled pairs too")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_assign_overlap)

    p = sub.add_parser("assign-dev", help="move a seeded share of labeled train pairs to dev")
    p.add_argument("project")
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=_cmd_assign_dev)

    p = sub.add_parser("backup", help="copy the project's database, with every label, to one file "
                       "(safe while the app has the project open)")
    p.add_argument("project")
    p.add_argument("file", help="the backup file, e.g. labels-2024-05-01.stsproj")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=_cmd_backup)

    p = sub.add_parser("split", help="move pairs between splits (all, or a seeded share)")
    p.add_argument("project")
    p.add_argument("--to", required=True, choices=SPLIT_CHOICES, help="the split to move pairs to")
    p.add_argument("--from", dest="from_split", choices=SPLIT_CHOICES,
                   help="the split to take them from (default: train for dev and test, else none)")
    p.add_argument("--fraction", type=float, default=1.0, metavar="F",
                   help="a seeded share to move, 0 < F <= 1 (default 1: all)")
    p.add_argument("--seed", type=int, default=42)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--labeled-only", action="store_true",
                       help="move labeled pairs only (the default for dev and test)")
    which.add_argument("--all-pairs", action="store_true", help="move unlabeled pairs too")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_split)

    p = sub.add_parser("delete-run", help="delete a run and its model folder")
    p.add_argument("project")
    p.add_argument("run", type=int)
    p.set_defaults(func=_cmd_delete_run)

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

    p = sub.add_parser("predict", help="score every pair with a model and store the scores "
                       "(the queue orders and the model's guesses read them)")
    p.add_argument("project")
    p.add_argument("--model", default="best", help="base, best (default; base while no run is "
                   "trained), run:N, or next (what the app would score next, if anything)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("queue", help="the next pairs to label in a queue order, and why (a model "
                       "order scores the pairs first when no scores exist yet)")
    p.add_argument("project")
    p.add_argument("--order", choices=[o.name for o in QUEUE_ORDERS], default="file",
                   help="; ".join(f"{o.name}: {o.label}" for o in QUEUE_ORDERS))
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--split", choices=("train", "dev", "test", "none"))
    p.add_argument("--annotator", help="whose assignment the 'assigned' order follows")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_queue)

    p = sub.add_parser("estimate", help="how much better a run is than the base model, and what more "
                       "labels would add (runs after train; again here if it was stopped)")
    p.add_argument("project")
    p.add_argument("run", type=int, nargs="?", help="default: the latest run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_estimate)

    p = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    p.add_argument("project")
    p.add_argument("run", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_resume)

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

    p = sub.add_parser("export", help="write a run's model to a folder SentenceTransformer loads")
    p.add_argument("project")
    p.add_argument("out")
    p.add_argument("--run", type=int, help="default: the best run")
    p.add_argument("--with-data", action="store_true", help="also write the labeled pairs")
    p.add_argument("--force", action="store_true", help="replace a non-empty target folder")
    p.add_argument("--format", choices=EXPORT_FORMAT_NAMES, default="torch",
                   help="; ".join(f"{f.name}: {f.help}" for f in EXPORT_FORMATS.values()))
    p.add_argument("--dims", type=int, help="a smaller embedding size (Matryoshka runs); the "
                   "model card's load call sets truncate_dim")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("compare-exports", help="measure each export format of a run on the "
                       "project's data: dev Spearman, change vs torch, sentences/s, size")
    p.add_argument("project")
    p.add_argument("--run", type=int, help="default: the best run")
    p.add_argument("--format", action="append", choices=EXPORT_FORMAT_NAMES,
                   help="only these formats (repeat; default: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_compare_exports)

    p = sub.add_parser("similarity", help="cosine similarity of two sentences")
    p.add_argument("args", nargs="+", metavar="ARG", help="[PROJECT] S1 S2")
    p.add_argument("--model", help="a model folder instead of a project")
    p.add_argument("--run", type=int)
    p.add_argument("--base", action="store_true", help="use the project's base model")
    p.add_argument("--calibrated", action="store_true", help="the score on the project's scale "
                   "through the model's calibration (e.g. '3.9 of 5: mostly equivalent')")
    p.add_argument("--device", default="auto")
    p.add_argument("--format", choices=EXPORT_FORMAT_NAMES, default="torch", help=_VARIANT_HELP)
    p.set_defaults(func=_cmd_similarity)

    p = sub.add_parser("search", help="the project's sentences most similar to a query")
    p.add_argument("project")
    p.add_argument("query")
    p.add_argument("--run", type=int)
    p.add_argument("--base", action="store_true")
    p.add_argument("--model", help="an exported model folder instead of a run of the project")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--device", default="auto")
    p.add_argument("--format", choices=EXPORT_FORMAT_NAMES, default="torch", help=_VARIANT_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("devices", help="list the devices training can use")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_devices)

    p = sub.add_parser("screenshot", help="render a view of the app to a PNG, offscreen")
    p.add_argument("project", help="project folder, or 'demo'")
    p.add_argument("out", help="output .png")
    p.add_argument("--view", choices=VIEWS, default="pairs")
    p.add_argument("--size", type=_size, default=(1280, 800), metavar="WxH")
    p.set_defaults(func=_cmd_screenshot)

    p = sub.add_parser("demo", help="open the app on the demo project (built on first use)")
    p.add_argument("--fresh", action="store_true",
                   help="build the demo again, discarding its labels and runs")
    p.add_argument("--first-paint", action="store_true",
                   help="quit once the window has painted and say how long it took (a start-up check)")
    p.set_defaults(func=_cmd_demo)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    """The parser's own subcommands: the one list, so that no command is listed but unknown."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return tuple(action.choices)
    return ()


COMMANDS = _command_names(build_parser())


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status.

    Everything the command prints goes through :func:`terminal_safe`: a project, file or
    annotator name holding escape sequences cannot retitle or clear the user's terminal.
    """
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _TerminalSafeStream(out), _TerminalSafeStream(err)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = out, err


def terminal_safe(text: str, keep: str = "\n\t") -> str:
    """``text`` with control characters written as visible escapes (``\\x1b``, ``\\u202e``).

    Escapes C0 and C1 controls (ESC, BEL, CSI, carriage return, ...), DEL, the bidirectional
    overrides and the Unicode line separators; keeps the characters in ``keep``.
    """
    if text.isprintable() and not any(c in _BIDI for c in text):
        return text
    return "".join(c if c in keep or (c.isprintable() and c not in _BIDI) or c == " "
                   else c.encode("unicode_escape").decode("ascii") for c in text)


_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


class _TerminalSafeStream:
    """sys.stdout/stderr for a command: text is escaped by :func:`terminal_safe`; our own
    progress redraws (``raw_write``) keep their carriage return and erase-line sequence."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        # A carriage return stays: progress bars (ours, Hugging Face's) redraw their line with it.
        return self._stream.write(terminal_safe(text, keep="\n\t\r"))

    def raw_write(self, text: str) -> int:
        return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _raw_write(stream: Any, text: str) -> None:
    """Write our own terminal control (a progress bar's redraw) past the escaping."""
    getattr(stream, "raw_write", stream.write)(text)


def _main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from stsstudio.core.quiet import quiet_libraries

    quiet_libraries()   # the CLI prints its own progress line, never the libraries' bars
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        print(f"stsstudio: {one_line(unknown_command_message(argv[0]))}", file=sys.stderr)
        return 2
    if argv and argv[0] in _INTERMIXED:
        # `similarity PROJECT --run 2 S1 S2`: options may sit between positionals.
        sub = _subparser(parser, argv[0])
        args = sub.parse_intermixed_args(argv[1:])
        args.command = argv[0]
    else:
        args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"stsstudio {args.command}: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:   # `stsstudio info P | head`: the reader left; nothing to say
        return 0
    except OSError as exc:
        # The machine refused (full disk, no permission, read-only folder): not a bug in us.
        print(f"stsstudio {args.command}: {one_line(_os_error_text(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"stsstudio {args.command}: interrupted", file=sys.stderr)
        return 130


_INTERMIXED = ("similarity",)


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


def is_cli(argv: Sequence[str]) -> bool:
    """True unless the arguments ask for the desktop app: nothing, or an existing path.

    A first word that is neither a command nor an existing file or folder is a mistyped
    command (``stsstudio improt P``): the CLI answers it, rather than the app opening a
    project named after the word (and hanging where there is no display).
    """
    if not argv:
        return False
    first = argv[0]
    if first in COMMANDS or first.startswith("-"):
        return True
    try:
        return not os.path.lexists(first)
    except (OSError, ValueError):
        return True


def unknown_command_message(word: str) -> str:
    """'unknown command ...; did you mean ...?' for a first word that is no command."""
    import difflib

    close = difflib.get_close_matches(word, COMMANDS, n=2, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (f"unknown command {word!r}{hint} (`stsstudio --help` lists the commands; to open a "
            "project in the app, give the path of its folder)")


def one_line(text: str) -> str:
    """A message as one line: newlines and other control characters (from file names) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _os_error_text(exc: OSError) -> str:
    import errno

    why = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        why = "no space left on device (the disk is full); nothing was written"
    name = exc.filename if exc.filename is not None else None
    return f"{name}: {why}" if name else why


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

