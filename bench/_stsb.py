"""The STS benchmark files the quality benches read (../shared/data/stsb, as CI has it)."""
from __future__ import annotations

import csv
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "stsb"


def read_sts(path: Path, genre: str | None = None) -> list[tuple[str, str, float]]:
    """(sentence1, sentence2, score 0-1) rows of an STSb TSV (no header, no quoting, score 0-5 in
    column 4, sentences in 5 and 6); ``genre`` keeps rows whose column 0 starts with it."""
    rows = []
    with open(path, encoding="utf8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if genre and not row[0].startswith(genre):
                continue
            rows.append((row[5], row[6], float(row[4]) / 5.0))
    return rows
