"""Sentence pairs from files and datasets: read, validate, deduplicate, then write in one go.

The flow is the same for every source::

    raw = read_table(source, options)              # raw cells, for the import wizard's preview
    prepared = prepare_import(source, options, project)   # validated; nothing written yet
    report = commit_import(project, prepared)      # one transaction

or simply ``import_pairs(project, source, options)``.

Sources: CSV and TSV (delimiter sniffed; UTF-8, UTF-8 with BOM, or Latin-1 with a warning;
header or not; ragged rows and stray quotes as in the STS benchmark), JSONL, Parquet, and
Hugging Face datasets (a folder written by ``save_to_disk``, a folder of data files, or a Hub
id). Every problem with the data is an :class:`ImportDataError` naming the file, the row as a
spreadsheet shows it (the header is row 1), and the column.

Headerless files get the column names ``"0"``, ``"1"``, ... (strings), so a column can always
be named by its 0-based index.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stsstudio.core.errors import Cancelled, UserError
from stsstudio.core.formats import FILE_FORMATS, dataset_suffixes, format_names, format_of, header_optional
from stsstudio.core.guidelines import follow_scale
from stsstudio.core.hashing import combine_pair_hashes, sentence_hashes
from stsstudio.core.scales import DISPLAY_COLUMNS, ScoredColumn, check_scale, score_column
from stsstudio.core.scales import SCALES as SCALES  # re-exported: the names callers know
from stsstudio.core.scales import detect_scale as detect_scale
from stsstudio.core.store import (
    DEV_FRACTION,
    DEV_SEED,
    IMPORT_ANNOTATOR,
    SPLITS,
    PairRows,
    Project,
    aggregate_target,
    choose_dev,
    effective_labels,
)

FORMATS = (*format_names("pairs"), "hf")  # the file formats of core/formats.py, and datasets
# Longer than any sentence a person labels; a 1 MB cell is a broken file, not a sentence.
MAX_TEXT_CHARS = 100_000

_SPLIT_VALUES = {
    "train": "train", "training": "train", "dev": "dev", "validation": "dev", "valid": "dev",
    "val": "dev", "development": "dev", "test": "test", "testing": "test", "none": "none", "": "",
}

# Usual column names, most specific first. Names are compared lower-cased with spaces,
# dashes and dots turned into underscores.
SENTENCE1_NAMES = ("sentence1", "sentence_1", "sentence_a", "sentencea", "sent1", "s1", "text1",
                   "text_1", "text_a", "texta", "query", "question1", "question_1", "anchor",
                   "premise", "source_sentence", "first_sentence", "left", "question", "sentence")
SENTENCE2_NAMES = ("sentence2", "sentence_2", "sentence_b", "sentenceb", "sent2", "s2", "text2",
                   "text_2", "text_b", "textb", "passage", "document", "question2", "question_2",
                   "positive", "hypothesis", "target_sentence", "second_sentence", "right", "answer",
                   "response", "candidate")
SCORE_NAMES = ("score", "similarity_score", "similarity", "relatedness_score", "relatedness",
               "label", "labels", "gold_score", "gold", "rating", "sim", "stsb_score", "target",
               "value")
SPLIT_NAMES = ("split", "subset", "partition", "fold", "set")
# A column naming who gave each row's label: import and merge-labels both read it as the
# annotator (see find_annotator_column).
ANNOTATOR_NAMES = ("annotator", "annotator_id", "annotator_name", "annotated_by", "rater", "rater_id",
                   "rater_name", "rated_by", "labeler", "labeller", "labeler_id", "labeller_id",
                   "labeled_by", "labelled_by", "coder", "coder_id", "coded_by")


class ImportDataError(UserError):
    """A problem with the data being imported, located as precisely as we can.

    Attributes:
        file: the file or dataset (as the user named it).
        row: 1-based row as a spreadsheet shows it (the header line is row 1), the line of a
            JSONL file, or the 1-based record of a Parquet file or dataset; None if n/a.
        column: column name (or index for headerless files); None if n/a.
        detail: the message without the location.
    """

    def __init__(self, detail: str, *, file: str | None = None, row: int | None = None,
                 column: str | int | None = None) -> None:
        self.detail = detail
        self.file = file
        self.row = row
        self.column = column
        super().__init__(self._text())

    def _text(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            col = str(self.column)
            where.append(f"column {col}" if col.isdigit() else f"column {col!r}")
        text = " ".join(self.detail.split())  # always one line
        return f"{', '.join(where)}: {text}" if where else text


@dataclass
class ImportOptions:
    """How to read a source. ``None`` means detect it.

    Attributes:
        format: csv, tsv, jsonl, parquet or hf; None detects it from the extension or folder.
        sentence1, sentence2, score: column name or 0-based index; None detects it. A score
            column of "" means the file has none (every pair arrives unlabeled).
        split_column: column holding train/dev/test; None detects a column named split;
            "" means none.
        has_header: whether a CSV/TSV starts with a header line; None detects it.
        scale: auto (detect: see :func:`stsstudio.core.scales.guess_scale`), 0-1, 0-5, 1-5,
            0-10, 1-10 or 0-100.
        split: the split of every pair when there is no split column (or its cell is empty).
        hf_config, hf_split: Hugging Face dataset config and split (default split: train).
        encoding: text encoding of a CSV/TSV/JSONL; None detects UTF-8 or Latin-1.
        dev_fraction: without a split column, hold out this seeded share of the labeled pairs
            of ``split`` (train or none) as dev (:func:`stsstudio.core.store.choose_dev`);
            0 holds out nothing.
        dev_seed: the seed of that choice. ``dev_fraction=None`` follows
            :func:`default_dev_fraction` (the wizard's and the CLI's default).
        annotator_column: the column naming who gave each row's label (a rater); None
            detects it by name (:func:`find_annotator_column`); "" means none.
    """

    format: str | None = None
    sentence1: str | int | None = None
    sentence2: str | int | None = None
    score: str | int | None = None
    split_column: str | int | None = None
    has_header: bool | None = None
    scale: str = "auto"
    split: str = "none"
    hf_config: str | None = None
    hf_split: str | None = None
    encoding: str | None = None
    dev_fraction: float | None = 0.0
    dev_seed: int = DEV_SEED
    annotator_column: str | int | None = None


@dataclass
class ColumnGuess:
    """The columns auto-detection picked (names from :attr:`RawTable.columns`, or None)."""

    sentence1: str | None = None
    sentence2: str | None = None
    score: str | None = None
    split_column: str | None = None
    annotator_column: str | None = None


@dataclass
class RawTable:
    """The raw cells of a source, before validation.

    ``frame`` holds strings for CSV/TSV (missing cells are ""), and the source's own types for
    the other formats. Its columns are the header names, or "0", "1", ... without a header.
    ``row_numbers[i]`` is the row of ``frame.iloc[i]`` as error messages name it.
    """

    source: str
    format: str
    frame: Any
    columns: list[str]
    has_header: bool
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[str] = field(default_factory=list)
    guess: ColumnGuess = field(default_factory=ColumnGuess)
    row_numbers: Any = None
    display_name: str = ""

    def __len__(self) -> int:
        return len(self.frame)


@dataclass
class ImportReport:
    """What an import read, kept and dropped. ``as_dict()`` is the CLI's ``--json``."""

    source: str
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    duplicates_in_file: int = 0
    duplicates_in_project: int = 0
    conflicting_duplicates: int = 0
    labeled: int = 0
    unlabeled: int = 0
    leakage: int = 0
    leakage_sentences: int = 0
    scale: str = "0-1"
    scale_source: str = "none"
    scale_ambiguous: bool = False
    scale_note: str = ""
    format: str = ""
    columns: dict[str, str | None] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    held_out: int = 0  # labeled rows of the file put in dev by ImportOptions.dev_fraction
    metadata_columns: list[str] = field(default_factory=list)  # unmapped columns kept per pair
    annotators: list[str] = field(default_factory=list)  # the raters named by the annotator column
    labels: int = 0  # labels written with the new pairs (one per rater and pair)
    labels_on_existing: int = 0  # raters' labels added to pairs the project already had
    existing_splits: dict[str, int] = field(default_factory=dict)  # splits of the project's duplicates
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PreparedImport:
    """A validated import, not yet written. ``rows`` goes to :meth:`Project.pairs.insert`."""

    rows: PairRows
    report: ImportReport
    raw: RawTable
    options: ImportOptions
    data_version: str | None = None
    row_labels: list[list[tuple[str, float]]] | None = None  # per row of ``rows``, with raters
    existing_labels: list[tuple[int, str, float]] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# Progress and cancel (duck-typed: anything with progress(done, total) and is_cancelled())


class _Steps:
    def __init__(self, task: Any, total: int = 100) -> None:
        self.task = task
        self.total = total

    def __call__(self, done: int) -> None:
        if self.task is None:
            return
        cancelled = getattr(self.task, "is_cancelled", None)
        if cancelled is not None and cancelled():
            raise Cancelled("Import cancelled")
        progress = getattr(self.task, "progress", None)
        if progress is not None:
            progress(min(done, self.total), self.total)


# --------------------------------------------------------------------------------------
# Scores


