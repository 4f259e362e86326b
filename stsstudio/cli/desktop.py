"""GUI-facing commands: screenshot, demo."""

from __future__ import annotations

import argparse
from typing import Any

VIEWS = ("welcome", "pairs", "label", "train", "try", "export", "agreement")


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
# parsers


def add_screenshot(sub: Any) -> None:
    p = sub.add_parser("screenshot", help="render a view of the app to a PNG, offscreen")
    p.add_argument("project", help="project folder, or 'demo'")
    p.add_argument("out", help="output .png")
    p.add_argument("--view", choices=VIEWS, default="pairs")
    p.add_argument("--size", type=_size, default=(1280, 800), metavar="WxH")
    p.set_defaults(func=_cmd_screenshot)


def add_demo(sub: Any) -> None:
    p = sub.add_parser("demo", help="open the app on the demo project (built on first use)")
    p.add_argument("--fresh", action="store_true",
                   help="build the demo again, discarding its labels and runs")
    p.add_argument("--first-paint", action="store_true",
                   help="quit once the window has painted and say how long it took (a start-up check)")
    p.set_defaults(func=_cmd_demo)
