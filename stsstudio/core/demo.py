"""The demo project: IT support tickets, built from the CSV shipped in resources/demo.

``stsstudio demo`` reopens the demo built last time (its labels and runs kept); only
``--fresh`` (or File > Rebuild demo project…, which asks first) builds it again.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from stsstudio.core.errors import UserError
from stsstudio.core.store import DB_NAME, Project, ProjectLockedError

DEMO_NAME = "IT support demo"


# Written into the folder the app built as the demo: only such a folder is ever rebuilt.
DEMO_MARKER = ".stsstudio-demo"


def is_demo_folder(folder: Path) -> bool:
    """Whether ``folder`` is a demo this app built (it carries the marker file, not a link)."""
    marker = folder / DEMO_MARKER
    return not folder.is_symlink() and marker.is_file() and not marker.is_symlink()


def _free_demo_folder(default: Path) -> Path:
    """The default folder, emptied if it holds an older demo; a sibling if it is in use.

    Raises:
        UserError: the folder holds something the app did not build as the demo (a project the
            user made there, other files): it is never deleted; the message says where the demo
            would go.
    """
    if not os.path.lexists(default):
        return default
    if default.is_dir() and not default.is_symlink() and not any(default.iterdir()):
        return default
    if not is_demo_folder(default):
        what = "a project" if (default / DB_NAME).exists() else "files"
        raise UserError(f"The demo project would go in {default}, but that folder holds {what} "
                        "STS Studio did not build as the demo; it is left as it is. Move it "
                        "elsewhere to rebuild the demo.")
    try:
        Project.open(default).close()  # only to learn whether another process holds it
    except ProjectLockedError:
        # In use by another window: the fresh demo goes beside it.
        return default.with_name(f"{default.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    except UserError:
        pass  # a damaged demo of ours: rebuild it
    shutil.rmtree(default)
    return default


def open_demo_project(fresh: bool = False) -> Project:
    """The demo project in ``user_data_dir()/"demo"``, open for writing.

    Reopens the existing demo (labels and runs kept) unless ``fresh``, or unless it is missing
    or cannot be opened as a project; then builds it with :func:`create_demo_project`. When it
    is open in another window, a fresh copy goes beside it.
    """
    from stsstudio.core.paths import user_data_dir

    folder = user_data_dir() / "demo"
    if not fresh and (folder / DB_NAME).exists():
        try:
            return Project.open(folder)
        except ProjectLockedError:
            pass  # in use elsewhere: create_demo_project sidesteps it
        except UserError:
            pass  # damaged or from a newer version: build it again
    return create_demo_project()


def create_demo_project(path: str | os.PathLike[str] | None = None) -> Project:
    """Build a fresh demo project and return it open for writing.

    Args:
        path: where to build it; default ``user_data_dir()/"demo"``, replacing an older demo
            there (or, when that one is open elsewhere, a timestamped folder beside it).
    """
    from stsstudio.core.guidelines import demo_guidelines
    from stsstudio.core.importers import ImportOptions, import_pairs
    from stsstudio.core.paths import user_data_dir
    from stsstudio.core.resources import demo_csv

    target = Path(path) if path is not None else _free_demo_folder(user_data_dir() / "demo")
    project = Project.create(target, name=DEMO_NAME, guidelines=demo_guidelines())
    try:
        import_pairs(project, demo_csv(), ImportOptions(
            format="csv", sentence1="sentence1", sentence2="sentence2", score="score",
            split_column="split", has_header=True, scale="0-5"))
        if path is None:
            (project.path / DEMO_MARKER).write_text("This folder is the STS Studio demo project; "
                                                    "rebuilding the demo replaces it.\n")
    except BaseException:
        project.close()
        shutil.rmtree(target, ignore_errors=True)
        raise
    return project