def score_preview(raw: RawTable, column: str | None, scale: str = "auto") -> ScoredColumn | None:
    """The scores of ``column`` as the import will store them, and the first problem.

    The import wizard's preview and :func:`prepare_import` both call this, so the preview
    shows the very numbers the import stores. None when there is no score column.
    """
    if column is None:
        return None
    return score_column(raw.frame[column], column, scale, rows=raw.row_numbers)


def score_error(raw: RawTable, column: str, scored: ScoredColumn) -> ImportDataError | None:
    """The problem of a :func:`score_preview` as the error the import raises (or None)."""
    if scored.problem is None:
        return None
    i, detail = scored.problem
    return ImportDataError(detail, file=raw.display_name, row=int(np.asarray(raw.row_numbers)[i]),
                           column=column)


# --------------------------------------------------------------------------------------
# Raters: the annotator column (one rule for import, the wizard and merge-labels)


def find_annotator_column(columns: Sequence[str], *, taken: Iterable[str | None] = ()) -> str | None:
    """The column that names each row's annotator (rater), recognised by its name.

    Names are compared case-insensitively with spaces, dashes and dots as underscores:
    annotator, rater, labeler, labeller, coder, annotated_by, ... (:data:`ANNOTATOR_NAMES`).
    Columns in ``taken`` (the sentence, score and split columns) are never it.
    """
    skip = {c for c in taken if c}
    by_norm: dict[str, str] = {}
    for c in columns:
        if c not in skip:
            by_norm.setdefault(_norm_name(c), c)
    return next((by_norm[n] for n in ANNOTATOR_NAMES if n in by_norm), None)


def annotator_column(raw: RawTable, wanted: str | int | None = None, *,
                     taken: Iterable[str | None] = ()) -> str | None:
    """The annotator column of ``raw``: the one asked for (name or 0-based index; "" for
    none), else the one :func:`find_annotator_column` recognises.

    Raises:
        ImportDataError: the column asked for does not exist or is a sentence/score column.
    """
    taken = [c for c in taken if c]
    if wanted is None:
        return find_annotator_column(raw.columns, taken=taken)
    column = _resolve(raw, wanted, None, "annotator", False)
    if column is not None and column in taken:
        raise ImportDataError("the annotator column is also a sentence, score or split column",
                              file=raw.display_name, column=column)
    return column


def annotator_cells(raw: RawTable, column: str) -> list[str]:
    """Each row's annotator name, stripped; "" where the cell is empty."""
    return [str(a).strip() if a is not None and not (isinstance(a, float) and math.isnan(a)) else ""
            for a in raw.frame[column].tolist()]


def annotator_names(raw: RawTable, column: str | None) -> list[str]:
    """The distinct annotators a column names, sorted (the wizard's "2 raters: rater_a,
    rater_b")."""
    if column is None:
        return []
    return sorted({a for a in annotator_cells(raw, column) if a})


def raters_note(names: Sequence[str]) -> str:
    """Plain words for the raters of a file: "2 raters: rater_a, rater_b"."""
    if not names:
        return "no rater named: the labels are the file's"
    shown = ", ".join(names[:8]) + (f", and {len(names) - 8:,} more" if len(names) > 8 else "")
    return f"{len(names):,} rater{'s' if len(names) != 1 else ''}: {shown}"


DEFAULT_SPLIT = "train"  # the split of a file's pairs when nothing else is said (wizard and CLI)


def default_dev_fraction(split_column: str | None, split: str) -> float:
    """The share of labeled pairs held out as dev when nothing is said: the wizard's checkbox
    default and ``stsstudio import``'s. A file with a split column holds nothing out."""
    return DEV_FRACTION if split_column is None and split in ("train", "none") else 0.0


# --------------------------------------------------------------------------------------
# Reading


def read_table(source: str | os.PathLike[str], options: ImportOptions | None = None) -> RawTable:
    """Read a source into raw cells without validating them (the import wizard's preview).

    Raises:
        ImportDataError: the source is missing, empty, binary, in an unsupported encoding,
            unparsable, or has duplicate column names.
    """
    options = options or ImportOptions()
    fmt = _detect_format(source, options.format)
    if fmt == "hf":
        raw = _read_hf(source, options)
    else:
        FILE_FORMATS[fmt].require()
        raw = READERS[fmt](Path(source).expanduser(), options, fmt)
    raw.guess = _guess_columns(raw)
    return raw


def _display(source: str | os.PathLike[str]) -> str:
    p = Path(source)
    return p.name or str(source)


def _detect_format(source: str | os.PathLike[str], fmt: str | None) -> str:
    text = os.fspath(source)
    path = Path(text).expanduser()
    if fmt:
        if fmt not in FORMATS:
            raise UserError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        if fmt != "hf" and not path.is_file():
            raise ImportDataError(_not_a_file(path) or "no such file", file=text)
        return fmt
    if path.is_dir():
        return "hf"
    if path.is_file():
        known = format_of(path, "pairs")
        if known is not None:
            return known.name
        with open(path, "rb") as fh:
            head = fh.read(4)
        return "parquet" if head == b"PAR1" else "csv"
    # "owner/name" or "name" that is not on disk: a dataset on the Hugging Face Hub.
    if format_of(path, "pairs") is None and not text.startswith((".", "~", "/")) \
            and re.fullmatch(r"[\w-]+(\.[\w-]+)*(/[\w-]+(\.[\w-]+)*)?", text):
        return "hf"
    raise ImportDataError(_not_a_file(path) or "no such file or folder", file=text)


def _not_a_file(path: Path) -> str | None:
    """What a path that is neither a file nor a folder is, in words; None if it is missing."""
    import errno
    import stat

    try:
        mode = path.lstat().st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        try:
            path.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "is a symbolic link loop"
            return "is a broken symbolic link (its target does not exist)"
        mode = path.stat().st_mode
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a file; save the data to a file and import that"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return None


def _read_bytes(path: Path, name: str) -> bytes:
    """A file's bytes, or an ImportDataError saying why they cannot be read."""
    try:
        return path.read_bytes()
    except PermissionError:
        raise ImportDataError("the file cannot be read: permission denied", file=name) from None
    except OSError as exc:
        raise ImportDataError(f"the file cannot be read: {exc.strerror or exc}", file=name) from None


# Larger than any real pair file; a 100,000-column "CSV" is a broken file, and parsing it costs
# minutes and gigabytes before the header turns out to be wrong.
MAX_COLUMNS = 1000


def _check_column_count(count: int, name: str) -> None:
    if count > MAX_COLUMNS:
        raise ImportDataError(f"the file has {count:,} columns; at most {MAX_COLUMNS:,} are read "
                              "(is it the wrong file or the wrong delimiter?)", file=name, row=1)


# A valid multi-byte UTF-8 sequence: its presence means the file was meant to be UTF-8.
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _check_bytes(data: bytes, name: str) -> None:
    """Refuse empty, binary and UTF-16/32 files before any parser sees them."""
    if not data or data.isspace():  # isspace stops at the first other byte; strip would copy
        raise ImportDataError("the file is empty", file=name)
    head = data[:8]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 3 and (
            (data[0] == 0 and data[1] != 0) or (data[0] != 0 and data[1] == 0))):
        raise ImportDataError("the file is UTF-16 (or UTF-32) encoded; save it as UTF-8 and import "
                              "it again", file=name)
    if head.startswith(b"PAR1"):
        raise ImportDataError("this is a Parquet file; import it with the format parquet", file=name)
    if head.startswith(b"PK\x03\x04"):
        raise ImportDataError("this is a zip archive or an Excel workbook, not a text file; give a "
                              f"workbook the {FILE_FORMATS['xlsx'].suffix} suffix (or save the sheet "
                              "as CSV), or unpack the archive first", file=name)
    if head.startswith(b"\x1f\x8b"):
        raise ImportDataError("the file is gzip-compressed; unpack it first", file=name)
    nul = data.find(b"\x00")
    if nul != -1:
        line = data.count(b"\n", 0, nul) + 1
        raise ImportDataError("this is a binary file, not text (it contains NUL bytes)",
                              file=name, row=line)


def _decode(data: bytes, name: str, encoding: str | None) -> tuple[str, list[str]]:
    """Pick the encoding: (codec name for the parser, warnings)."""
    if encoding:
        try:
            data.decode(encoding)
        except LookupError:
            raise UserError(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ImportDataError(f"the file is not valid {encoding}", file=name, row=line) from None
        return encoding, []
    if data.isascii():  # much faster than decoding, and most files are
        return "utf-8", []
    if data.startswith(b"\xef\xbb\xbf"):
        codec = "utf-8-sig"
    else:
        codec = "utf-8"
    try:
        data.decode(codec)
        return codec, []
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if codec == "utf-8-sig" else 0)  # utf-8-sig counts after the BOM
        line = data.count(b"\n", 0, start) + 1
        if codec == "utf-8-sig" or _UTF8_MULTIBYTE.search(data):
            # Mostly UTF-8 with a bad byte: reading all of it as Latin-1 would garble every
            # accented character of every row ("Café" -> "CafÃ©"). Refuse and point at the byte.
            raise ImportDataError(
                f"byte 0x{data[start]:02X} at byte offset {start:,} is not valid UTF-8, "
                "while the rest of the file is UTF-8; fix or remove that byte (or pass the "
                "file's real encoding)", file=name, row=line) from None
    # Latin-1 decodes any byte; Windows-1252 is the same except that it has printable
    # characters (curly quotes, the euro sign) where Latin-1 has control codes.
    codec = "latin-1"
    if re.search(rb"[\x80-\x9f]", data):
        try:
            data.decode("cp1252")
            codec = "cp1252"
        except UnicodeDecodeError:
            pass
    return codec, [f"{name} is not UTF-8 (first non-UTF-8 byte on line {line}); it was read as "
                   f"Latin-1 ({codec}). Check accented characters."]


