"""Importers: every file format, column and scale detection, dedup, leakage and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stsstudio.core.hashing import normalise_sentence, pair_hash, pair_hashes
from stsstudio.core.importers import (
    ImportDataError,
    ImportOptions,
    commit_import,
    detect_scale,
    import_pairs,
    prepare_import,
    read_table,
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def pairs_of(project) -> list[tuple[str, str, float | None, str]]:
    return [(p.sentence1, p.sentence2, p.score, p.split) for p in project.pairs.all()]


# -- the STS benchmark ----------------------------------------------------------------------


def _stsb_expected(path: Path) -> tuple[int, int, int, list[list[str]]]:
    """Kept, dropped and conflicting counts computed independently of the importer."""
    seen: dict[tuple[str, ...], float] = {}
    dropped = conflicting = 0
    lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        f = line.split("\t")
        key = tuple(sorted((normalise_sentence(f[5]), normalise_sentence(f[6]))))
        if key in seen:
            dropped += 1
            conflicting += abs(seen[key] - float(f[4])) > 1e-9
        else:
            seen[key] = float(f[4])
    return len(seen), dropped, conflicting, [ln.split("\t") for ln in lines]


@pytest.mark.parametrize("options", [
    ImportOptions(has_header=False, sentence1=5, sentence2=6, score=4),
    ImportOptions(),  # everything detected
], ids=["named-columns", "auto-detect"])
def test_stsb_imports_every_row(project, stsb_train, options):
    kept, dropped, conflicting, fields = _stsb_expected(stsb_train)
    before = project.checksum()
    report = import_pairs(project, stsb_train, options)
    assert project.checksum() != before
    assert report.rows == 5749
    assert report.imported + report.duplicates == 5749
    assert (report.imported, report.duplicates, report.conflicting_duplicates) == (kept, dropped, conflicting)
    assert report.conflicting_duplicates > 0
    assert report.scale == "0-5"
    assert report.columns["sentence1"] == "5" and report.columns["score"] == "4"
    stats = project.stats()
    assert stats["pairs"] == kept and stats["labeled"] == kept
    # Spot checks: first row, a row with a stray quote, a ragged row, the last row.
    by_row = {p.source_row: p for p in project.pairs.all()}
    first = by_row[1]
    assert (first.sentence1, first.sentence2, first.score) == (
        "A plane is taking off.", "An air plane is taking off.", 1.0)
    quoted = next(i for i, f in enumerate(fields) if f[5].startswith('"') or f[6].startswith('"'))
    ragged = next(i for i, f in enumerate(fields) if len(f) > 7)
    last = len(fields) - 1
    for i in (quoted, ragged, last):
        if i + 1 in by_row:
            p = by_row[i + 1]
            assert (p.sentence1, p.sentence2) == (fields[i][5].strip(), fields[i][6].strip())
            assert p.score == pytest.approx(float(fields[i][4]) / 5)


def test_stsb_dev_after_train_reports_leakage(project, stsb_train, stsb_dev):
    import_pairs(project, stsb_train, ImportOptions(split="train"))
    report = import_pairs(project, stsb_dev, ImportOptions(split="dev"))
    assert report.rows == 1500
    assert report.duplicates_in_project > 0
    assert report.leakage == report.duplicates_in_project  # train pairs offered again as dev
    assert report.leakage_sentences > 0
    assert project.stats()["splits"]["dev"] == report.imported


# -- CSV / TSV variants ----------------------------------------------------------------------


def test_csv_with_header_commas_and_quotes(project, tmp_path):
    src = write(tmp_path / "p.csv", 'sentence1,sentence2,score\n'
                '"Hello, world",Hi world,4\n'
                '"She said ""no""",She refused,2.5\n'
                'Multi line "quote" inside,Plain,\n')
    report = import_pairs(project, src)
    assert report.imported == 3 and report.unlabeled == 1 and report.scale == "0-5"
    assert pairs_of(project) == [("Hello, world", "Hi world", 0.8, "none"),
                                 ('She said "no"', "She refused", 0.5, "none"),
                                 ('Multi line "quote" inside', "Plain", None, "none")]


def test_quoted_field_spanning_lines(project, tmp_path):
    src = write(tmp_path / "m.csv", 'a,b,score\n"line one\nline two",other,0.5\nx,y,1\n')
    report = import_pairs(project, src)
    assert report.imported == 2
    assert pairs_of(project)[0][0] == "line one\nline two"


