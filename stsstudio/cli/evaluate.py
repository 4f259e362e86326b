"""Evaluate: Spearman and Pearson of a model on a split or a file, and its worst pairs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from stsstudio.cli.common import (
    _add_import_options,
    _model_ref,
    _open_project,
    _print_json,
)
from stsstudio.core.errors import UserError


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
