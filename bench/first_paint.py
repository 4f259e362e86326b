"""Child process of the startup bench: open the app as ``python -m stsstudio [PROJECT]`` does,
observe its first paint from outside, print one JSON line and quit.

    STSSTUDIO_BENCH_T0=<time.time() just before the spawn> python bench/first_paint.py [PROJECT]

The window is built by the app's own ``start_gui``; this script only connects to the window's
``firstPainted`` signal (nothing in the production window knows about benches). The ML stack is
not preloaded, as no app start would have begun it before its first paint either.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    t0 = float(os.environ.get("STSSTUDIO_BENCH_T0", "0") or 0)
    from stsstudio.app import create_application, start_gui

    app = create_application()
    window, crash_handler = start_gui(project=argv[0] if argv else None)

    def report() -> None:
        elapsed = time.time() - t0 if t0 else float("nan")
        print(json.dumps({"first_paint_s": round(elapsed, 4),
                          "torch_imported": "torch" in sys.modules,
                          "sentence_transformers_imported": "sentence_transformers" in sys.modules,
                          "view": window.current_view() or "welcome"}), flush=True)
        app.quit()

    window.firstPainted.connect(report)
    try:
        app.exec()
    finally:
        crash_handler.uninstall()
        if window.ctx.project is not None:
            window.ctx.set_project(None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
