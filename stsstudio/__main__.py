"""Entry point: ``stsstudio`` / ``python -m stsstudio``.

With a command (``stsstudio import ...``) it runs headless; otherwise it opens the desktop app,
optionally on a project folder (``stsstudio PROJECT``) or on the demo (``stsstudio demo``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("--install-desktop-entry", "--uninstall-desktop-entry"):
        from stsstudio import desktop_entry

        return desktop_entry.main(args[0])
    from stsstudio.cli import is_cli

    if is_cli(args):
        from stsstudio.cli import main as cli_main

        return cli_main(args)
    from stsstudio.app import run_gui

    return run_gui(project=args[0] if args else None)


if __name__ == "__main__":
    sys.exit(main())
