"""Export commands: export, compare-exports."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from stsstudio.cli.common import (
    _open_project,
)
from stsstudio.core.errors import UserError
from stsstudio.core.export_formats import EXPORT_FORMATS
from stsstudio.core.export_formats import FORMAT_NAMES as EXPORT_FORMAT_NAMES


def _cmd_export(args: argparse.Namespace) -> int:
    from stsstudio.core.export_formats import get_format
    from stsstudio.core.export_verify import export_and_verify

    fmt = get_format(args.format)
    fmt.require()  # a missing extra: exit 2 with the pip line before opening anything
    with _open_project(args.project, readonly=True) as project:
        run = project.runs.get(args.run) if args.run is not None else project.runs.best()
        if args.run is None and run is None and any(r.model_dir for r in project.runs.all()):
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


# ----------------------------------------------------------------------------------------
# parsers


def add_export(sub: Any) -> None:
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


def add_compare_exports(sub: Any) -> None:
    p = sub.add_parser("compare-exports", help="measure each export format of a run on the "
                       "project's data: dev Spearman, change vs torch, sentences/s, size")
    p.add_argument("project")
    p.add_argument("--run", type=int, help="default: the best run")
    p.add_argument("--format", action="append", choices=EXPORT_FORMAT_NAMES,
                   help="only these formats (repeat; default: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_compare_exports)
