"""The one table of data file formats: suffixes, label, reader, writer and dialog filter.

Import (pairs), import-sentences, merge-labels, export-data, the CLI's choices and help, drag
and drop and every file dialog read :data:`FILE_FORMATS`. A new format is one entry here plus
its reader in :data:`stsstudio.core.importers.READERS` (readers share the importers' checks and
error messages, and the importers depend on this module, not the other way round;
``tests/core/test_formats.py`` checks that every entry has one). File-suffix literals appear
in no other module of the package (``tests/test_architecture.py``).

Roles say what a format is used for: ``pairs`` (import and merge-labels), ``sentences``
(import-sentences) and ``export`` (export-data).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stsstudio.core.errors import UserError

ROLES = ("pairs", "sentences", "export")


@dataclass(frozen=True)
class FileFormat:
    """One data file format.

    Attributes:
        name: the ``--format`` value (csv, tsv, jsonl, parquet, xlsx, txt).
        label: its name for people ("CSV", "Excel workbook").
        suffixes: lower-case, with the dot; the first is the one written.
        roles: what it is used for (:data:`ROLES`).
        writer: ``writer(frame, path)`` for export-data; None if it is never written.
        spreadsheet: a spreadsheet runs formula-like cells, so exports escape them.
        extra: the optional dependency group it needs (``pip install "stsstudio[xlsx]"``).
        module: the module that extra provides (checked before reading or writing).
        short: its name in help texts ("JSONL"); default: the name in capitals.
        header_optional: its first row may be a header or data (detected, or said).
    """

    name: str
    label: str
    suffixes: tuple[str, ...]
    roles: tuple[str, ...]
    writer: Callable[[Any, Path], None] | None = None
    spreadsheet: bool = False
    extra: str | None = None
    module: str | None = None
    short: str = ""
    header_optional: bool = False
    patterns: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(f"*{s}" for s in self.suffixes))
        if not self.short:
            object.__setattr__(self, "short", self.name.upper())

    @property
    def suffix(self) -> str:
        """The suffix a written file gets."""
        return self.suffixes[0]

    def dialog_filter(self) -> str:
        """``"CSV (*.csv *.txt)"``: one entry of a Qt file dialog's filter string."""
        return f"{self.label} ({' '.join(self.patterns)})"

    def require(self) -> None:
        """Raise a UserError naming the install line when the optional module is missing."""
        if self.module is None:
            return
        import importlib.util

        if importlib.util.find_spec(self.module) is None:
            raise UserError(f"{self.label} files need the {self.module} package; install it with "
                            f"pip install \"stsstudio[{self.extra}]\"")


# -- writers (export-data): pandas, already escaped for spreadsheets where needed ------------

def _write_csv(frame: Any, path: Path) -> None:
    frame.to_csv(path, sep=",", index=False, encoding="utf-8", lineterminator="\n")


def _write_tsv(frame: Any, path: Path) -> None:
    frame.to_csv(path, sep="\t", index=False, encoding="utf-8", lineterminator="\n")


def _write_jsonl(frame: Any, path: Path) -> None:
    frame.to_json(path, orient="records", lines=True, force_ascii=False)


def _write_parquet(frame: Any, path: Path) -> None:
    frame.to_parquet(path, index=False)


def _write_xlsx(frame: Any, path: Path) -> None:
    frame.to_excel(path, index=False, engine="openpyxl")


FILE_FORMATS: dict[str, FileFormat] = {f.name: f for f in (
    # txt first: for sentences a .txt file is one sentence a line; for pairs it is a CSV.
    FileFormat("txt", "Plain text, one sentence a line", (".txt",), ("sentences",),
               short="one sentence a line"),
    FileFormat("csv", "CSV", (".csv", ".txt"), ("pairs", "sentences", "export"), _write_csv,
               spreadsheet=True, header_optional=True),
    FileFormat("tsv", "TSV", (".tsv", ".tab"), ("pairs", "sentences", "export"), _write_tsv,
               spreadsheet=True, header_optional=True),
    FileFormat("jsonl", "JSON Lines", (".jsonl", ".ndjson", ".json"), ("pairs", "sentences", "export"),
               _write_jsonl),
    FileFormat("parquet", "Parquet", (".parquet", ".pq"), ("pairs", "sentences", "export"),
               _write_parquet, short="Parquet"),
    FileFormat("xlsx", "Excel workbook", (".xlsx",), ("pairs", "sentences", "export"), _write_xlsx,
               spreadsheet=True, extra="xlsx", module="openpyxl", short="Excel", header_optional=True),
)}