def _sniff_delimiter(sample: str) -> str:
    """The delimiter present on (nearly) every line with the most consistent count."""
    lines = [ln for ln in sample.splitlines()[:200] if ln.strip()]
    if len(lines) > 1 and len(sample) >= 65536:
        lines = lines[:-1]  # the last line of a truncated sample is partial
    if not lines:
        return ","
    best, best_key = ",", None
    for priority, delim in enumerate(("\t", ",", ";", "|")):
        counts = [ln.count(delim) for ln in lines]
        present = sum(1 for c in counts if c) / len(counts)
        if not present:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        consistency = freq / len(counts) if mode else 0.0
        key = (present >= 0.9, consistency, present, -priority)
        if best_key is None or key > best_key:
            best, best_key = delim, key
    return best


_BLANK_LINE = re.compile(rb"\n\r?\n")


def _read_delimited(path: Path, options: ImportOptions, fmt: str) -> RawTable:
    name = _display(path)
    data = _read_bytes(path, name)
    _check_bytes(data, name)
    codec, warnings = _decode(data, name, options.encoding)
    sample = data[:65536].decode(codec, errors="replace")
    delimiter = "\t" if fmt == "tsv" else _sniff_delimiter(sample)
    first_line = data[:data.find(b"\n")] if b"\n" in data else data
    _check_column_count(first_line.count(delimiter.encode()) + 1, name)

    if codec not in ("utf-8", "utf-8-sig"):
        data = data.decode(codec).encode("utf-8")  # both parsers below read UTF-8
    elif codec == "utf-8-sig":
        data = data[3:]
    # Blank lines would shift row numbers in the fast parser, which skips them.
    # One regex pass finds both kinds of blank line: three times faster than two `in` scans.
    simple = _BLANK_LINE.search(data) is None and not data.startswith((b"\n", b"\r\n"))
    frame = _parse_delimited(data, delimiter, simple, fmt, name, warnings)
    _check_column_count(frame.shape[1], name)
    frame.columns = [str(i) for i in range(frame.shape[1])]
    if codec == "utf-8-sig":
        codec = "utf-8 (with BOM)"
    frame, columns, row_numbers, has_header = _header_and_rows(path, frame, options, name, warnings)
    return RawTable(source=os.fspath(path), format=fmt, frame=frame, columns=columns,
                    has_header=bool(has_header), encoding=codec,
                    delimiter=delimiter, warnings=warnings, row_numbers=row_numbers,
                    display_name=name)


def _parse_delimited(data: bytes, delimiter: str, simple: bool, fmt: str, name: str,
                     warnings: list[str]) -> Any:
    """The cells of UTF-8 ``data`` as a frame of strings, with quote handling where it fits."""
    import pandas as pd

    def parse(quoting: int, ncols: int | None = None) -> pd.DataFrame:
        if simple and ncols is None:
            frame = _parse_arrow(data, delimiter, quoting)
            if frame is not None:
                return frame
        kwargs: dict[str, Any] = dict(
            sep=delimiter, header=None, dtype=object, keep_default_na=False, na_filter=False,
            skip_blank_lines=False, quoting=quoting, encoding="utf-8", engine="c")
        if ncols is not None:
            kwargs["names"] = [str(i) for i in range(ncols)]
        frame = pd.read_csv(io.BytesIO(data), **kwargs)
        return frame.fillna("")

    def parse_ragged(quoting: int) -> pd.DataFrame:
        try:
            return parse(quoting)
        except pd.errors.ParserError as exc:
            if "Expected" not in str(exc):
                raise
            # Ragged rows (some carry extra fields, like the STS benchmark): give the parser
            # as many columns as the longest line can hold; shorter rows are padded with "".
            counts = [line.count(delimiter.encode()) for line in data.splitlines()]
            widest = max(counts) + 1
            if widest > MAX_COLUMNS:  # refused before pandas builds a frame that wide (minutes)
                row = counts.index(widest - 1) + 1
                raise ImportDataError(f"the line has {widest:,} fields; a file of pairs or sentences "
                                      f"has a few columns (at most {MAX_COLUMNS:,} are read)",
                                      file=name, row=row)
            return parse(quoting, widest)

    frame = None
    quoting = csv.QUOTE_MINIMAL
    if b'"' in data:
        # A record per line unless quoted fields span lines.
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        try:
            frame = parse_ragged(csv.QUOTE_MINIMAL)
        except pd.errors.ParserError:
            frame = None
        if frame is None or len(frame) != n_lines:
            # Either quoted fields legitimately span lines, or stray quote characters inside
            # sentences swallowed the delimiters: then every line still has at least the usual
            # number of fields when read without quoting.
            counts = [line.count(delimiter.encode()) for line in data.splitlines() if line.strip()]
            usual = Counter(counts).most_common(1)[0][0]
            if frame is None or min(counts) >= usual:
                quoting = csv.QUOTE_NONE
                frame = None
                warnings.append(f"{name} was read without quote handling because quote characters "
                                "appear inside its fields.")
    if frame is None:
        try:
            frame = parse_ragged(quoting)
        except pd.errors.ParserError as exc:
            raise ImportDataError(f"the file cannot be read as {fmt.upper()}: {exc}", file=name) from None
    return frame


def _header_and_rows(path: Path, frame: Any, options: ImportOptions, name: str, warnings: list[str]
                     ) -> tuple[Any, list[str], np.ndarray, bool | None]:
    """The frame without its header row and blank lines; its column names, file row numbers
    and whether it had a header."""
    has_header = options.has_header
    if has_header is None:
        has_header = _detect_header(frame)
    row_numbers = np.arange(1, len(frame) + 1)
    columns = list(frame.columns)
    if has_header:
        header = [str(c).strip() for c in frame.iloc[0].tolist()]
        columns = _header_names(header, name)
        frame = frame.iloc[1:].reset_index(drop=True)
        frame.columns = columns
        row_numbers = row_numbers[1:]
    _undo_formula_escaping(path, frame, name, warnings)
    columns = list(frame.columns)
    # Blank lines are kept by the parser so that row numbers match the file; drop them now.
    blank = np.ones(len(frame), dtype=bool)
    for col in frame.columns:
        blank &= (frame[col] == "").to_numpy(dtype=bool)
    if blank.any():
        frame = frame.loc[~blank].reset_index(drop=True)
        row_numbers = row_numbers[~blank]
    # Extra columns that only exist because of ragged rows and are empty everywhere.
    while len(columns) > 1 and columns[-1].isdigit() and int(columns[-1]) == len(columns) - 1 \
            and not has_header and len(frame) and (frame[columns[-1]] == "").all():
        frame = frame.drop(columns=columns[-1])
        columns = columns[:-1]
    if len(frame) == 0:
        raise ImportDataError("the file has a header but no rows" if has_header else
                              "the file has no rows", file=name)
    return frame, columns, row_numbers, has_header


def _undo_formula_escaping(path: Path, frame: Any, name: str, warnings: list[str]) -> None:
    """Our own export escaped formula-like cells (its sidecar says so): take that off again."""
    from stsstudio.core.data_export import formula_note_path

    if formula_note_path(path).is_file():
        from stsstudio.core.data_export import undo_spreadsheet_safe

        # Column names too: an imported column named =HYPERLINK(...) was written escaped.
        frame.columns = [undo_spreadsheet_safe(str(c)) for c in frame.columns]
        for col in frame.columns:
            marked = frame[col].str.match(r"'[=+\-@\t\r]").to_numpy(dtype=bool, na_value=False)
            if marked.any():
                frame.loc[marked, col] = frame.loc[marked, col].str[1:]
        warnings.append(f"{name} is an STS Studio export; the apostrophes it put before formula-like "
                        "cells were removed.")


def _all_strings() -> dict[str, Any]:
    import pyarrow as pa

    # Arrow names headerless columns f0, f1, ...; names it does not meet are ignored.
    return {f"f{i}": pa.large_string() for i in range(1000)}


