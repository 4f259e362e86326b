"""UI preferences in QSettings, declared in one place with types and defaults (Picard's options).

Only UI state lives here (geometry, recent projects, the annotator's name); project data is
in the project database. ``STSSTUDIO_SETTINGS_DIR`` moves the file (tests point it at tmp_path).
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QByteArray, QSettings

from stsstudio import APP_NAME

T = TypeVar("T")
MAX_RECENT = 10


@dataclass(frozen=True)
class Setting(Generic[T]):
    key: str
    type: type
    default: T


GEOMETRY: Setting[QByteArray] = Setting("window/geometry", QByteArray, QByteArray())
WINDOW_STATE: Setting[QByteArray] = Setting("window/state", QByteArray, QByteArray())
LAST_VIEW: Setting[str] = Setting("window/last_view", str, "pairs")
RECENT_PROJECTS: Setting[list] = Setting("projects/recent", list, [])
LAST_PROJECT_DIR: Setting[str] = Setting("projects/last_dir", str, "")
ANNOTATOR: Setting[str] = Setting("annotator/name", str, "")
LAST_IMPORT_DIR: Setting[str] = Setting("import/last_dir", str, "")
# The Label view shows the model's guess on the slider only after a pair is scored (so it does
# not anchor the expert) unless this is on; then a key accepts the guess as the label.
MODEL_GUESS_BEFORE: Setting[bool] = Setting("label/model_guess_before", bool, False)

ALL_SETTINGS = (GEOMETRY, WINDOW_STATE, LAST_VIEW, RECENT_PROJECTS, LAST_PROJECT_DIR, ANNOTATOR,
                LAST_IMPORT_DIR, MODEL_GUESS_BEFORE)


def qsettings() -> QSettings:
    """The settings store: an INI file under STSSTUDIO_SETTINGS_DIR when set, else the native one."""
    override = os.environ.get("STSSTUDIO_SETTINGS_DIR")
    if override:
        Path(override).mkdir(parents=True, exist_ok=True)
        return QSettings(str(Path(override) / "stsstudio.ini"), QSettings.IniFormat)
    return QSettings(QSettings.IniFormat, QSettings.UserScope, "stsstudio", APP_NAME)


def get(setting: Setting[T]) -> T:
    """The stored value of ``setting`` coerced to its type, or its default."""
    raw = qsettings().value(setting.key, None)
    return _coerce(setting, raw)


def set(setting: Setting[T], value: T) -> None:  # noqa: A001 - mirrors get()
    s = qsettings()
    s.setValue(setting.key, value)
    s.sync()


def _coerce(setting: Setting[Any], raw: Any) -> Any:
    if raw is None:
        return setting.default
    try:
        if setting.type is list:
            # INI files return one-element lists as a plain string.
            if isinstance(raw, str):
                return [raw] if raw else []
            return [str(v) for v in raw]
        if setting.type is QByteArray:
            return raw if isinstance(raw, QByteArray) else QByteArray(raw)
        if setting.type is bool:
            return raw in (True, "true", "1", 1)
        return setting.type(raw)
    except (TypeError, ValueError):
        return setting.default


def recent_projects(existing_only: bool = True) -> list[str]:
    """Recently opened project folders, newest first."""
    paths = get(RECENT_PROJECTS)
    if existing_only:
        paths = [p for p in paths if (Path(p) / "project.stsproj").exists()]
    return paths


def add_recent_project(path: str | os.PathLike[str]) -> None:
    path = str(Path(path).resolve())
    paths = [p for p in get(RECENT_PROJECTS) if p != path]
    set(RECENT_PROJECTS, [path, *paths][:MAX_RECENT])


def remove_recent_project(path: str | os.PathLike[str]) -> None:
    path = str(Path(path).resolve())
    set(RECENT_PROJECTS, [p for p in get(RECENT_PROJECTS) if p != path])


def default_annotator() -> str:
    """The OS user name, the default annotator name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or os.environ.get("USERNAME") or "annotator"


# Accounts that name a machine or a role, not the person labelling.
_SYSTEM_ACCOUNTS = frozenset({"root", "admin", "administrator", "user", "ubuntu", "debian", "pi",
                              "vagrant", "docker", "runner", "jovyan", "guest"})


def suggested_annotator() -> str:
    """The name to offer when asking for one: the account's full name, else its login name,
    else "" (for root and other system accounts, which are no one's name)."""
    login = default_annotator()
    if login.casefold() in _SYSTEM_ACCOUNTS:
        return ""
    try:
        import pwd

        full = pwd.getpwnam(login).pw_gecos.split(",")[0].strip()
    except (ImportError, KeyError, OSError):
        full = ""
    return full or login
