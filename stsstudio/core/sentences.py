"""Single sentences into the project's pool: read, validate, deduplicate, then write in one go.

Most experts have sentences (tickets, clauses, findings), not pairs. A file with one text
column goes into the pool; :mod:`stsstudio.core.suggest` then makes pairs from it.

Sources are the pair importers' (CSV, TSV, JSONL, Parquet, a Hugging Face folder), read by
the same code with the same errors, plus plain text with one sentence a line (``.txt``).
An ID column and every other column are kept as each sentence's metadata. Sentences equal
after normalising whitespace and case (:func:`stsstudio.core.hashing.normalise_sentence`)
are kept once, within the file and against the pool. All rows or none are written.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stsstudio.core import importers
from stsstudio.core.errors import UserError
from stsstudio.core.formats import format_of, header_optional
from stsstudio.core.hashing import sentence_hashes
from stsstudio.core.importers import ImportDataError, ImportOptions, RawTable
from stsstudio.core.store import Project

# Usual names of the text column and the ID column, compared as importers._norm_name does.
TEXT_NAMES = ("text", "sentence", "sentences", "content", "body", "question", "query", "utterance",
              "clause", "finding", "message", "description", "summary", "title", "line")
ID_NAMES = ("id", "_id", "uid", "uuid", "key", "idx", "index", "row_id", "sentence_id", "doc_id",
            "ticket_id", "ticket", "ref", "reference", "number", "no")


@dataclass
class SentenceImportOptions:
    """How to read a sentence source. ``None`` means detect it.

    Attributes:
        format: csv, tsv, jsonl, parquet, hf or txt; None detects it (``.txt`` is one sentence
            a line).
        column: the text column (name or 0-based index); None detects it.
        id_column: a column of identifiers kept with each sentence; None detects a column
            named like an id; "" means none.
        has_header: whether a CSV/TSV starts with a header line; None detects it.
        hf_config, hf_split, encoding: as for pair imports.
    """

    format: str | None = None
    column: str | int | None = None
    id_column: str | int | None = None
    has_header: bool | None = None
    hf_config: str | None = None
    hf_split: str | None = None
    encoding: str | None = None


@dataclass
class SentenceImportReport:
    """What a sentence import read, kept and dropped. ``as_dict()`` is the CLI's ``--json``."""

    source: str
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    duplicates_in_file: int = 0
    duplicates_in_pool: int = 0
    format: str = ""
    column: str | None = None
    id_column: str | None = None
    metadata_columns: list[str] = field(default_factory=list)
    pool: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PreparedSentences:
    """A validated sentence import, not yet written; ``rows`` go to ``insert_sentences``."""

    rows: list[tuple[str, int, str, int | None]]
    report: SentenceImportReport
    raw: RawTable
    options: SentenceImportOptions


# --------------------------------------------------------------------------------------
# Reading


def read_sentence_table(source: str | os.PathLike[str],
                        options: SentenceImportOptions | None = None) -> RawTable:
    """Read a source into raw cells (plain text: one sentence a line, column ``"text"``).

    Raises:
        ImportDataError: as :func:`stsstudio.core.importers.read_table`.
    """
    options = options or SentenceImportOptions()
    path = Path(os.fspath(source)).expanduser()
    fmt = options.format
    known = format_of(path, "sentences")
    if fmt == "txt" or (fmt is None and path.is_file() and known is not None and known.name == "txt"):
        return _read_lines(path, options)
    read = ImportOptions(format=fmt, has_header=options.has_header, hf_config=options.hf_config,
                         hf_split=options.hf_split, encoding=options.encoding)
    raw = importers.read_table(source, read)
    if options.has_header is None and header_optional(raw.format) and not raw.has_header:
        # The pair importer knows pair column names; "text" or "id" on top means a header too.
        first = [importers._norm_name(str(v)) for v in raw.frame.iloc[0].tolist()]
        if any(v in TEXT_NAMES or v in ID_NAMES for v in first):
            read.has_header = True
            raw = importers.read_table(source, read)
    return raw


