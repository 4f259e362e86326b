"""Project commands: new, info, import, import-sentences, split, assign-dev, backup, delete-run."""

from __future__ import annotations

import argparse
from typing import Any

from stsstudio.cli.common import (
    SPLIT_CHOICES,
    _add_import_options,
    _import_options,
    _open_project,
    _print_json,
    _quote,
)
from stsstudio.core.errors import UserError
from stsstudio.core.formats import format_names, labels_list
from stsstudio.core.guidelines import TEMPLATE_NAMES, TEMPLATES


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
                 "best_dev_spearman": r.best_dev_spearman} for r in project.runs.all()]
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
        counts = project.counts.get()
        if counts.labeled("none") and not counts.labeled("train"):
            raise UserError(f"{exc}. Move them to train first: stsstudio split "
                            f"{_quote(args.project)} --to train --from none") from None
        raise


def _cmd_backup(args: argparse.Namespace) -> int:
    with _open_project(args.project, readonly=True) as project:  # no lock: safe while the app runs
        out = project.backup_to(args.file, force=args.force)
        name = project.name
    print(f"Backed up {name} to {out}")
    return 0


def _cmd_delete_run(args: argparse.Namespace) -> int:
    with _open_project(args.project) as project:
        freed = project.runs.delete(int(args.run))
    print(f"Deleted run {args.run} ({freed / 1e6:.1f} MB freed).")
    return 0


# ----------------------------------------------------------------------------------------
# parsers


def add_new(sub: Any) -> None:
    p = sub.add_parser("new", help="create a project")
    p.add_argument("project", help="folder of the new project (new or empty)")
    p.add_argument("--name", help="display name (default: the folder name)")
    p.add_argument("--base-model", help="default base model: a local folder or a Hub id")
    p.add_argument("--guidelines", choices=TEMPLATE_NAMES,
                   help="starting guidelines: " + "; ".join(f"{t.name}: {t.label}" for t in TEMPLATES)
                   + " (default sts)")
    p.set_defaults(func=_cmd_new)


def add_import(sub: Any) -> None:
    p = sub.add_parser("import", help="import sentence pairs from a file or a Hugging Face dataset")
    p.add_argument("project")
    p.add_argument("source", help=f"{labels_list('pairs')} file, dataset folder, or Hub dataset id")
    _add_import_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_import)


def add_import_sentences(sub: Any) -> None:
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


def add_info(sub: Any) -> None:
    p = sub.add_parser("info", help="show a project's counts")
    p.add_argument("project")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)


def add_assign_dev(sub: Any) -> None:
    p = sub.add_parser("assign-dev", help="move a seeded share of labeled train pairs to dev")
    p.add_argument("project")
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=_cmd_assign_dev)


def add_backup(sub: Any) -> None:
    p = sub.add_parser("backup", help="copy the project's database, with every label, to one file "
                       "(safe while the app has the project open)")
    p.add_argument("project")
    p.add_argument("file", help="the backup file, e.g. labels-2024-05-01.stsproj")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=_cmd_backup)


def add_split(sub: Any) -> None:
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


def add_delete_run(sub: Any) -> None:
    p = sub.add_parser("delete-run", help="delete a run and its model folder")
    p.add_argument("project")
    p.add_argument("run", type=int)
    p.set_defaults(func=_cmd_delete_run)
