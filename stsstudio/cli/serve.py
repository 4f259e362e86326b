"""Commands that use a model: similarity, search, devices."""

from __future__ import annotations

import argparse
from typing import Any

from stsstudio.cli.common import (
    _model_ref,
    _open_project,
    _print_json,
)
from stsstudio.core.errors import UserError
from stsstudio.core.export_formats import FORMAT_NAMES as EXPORT_FORMAT_NAMES


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
            ref = _model_ref(args, project) if not (args.calibrated and project.runs.best() is None) \
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
# parsers


def add_similarity(sub: Any) -> None:
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


def add_search(sub: Any) -> None:
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


def add_devices(sub: Any) -> None:
    p = sub.add_parser("devices", help="list the devices training can use")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_devices)