def _parse_arrow(data: bytes, delimiter: str, quoting: int) -> Any:
    """Parse with Arrow's multi-threaded CSV reader (every cell a string); None if it cannot.

    Arrow refuses ragged rows; the caller then falls back to pandas' parser.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    ncols = None
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char='"' if quoting != csv.QUOTE_NONE else False,
                double_quote=True, newlines_in_values=quoting != csv.QUOTE_NONE,
                ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=False, quoted_strings_can_be_null=False,
                                                 column_types=_all_strings()),
        )
        ncols = table.num_columns
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    frame = table.to_pandas()
    frame.columns = [str(i) for i in range(ncols)]
    return frame


def _header_names(header: list[str], name: str) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        if not h:
            h = str(i)  # unnamed (e.g. the extra fields of ragged rows): its index
        key = h.casefold()
        if key in seen:
            raise ImportDataError(
                f"the header names the column {h!r} twice (columns {seen[key]} and {i}, counting "
                "from 0); rename one of them", file=name, row=1, column=h)
        seen[key] = i
        out.append(h)
    return out


def _norm_name(name: str) -> str:
    return re.sub(r"[\s.\-]+", "_", str(name).strip().casefold())


_ALL_NAMES = set(SENTENCE1_NAMES + SENTENCE2_NAMES + SCORE_NAMES + SPLIT_NAMES)


def _numeric_mask(values: Any) -> np.ndarray:
    import pandas as pd

    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").notna().to_numpy()


def _detect_header(frame: Any) -> bool:
    """A header if the first row holds usual column names, or a text cell above numbers."""
    if len(frame) == 0:
        return False
    first = [str(v).strip() for v in frame.iloc[0].tolist()]
    if any(_norm_name(v) in _ALL_NAMES for v in first if v):
        return True
    rest = frame.iloc[1:2001]
    if len(rest) == 0:
        return False
    for i, col in enumerate(frame.columns):
        values = [v for v in rest[col].tolist() if str(v).strip()]
        if not values:
            continue
        numeric = _numeric_mask(values).mean()
        if numeric >= 0.9 and first[i] and not _numeric_mask([first[i]])[0]:
            return True
    return False


def _text_of(series: Any) -> Any:
    """A column as text: missing values become ""."""
    import pandas as pd

    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return series.fillna("")
    return series.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else
                      (v if isinstance(v, str) else str(v)))


def _arrow_text(series: Any) -> Any:
    """A column as an Arrow large_string array without nulls (zero-copy for Arrow strings)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = None
    if isinstance(series.dtype, pd.StringDtype) or isinstance(series.dtype, pd.ArrowDtype):
        try:
            arr = pa.array(series.array)
        except (TypeError, pa.ArrowInvalid):
            arr = None
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pa.array(_text_of(series), type=pa.large_string(), from_pandas=True)
    # Chunked arrays stay chunked: combining a million strings would copy them for nothing.
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    return pc.fill_null(arr, "") if arr.null_count else arr


def _guess_columns(raw: RawTable) -> ColumnGuess:
    """Usual names first; otherwise the two longest text columns and the numeric one."""
    import pandas as pd

    guess = ColumnGuess()
    by_norm = {}
    for c in raw.columns:
        by_norm.setdefault(_norm_name(c), c)
    if raw.has_header or not header_optional(raw.format):
        for attr, names in (("sentence1", SENTENCE1_NAMES), ("sentence2", SENTENCE2_NAMES),
                            ("score", SCORE_NAMES), ("split_column", SPLIT_NAMES)):
            for n in names:
                c = by_norm.get(n)
                if c is not None and c not in (guess.sentence1, guess.sentence2, guess.score):
                    setattr(guess, attr, c)
                    break
    guess.annotator_column = find_annotator_column(
        raw.columns, taken=(guess.sentence1, guess.sentence2, guess.score, guess.split_column))
    used = {c for c in (guess.sentence1, guess.sentence2, guess.score, guess.split_column,
                        guess.annotator_column) if c}
    sample = raw.frame.iloc[:2000]
    stats = {}
    for c in raw.columns:
        if c in used:
            continue
        col = sample[c]
        text = _text_of(col).astype(str).str.strip()
        nonempty = text[text != ""]
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            nums = pd.to_numeric(col, errors="coerce").dropna()
            numeric_frac = 1.0 if len(nums) else 0.0
        else:
            nums = pd.to_numeric(nonempty, errors="coerce")
            numeric_frac = float(nums.notna().mean()) if len(nonempty) else 0.0
            nums = nums.dropna()
        stats[c] = {
            "nonempty": len(nonempty),
            "numeric": numeric_frac,
            "mean_len": float(text.str.len().mean()) if len(text) else 0.0,
            "decimal": float(nonempty.str.contains(".", regex=False).mean()) if len(nonempty) else 0.0,
            "leading_zero": bool(nonempty.str.match(r"0\d").any()) if len(nonempty) else False,
            "min": float(nums.min()) if len(nums) else math.nan,
            "max": float(nums.max()) if len(nums) else math.nan,
            "splitlike": bool(len(nonempty)) and bool(nonempty.str.lower().isin(_SPLIT_VALUES).all()),
        }
    if guess.split_column is None:
        for c, st in stats.items():
            if st["splitlike"] and st["numeric"] < 0.5:
                guess.split_column = c
                break
    if guess.score is None:
        candidates = []
        for pos, (c, st) in enumerate(stats.items()):
            if c == guess.split_column or not st["nonempty"] or st["numeric"] < 0.95:
                continue
            lo, hi = st["min"], st["max"]
            in_range = 2 if (lo >= 0 and hi <= 5) else 1 if (lo >= 0 and hi <= 100) else 0
            if in_range == 0:
                continue  # ids, years, counts: not a similarity score
            candidates.append((in_range, st["decimal"], not st["leading_zero"], -pos, c))
        if candidates:
            guess.score = max(candidates)[-1]
    if guess.sentence1 is None or guess.sentence2 is None:
        texts = [(st["mean_len"], c) for c, st in stats.items()
                 if c not in (guess.score, guess.split_column) and st["numeric"] < 0.5
                 and c not in (guess.sentence1, guess.sentence2)]
        texts.sort(key=lambda t: -t[0])
        need = [a for a in ("sentence1", "sentence2") if getattr(guess, a) is None]
        picked = [c for _, c in texts[:len(need)]]
        picked.sort(key=raw.columns.index)
        for attr, c in zip(need, picked):
            setattr(guess, attr, c)
    return guess


# A \uD800-\uDBFF escape not followed by a \uDC00-\uDFFF one, or the reverse.
_LONE_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _read_jsonl(path: Path, options: ImportOptions, fmt: str = "jsonl") -> RawTable:
    import pandas as pd

    name = _display(path)
    data = _read_bytes(path, name)
    _check_bytes(data, name)
    codec, warnings = _decode(data, name, options.encoding)
    text = data.decode(codec)
    lone = _LONE_SURROGATE.search(text)
    if lone:  # JSON may spell one; the parsers would drop it silently
        raise ImportDataError(f"the line holds a lone surrogate escape ({lone.group(0)}), which is "
                              "not valid Unicode text", file=name,
            row=text.count("\n", 0, lone.start()) + 1)
    stripped = text.lstrip()
    if not stripped.startswith("["):
        other = re.search(r"^[ \t]*[^{\s]", text, re.M)
        if other:  # [1,2,3], 42, null, "text": not an object with a pair
            raise ImportDataError("each line must be a JSON object like {\"sentence1\": ..., "
                                  "\"sentence2\": ..., \"score\": ...}", file=name,
                                  row=text.count("\n", 0, other.start()) + 1)
    if stripped.startswith("["):  # a .json file holding one array of objects
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportDataError(f"invalid JSON: {exc.msg}", file=name, row=exc.lineno) from None
        if not all(isinstance(r, dict) for r in records):
            raise ImportDataError("the JSON array must hold objects with one pair each", file=name)
        frame = pd.DataFrame.from_records(records)
        row_numbers = np.arange(1, len(frame) + 1)
    else:
        # Lines end at "\n" only: U+2028 and other separators str.splitlines() knows are valid
        # inside a JSON string (export-data writes them), and would split a record in two.
        lines = text.split("\n")
        row_numbers = np.array([i + 1 for i, ln in enumerate(lines) if ln.strip()])
        try:
            frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
            if len(frame) != len(row_numbers):
                raise ValueError("line count")
        except (ValueError, TypeError):  # lines like [1,2,3], 42 or null raise TypeError
            records = []
            for i in row_numbers:
                try:
                    rec = json.loads(lines[i - 1])
                except json.JSONDecodeError as exc:
                    raise ImportDataError(f"invalid JSON: {exc.msg}", file=name, row=int(i)) from None
                if not isinstance(rec, dict):
                    raise ImportDataError("each line must be a JSON object", file=name, row=int(i))
                records.append(rec)
            frame = pd.DataFrame.from_records(records)
    if len(frame) == 0:
        raise ImportDataError("the file has no rows", file=name)
    frame.columns = [str(c) for c in frame.columns]
    return RawTable(source=os.fspath(path), format="jsonl", frame=frame, columns=list(frame.columns),
                    has_header=True, encoding=codec, warnings=warnings, row_numbers=row_numbers,
                    display_name=name)


def _read_parquet(path: Path, options: ImportOptions | None = None, fmt: str = "parquet") -> RawTable:
    import pandas as pd

    name = _display(path)
    if path.stat().st_size == 0:
        raise ImportDataError("the file is empty", file=name)
    try:
        import pyarrow.parquet as pq

        _check_column_count(len(pq.read_schema(path).names), name)
    except ImportDataError:
        raise
    except Exception:  # a broken file: pd.read_parquet below says so
        pass
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a broken file
        raise ImportDataError(f"the file cannot be read as Parquet ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})", file=name) from None
    return _frame_table(frame, os.fspath(path), "parquet", name)


def _frame_table(frame: Any, source: str, fmt: str, name: str, warnings: list[str] | None = None
                 ) -> RawTable:
    if len(frame) == 0:
        raise ImportDataError("the dataset has no rows", file=name)
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return RawTable(source=source, format=fmt, frame=frame, columns=list(frame.columns),
                    has_header=True, warnings=list(warnings or []),
                    row_numbers=np.arange(1, len(frame) + 1), display_name=name)


