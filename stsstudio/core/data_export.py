"""Write a project's pairs to a data file (``stsstudio export-data``): CSV, TSV, JSON Lines,
Parquet or an Excel workbook, as :mod:`stsstudio.core.formats` lists them.

Columns: sentence1, sentence2, score (0–1, empty when unlabeled) and split; then the score on
the project's own scale (``score_1_5`` for a 1–5 project, see :func:`display_column`) and the
imported file's unmapped columns (an ID, a judgment, ...), so labels join back to the user's
own system. Writes are
atomic: a temporary file beside the target, then a rename, so a failed export never leaves a
half-written file behind. In formats a spreadsheet opens (CSV, TSV, Excel), cells it would run
as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

from stsstudio.core.errors import UserError
from stsstudio.core.formats import FILE_FORMATS, export_format_of, formats_for
from stsstudio.core.paths import apply_umask, clean_stale_temps, temp_prefix
from stsstudio.core.scales import display_column, to_display
from stsstudio.core.store import SPLITS, Project

# {suffix: format name} of what export-data writes (from the one table in core/formats.py).
EXPORT_FORMATS = {s: f.name for f in formats_for("export") for s in f.suffixes}
COLUMNS = ("sentence1", "sentence2", "score", "split")
# Spreadsheets evaluate cells starting with these (OWASP "CSV injection"); tab and carriage
# return are included because some spreadsheets strip them and then see the next character.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_note_path(target: str | os.PathLike[str]) -> Path:
    """The sidecar that says a CSV/TSV export escaped formula cells (written only if it did).

    Re-importing the file reads it and takes the apostrophes off again, so an exported and
    re-imported pair is recognised as a duplicate rather than added as ``'=...``.
    """
    target = Path(target)
    return target.with_name(target.name + ".stsstudio.json")


def undo_spreadsheet_safe(text: str) -> str:
    """The inverse of :func:`spreadsheet_safe` for a cell this app escaped."""
    return text[1:] if text.startswith("'") and text[1:2].startswith(_FORMULA_START) and text[1:2] \
        else text


def spreadsheet_safe(text: str) -> str:
    """Prefix a cell that a spreadsheet would treat as a formula with an apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_format(out_path: str | os.PathLike[str]) -> str:
    """The export format of a target file from its extension; UserError if unknown."""
    return export_format_of(out_path).name


def check_output_file(out_path: str | os.PathLike[str], *, force: bool = False,
                      fmt: str | None = None) -> Path:
    """The resolved target of a file export, or a UserError saying why it cannot be written.

    Refuses a folder, a missing parent, a parent that is a file (``out.txt/sub.csv``), a
    symbolic link loop, anything but a plain file, and an existing file unless ``force``.
    """
    import stat

    raw = Path(out_path).expanduser()
    try:
        target = raw.resolve(strict=False)
    except RuntimeError:  # a symbolic link loop (Python < 3.13)
        raise UserError(f"{raw} is a symbolic link loop; choose another file name") from None
    except OSError as exc:
        raise UserError(f"{raw} cannot be resolved: {exc.strerror or exc}") from None
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UserError(f"{raw} is a symbolic link loop; choose another file name") from None
        raise UserError(f"cannot write {raw}: {exc.strerror or exc}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise UserError(f"{target} is a folder; give a file name"
                            + (f" ending in .{fmt}" if fmt else ""))
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"{target} is not a plain file (a FIFO, socket or device); choose "
                            "another file name")
        if not force:
            raise UserError(f"{target} already exists; choose another name, or force the export "
                            "(--force) to replace it")
    parent = target.parent
    for above in (parent, *parent.parents):
        if above.exists():
            if not above.is_dir():
                raise UserError(f"cannot write {target}: {above} is a file, not a folder")
            break
    if not parent.is_dir():
        raise UserError(f"the folder {parent} does not exist")
    return target


# Who labelled what: "wide" adds a column per annotator when there are several (label_<name>),
# "long" writes one row per pair and annotator with an ``annotator`` column (import reads it back).
LABEL_LAYOUTS = ("wide", "long")