def test_tsv_semicolon_and_pipe_delimiters(project, tmp_path):
    write(tmp_path / "t.tsv", "text1\ttext2\tlabel\nA cat\tA dog\t0.2\n")
    write(tmp_path / "s.csv", "s1;s2;similarity\nA cat;A kitten;3,5\nB;C;1\n")
    write(tmp_path / "p.txt", "query|passage|score\nQ one|P one|80\nQ two|P two|10\n")
    r1 = import_pairs(project, tmp_path / "t.tsv")
    r2 = import_pairs(project, tmp_path / "s.csv")
    r3 = import_pairs(project, tmp_path / "p.txt")
    assert (r1.imported, r2.imported, r3.imported) == (1, 2, 2)
    # 3,5 and 1: a min of exactly 1 reads as 1-5, and the report says that is a guess.
    assert (r2.scale, r3.scale) == ("1-5", "0-100")
    assert r2.scale_ambiguous and "no score is below 1" in r2.scale_note
    assert not r3.scale_ambiguous
    scores = [p[2] for p in pairs_of(project)]
    assert scores == pytest.approx([0.2, 0.625, 0.0, 0.8, 0.1])


def test_headerless_detection_and_index_columns(tmp_path):
    src = write(tmp_path / "h.csv", "1,A man plays a guitar loudly,A man is playing guitar,4.2\n"
                                    "2,A dog runs in the park,The dog is running,3.1\n"
                                    "3,Someone slices an onion,A person cuts onions,4.9\n")
    raw = read_table(src)
    assert not raw.has_header and raw.columns == ["0", "1", "2", "3"]
    assert (raw.guess.sentence1, raw.guess.sentence2, raw.guess.score) == ("1", "2", "3")
    prepared = prepare_import(src, ImportOptions(sentence1=2, sentence2=1, score="3"))
    assert prepared.rows[0][:3] == ("A man is playing guitar", "A man plays a guitar loudly",
                                    pytest.approx(0.84))
    assert prepared.rows[0][4] == 1  # source row of a headerless file


def test_header_detected_from_numeric_score_column(tmp_path):
    src = write(tmp_path / "x.csv", "first,second,rating\nA b c,D e f,3\nG h,I j,4\n")
    raw = read_table(src)
    assert raw.has_header and raw.columns == ["first", "second", "rating"]
    assert raw.guess.score == "rating"


def test_encodings(project, tmp_path):
    write(tmp_path / "bom.csv", "\ufeffsentence1,sentence2,score\nCafé crème,Coffee,1\n")
    write(tmp_path / "latin.csv", "sentence1,sentence2,score\nCafé crème,Kaffee mit Milch,1\n", "latin-1")
    raw = read_table(tmp_path / "bom.csv")
    assert raw.columns[0] == "sentence1" and not raw.warnings
    raw = read_table(tmp_path / "latin.csv")
    assert any("Latin-1" in w for w in raw.warnings)
    report = import_pairs(project, tmp_path / "latin.csv")
    assert report.warnings and pairs_of(project)[0][0] == "Café crème"


def test_blank_lines_keep_row_numbers(tmp_path):
    src = write(tmp_path / "b.csv", "sentence1,sentence2,score\nA,B,1\n\nC,D,7\n")
    with pytest.raises(ImportDataError) as err:
        prepare_import(src, ImportOptions(scale="0-5"))
    assert err.value.row == 4 and err.value.column == "score"