def _read_excel(path: Path, options: ImportOptions, fmt: str = "xlsx") -> RawTable:
    """The first sheet of an Excel workbook, cells as text (as a CSV has them)."""
    import pandas as pd

    name = _display(path)
    data = _read_bytes(path, name)
    if not data:
        raise ImportDataError("the file is empty", file=name)
    if not data.startswith(b"PK\x03\x04"):
        raise ImportDataError("the file is not an Excel workbook (xlsx); import it with its own "
                              "format", file=name)
    import openpyxl

    try:  # cached values of formula cells (data_only), as the spreadsheet shows them
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = list(book.sheetnames)
        rows = list(book[sheets[0]].iter_rows(values_only=True)) if sheets else []
        book.close()
        frame = pd.DataFrame.from_records(rows).astype(object) if rows else pd.DataFrame()
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise ImportDataError(f"the file cannot be read as an Excel workbook ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})", file=name) from None
    warnings = []
    if len(sheets) > 1:
        warnings.append(f"{name} has {len(sheets)} sheets; the first ({sheets[0]!r}) was read.")
    _check_column_count(frame.shape[1], name)
    frame = frame.map(_excel_text) if len(frame) else frame
    frame.columns = [str(i) for i in range(frame.shape[1])]
    has_header = options.has_header
    if has_header is None:
        has_header = _detect_header(frame)
    row_numbers = np.arange(1, len(frame) + 1)
    columns = list(frame.columns)
    if has_header and len(frame):
        columns = _header_names([c.strip() for c in frame.iloc[0].tolist()], name)
        frame = frame.iloc[1:].reset_index(drop=True)
        frame.columns = columns
        row_numbers = row_numbers[1:]
    _undo_formula_escaping(path, frame, name, warnings)
    columns = list(frame.columns)
    blank = (frame == "").all(axis=1).to_numpy(dtype=bool) if len(frame) else np.zeros(0, dtype=bool)
    if blank.any():
        frame = frame.loc[~blank].reset_index(drop=True)
        row_numbers = row_numbers[~blank]
    if len(frame) == 0:
        raise ImportDataError("the sheet has a header but no rows" if has_header else
                              "the sheet has no rows", file=name)
    return RawTable(source=os.fspath(path), format=fmt, frame=frame, columns=columns,
                    has_header=bool(has_header), warnings=warnings, row_numbers=row_numbers,
                    display_name=name)


def _excel_text(value: Any) -> str:
    """A workbook cell as text: empty for a blank cell, 3 (not 3.0) for a whole number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Each file format of core/formats.py has its reader here: (path, options, format name).
READERS: dict[str, Any] = {
    "csv": _read_delimited, "tsv": _read_delimited, "jsonl": _read_jsonl, "parquet": _read_parquet,
    "xlsx": _read_excel,
}


# -- Hugging Face datasets ---------------------------------------------------------------

_DATA_SUFFIXES = dataset_suffixes()


def _split_of_file(path: Path) -> str | None:
    stem = path.name.lower()
    for split, words in (("train", ("train",)), ("validation", ("validation", "valid", "dev", "val")),
                         ("test", ("test",))):
        if any(re.search(rf"(^|[^a-z]){w}([^a-z]|$)", stem) for w in words):
            return split
    parts = [p.lower() for p in path.parts]
    for split in ("train", "validation", "test"):
        if split in parts:
            return split
    return None


def _read_hf(source: str | os.PathLike[str], options: ImportOptions) -> RawTable:
    text = os.fspath(source)
    path = Path(text).expanduser()
    name = _display(path) if path.exists() else text
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists() \
                or (path / "state.json").exists():
            return _read_saved_dataset(path, options, name)
        return _read_data_folder(path, options, name)
    if path.exists():
        raise ImportDataError("a Hugging Face dataset is a folder or a Hub id, not a file; "
                              "import the file with its own format", file=text)
    return _read_hub(text, options)


def _pick_split(splits: list[str], wanted: str | None, name: str) -> str:
    if wanted:
        if wanted in splits:
            return wanted
        raise ImportDataError(f"the dataset has no split {wanted!r}; it has {', '.join(splits)}",
                              file=name)
    for s in ("train", *splits):
        if s in splits:
            return s
    raise ImportDataError("the dataset has no splits", file=name)


def _read_saved_dataset(path: Path, options: ImportOptions, name: str) -> RawTable:
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise ImportDataError(f"the folder cannot be read as a saved dataset ({type(exc).__name__}: "
                              f"{exc})", file=name) from None
    label = name
    if isinstance(ds, datasets.DatasetDict):
        split = _pick_split(list(ds.keys()), options.hf_split, name)
        ds = ds[split]
        label = f"{name} [{split}]"
    frame = ds.to_pandas()
    return _frame_table(frame, os.fspath(path), "hf", label)


def _read_data_folder(path: Path, options: ImportOptions, name: str) -> RawTable:
    import pandas as pd

    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _DATA_SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise ImportDataError("the folder holds no dataset: neither a save_to_disk dataset nor "
                              "Parquet/CSV/TSV/JSONL files", file=name)
    by_split: dict[str, list[Path]] = {}
    for f in files:
        by_split.setdefault(_split_of_file(f) or "train", []).append(f)
    wanted = options.hf_split
    if wanted in ("dev", "valid", "val"):
        wanted = "validation"
    split = _pick_split(list(by_split), wanted, name)
    frames, warnings = [], []
    row_numbers = []
    for f in by_split[split]:
        sub = read_table(f, ImportOptions(encoding=options.encoding, has_header=options.has_header))
        frames.append(sub.frame)
        warnings += sub.warnings
        row_numbers.append(sub.row_numbers)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    raw = _frame_table(frame, os.fspath(path), "hf", f"{name} [{split}]", warnings)
    if len(frames) == 1:
        raw.row_numbers = row_numbers[0]
        raw.display_name = f"{name}/{by_split[split][0].relative_to(path)}"
    return raw


def _hub_unreachable(dataset_id: str, why: str) -> ImportDataError:
    return ImportDataError(
        f"the Hugging Face Hub cannot be reached ({why}), so the dataset {dataset_id!r} cannot be "
        "downloaded. Import a local copy instead: a folder written by save_to_disk or a "
        "CSV/JSONL/Parquet file (give its path)", file=dataset_id)


def _read_hub(dataset_id: str, options: ImportOptions) -> RawTable:
    offline = any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
                  for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    if offline:
        raise _hub_unreachable(dataset_id, "offline mode is on")
    import socket

    try:  # fail in seconds, not after the HTTP client's long retries
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
    except OSError:
        raise _hub_unreachable(dataset_id, "no network connection") from None
    import datasets

    split = options.hf_split or "train"
    try:
        ds = datasets.load_dataset(dataset_id, options.hf_config, split=split)
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise _hub_unreachable(dataset_id, type(exc).__name__) from None
    except ValueError as exc:
        raise ImportDataError(f"cannot load the dataset: {str(exc).splitlines()[0]}",
                              file=dataset_id) from None
    except Exception as exc:  # DatasetNotFoundError and friends
        raise ImportDataError(f"cannot load the dataset ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})", file=dataset_id) from None
    return _frame_table(ds.to_pandas(), dataset_id, "hf", f"{dataset_id} [{split}]")


# --------------------------------------------------------------------------------------
# Validation


def _sentence_columns(raw: Any, options: Any) -> tuple[Any, Any]:
    """The two sentence columns: the user's choice or the guess; one line when they are the same."""
    s1_col = _resolve(raw, options.sentence1, raw.guess.sentence1, "sentence1", True)
    s2_col = _resolve(raw, options.sentence2, raw.guess.sentence2, "sentence2", True)
    if s1_col == s2_col:
        raise ImportDataError("sentence1 and sentence2 are the same column", file=raw.display_name,
                              column=s1_col)
    return s1_col, s2_col


def _resolve(raw: RawTable, wanted: str | int | None, guessed: str | None, role: str,
             required: bool) -> str | None:
    name = raw.display_name
    if wanted is None:
        if guessed is None and required:
            raise ImportDataError(
                f"no {role} column could be detected among the columns "
                f"{', '.join(raw.columns)}; name it (by header name or 0-based index)", file=name,
                column=None)
        return guessed
    if isinstance(wanted, str) and wanted == "":
        return None
    if isinstance(wanted, str) and wanted in raw.columns:
        return wanted
    if isinstance(wanted, str):
        folded = {c.casefold(): c for c in raw.columns}
        if wanted.strip().casefold() in folded:
            return folded[wanted.strip().casefold()]
    index = wanted if isinstance(wanted, int) else (int(wanted) if str(wanted).strip().isdigit() else None)
    if index is not None:
        if 0 <= index < len(raw.columns):
            return raw.columns[index]
        raise ImportDataError(f"there is no {role} column {index}: the source has "
                              f"{len(raw.columns)} columns (0 to {len(raw.columns) - 1})",
                              file=name, column=index)
    raise ImportDataError(f"there is no {role} column named {wanted!r}; the columns are "
                          f"{', '.join(raw.columns)}", file=name, column=wanted)


# Cells holding only these (and whitespace) are empty: zero-width space/joiners, word joiner,
# BOM, soft hyphen, Mongolian vowel separator, combining grapheme joiner.
_INVISIBLE_ONLY = "^[\\s\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u034f]*$"