def _read_lines(path: Path, options: SentenceImportOptions) -> RawTable:
    import pandas as pd

    name = importers._display(path)
    if not path.is_file():
        raise ImportDataError("no such file" if not path.exists() else "is not a file", file=str(path))
    data = path.read_bytes()
    importers._check_bytes(data, name)
    codec, warnings = importers._decode(data, name, options.encoding)
    lines = data.decode(codec).splitlines()
    numbers = [i + 1 for i, line in enumerate(lines) if line.strip()]
    if not numbers:
        raise ImportDataError("the file has no rows", file=name)
    frame = pd.DataFrame({"text": [lines[i - 1] for i in numbers]})
    return RawTable(source=os.fspath(path), format="txt", frame=frame, columns=["text"],
                    has_header=False, encoding=codec, warnings=warnings,
                    row_numbers=np.asarray(numbers), display_name=name)


def _column_kinds(raw: RawTable) -> dict[str, str]:
    """Each column's kind from a sample: "id" (named like one), "number" or "text"."""
    import pandas as pd

    kinds = {}
    sample = raw.frame.iloc[:2000]
    for c in raw.columns:
        if importers._norm_name(c) in ID_NAMES and raw.has_header:
            kinds[c] = "id"
            continue
        col = sample[c]
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            kinds[c] = "number"
            continue
        text = importers._text_of(col).astype(str).str.strip()
        nonempty = text[text != ""]
        numeric = float(pd.to_numeric(nonempty, errors="coerce").notna().mean()) if len(nonempty) else 1.0
        kinds[c] = "number" if numeric >= 0.5 else "text"
    return kinds


def guess_text_column(raw: RawTable) -> str | None:
    """The column holding the sentences: a usual name, else the longest text column."""
    kinds = _column_kinds(raw)
    by_norm = {importers._norm_name(c): c for c in raw.columns}
    if raw.has_header or raw.format != "csv":
        for n in TEXT_NAMES:
            if n in by_norm and kinds[by_norm[n]] == "text":
                return by_norm[n]
    texts = [c for c in raw.columns if kinds[c] == "text"]
    if not texts:
        return None
    sample = raw.frame.iloc[:2000]
    return max(texts, key=lambda c: (float(importers._text_of(sample[c]).astype(str).str.len().mean()),
                                     -raw.columns.index(c)))


def guess_id_column(raw: RawTable, text_column: str | None) -> str | None:
    """A column named like an identifier (id, key, ticket_id, ...), if there is one."""
    if not raw.has_header and raw.format in ("csv", "tsv", "txt"):
        return None
    by_norm = {importers._norm_name(c): c for c in raw.columns if c != text_column}
    for n in ID_NAMES:
        if n in by_norm:
            return by_norm[n]
    return None


def single_text_column(raw: RawTable) -> str | None:
    """The text column when the table is a list of sentences, not pairs: exactly one column
    holds text (the others are ids, numbers or absent). None when it looks like pairs.

    The pair import wizard and ``stsstudio import`` use this to offer the sentence path.
    """
    kinds = _column_kinds(raw)
    sample = raw.frame.iloc[:2000]
    texts = []
    for c, kind in kinds.items():
        if kind != "text":
            continue
        cells = importers._text_of(sample[c]).astype(str).str.strip()
        # Categories (priority, team, language) are short and repeat; sentences are neither.
        if len(cells) and cells.str.len().mean() >= 10 and cells.nunique() >= 0.5 * len(cells):
            texts.append(c)
    return texts[0] if len(texts) == 1 else None


# --------------------------------------------------------------------------------------
# Validation and writing