def export_pairs(project: Project, out_path: str | os.PathLike[str], *, split: str | None = None,
                 labeled_only: bool = False, force: bool = False, annotator: str | None = None,
                 assignment: bool = False, labels: str = "wide") -> int:
    """Write the project's pairs (in id order) to ``out_path``; return how many were written.

    Args:
        project: an open project (read-only is fine).
        out_path: a file name whose suffix names a format of :mod:`stsstudio.core.formats`.
        split: only this split (train, dev, test or none).
        labeled_only: only pairs with a current score.
        force: replace an existing file (otherwise that is an error).
        annotator, assignment: write ``annotator``'s labelling pack instead: the pairs assigned
            to them (:meth:`Project.assignments.assign`), their own labels so far, and an
            ``annotator`` column, so that ``merge-labels`` brings the pack back.
        labels: "wide" (default): with several annotators, one ``label_<name>`` column each,
            on the project's scale; "long": one row per pair and annotator, ``score`` being
            that annotator's label and ``annotator`` naming them (pairs nobody labelled get
            one row with an empty annotator). Returns the rows written.

    Raises:
        UserError: unknown extension, unknown split, or a target that cannot be written.
    """
    fmt = export_format(out_path)
    FILE_FORMATS[fmt].require()
    if split is not None and split not in SPLITS:
        raise UserError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if labels not in LABEL_LAYOUTS:
        raise UserError(f"unknown label layout {labels!r}; use {' or '.join(LABEL_LAYOUTS)}")
    frame = _export_frame(project, split, labeled_only, annotator, assignment, labels)

    target = check_output_file(out_path, force=force, fmt=fmt)
    project.refuse_own_file(target)  # never the project's own database, WAL, lock or runs
    project.refuse_own_file(formula_note_path(target))
    clean_stale_temps(target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise UserError(f"cannot write to {target.parent}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    apply_umask(tmp)
    try:
        escaped = _escape_formulas(frame) if FILE_FORMATS[fmt].spreadsheet else 0
        FILE_FORMATS[fmt].writer(frame, tmp)
        os.replace(tmp, target)
        _write_formula_note(target, escaped)
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
    except ValueError as exc:  # pyarrow/pandas wrap some write failures
        raise UserError(f"cannot write {target}: {' '.join(str(exc).split())}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return len(frame)


def _export_frame(project: Project, split: str | None, labeled_only: bool, annotator: str | None,
                  assignment: bool, labels: str) -> Any:
    """The rows to write: the pairs (or an annotator's labelling pack) with their scores, and
    the score on the project's scale beside them."""
    import pandas as pd

    if assignment or annotator:
        annotator = (annotator or "").strip()
        if not (assignment and annotator):
            raise UserError("a labelling pack needs both --annotator NAME and --assignment")
        rows = [r for r in project.assignments.rows(annotator) if split is None or r[3] == split]
        if not rows:
            raise UserError(f"no pairs are assigned to {annotator!r}; assign them first "
                            "(stsstudio assign-overlap)")
        frame = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    else:
        frame = _pairs_frame(project, project.pairs.text_rows(split, labeled_only=labeled_only,
                                                             metadata=True))
        frame = _with_annotators(project, frame, split, labeled_only, labels)
    if annotator:
        frame["annotator"] = annotator
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype("float64")
    shown = display_column(project.display_scale())
    if shown is not None:
        frame.insert(frame.columns.get_loc("score") + 1, shown,
                     to_display(frame["score"].to_numpy(), project.display_scale()).round(6))
    return frame


def _escape_formulas(frame: Any) -> int:
    """Make formula-like text cells and column names inert for spreadsheets (in place);
    return how many were changed."""
    escaped = 0
    texts = [c for c in frame.columns if c in ("sentence1", "sentence2")
             or (c not in COLUMNS and frame[c].dtype == object)]
    for col in texts:
        safe = frame[col].map(lambda v: spreadsheet_safe(v) if isinstance(v, str) else v)
        escaped += int((safe != frame[col]).sum())
        frame[col] = safe
    header = [spreadsheet_safe(str(c)) for c in frame.columns]  # names are cells too
    escaped += sum(h != str(c) for h, c in zip(header, frame.columns))
    frame.columns = header
    return escaped


def _pairs_frame(project: Project, rows: list[tuple]) -> Any:
    """The export frame of ``(sentence1, sentence2, score, split, metadata)`` rows: the fixed
    columns, then one column per metadata key (a key that clashes with ours gets ``_1``)."""
    import pandas as pd

    frame = pd.DataFrame.from_records([r[:4] for r in rows], columns=list(COLUMNS))
    keys = project.pairs.metadata_keys()
    metas = [r[4] or {} for r in rows]
    keys += [k for k in dict.fromkeys(k for m in metas for k in m) if k not in keys]
    taken = set(COLUMNS) | {display_column(project.display_scale())}
    for key in keys:
        values = [m.get(key) for m in metas]
        if all(v is None for v in values):
            continue
        name = key
        while name in taken:
            name += "_1"
        taken.add(name)
        frame[name] = values
    return frame


def _with_annotators(project: Project, frame: Any, split: str | None, labeled_only: bool,
                     layout: str) -> Any:
    """Add who labelled what to the one-row-per-pair ``frame`` (see :data:`LABEL_LAYOUTS`)."""
    import pandas as pd

    ids = project.pairs.query_ids(filter="labeled" if labeled_only else "all", split=split)
    if len(ids) != len(frame):  # the pairs changed between the two reads: a caller's bug
        raise UserError("the project changed during the export; export again")
    rows = project.labels.by_annotator(split=split)
    names = sorted({a for _pid, _s, a, _v in rows})
    if layout == "wide" and len(names) < 2:
        return frame
    labels = pd.DataFrame.from_records([(pid, a, v) for pid, _s, a, v in rows],
                                       columns=["_id", "annotator", "_label"])
    frame = frame.assign(_id=ids)
    if layout == "long":
        out = frame.merge(labels, on="_id", how="left", sort=False)
        has = out["_label"].notna()
        out["score"] = out["_label"].where(has, out["score"])
        out["annotator"] = out["annotator"].fillna("")
        at = out.columns.get_loc("split") + 1
        out.insert(at, "annotator", out.pop("annotator"))
        return out.drop(columns=["_id", "_label"])
    wide = labels.pivot(index="_id", columns="annotator", values="_label").reindex(ids)
    scale = project.display_scale()
    for name in names:
        column = f"label_{name}"
        while column in frame.columns:
            column += "_1"
        frame[column] = to_display(wide[name].to_numpy(dtype=float), scale).round(6)
    return frame.drop(columns=["_id"])


def _write_formula_note(target: Path, escaped: int) -> None:
    """Write (or remove a stale) :func:`formula_note_path` sidecar beside ``target``."""
    import json

    note = formula_note_path(target)
    if not escaped:
        if note.is_file() and not note.is_symlink():
            note.unlink()
        return
    text = json.dumps({"written_by": "STS Studio", "file": target.name, "escaped_cells": escaped,
                       "escaping": "an apostrophe was put before cells starting with = + - @, tab or "
                                   "carriage return, so that spreadsheets do not run them as "
                                   "formulas; STS Studio removes it again on import"}, indent=1)
    tmp = note.with_name(f"{temp_prefix(note)}note.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    apply_umask(tmp)
    os.replace(tmp, note)