def formats_for(role: str) -> list[FileFormat]:
    """The formats used for ``role`` (pairs, sentences or export), in table order."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return [f for f in FILE_FORMATS.values() if role in f.roles]


def header_optional(name: str) -> bool:
    """Whether a source of format ``name`` (csv, hf, ...) may start with data instead of a header."""
    fmt = FILE_FORMATS.get(name)
    return fmt is not None and fmt.header_optional


def format_names(role: str) -> tuple[str, ...]:
    """The ``--format`` choices of ``role``."""
    return tuple(f.name for f in formats_for(role))


def suffixes(role: str) -> tuple[str, ...]:
    """Every suffix ``role`` recognises (drag and drop, folder scans)."""
    return tuple(dict.fromkeys(s for f in formats_for(role) for s in f.suffixes))


def dataset_suffixes() -> tuple[str, ...]:
    """The suffixes of data files in a dataset folder: those of pair formats, less any a
    sentences-only format claims (a README.txt beside the data is not data)."""
    other = {s for f in FILE_FORMATS.values() if "pairs" not in f.roles for s in f.suffixes}
    return tuple(s for s in suffixes("pairs") if s not in other)


def format_of(path: str | os.PathLike[str], role: str = "pairs") -> FileFormat | None:
    """The format of a file from its suffix (case-insensitive), or None if unknown."""
    suffix = Path(path).suffix.lower()
    return next((f for f in formats_for(role) if suffix in f.suffixes), None)


def export_format_of(path: str | os.PathLike[str]) -> FileFormat:
    """The format export-data writes to ``path``; a UserError naming the choices if none."""
    fmt = format_of(path, "export")
    if fmt is None:
        raise UserError(f"cannot export to {Path(path).name!r}: use a file name ending in "
                        f"{suffix_list('export')}")
    return fmt


def suffix_list(role: str, *, every: bool = False) -> str:
    """``".csv, .tsv, .jsonl, .parquet or .xlsx"``: the suffixes of ``role`` in words."""
    names = list(suffixes(role)) if every else [f.suffix for f in formats_for(role)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def labels_list(role: str) -> str:
    """``"CSV/TSV/JSONL/Parquet/Excel"``: the short names of ``role``'s formats (help texts)."""
    return "/".join(f.short for f in formats_for(role))


def in_words(role: str) -> str:
    """``"CSV, TSV, JSONL, Parquet or Excel"``: the formats of ``role`` in a sentence (formats
    of this role alone, such as one sentence a line, last)."""
    names = [f.short for f in sorted(formats_for(role), key=lambda f: f.roles == (role,))]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def dialog_filter(role: str, title: str, *, each: bool = True) -> str:
    """A Qt file dialog filter: all formats of ``role`` under ``title``, then (with ``each``)
    one entry per format, then "All files (*)"."""
    fmts = formats_for(role)
    patterns = " ".join(dict.fromkeys(p for f in fmts for p in f.patterns))
    parts = [f"{title} ({patterns})"]
    if each:
        parts += [f.dialog_filter() for f in fmts]
    return ";;".join([*parts, "All files (*)"])


def file_name(stem: str, name: str) -> str:
    """``stem`` with the suffix of format ``name``: ``file_name("labeled_pairs", "csv")``."""
    return stem + FILE_FORMATS[name].suffix


def has_suffix(path: str | os.PathLike[str], names: Iterable[str]) -> bool:
    """Whether ``path`` ends in a suffix of one of the formats ``names``."""
    suffix = Path(path).suffix.lower()
    return any(suffix in FILE_FORMATS[n].suffixes for n in names)
