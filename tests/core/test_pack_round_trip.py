"""Issue 24, point 4: every labelling pack the app writes comes back with every label it holds,
whichever score column the annotator filled, with its annotator; disagreeing columns are refused
with the rows named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from stsstudio.core.data_export import display_column, export_pairs
from stsstudio.core.errors import UserError
from stsstudio.core.merge import merge_labels
from stsstudio.core.scales import SCALE_RANGES
from stsstudio.core.store import Project

FORMATS = ("csv", "tsv", "jsonl", "parquet")


def _read(path: Path) -> pd.DataFrame:
    fmt = path.suffix[1:]
    if fmt in ("csv", "tsv"):
        return pd.read_csv(path, sep="," if fmt == "csv" else "\t", keep_default_na=False, dtype=str)
    if fmt == "jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_parquet(path)


def _write(frame: pd.DataFrame, path: Path) -> None:
    fmt = path.suffix[1:]
    if fmt in ("csv", "tsv"):
        frame.to_csv(path, sep="," if fmt == "csv" else "\t", index=False)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)


def _project(folder: Path, scale: str) -> Project:
    p = Project.create(folder)
    p.pairs.insert([(f"pair {i} first sentence", f"pair {i} second sentence", None, "train", i + 1, None)
                    for i in range(12)])
    if scale != "0-1":
        p.set_display_scale(scale)
    p.assignments.assign(["Alice", "Bob"], 0.25, seed=3)
    return p


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scale", list(SCALE_RANGES))
def test_every_pack_merges_back_on_either_score_column(tmp_path, scale, fmt):
    low, high = SCALE_RANGES[scale]
    columns = ["score"] + ([display_column(scale)] if display_column(scale) else [])
    for column in columns:
        with _project(tmp_path / f"P-{column}", scale) as p:
            pack = tmp_path / f"alice-{column}.{fmt}"
            export_pairs(p, pack, annotator="Alice", assignment=True)
            frame = _read(pack)
            assert list(frame.columns[:3]) == ["sentence1", "sentence2", "score"]
            assert ("annotator" in frame.columns) and set(frame["annotator"]) == {"Alice"}
            n = len(frame)
            assert n >= 6
            wanted = [(i % 5) / 4 for i in range(n)]  # 0, .25, .5, .75, 1 in 0-1 terms
            frame = frame.astype({c: object for c in columns})
            for i, w in enumerate(wanted):
                frame.at[i, column] = w if column == "score" else low + w * (high - low)
            _write(frame, pack)
            report = merge_labels(p, pack)
            assert report.written == n and report.skipped == 0, report
            assert report.annotators == ["Alice"]
            got = {(s1, who): score for pid, _sp, who, score in p.labels.by_annotator()
                   for s1 in [p.pairs.get(pid).sentence1]}
            assert {s1: v for (s1, _w), v in got.items()} == pytest.approx(
                dict(zip(frame["sentence1"], wanted)))
            assert {w for _s, w in got} == {"Alice"}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_pack_with_both_columns_disagreeing_is_refused_naming_rows(tmp_path, fmt):
    with _project(tmp_path / "P", "1-5") as p:
        pack = tmp_path / f"alice.{fmt}"
        export_pairs(p, pack, annotator="Alice", assignment=True)
        frame = _read(pack).astype({"score": object, "score_1_5": object})
        frame["score"] = 0.5
        frame["score_1_5"] = 3.0          # 3 of 1-5 is 0.5: they agree
        frame.at[1, "score_1_5"] = 5.0    # CSV row 3 (the header is row 1), JSONL line 2
        frame.at[3, "score_1_5"] = 1.0
        _write(frame, pack)
        rows = "3, 5" if fmt == "csv" else "2, 4"
        with pytest.raises(UserError, match=rf"rows {rows}: the score and score_1_5 columns hold "
                                            "different scores"):
            merge_labels(p, pack)
        assert p.labels.by_annotator() == []  # nothing written
        frame.at[1, "score_1_5"] = 3.0
        frame.at[3, "score_1_5"] = 3.0
        _write(frame, pack)
        assert merge_labels(p, pack).written == len(frame)
