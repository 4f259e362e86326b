"""What several command groups share: the project opener, JSON output, the import flags."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from stsstudio.cli.terminal import _raw_write
from stsstudio.core.errors import UserError
from stsstudio.core.formats import format_names
from stsstudio.core.scales import SCALES

FORMATS = (*format_names("pairs"), "hf")  # file formats (core/formats.py) and datasets


SPLIT_CHOICES = ("train", "dev", "test", "none")


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))


def _open_project(path: str, *, readonly: bool = False):
    from stsstudio.core.store import Project

    return Project.open(path, readonly=readonly)


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


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(str(text))


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


def _model_ref(args: argparse.Namespace, project: Any = None) -> str:
    """The model a project command uses: --base, --run ID, or (default) the best run."""
    if getattr(args, "base", False):
        return "base"
    if getattr(args, "run", None) is not None:
        return f"run:{args.run}"
    if project is not None and project.runs.best() is None:
        from stsstudio.core.inference import no_best_run_message

        raise UserError(no_best_run_message(project, cli=True))
    return "best"
