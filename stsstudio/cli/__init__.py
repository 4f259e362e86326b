"""The headless ``stsstudio`` commands. Everything the GUI does, these do too.

Conventions: exit 0 on success, 2 on a user error (one line on stderr, no traceback),
``--help`` on every command, ``--json`` for machine-readable output where it makes sense.
Heavy modules (torch, sentence-transformers) are imported inside the commands that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from stsstudio import __version__
from stsstudio.cli import desktop, evaluate, export, labels, project, serve, train
from stsstudio.cli.common import FORMATS, _add_import_options, _import_options  # noqa: F401 (bench, tests)
from stsstudio.cli.serve import _calibrated_line  # noqa: F401 (tests)
from stsstudio.cli.terminal import _os_error_text, _TerminalSafeStream, one_line, terminal_safe  # noqa: F401
from stsstudio.core.errors import UserError

# The commands in the order `stsstudio --help` lists them; each group module adds its own parser.
_COMMAND_PARSERS = (
    project.add_new,
    project.add_import,
    project.add_import_sentences,
    labels.add_suggest_pairs,
    project.add_info,
    labels.add_export_data,
    labels.add_merge_labels,
    labels.add_agreement,
    labels.add_label_target,
    labels.add_assign_overlap,
    project.add_assign_dev,
    project.add_backup,
    project.add_split,
    project.add_delete_run,
    train.add_train,
    train.add_predict,
    labels.add_queue,
    train.add_estimate,
    train.add_resume,
    evaluate.add_evaluate,
    export.add_export,
    export.add_compare_exports,
    serve.add_similarity,
    serve.add_search,
    serve.add_devices,
    desktop.add_screenshot,
    desktop.add_demo,
)


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
    for add in _COMMAND_PARSERS:
        add(sub)
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