def test_jsonl_and_json_array(project, tmp_path):
    lines = [{"sentence_A": "A man sings", "sentence_B": "A man is singing", "relatedness_score": 4.5},
             {"sentence_A": "A cat", "sentence_B": "A car", "relatedness_score": 1.0},
             {"sentence_A": "Unlabeled one", "sentence_B": "Unlabeled two", "relatedness_score": None}]
    write(tmp_path / "d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    write(tmp_path / "d.json", json.dumps([{"premise": "P", "hypothesis": "H", "label": 0.5}]))
    report = import_pairs(project, tmp_path / "d.jsonl")
    assert report.imported == 3 and report.unlabeled == 1 and report.scale == "1-5"
    assert pairs_of(project)[0][2] == pytest.approx(0.875)
    assert import_pairs(project, tmp_path / "d.json").imported == 1


def test_parquet(project, tmp_path):
    frame = pd.DataFrame({"anchor": ["a one", "a two"], "positive": ["p one", "p two"],
                          "score": [0.25, np.nan], "split": ["train", "validation"]})
    frame.to_parquet(tmp_path / "d.parquet")
    report = import_pairs(project, tmp_path / "d.parquet")
    assert report.imported == 2 and report.splits == {"train": 1, "dev": 1}
    assert pairs_of(project) == [("a one", "p one", 0.25, "train"), ("a two", "p two", None, "dev")]


def test_split_option_and_split_column(project, tmp_path):
    src = write(tmp_path / "s.csv", "sentence1,sentence2,score,split\nA,B,1,train\nC,D,2,\nE,F,3,test\n")
    report = import_pairs(project, src, ImportOptions(split="dev"))
    assert [p[3] for p in pairs_of(project)] == ["train", "dev", "test"]
    assert report.splits == {"train": 1, "dev": 1, "test": 1}
    src2 = write(tmp_path / "s2.csv", "sentence1,sentence2,score,split\nG,H,1,train\n")
    import_pairs(project, src2, ImportOptions(split_column="", split="test"))
    assert pairs_of(project)[-1][3] == "test"


# -- scales ----------------------------------------------------------------------------------


def test_detect_scale():
    assert detect_scale([0, 0.5, 1]) == "0-1"
    assert detect_scale([0, 2.5, 5]) == "0-5"
    assert detect_scale([1, 2, 5]) == "1-5"
    assert detect_scale([1.5, 4.2]) == "0-5"
    assert detect_scale([3, 70, 100]) == "0-100"
    assert detect_scale([np.nan, 0.3]) == "0-1"


def test_scores_map_to_0_1_and_problems_name_the_row():
    from stsstudio.core.scales import scale_problem, to_stored

    assert to_stored([0, 2.5, 5], "0-5").tolist() == [0, 0.5, 1]
    assert to_stored([1, 3, 5], "1-5").tolist() == [0, 0.5, 1]
    assert to_stored([0, 50], "0-100").tolist() == [0, 0.5]
    assert scale_problem([1, 7], "0-5") == (1, "the score 7 is outside the 0-5 scale; choose another "
                                               "scale if that is wrong")
    assert scale_problem([0.1, np.nan], "0-1")[0] == 1


def test_scale_override(project, tmp_path):
    src = write(tmp_path / "o.csv", "sentence1,sentence2,score\nA,B,1\nC,D,0.5\n")
    import_pairs(project, src, ImportOptions(scale="0-5"))
    assert [p[2] for p in pairs_of(project)] == pytest.approx([0.2, 0.1])


# -- dedup -----------------------------------------------------------------------------------


def test_duplicates_swapped_and_normalised(project, tmp_path):
    src = write(tmp_path / "d.csv", "sentence1,sentence2,score\n"
                "A cat sits.,A cat is sitting.,4\n"
                "a  cat is sitting.,A CAT SITS.,4\n"  # swapped, case and spaces differ
                "A cat sits.,A cat is sitting.,2\n"  # same pair, other score
                "Straße,road,1\n"
                "STRASSE,Road,1\n")  # casefold
    report = import_pairs(project, src)
    assert (report.rows, report.imported, report.duplicates, report.conflicting_duplicates) == (5, 2, 3, 1)
    again = import_pairs(project, src)
    assert (again.imported, again.duplicates_in_project, again.duplicates) == (0, 2, 5)


def test_pair_hash_matches_vectorised_hash():
    s1 = ["A cat", "é  Café ", "x\ty", "Straße"]
    s2 = ["b", "other", "z", "STRASSE"]
    vec = pair_hashes(s1, s2).tolist()
    assert vec == [pair_hash(a, b) for a, b in zip(s1, s2)]
    assert pair_hash("A cat", "b") == pair_hash("b", "a   CAT")
    assert pair_hash("x\ty", "z") == pair_hash("X Y", "z")
    assert pair_hash("a", "b") != pair_hash("a", "c")


# -- progress and cancel -------------------------------------------------------------------


class _Task:
    def __init__(self, cancel_at: int | None = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.cancel_at = cancel_at

    def progress(self, done: int, total: int) -> None:
        self.calls.append((done, total))

    def is_cancelled(self) -> bool:
        return self.cancel_at is not None and len(self.calls) >= self.cancel_at


def test_progress_and_cancel(project, tmp_path):
    from stsstudio.core.errors import UserError

    src = write(tmp_path / "p.csv", "sentence1,sentence2,score\nA,B,1\nC,D,2\n")
    task = _Task()
    import_pairs(project, src, task=task)
    assert task.calls and task.calls[-1][0] == task.calls[-1][1]
    before = project.checksum()
    with pytest.raises(UserError, match="Import cancelled"):
        import_pairs(project, write(tmp_path / "q.csv", "sentence1,sentence2\nE,F\n"), task=_Task(2))
    assert project.checksum() == before


def test_prepare_writes_nothing_and_commit_rechecks(project, tmp_path):
    src = write(tmp_path / "p.csv", "sentence1,sentence2,score\nA,B,1\nC,D,2\n")
    before = project.checksum()
    prepared = prepare_import(src, project=project)
    assert project.checksum() == before and len(prepared.rows) == 2
    import_pairs(project, write(tmp_path / "q.csv", "sentence1,sentence2\nA,B\n"))
    report = commit_import(project, prepared)  # the project changed meanwhile: dedup again
    assert report.imported == 1 and project.stats()["pairs"] == 2


# -- bad input: a clear message naming file/row/column, and nothing written ------------------


BAD_INPUTS = {
    "missing-column": (b"sentence1,sentence2,score\nA,B,1\n", ImportOptions(score="rating"),
                       "no score column named 'rating'"),
    "bad-score": (b"sentence1,sentence2,score\nA,B,1\nC,D,high\n", ImportOptions(),
                  "row 3, column 'score': the score 'high' is not a number"),
    "out-of-range": (b"sentence1,sentence2,score\nA,B,1\nC,D,-2\n", ImportOptions(scale="0-5"),
                     "row 3, column 'score': the score -2 is outside the 0-5 scale"),
    "nan-score": (b"sentence1,sentence2,score\nA,B,1\nC,D,NaN\n", ImportOptions(), "row 3"),
    "empty-file": (b"", ImportOptions(), "the file is empty"),
    "header-only": (b"sentence1,sentence2,score\n", ImportOptions(), "has a header but no rows"),
    "binary": (b"sentence1,sentence2\x00\x01\x02\xff\xfe" * 50, ImportOptions(), "binary file"),
    "utf16": ("sentence1,sentence2,score\nA,B,1\n".encode("utf-16"), ImportOptions(), "UTF-16"),
    "bad-utf8-bom": (b"\xef\xbb\xbfsentence1,sentence2\nA\xff,B\n", ImportOptions(), "not valid UTF-8"),
    "duplicate-header": (b"sentence1,score,sentence2,score\nA,1,B,2\n", ImportOptions(),
                         "row 1, column 'score': the header names the column 'score' twice"),
    "empty-sentence": (b"sentence1,sentence2,score\nA,B,1\n ,D,2\n", ImportOptions(),
                       "row 3, column 'sentence1': the sentence is empty"),
    "megabyte-line": (b"sentence1,sentence2,score\nA,B,1\n" + b"x" * 1_100_000 + b",D,2\n",
                      ImportOptions(), "row 3, column 'sentence1': the text is 1,100,000 characters"),
    "bad-split": (b"sentence1,sentence2,score,split\nA,B,1,holdout\n", ImportOptions(),
                  "row 2, column 'split'"),
    "index-out-of-range": (b"a,b\nx,y\n", ImportOptions(sentence1=0, sentence2=5),
                           "there is no sentence2 column 5"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_the_place_and_writes_nothing(project, tmp_path, case):
    import_pairs(project, write(tmp_path / "good.csv", "sentence1,sentence2,score\nKeep,Me,1\n"))
    data, options, message = BAD_INPUTS[case]
    src = tmp_path / f"{case}.csv"
    src.write_bytes(data)
    before = project.checksum()
    with pytest.raises(ImportDataError) as err:
        import_pairs(project, src, options)
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"{case}.csv")
    assert message in text
    assert err.value.file == f"{case}.csv"
    assert project.checksum() == before


def test_bad_jsonl_line(project, tmp_path):
    src = write(tmp_path / "bad.jsonl", '{"sentence1": "a", "sentence2": "b"}\n{oops\n')
    before = project.checksum()
    with pytest.raises(ImportDataError, match="bad.jsonl, row 2: invalid JSON"):
        import_pairs(project, src)
    assert project.checksum() == before


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(ImportDataError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    src = write(tmp_path / "data.weird", "sentence1,sentence2\na,b\n")
    assert read_table(src).format == "csv"


def test_unlabeled_only_file(project, tmp_path):
    src = write(tmp_path / "u.csv", "sentence1,sentence2\nA,B\nC,D\n")
    report = import_pairs(project, src)
    assert report.unlabeled == 2 and report.labeled == 0
    assert project.stats()["labels"] == 0