def _cell(v: Any) -> Any:
    """A metadata cell as a JSON value (numpy scalars become Python, NaN becomes None)."""
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def prepare_sentences(source: str | os.PathLike[str] | RawTable,
                      options: SentenceImportOptions | None = None,
                      project: Project | None = None) -> PreparedSentences:
    """Read and validate a sentence source and drop duplicates; write nothing.

    Raises:
        ImportDataError: naming the file, row and column of the first problem (an empty or
            huge sentence, a repeated id, a missing column).
    """
    import pandas as pd

    started = time.perf_counter()
    options = options or SentenceImportOptions()
    raw = source if isinstance(source, RawTable) else read_sentence_table(source, options)
    name = raw.display_name
    column = importers._resolve(raw, options.column, guess_text_column(raw), "text", True)
    id_column = importers._resolve(raw, options.id_column, guess_id_column(raw, column), "id", False)
    if id_column == column:
        raise ImportDataError("the id column is also the text column", file=name, column=column)
    arr = importers._sentences(raw, column)
    texts = arr.to_pylist()
    n = len(texts)
    row_numbers = np.asarray(raw.row_numbers)

    ids: list[Any] | None = None
    if id_column is not None:
        ids = [_cell(v) for v in raw.frame[id_column].tolist()]
        seen: dict[Any, int] = {}
        for i, v in enumerate(ids):
            if v is None or (isinstance(v, str) and not v.strip()):
                continue
            if v in seen:
                raise ImportDataError(f"the id {v!r} appears twice (rows {int(row_numbers[seen[v]])} and "
                                      f"{int(row_numbers[i])})", file=name, row=int(row_numbers[i]),
                                      column=id_column)
            seen[v] = i
    others = [c for c in raw.columns if c not in (column, id_column)]
    other_cells = {c: raw.frame[c].tolist() for c in others}

    hashes = sentence_hashes(arr, texts).view(np.int64)
    codes, _ = pd.factorize(hashes)
    running = np.maximum.accumulate(codes) if n else codes
    first_at = np.flatnonzero(np.r_[True, running[1:] != running[:-1]]) if n else codes
    dup_file = first_at[codes] != np.arange(n)
    dup_pool = np.zeros(n, dtype=bool)
    if project is not None:
        known = project.pool.norm_hashes()
        if known:
            dup_pool = pd.Series(hashes).isin(known).to_numpy() & ~dup_file
    keep = np.flatnonzero(~(dup_file | dup_pool))

    rows = []
    hash_list = hashes.tolist()
    for i in keep.tolist():
        meta: dict[str, Any] = {}
        if ids is not None:
            meta["id"] = ids[i]
        if others:
            meta["columns"] = {c: _cell(other_cells[c][i]) for c in others}
        rows.append((texts[i], hash_list[i], json.dumps(meta, ensure_ascii=False),
                     int(row_numbers[i])))
    report = SentenceImportReport(
        source=raw.source, rows=n, imported=len(rows), duplicates=n - len(rows),
        duplicates_in_file=int(dup_file.sum()), duplicates_in_pool=int(dup_pool.sum()),
        format=raw.format, column=column, id_column=id_column, metadata_columns=others,
        warnings=list(raw.warnings), seconds=time.perf_counter() - started)
    return PreparedSentences(rows=rows, report=report, raw=raw, options=options)


def import_sentences(project: Project, source: str | os.PathLike[str],
                     options: SentenceImportOptions | None = None, task: Any = None
                     ) -> SentenceImportReport:
    """Read, validate and add sentences to the pool in one transaction: all rows or none.

    Args:
        project: the open project.
        source: a file (CSV, TSV, JSONL, Parquet, TXT) or a Hugging Face dataset folder.
        options: how to read it (default: detect everything).
        task: optional progress/cancel handle (checked before writing).

    Returns:
        The :class:`SentenceImportReport`.
    """
    started = time.perf_counter()
    prepared = prepare_sentences(source, options, project)
    if task is not None and getattr(task, "is_cancelled", lambda: False)():
        raise UserError("Import cancelled")
    project.pool.insert(prepared.rows, source=prepared.report.source)
    report = prepared.report
    report.pool = project.pool.split_counts()["sentences"]
    report.seconds = time.perf_counter() - started
    return report