def _refuse_nested(raw: RawTable, column: str) -> None:
    """Refuse a text column holding lists, objects or bytes (JSON, Parquet) or lone surrogates.

    Storing their Python repr (``{'text': 'x'}``, ``b'..'``) would be silent wrong data.
    """
    import pandas as pd

    series = raw.frame[column]
    if not pd.api.types.is_object_dtype(series.dtype):
        return
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind in ("string", "empty"):
        if raw.format not in ("jsonl", "parquet", "hf"):
            return
        bad = _first_lone_surrogate(series)
        if bad is not None:
            raise ImportDataError("the text holds a lone surrogate (an invalid \\uD800-\\uDFFF "
                                  "escape) and is not valid Unicode", file=raw.display_name,
                                  row=int(raw.row_numbers[bad]), column=column)
        return
    for i, v in enumerate(series.tolist()):
        what = ("a list" if isinstance(v, (list, tuple, np.ndarray)) else
                "an object" if isinstance(v, dict) else
                "binary data" if isinstance(v, (bytes, bytearray, memoryview)) else None)
        if what:
            raise ImportDataError(f"the cell holds {what}, not text; choose a text column or "
                                  "flatten the file first", file=raw.display_name,
                                  row=int(raw.row_numbers[i]), column=column)


def _first_lone_surrogate(series: Any) -> int | None:
    for i, v in enumerate(series.tolist()):
        if isinstance(v, str) and not v.isascii():
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return i
    return None


def _sentences(raw: RawTable, column: str) -> Any:
    """A sentence column as a stripped Arrow string array; empty and huge cells are errors."""
    import pyarrow.compute as pc

    _refuse_nested(raw, column)
    arr = _arrow_text(raw.frame[column])
    arr = pc.utf8_trim_whitespace(arr)
    if pc.sum(pc.binary_length(arr)).as_py() != pc.sum(pc.utf8_length(arr)).as_py():
        # Non-ASCII text: a cell of only zero-width characters looks empty and is empty.
        arr = pc.if_else(pc.match_substring_regex(arr, _INVISIBLE_ONLY), "", arr)
    lengths = pc.utf8_length(arr).to_numpy(zero_copy_only=False)
    empty = np.flatnonzero(lengths == 0)
    huge = np.flatnonzero(lengths > MAX_TEXT_CHARS)
    if huge.size and (not empty.size or huge[0] < empty[0]):
        i = int(huge[0])
        raise ImportDataError(
            f"the text is {int(lengths[i]):,} characters long; the limit is {MAX_TEXT_CHARS:,} "
            "(is the file broken or the wrong column chosen?)", file=raw.display_name,
            row=int(raw.row_numbers[i]), column=column)
    if empty.size:
        i = int(empty[0])
        raise ImportDataError("the sentence is empty", file=raw.display_name,
                              row=int(raw.row_numbers[i]), column=column)
    return arr


SPLIT_CODES = ("none", "train", "dev", "test")  # the int8 codes used while validating


def _split_codes(raw: RawTable, column: str | None, default: str) -> np.ndarray:
    """Each row's split as an int8 code into SPLIT_CODES; empty cells take ``default``."""
    import pandas as pd

    if default not in SPLITS:
        raise UserError(f"unknown split {default!r}; use one of {', '.join(SPLITS)}")
    n = len(raw.frame)
    if column is None:
        return np.full(n, SPLIT_CODES.index(default), dtype=np.int8)
    codes, uniques = pd.factorize(_text_of(raw.frame[column]).astype(str))
    mapping = np.empty(len(uniques), dtype=np.int8)
    for k, value in enumerate(uniques):
        split = _SPLIT_VALUES.get(str(value).strip().lower())
        if split is None:
            i = int(np.flatnonzero(codes == k)[0])
            raise ImportDataError(f"the split {value!r} is not train, dev (validation), test or none",
                                  file=raw.display_name, row=int(raw.row_numbers[i]), column=column)
        mapping[k] = SPLIT_CODES.index(split or default)
    return mapping[codes]


def prepare_import(source: str | os.PathLike[str] | RawTable, options: ImportOptions | None = None,
                   project: Project | None = None, task: Any = None) -> PreparedImport:
    """Read and validate a source, drop duplicates and compute leakage; write nothing.

    Args:
        source: a file, a dataset folder, a Hub id, or a :class:`RawTable` already read.
        options: how to read it (default: detect everything).
        project: duplicates are also dropped against this project's pairs.
        task: optional; ``task.progress(done, total)`` is called between steps and
            ``task.is_cancelled()`` checked (a cancel raises ``Cancelled("Import cancelled")``,
            a ``UserError``).

    Raises:
        ImportDataError: naming the file, row and column of the first problem.
    """
    started = time.perf_counter()
    options = options or ImportOptions()
    step = _Steps(task)
    step(0)
    raw = source if isinstance(source, RawTable) else read_table(source, options)
    step(25)
    s1_col, s2_col, score_col, split_col, rater_col = _import_columns(raw, options)

    s1 = _sentences(raw, s1_col)
    s2 = _sentences(raw, s2_col)
    step(40)
    n = len(s1)
    scores, labeled, guess, scale = _import_scores(raw, score_col, options.scale, n)
    split_codes = _split_codes(raw, split_col, options.split)
    step(50)

    sentence1, sentence2 = s1.to_pylist(), s2.to_pylist()
    h1 = sentence_hashes(s1, sentence1)
    h2 = sentence_hashes(s2, sentence2)
    hashes = combine_pair_hashes(h1, h2)
    step(75)

    codes, first_at, kept_of, dup_file = _first_occurrences(hashes, n)
    split_codes, dev_held_out = _hold_out_dev(options, split_col, split_codes, codes, first_at, labeled)

    group = _LEAK_GROUP[split_codes]
    dup_idx = np.flatnonzero(dup_file)
    conflicts = int(_differs(scores[dup_idx], scores[kept_of[dup_idx]]).sum())
    g_dup, g_kept = group[dup_idx], group[kept_of[dup_idx]]
    leak_pairs = int(((g_dup != 0) & (g_kept != 0) & (g_dup != g_kept)).sum())

    dup_project, existing_splits, project_sentences, more_conflicts, more_leaks = _against_project(
        project, hashes, scores, group, dup_file, n)
    conflicts += more_conflicts
    leak_pairs += more_leaks
    keep = ~(dup_file | dup_project)
    raters = None
    if rater_col is not None:
        raters = _rater_labels(annotator_cells(raw, rater_col), scores, labeled, kept_of, keep,
                               dup_project, hashes, project)
        scores, labeled = raters.scores, raters.labeled
        conflicts = raters.conflicts
    step(85)

    leak_sentences = _sentence_leakage(h1, h2, keep, group, project_sentences)
    columns = {"sentence1": s1_col, "sentence2": s2_col, "score": score_col, "split": split_col,
               "annotator": rater_col}
    rows_out, kept_idx, kept_codes, extra = _kept_rows(raw, options, columns, keep, scores, labeled,
                                                       split_codes, hashes, sentence1, sentence2)
    step(95)

    report, row_labels = _import_report(
        raw, kept_idx, kept_codes, labeled, dup_file, dup_project, raters, existing_splits,
        conflicts=conflicts, leak_pairs=leak_pairs, leak_sentences=leak_sentences, scale=scale,
        guess=guess, columns=columns, held_out=dev_held_out, extra=extra, started=started)
    step(100)
    return PreparedImport(rows=rows_out, report=report, raw=raw, options=options,
                          data_version=project.pairs.version() if project is not None else None,
                          row_labels=row_labels,
                          existing_labels=raters.existing if raters is not None else [])


def _import_columns(raw: RawTable, options: ImportOptions
                    ) -> tuple[str, str, str | None, str | None, str | None]:
    """The sentence, score, split and rater columns of ``raw``: chosen in ``options`` or guessed."""
    name = raw.display_name
    guess = raw.guess
    s1_col, s2_col = _sentence_columns(raw, options)
    score_col = _resolve(raw, options.score, guess.score, "score", False)
    split_col = _resolve(raw, options.split_column, guess.split_column, "split", False)
    if score_col in (s1_col, s2_col):
        raise ImportDataError("the score column is also a sentence column", file=name, column=score_col)
    if split_col in (s1_col, s2_col, score_col):
        split_col = None if options.split_column is None else split_col
    rater_col = annotator_column(raw, options.annotator_column,
                                 taken=(s1_col, s2_col, score_col, split_col))
    return s1_col, s2_col, score_col, split_col, rater_col


def _import_scores(raw: RawTable, score_col: str | None, scale_option: str | None, n: int
                   ) -> tuple[np.ndarray, np.ndarray, Any, str]:
    """Scores on 0..1 (NaN where unlabeled), the labeled mask, the scale guess and the scale."""
    scale = check_scale(scale_option or "auto")
    scored = score_preview(raw, score_col, scale)
    if scored is not None:
        error = score_error(raw, score_col, scored)
        if error is not None:
            raise error
        scores, labeled, guess = scored.scores, scored.labeled, scored.guess
    else:
        scores, labeled, guess = np.full(n, np.nan), np.zeros(n, dtype=bool), None
    scale = guess.scale if guess is not None and labeled.any() else (scale if scale != "auto" else "0-1")
    return scores, labeled, guess, scale


