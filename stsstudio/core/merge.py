"""Merge labels from another annotator's project or file (``stsstudio merge-labels``).

Each expert labels in their own copy of the project (or in a labelling pack written by
``export-data --assignment``); merging brings their labels back. Pairs are matched by the
normalised, unordered key (``pair_hash``): (A, B) and (B, A) are the same pair.

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

from stsstudio.core.errors import UserError
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
        written: labels written.
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
    annotators: list[str] = field(default_factory=list)
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


def _from_project(source: Path, annotator: str | None) -> tuple[list[_Incoming], int, str]:
    with Project.open(source, readonly=True) as other:
        labels = other.annotator_labels()
        pairs = other.pairs_by_ids(sorted({pid for pid, *_ in labels}))
        hashes = other.pair_hashes_of(list(pairs))
    rows = []
    for pid, split, who, score in labels:
        p = pairs[pid]
        rows.append(_Incoming(p.sentence1, p.sentence2, hashes[pid], split, who or (annotator or ""), score))
    return rows, len(rows), "0-1"


def _from_file(source: str | os.PathLike[str], annotator: str | None, scale: str,
               project_scale: str | None = None, annotator_column: str | None = None
               ) -> tuple[list[_Incoming], int, str, int]:
    from stsstudio.core.importers import ImportOptions, read_labels

    # The annotator column follows the import's rule (importers.annotator_column): the same
    # names are recognised, or the column asked for.
    table = read_labels(source, ImportOptions(scale=scale, annotator_column=annotator_column))
    if scale == "auto" and project_scale and table.scale not in ("0-1", project_scale):
        # Scores are 0-1 or on the project's own scale: 3 on a 1-5 project is not 3 of 0-5.
        table = read_labels(source, ImportOptions(scale=project_scale, annotator_column=annotator_column))
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
    if is_project_folder(path):
        if path.resolve() == project.path:
            raise UserError(f"{path} is this project; merge from another copy or a file")
        incoming, report.rows, report.scale = _from_project(path, annotator)
        unlabeled = 0
    elif path.is_dir():
        raise UserError(f"{path} is a folder but not an STS Studio project (no {DB_NAME} in it)")
    elif not path.exists():
        raise UserError(f"{source}: no such file or project folder")
    else:
        incoming, report.rows, report.scale, unlabeled = _from_file(path, annotator, scale,
                                                                    project.display_scale(),
                                                                    annotator_column)

    # One label per (pair, annotator): a later row is a later revision.
    last: dict[tuple[int, str], _Incoming] = {}
    for row in incoming:
        last[(row.pair_hash, row.annotator)] = row
    report.skipped = unlabeled + len(incoming) - len(last)
    report.annotators = sorted({a for _h, a in last})

    by_hash = project.pair_ids_by_hash()
    matched_ids = sorted({by_hash[h] for h, _a in last if h in by_hash})
    current: dict[tuple[int, str], float] = {}
    for pid, _split, who, score in project.annotator_labels(pair_ids=matched_ids, raw=True):
        current[(pid, who)] = score

    labels: list[tuple[int, str, float]] = []
    new_pairs: dict[int, tuple[str, str, str, int, list[tuple[str, float]]]] = {}
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
    report.new_pairs = len(new_pairs)
    report.written = len(labels) + sum(len(e[4]) for e in new_pairs.values())
    if not dry_run and report.written:
        project.add_annotator_labels(labels, list(new_pairs.values()),
                                     source=f"merge: {path.name}")
    return report
