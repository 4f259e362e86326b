"""Merge labels from another annotator's project or file (``stsstudio merge-labels``).

Each expert labels in their own copy of the project (or in a labelling pack written by
``export-data --assignment``); merging brings their labels back. Pairs are matched by the
normalised, unordered key of their sentences (``pair_hash``), always computed here from the
sentences, never read from the source: (A, B) and (B, A) are the same pair.

A label is one annotator's latest score on one pair. Merging an identical label again is a
no-op, so a merge can be repeated safely. Where the project already has a *different* latest
label from the same annotator, that is a conflict: reported, and kept or replaced as asked.
Everything is validated before anything is written, and the write is one transaction.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stsstudio.core.errors import UserError
from stsstudio.core.hashing import pair_hash
from stsstudio.core.store import DB_NAME, SPLITS, Project

CONFLICT_POLICIES = ("keep", "replace")
_MAX_LISTED_CONFLICTS = 50


@dataclass
class MergeReport:
    """What a merge read and wrote. ``as_dict()`` is the CLI's ``--json``.

    Attributes:
        matched: source labels on pairs the project already has.
        new: source labels on pairs the project did not have (the pairs are added).
        conflicting: matched labels where the same annotator's latest label in the project
            differs (kept or replaced according to ``on_conflict``).
        unchanged: matched labels identical to what the project holds (nothing to write).
        skipped: source rows without a score, or repeated (pair, annotator) rows before the
            last one.
        written: labels written (adjudicated values included).
        adjudicated: adjudicated values brought from a source project.
        adjudicated_left_out: the source's adjudicated values not brought because this
            project settled the pair differently and conflicts keep the project's value.
    """

    source: str
    rows: int = 0
    matched: int = 0
    new: int = 0
    new_pairs: int = 0
    conflicting: int = 0
    unchanged: int = 0
    skipped: int = 0
    written: int = 0
    adjudicated: int = 0
    adjudicated_left_out: int = 0
    annotators: list[str] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)  # "'alice' as 'Alice'": spellings joined
    on_conflict: str = "keep"
    scale: str = "0-1"
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Incoming:
    sentence1: str
    sentence2: str
    pair_hash: int
    split: str | None
    annotator: str
    score: float


def is_project_folder(source: str | os.PathLike[str]) -> bool:
    path = Path(source).expanduser()
    return path.is_dir() and (path / DB_NAME).is_file()


def _from_project(source: Path, annotator: str | None
                  ) -> tuple[list[_Incoming], int, str, dict[int, _Incoming]]:
    """The other project's labels and adjudicated values, keyed by their sentences hashed here.

    A stored ``pair_hash`` of another project is never trusted: a crafted one would put a label
    on a different pair.
    """
    with Project.open(source, readonly=True) as other:
        labels = other.labels.by_annotator()
        settled = other.labels.adjudicated()
        pairs = other.pairs.by_ids(sorted({pid for pid, *_ in labels} | set(settled)))
    hashes = {pid: pair_hash(p.sentence1, p.sentence2) for pid, p in pairs.items()}
    rows = []
    for pid, split, who, score in labels:
        p = pairs[pid]
        rows.append(_Incoming(p.sentence1, p.sentence2, hashes[pid], split, who or (annotator or ""), score))
    adjudicated = {hashes[pid]: _Incoming(pairs[pid].sentence1, pairs[pid].sentence2, hashes[pid],
                                          pairs[pid].split, "", float(score))
                   for pid, score in settled.items() if pid in pairs}
    return rows, len(rows), "0-1", adjudicated


def _score_columns(source: str | os.PathLike[str]) -> list[tuple[str, str | None]]:
    """The file's score columns: ``score`` (scale as given) and any display-scale column a pack
    or an export carries (``score_0_5``, ``score_1_5``, ...; scale from its name)."""
    from stsstudio.core.data_export import display_column
    from stsstudio.core.importers import ImportOptions, read_table
    from stsstudio.core.scales import SCALE_RANGES

    columns = [str(c) for c in read_table(source, ImportOptions()).columns]
    by_name = {c.strip().lower(): c for c in columns}
    found: list[tuple[str, str | None]] = []
    if "score" in by_name:
        found.append((by_name["score"], None))
    for scale in SCALE_RANGES:
        name = display_column(scale)
        if name is not None and name in by_name:
            found.append((by_name[name], scale))
    return found


def _read_scores(source: str | os.PathLike[str], scale: str, project_scale: str | None,
                 annotator_column: str | None = None) -> Any:
    """The file's labels, scored on whichever score column each row filled.

    A labelling pack carries ``score`` (0-1) and the project's display column (``score_0_5``):
    an annotator fills one or the other. Rows where two filled columns disagree are refused.
    """
    from stsstudio.core.importers import ImportOptions, read_labels

    def read(column: str | None, col_scale: str) -> Any:
        table = read_labels(source, ImportOptions(score=column, scale=col_scale,
                                                  annotator_column=annotator_column))
        if col_scale == "auto" and project_scale and table.scale not in ("0-1", project_scale):
            # Scores are 0-1 or on the project's own scale: 3 on a 1-5 project is not 3 of 0-5.
            table = read_labels(source, ImportOptions(score=column, scale=project_scale,
                                                      annotator_column=annotator_column))
        return table

    columns = _score_columns(source)
    if len(columns) < 2:
        return read(columns[0][0] if columns else None, scale)
    tables = [(col, read(col, col_scale or scale))
              for col, col_scale in columns]
    first_col, merged = tables[0]
    merged.score = np.array(merged.score, dtype=np.float64, copy=True)
    for col, table in tables[1:]:
        other = np.asarray(table.score, dtype=np.float64)
        both = ~np.isnan(merged.score) & ~np.isnan(other)
        differ = np.flatnonzero(both & (np.abs(merged.score - other) > _COLUMN_TOLERANCE))
        if differ.size:
            rows = ", ".join(str(int(table.row_numbers[i])) for i in differ[:10])
            more = f" and {differ.size - 10} more" if differ.size > 10 else ""
            raise UserError(f"{table.display_name}, rows {rows}{more}: the {first_col} and {col} "
                            "columns hold different scores; keep the score in one of them and "
                            "clear the other")
        fill = np.isnan(merged.score) & ~np.isnan(other)
        merged.score[fill] = other[fill]
    return merged


# Display columns are written rounded to 6 decimals on scales up to 0-100.
_COLUMN_TOLERANCE = 1e-4


def _from_file(source: str | os.PathLike[str], annotator: str | None, scale: str,
               project_scale: str | None = None, annotator_column: str | None = None
               ) -> tuple[list[_Incoming], int, str, int]:
    # The annotator column follows the import's rule (importers.annotator_column): the same
    # names are recognised, or the column asked for.
    table = _read_scores(source, scale, project_scale, annotator_column)
    rows, unlabeled = [], 0
    missing_row = None
    for i in range(len(table.sentence1)):
        score = float(table.score[i])
        if math.isnan(score):
            unlabeled += 1
            continue
        who = table.annotator[i] or (annotator or "")
        if not who and missing_row is None:
            missing_row = int(table.row_numbers[i])
        rows.append(_Incoming(table.sentence1[i], table.sentence2[i], int(table.pair_hash[i]),
                              table.split[i], who, score))
    if missing_row is not None:
        raise UserError(f"{table.display_name}, row {missing_row}: the label names no annotator; "
                        "add an annotator column or pass --annotator NAME")
    return rows, len(table.sentence1), table.scale, unlabeled


def merge_labels(project: Project, source: str | os.PathLike[str], *, annotator: str | None = None,
                 scale: str = "auto", on_conflict: str = "keep", dry_run: bool = False,
                 annotator_column: str | None = None) -> MergeReport:
    """Merge another annotator's labels into ``project``: all or nothing.

    Args:
        project: the project to merge into (open for writing unless ``dry_run``).
        source: another project folder, or a CSV/TSV/JSONL/Parquet file with sentence1,
            sentence2, score and optionally annotator (and split) columns.
        annotator: the annotator of rows that name none (a file without an annotator column,
            or unnamed labels of a project).
        scale: the file's score scale (auto, 0-1, 0-5, 1-5, 0-100), as for an import; "auto"
            takes scores above 1 to be on the project's own scale when it has one.
        on_conflict: "keep" the project's label or "replace" it with the source's.
        dry_run: report only; write nothing (the dialog's preview).
        annotator_column: a file's column naming each row's annotator; None recognises it by
            name as an import does (annotator, rater, coder, ...); "" means none.

    Raises:
        UserError: a missing or unreadable source, a bad row (naming file, row and column),
            a label without an annotator. Nothing is written then.
    """
    if on_conflict not in CONFLICT_POLICIES:
        raise UserError(f"unknown conflict policy {on_conflict!r}; use keep or replace")
    annotator = (annotator or "").strip() or None
    path = Path(source).expanduser()
    report = MergeReport(source=str(source), on_conflict=on_conflict)
    incoming, unlabeled, adjudicated = _read_source(project, source, path, annotator, scale,
                                                    annotator_column, report)

    # One person is one annotator: spellings of a name are joined (and the report says so).
    spell = project.annotators.spellings(dict.fromkeys(r.annotator for r in incoming))
    report.joined = [f"{a!r} as {b!r}" for a, b in spell.items() if a != b]
    for row in incoming:
        row.annotator = spell[row.annotator]
    # One label per (pair, annotator): a later row is a later revision.
    last: dict[tuple[int, str], _Incoming] = {}
    for row in incoming:
        last[(row.pair_hash, row.annotator)] = row
    report.skipped = unlabeled + len(incoming) - len(last)
    report.annotators = sorted({a for _h, a in last})

    by_hash = project.pairs.ids_by_hash()
    labels, new_pairs = _sort_labels(project, last, by_hash, on_conflict, report)
    settle, settle_new = _adjudications(project, adjudicated, by_hash, new_pairs, report)
    report.new_pairs = len(new_pairs)
    report.written = len(labels) + sum(len(e[4]) for e in new_pairs.values()) + report.adjudicated
    if not dry_run and report.written:
        project.labels.merge(labels, list(new_pairs.values()), source=f"merge: {path.name}",
                                     adjudicated=settle, new_adjudicated=settle_new)
    return report


def _read_source(project: Project, source: str | os.PathLike[str], path: Path, annotator: str | None,
                 scale: str, annotator_column: str | None, report: MergeReport
                 ) -> tuple[list[_Incoming], int, dict[int, _Incoming]]:
    """The source's labels, how many of its rows have none, and (from a project) its
    adjudicated values; notes the source's row count and scale in ``report``."""
    if is_project_folder(path):
        if path.resolve() == project.path:
            raise UserError(f"{path} is this project; merge from another copy or a file")
        incoming, report.rows, report.scale, adjudicated = _from_project(path, annotator)
        unlabeled = 0
    elif path.is_dir():
        raise UserError(f"{path} is a folder but not an STS Studio project (no {DB_NAME} in it)")
    elif not path.exists():
        raise UserError(f"{source}: no such file or project folder")
    else:
        incoming, report.rows, report.scale, unlabeled = _from_file(path, annotator, scale,
                                                                    project.display_scale(),
                                                                    annotator_column)
        adjudicated = {}
    return incoming, unlabeled, adjudicated


# A new pair: (sentence1, sentence2, split, pair hash, [(annotator, score), ...])
_NewPair = tuple[str, str, str, int, list[tuple[str, float]]]


def _sort_labels(project: Project, last: dict[tuple[int, str], _Incoming], by_hash: dict[int, int],
                 on_conflict: str, report: MergeReport
                 ) -> tuple[list[tuple[int, str, float]], dict[int, _NewPair]]:
    """The labels to write on the project's pairs and the new pairs with theirs; counts matched,
    unchanged, new and conflicting labels in ``report``."""
    matched_ids = sorted({by_hash[h] for h, _a in last if h in by_hash})
    current: dict[tuple[int, str], float] = {}
    for pid, _split, who, score in project.labels.by_annotator(pair_ids=matched_ids, raw=True):
        current[(pid, who)] = score

    labels: list[tuple[int, str, float]] = []
    new_pairs: dict[int, _NewPair] = {}
    for (h, who), row in last.items():
        pid = by_hash.get(h)
        if pid is None:
            report.new += 1
            split = row.split if row.split in SPLITS else "none"
            entry = new_pairs.setdefault(h, (row.sentence1, row.sentence2, split, h, []))
            entry[4].append((who, row.score))
            continue
        report.matched += 1
        have = current.get((pid, who))
        if have is not None and abs(have - row.score) < 1e-9:
            report.unchanged += 1
            continue
        if have is not None:
            report.conflicting += 1
            if len(report.conflicts) < _MAX_LISTED_CONFLICTS:
                report.conflicts.append({"pair_id": pid, "annotator": who, "project": have,
                                         "source": row.score, "sentence1": row.sentence1,
                                         "sentence2": row.sentence2})
            if on_conflict == "keep":
                continue
        labels.append((pid, who, row.score))
    return labels, new_pairs


def _adjudications(project: Project, adjudicated: dict[int, _Incoming], by_hash: dict[int, int],
                   new_pairs: dict[int, Any], report: MergeReport
                   ) -> tuple[list[tuple[int, float]], dict[int, float]]:
    """The source project's adjudicated values to bring: on pairs here, and on new pairs.

    Where this project settled a pair differently, ``on_conflict`` decides, and a value left out
    is counted (``adjudicated_left_out``) and listed as a conflict, never dropped silently.
    """
    ours = project.labels.adjudicated() if adjudicated else {}
    settle: list[tuple[int, float]] = []
    settle_new: dict[int, float] = {}
    for h, row in adjudicated.items():
        pid = by_hash.get(h)
        if pid is None:
            split = row.split if row.split in SPLITS else "none"
            new_pairs.setdefault(h, (row.sentence1, row.sentence2, split, h, []))
            settle_new[h] = row.score
            continue
        have = ours.get(pid)
        if have is not None and abs(have - row.score) < 1e-9:
            continue
        if have is not None:
            report.conflicting += 1
            if len(report.conflicts) < _MAX_LISTED_CONFLICTS:
                report.conflicts.append({"pair_id": pid, "annotator": "(adjudicated)", "project": have,
                                         "source": row.score, "sentence1": row.sentence1,
                                         "sentence2": row.sentence2})
            if report.on_conflict == "keep":
                report.adjudicated_left_out += 1
                continue
        settle.append((pid, row.score))
    report.adjudicated = len(settle) + len(settle_new)
    return settle, settle_new