def _first_occurrences(hashes: np.ndarray, n: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Duplicates within the file: keep the first occurrence of each pair.

    Returns each row's pair code, the first row of each pair, each row's kept row, and the
    mask of rows that repeat an earlier one.
    """
    import pandas as pd

    codes, _ = pd.factorize(hashes)
    # factorize numbers pairs in order of first appearance, so a new running maximum marks
    # the first occurrence of each pair.
    running = np.maximum.accumulate(codes) if n else codes
    first_at = np.flatnonzero(np.r_[True, running[1:] != running[:-1]]) if n else codes
    kept_of = first_at[codes]
    dup_file = kept_of != np.arange(n)
    return codes, first_at, kept_of, dup_file


def _hold_out_dev(options: ImportOptions, split_col: str | None, split_codes: np.ndarray,
                  codes: np.ndarray, first_at: np.ndarray, labeled: np.ndarray) -> tuple[np.ndarray, int]:
    """Without a split column, move a seeded share of the labeled pairs to dev; how many moved."""
    dev_fraction = options.dev_fraction
    if dev_fraction is None:
        dev_fraction = default_dev_fraction(split_col, options.split)
    dev_held_out = 0
    if dev_fraction and split_col is None and options.split in ("train", "none"):
        # Chosen per pair (a pair's rows from several raters stay together); without repeated
        # pairs these are the labeled rows, as before.
        pair_labeled = np.zeros(len(first_at), dtype=bool)
        pair_labeled[codes[labeled]] = True
        chosen = choose_dev(first_at[pair_labeled].tolist(), dev_fraction, options.dev_seed)
        split_codes = split_codes.copy()
        if chosen:
            split_codes[np.isin(codes, codes[chosen])] = SPLIT_CODES.index("dev")
        dev_held_out = len(chosen)
    return split_codes, dev_held_out


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a_nan, b_nan = np.isnan(a), np.isnan(b)
    return (a_nan != b_nan) | (~a_nan & ~b_nan & (np.abs(a - b) > 1e-9))


def _against_project(project: Project | None, hashes: np.ndarray, scores: np.ndarray,
                     group: np.ndarray, dup_file: np.ndarray, n: int) -> tuple[
                         np.ndarray, Counter[str], tuple[np.ndarray, np.ndarray] | None, int, int]:
    """Rows whose pair the project already has, their splits there, the project's split
    sentences (for sentence leakage), and the conflicting scores and leaked pairs they add."""
    import pandas as pd

    dup_project = np.zeros(n, dtype=bool)
    existing_splits: Counter[str] = Counter()
    project_sentences: tuple[np.ndarray, np.ndarray] | None = None
    conflicts = leak_pairs = 0
    if project is not None and project.pairs.any():
        rows = project.pairs.keys()
        p_hash = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        p_score = np.array([math.nan if r[1] is None else r[1] for r in rows], dtype=float)
        p_group = _LEAK_GROUP[np.array([SPLIT_CODES.index(r[2]) for r in rows], dtype=np.int8)]
        lookup = pd.Series(np.arange(len(p_hash)), index=p_hash)
        lookup = lookup[~lookup.index.duplicated()]
        at_all = lookup.reindex(hashes).to_numpy()
        dup_project = ~np.isnan(at_all) & ~dup_file
        if dup_project.any():
            at = at_all[dup_project].astype(np.int64)
            existing_splits.update(rows[j][2] for j in at.tolist())
            conflicts += int(_differs(scores[dup_project], p_score[at]).sum())
            g_new, g_old = group[dup_project], p_group[at]
            leak_pairs += int(((g_new != 0) & (g_old != 0) & (g_new != g_old)).sum())
        if (group != 0).any():
            srows = project.pairs.split_sentences()
            if srows:
                ps_hash = np.concatenate([sentence_hashes([r[0] for r in srows]),
                                          sentence_hashes([r[1] for r in srows])])
                g = _LEAK_GROUP[np.array([SPLIT_CODES.index(r[2]) for r in srows], dtype=np.int8)]
                project_sentences = (ps_hash, np.concatenate([g, g]))
    return dup_project, existing_splits, project_sentences, conflicts, leak_pairs


def _sentence_leakage(h1: np.ndarray, h2: np.ndarray, keep: np.ndarray, group: np.ndarray,
                      project_sentences: tuple[np.ndarray, np.ndarray] | None) -> int:
    """Sentence leakage: normalised sentences present in both train and dev/test pairs."""
    import pandas as pd

    leak_sentences = 0
    kg = group[keep]
    if (kg != 0).any() or project_sentences is not None:
        s_hash = np.concatenate([h1[keep], h2[keep]])
        s_group = np.concatenate([kg, kg])
        if project_sentences is not None:
            s_hash = np.concatenate([s_hash, project_sentences[0]])
            s_group = np.concatenate([s_group, project_sentences[1]])
        if (s_group == 1).any() and (s_group == 2).any():
            # Hash the smaller side into the lookup table (isin builds it from its argument).
            train, held_out = s_hash[s_group == 1], s_hash[s_group == 2]
            small, large = (held_out, train) if len(held_out) <= len(train) else (train, held_out)
            small = pd.unique(small)
            hits = large[pd.Series(large).isin(small).to_numpy()]
            leak_sentences = int(len(pd.unique(hits)))
    return leak_sentences


def _kept_rows(raw: RawTable, options: ImportOptions, columns: dict[str, str | None], keep: np.ndarray,
               scores: np.ndarray, labeled: np.ndarray, split_codes: np.ndarray, hashes: np.ndarray,
               sentence1: list[str], sentence2: list[str]
               ) -> tuple[PairRows, np.ndarray, np.ndarray, list[str]]:
    """The rows to insert (duplicates dropped), their indexes and split codes, and the
    metadata columns kept with them."""
    n = len(keep)
    kept_idx = np.flatnonzero(keep)
    all_kept = kept_idx.size == n
    # Numeric columns are filtered as arrays before becoming Python lists; only the
    # sentences, already Python strings, go through compress.
    score_obj = scores.astype(object)
    score_obj[~labeled] = None
    row_numbers = np.asarray(raw.row_numbers)
    if all_kept:
        kept_codes = split_codes
    else:
        kept_codes = split_codes[kept_idx]
        hashes, score_obj, row_numbers = hashes[kept_idx], score_obj[kept_idx], row_numbers[kept_idx]
        mask = keep.tolist()
        sentence1, sentence2 = (list(itertools.compress(col, mask)) for col in (sentence1, sentence2))
    hash_list, score_list, row_list = hashes.tolist(), score_obj.tolist(), row_numbers.tolist()
    if (kept_codes == kept_codes[0]).all() if len(kept_codes) else True:
        split_out: str | list[str] = SPLIT_CODES[int(kept_codes[0])] if len(kept_codes) else options.split
    else:
        split_out = np.array(SPLIT_CODES, dtype=object)[kept_codes].tolist()
    # Unmapped columns become metadata, except the score on a display scale that our own
    # export writes beside "score" (it would go stale at the next label).
    score_col = columns["score"]
    shown = DISPLAY_COLUMNS if score_col == "score" else frozenset()
    extra = [c for c in raw.columns if c not in columns.values() and c not in shown]
    metadata = _metadata_texts(raw, extra, None if all_kept else kept_idx) if extra else None
    rows_out = PairRows(sentence1, sentence2, score_list, split_out, row_list, hash_list,
                        metadata=metadata, metadata_keys=extra)
    return rows_out, kept_idx, kept_codes, extra


def _import_report(raw: RawTable, kept_idx: np.ndarray, kept_codes: np.ndarray, labeled: np.ndarray,
                   dup_file: np.ndarray, dup_project: np.ndarray, raters: _Raters | None,
                   existing_splits: Counter[str], *, conflicts: int, leak_pairs: int,
                   leak_sentences: int, scale: str, guess: Any, columns: dict[str, str | None],
                   held_out: int, extra: list[str], started: float
                   ) -> tuple[ImportReport, list[list[tuple[str, float]]] | None]:
    """The import's report, and each kept row's raters' labels (with a rater column)."""
    n = len(dup_file)
    counts = np.bincount(kept_codes, minlength=len(SPLIT_CODES))
    split_counts = {SPLIT_CODES[k]: int(c) for k, c in enumerate(counts) if c}
    labeled_kept = int(labeled[kept_idx].sum())
    warnings = list(raw.warnings)
    if columns["score"] is None:
        warnings.append("No score column: every pair arrives unlabeled.")
    merged_rows = raters.merged_rows if raters is not None else 0
    dup_in_file = int(dup_file.sum()) - merged_rows
    if existing_splits:
        where = ", ".join(f"{k} {v:,}" for k, v in sorted(existing_splits.items()))
        warnings.append(f"{sum(existing_splits.values()):,} pairs of the file are already in the "
                        f"project (split {where}); they were not imported again and keep their split.")
    row_labels = None
    if raters is not None:
        row_labels = [raters.by_row.get(int(i), []) for i in kept_idx.tolist()]
        if raters.unnamed:
            warnings.append(f"{raters.unnamed:,} scored rows name no rater; their labels are "
                            f"recorded as {IMPORT_ANNOTATOR!r}.")
    report = ImportReport(
        source=raw.source, rows=n, imported=int(kept_idx.size),
        duplicates=int(n - kept_idx.size) - merged_rows,
        duplicates_in_file=dup_in_file, duplicates_in_project=int(dup_project.sum()),
        conflicting_duplicates=conflicts, labeled=labeled_kept,
        unlabeled=int(kept_idx.size) - labeled_kept, leakage=leak_pairs,
        leakage_sentences=leak_sentences, scale=scale,
        scale_source=guess.source if guess is not None and labeled.any() else "none",
        scale_ambiguous=bool(guess is not None and labeled.any() and guess.ambiguous),
        scale_note=guess.note if guess is not None and labeled.any() else "", format=raw.format,
        columns=columns, splits=split_counts, held_out=held_out, metadata_columns=extra,
        annotators=raters.names if raters is not None else [],
        labels=sum(len(x) for x in row_labels) if row_labels is not None else labeled_kept,
        labels_on_existing=len(raters.existing) if raters is not None else 0,
        existing_splits=dict(existing_splits), warnings=warnings,
        seconds=time.perf_counter() - started)
    return report, row_labels


@dataclass
class _Raters:
    scores: np.ndarray          # each kept pair's target (the raters' aggregate), 0..1
    labeled: np.ndarray
    by_row: dict[int, list[tuple[str, float]]]  # first row of a new pair -> its raters' labels
    existing: list[tuple[int, str, float]]       # labels for pairs the project already has
    names: list[str]
    conflicts: int              # the same rater scoring the same pair differently
    merged_rows: int            # repeated rows of a pair from another rater (not duplicates)
    unnamed: int                # scored rows with an empty rater cell


def _rater_labels(names: list[str], scores: np.ndarray, labeled: np.ndarray, kept_of: np.ndarray,
                  keep: np.ndarray, dup_project: np.ndarray, hashes: np.ndarray,
                  project: Project | None) -> _Raters:
    """One label per (pair, rater): a pair rated by two raters is one pair with two labels.

    A later row of the same rater on the same pair is a later revision (as in merge-labels).
    Targets follow the store's multi-annotator rule (:func:`effective_labels`,
    :func:`aggregate_target`) with the project's mean or median.
    """
    per_pair: dict[int, dict[str, float]] = {}
    conflicts = merged = unnamed = 0
    named: dict[str, None] = {}
    seen: set[tuple[int, str]] = set()
    for i, k in enumerate(kept_of.tolist()):
        who = names[i] or IMPORT_ANNOTATOR
        if (k, who) not in seen:
            seen.add((k, who))
            merged += k != i  # another rater's row of a pair: not a duplicate
        if not labeled[i]:
            continue
        unnamed += not names[i]
        if names[i]:
            named.setdefault(names[i])
        got = per_pair.setdefault(k, {})
        if who in got:
            conflicts += abs(got[who] - float(scores[i])) > 1e-9
        got[who] = float(scores[i])
    how = project.labels.aggregate if project is not None else "mean"
    scores, labeled = scores.copy(), labeled.copy()
    by_row: dict[int, list[tuple[str, float]]] = {}
    existing_rows: dict[int, dict[str, float]] = {}
    for k, got in per_pair.items():
        if keep[k]:
            by_row[k] = sorted(got.items())
            latest, adjudicated = effective_labels([(v, a, 0) for a, v in by_row[k]])
            scores[k] = aggregate_target(latest, adjudicated, how)
            labeled[k] = True
        elif dup_project[k]:
            existing_rows[k] = got
    existing: list[tuple[int, str, float]] = []
    if existing_rows and project is not None:
        by_hash = project.pairs.ids_by_hash()
        pid_of = {k: by_hash[int(hashes[k])] for k in existing_rows}
        current = {(pid, who): v for pid, _s, who, v in
                   project.labels.by_annotator(pair_ids=sorted(set(pid_of.values())), raw=True)}
        for k, got in existing_rows.items():
            pid = pid_of[k]
            for who, v in sorted(got.items()):
                have = current.get((pid, who))
                if have is None and who != IMPORT_ANNOTATOR:
                    existing.append((pid, who, v))
                elif have is not None and abs(have - v) > 1e-9:
                    conflicts += 1
    return _Raters(scores, labeled, by_row, existing, sorted(named), int(conflicts), merged, unnamed)


def _metadata_texts(raw: RawTable, columns: list[str], rows: np.ndarray | None) -> list[str | None]:
    """The unmapped ``columns`` of each row (of ``rows``, or all) as a JSON object text.

    Empty cells are left out; a row with none gets None. CSV cells stay strings, so an ID
    such as ``007`` comes back exactly as it was written.
    """
    frame = raw.frame
    values = []
    for column in columns:
        cells = frame[column].tolist()
        if rows is not None:
            cells = [cells[i] for i in rows.tolist()]
        values.append(cells)
    out: list[str | None] = []
    dumps = json.dumps
    for cells in zip(*values):
        item = {k: v for k, v in zip(columns, cells)
                if v is not None and v != "" and not (isinstance(v, float) and math.isnan(v))}
        out.append(dumps(item, ensure_ascii=False, default=str) if item else None)
    return out


# 0 for none, 1 for train, 2 for dev/test: the two sides that leakage is about.
_LEAK_GROUP = np.array([0, 1, 2, 2], dtype=np.int8)


def commit_import(project: Project, prepared: PreparedImport, task: Any = None) -> ImportReport:
    """Write a prepared import in one transaction and return its report.

    If the project's pairs changed since :func:`prepare_import` (labels do not count), the
    deduplication is redone against the current pairs first.
    """
    started = time.perf_counter()
    if prepared.data_version is not None and prepared.data_version != project.pairs.version():
        prepared = prepare_import(prepared.raw, prepared.options, project)
    elif prepared.data_version is None and project.pairs.any():
        prepared = prepare_import(prepared.raw, prepared.options, project)
    step = _Steps(task, total=max(len(prepared.rows), 1))

    def progress(done: int, total: int) -> None:
        step(done)

    result = project.pairs.insert(prepared.rows, source=prepared.report.source,
                                  progress=progress if task is not None else None,
                                  row_labels=prepared.row_labels,
                                  existing_labels=prepared.existing_labels)
    report = prepared.report
    report.imported = result.inserted
    # The first import with scores sets the scale the project shows them on (stored 0..1).
    if report.labeled and report.scale_source != "none" and project.display_scale() is None:
        project.set_display_scale(report.scale)
        follow_scale(project)   # an untouched guideline template takes the scale's levels
    report.seconds += time.perf_counter() - started
    return report


def import_pairs(project: Project, source: str | os.PathLike[str], options: ImportOptions | None = None,
                 task: Any = None) -> ImportReport:
    """Read, validate and write pairs in one transaction: all rows or none.

    Returns:
        The :class:`ImportReport` (rows read, imported, duplicates dropped, ...).
    """
    prepared = prepare_import(source, options, project, task=task)
    return commit_import(project, prepared, task=None)


# --------------------------------------------------------------------------------------
# Labels from another annotator (merge-labels)

@dataclass
class LabelRows:
    """Scored rows of a source, one per (pair, annotator) label, validated and normalised.

    ``score`` is NaN where a row has no label; ``annotator`` is "" where the row names none.
    """

    sentence1: list[str]
    sentence2: list[str]
    score: np.ndarray
    split: list[str | None]
    annotator: list[str]
    pair_hash: np.ndarray
    row_numbers: Any
    scale: str
    display_name: str


def read_labels(source: str | os.PathLike[str], options: ImportOptions | None = None) -> LabelRows:
    """Read a CSV/TSV/JSONL/Parquet of labels: sentence1, sentence2, score, optional annotator.

    The same readers, column detection, score scales and error messages as an import, but
    rows are not deduplicated: one pair may carry several annotators' labels.

    Raises:
        ImportDataError: naming the file, row and column of the first problem.
    """
    options = options or ImportOptions()
    raw = read_table(source, options)
    name = raw.display_name
    guess = raw.guess
    s1_col, s2_col = _sentence_columns(raw, options)
    score_col = _resolve(raw, options.score, guess.score, "score", False)
    if score_col is None or score_col in (s1_col, s2_col):
        raise ImportDataError("no score column: labels need sentence1, sentence2 and score",
                              file=name)
    split_col = _resolve(raw, options.split_column, guess.split_column, "split", False)
    if split_col in (s1_col, s2_col, score_col):
        split_col = None
    annotator_col = annotator_column(raw, options.annotator_column,
                                     taken=(s1_col, s2_col, score_col, split_col))

    s1 = _sentences(raw, s1_col)
    s2 = _sentences(raw, s2_col)
    scored = score_preview(raw, score_col, check_scale(options.scale or "auto"))
    error = score_error(raw, score_col, scored)
    if error is not None:
        raise error
    scores = np.where(scored.labeled, scored.scores, np.nan)
    scale = scored.guess.scale
    values = scores
    splits: list[str | None] = [None] * len(values)
    if split_col is not None:
        codes = _split_codes(raw, split_col, "none")
        text = _text_of(raw.frame[split_col]).astype(str).str.strip().tolist()
        splits = [SPLIT_CODES[c] if t else None for c, t in zip(codes.tolist(), text)]
    if annotator_col is not None:
        annotators = annotator_cells(raw, annotator_col)
    else:
        annotators = [""] * len(values)
    sentence1, sentence2 = s1.to_pylist(), s2.to_pylist()
    hashes = combine_pair_hashes(sentence_hashes(s1, sentence1), sentence_hashes(s2, sentence2))
    return LabelRows(sentence1, sentence2, scores, splits, annotators, hashes,
                     np.asarray(raw.row_numbers), scale, name)
