"""Entry script of the PyInstaller bundle (both the windowed ``stsstudio`` and ``stsstudio-cli``)."""

from __future__ import annotations

import multiprocessing
import os
import sys


def _run() -> int:
    # A windowed executable on Windows has no console: sys.stdout/stderr are None and the first
    # print() of a CLI command would raise. Send it nowhere instead; stsstudio-cli has a console.
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    # Same behaviour as a pip install (core decides when the Hub may be asked); only no telemetry.
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from stsstudio.__main__ import main

    return main()


if __name__ == "__main__":
    # torch DataLoader workers and datasets' num_proc start child processes: in a frozen app they
    # re-run this executable, which must then act as the worker, not open a second window.
    multiprocessing.freeze_support()
    sys.exit(_run())
