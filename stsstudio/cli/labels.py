"""Label commands: suggest-pairs, queue, export-data, merge-labels, agreement, label-target,
assign-overlap."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from stsstudio.cli.common import (
    SPLIT_CHOICES,
    _open_project,
    _PredictProgress,
    _print_json,
)
from stsstudio.core.data_export import LABEL_LAYOUTS
from stsstudio.core.errors import UserError
from stsstudio.core.formats import labels_list, suffix_list
from stsstudio.core.label_queue import QUEUE_ORDERS
from stsstudio.core.scales import SCALES, format_delta, format_score, scale_text


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
            print(project.labels.aggregate)
            return 0
        changed = project.labels.set_aggregate(args.how)
    print(f"Pairs with several annotators now train on the {args.how} of their labels "
          f"({changed:,} targets changed; adjudicated values still win).")
    return 0


def _cmd_assign_overlap(args: argparse.Namespace) -> int:
    with _open_project(args.project) as project:
        spell = project.annotators.spellings(args.annotators)
        summary = project.assignments.assign(args.annotators, args.overlap / 100, seed=args.seed,
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


def _cmd_queue(args: argparse.Namespace) -> int:
    from stsstudio.core.label_queue import next_pairs, queue_order, why_empty

    if args.limit < 1:
        raise UserError(f"--limit must be at least 1, not {args.limit}.")
    _score_for_order(args.project, args.order)
    with _open_project(args.project, readonly=True) as project:
        choices = next_pairs(project, args.order, limit=args.limit, split=args.split,
                             annotator=args.annotator or "")
        pairs = project.pairs.texts_by_ids([c.pair_id for c in choices])
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


# ----------------------------------------------------------------------------------------
# parsers


def add_suggest_pairs(sub: Any) -> None:
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


def add_export_data(sub: Any) -> None:
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


def add_merge_labels(sub: Any) -> None:
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


def add_agreement(sub: Any) -> None:
    p = sub.add_parser("agreement", help="how much the annotators agree (alpha, Spearman)")
    p.add_argument("project")
    p.add_argument("--split", choices=SPLIT_CHOICES, help="only this split (default: all, and per split)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the 95%% intervals (default 1000; 0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_agreement)


def add_label_target(sub: Any) -> None:
    p = sub.add_parser("label-target", help="mean or median of several annotators' labels")
    p.add_argument("project")
    p.add_argument("how", nargs="?", choices=("mean", "median"), help="omit to show the current one")
    p.set_defaults(func=_cmd_label_target)


def add_assign_overlap(sub: Any) -> None:
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


def add_queue(sub: Any) -> None:
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
