"""Access to the files shipped in ``stsstudio.resources`` (icons, demo data, guidelines).

Always through importlib.resources, so they are found in a wheel, a zip or a bundle alike.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

from stsstudio.core.formats import file_name

if sys.version_info >= (3, 11):   # importlib.abc.Traversable warns from 3.12 and goes in 3.14
    from importlib.resources.abc import Traversable
else:  # pragma: no cover - Python 3.10
    from importlib.abc import Traversable


def files() -> Traversable:
    """The root of the shipped resources."""
    return resources.files("stsstudio.resources")


def read_text(name: str) -> str:
    return files().joinpath(name).read_text(encoding="utf-8")


def path(name: str) -> Path:
    """A real filesystem path to a resource (they are installed as plain files)."""
    return Path(os.fspath(files().joinpath(name)))


def demo_csv() -> Path:
    return path("demo/" + file_name("demo_pairs", "csv"))


def icon_path(name: str) -> Path:
    return path(f"icons/{name}.svg")
