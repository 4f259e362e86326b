"""Silence the ML libraries' own progress bars and chatter, in one place.

transformers ("Loading weights: 100%|███…", "Writing model shards"), huggingface_hub, datasets
and sentence-transformers ("Computing widget examples", through tqdm) draw progress bars on
stderr. The CLI shows its own progress line, or none, so it calls :func:`quiet_libraries` before
any of them is imported; a library already imported is silenced through its own switch.
"""

from __future__ import annotations

import logging
import os
import sys

_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",       # huggingface_hub, and transformers follows it
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TQDM_DISABLE": "1",                        # every other tqdm bar (sentence-transformers)
}


def quiet_libraries() -> None:
    """No library progress bars or info logging from here on (idempotent)."""
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    if "datasets" in sys.modules:
        import datasets

        datasets.disable_progress_bars()
    for name in ("sentence_transformers", "transformers", "huggingface_hub", "datasets"):
        logging.getLogger(name).setLevel(logging.ERROR)
