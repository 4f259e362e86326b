"""Per-user folders (data, demo project) without Qt, honouring STSSTUDIO_DATA_DIR for tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_data_dir() -> Path:
    """Where STS Studio keeps per-user data such as the demo project."""
    override = os.environ.get("STSSTUDIO_DATA_DIR")
    if override:
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "STS Studio"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "STS Studio"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "stsstudio"
    base.mkdir(parents=True, exist_ok=True)
    return base
