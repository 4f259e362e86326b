"""Score parsing and scale detection: the one set of rules the import and the wizard share."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stsstudio.cli import main
from stsstudio.core import scales
from stsstudio.core.importers import ImportDataError, ImportOptions, import_pairs, prepare_import
from stsstudio.core.scales import guess_scale, parse_scores, scale_from_name, score_column


def test_parse_scores_decimal_commas_blanks_booleans_and_words():
    parsed = parse_scores(pd.Series(["4", " 3,5 ", "", "high", "2.25", "low", None], dtype=object))
    assert parsed.labeled.tolist() == [True, True, False, True, True, True, False]
    assert parsed.bad.tolist() == [False, False, False, True, False, True, False]
    assert parsed.numbers.tolist() == [4.0, 3.5, 2.25]
    assert parsed.problem() == "2 of 5 values are not numbers (high, low)"
    booleans = parse_scores(pd.Series([True, False, None], dtype=object))
    assert booleans.values[:2].tolist() == [1.0, 0.0] and not booleans.bad.any()
    assert parse_scores(pd.Series([True, False])).values.tolist() == [1.0, 0.0]


def test_words_column_is_explained_as_a_whole():
    cells = ["low"] * 20 + ["high"] * 19 + ["4"]
    scored = score_column(pd.Series(cells), "rating")
    index, detail = scored.problem
    assert index == 0
    assert "39 of 40 values are not numbers (low, high)" in detail
    assert "choose another score column, or none to import the pairs unlabeled" in detail


@pytest.mark.parametrize("name, expected", [
    ("Similarity (1-5)", (1.0, 5.0)), ("score 0–100", (0.0, 100.0)), ("rating /5", (None, 5.0)),
    ("score_1_5", (1.0, 5.0)), ("grade (0 to 10)", (0.0, 10.0)), ("out of 10", (None, 10.0)),
    ("score", None), ("sentence1", None), ("s2", None), ("2024-05 rating", None),
])
def test_scale_from_column_name(name, expected):
    assert scale_from_name(name) == expected


def test_header_scale_wins_over_the_values():
    guess = guess_scale([1.5, 2.0, 4.4], "Similarity (1-5)")
    assert (guess.scale, guess.source, guess.ambiguous) == ("1-5", "header", False)
    # Only the top written: the low end still comes from the data.
    assert guess_scale([0.5, 3.0], "rating/5").scale == "0-5"
    assert guess_scale([1.0, 3.0], "rating/5").scale == "1-5"


@pytest.mark.parametrize("values, scale, ambiguous", [
    ([0, 0.5, 1], "0-1", False),
    ([0, 2.5, 5], "0-5", False),
    ([1, 2, 5], "1-5", True),              # Likert from 1: but is 1 the lowest?
    ([1, 1.5, 4.4, 5], "1-5", True),       # a min of exactly 1
    ([1.5, 4.2], "0-5", True),             # no score below 1.5
    ([0, 3, 70, 100], "0-100", False),
    ([0, 7, 10], "0-10", False),
    ([1, 7, 10], "1-10", True),
    ([0, 3.5, 5.5], "0-10", True),         # "5,5" and "3,5": far below 10, fits 0-100 too
    ([3, 3, 3], "1-5", True),              # all equal
])
def test_guess_scale(values, scale, ambiguous):
    guess = guess_scale(values)
    assert (guess.scale, guess.ambiguous) == (scale, ambiguous)
    assert bool(guess.note) == ambiguous
    assert not guess.refused


def test_min_of_one_asks_the_question():
    guess = guess_scale([1, 2.2, 4.4])
    assert guess.question == "Is 1 your lowest possible score?"
    assert [s for _, s in guess.choices] == ["1-5", "0-5"]
    assert "no score is below 1" in guess.summary()


def test_all_equal_is_stated():
    assert "every score is 3" in guess_scale([3, 3, 3]).note


def test_guess_resting_on_outliers_is_refused():
    values = [(i % 10) / 10 for i in range(40)] + [3]
    guess = guess_scale(values, rows=list(range(2, 43)))
    assert guess.scale == "0-5" and guess.refused
    assert "rests on 1 of 41 scores (row 42: 3)" in guess.refused
    assert "0-1 or 0-5" in guess.refused
    # Chosen explicitly, nothing is refused.
    assert not guess_scale(values, requested="0-5").refused
    # Many values above 1 are a real 0-5 scale, not outliers.
    assert not guess_scale([(i % 10) / 10 for i in range(40)] + [3, 4, 2, 5]).refused


def test_display_conversions_and_keys():
    assert scales.to_display(0.85, "1-5") == pytest.approx(4.4)
    assert scales.from_display(4.4, "1-5") == pytest.approx(0.85)
    assert scales.to_display(None, "1-5") is None
    assert scales.to_display(0.5, None) == 0.5
    assert scales.format_display(0.85, "1-5") == "4.4"
    assert scales.format_display(0.5, "0-100") == "50"
    assert scales.format_display(None, "1-5") == "–"
    assert scales.key_scores("1-5") == {1: 0.0, 2: 0.25, 3: 0.5, 4: 0.75, 5: 1.0}
    assert scales.key_scores("0-5")[1] == pytest.approx(0.2)
    assert scales.key_scores(None) == {k: k / 5 for k in range(6)}
    assert scales.key_scores("1-10")[0] == 1.0
    with pytest.raises(scales.ScoreScaleError):
        scales.to_display(0.5, "2-7")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_import_states_ambiguity_and_remembers_the_display_scale(project, tmp_path):
    src = _write(tmp_path / "likert.csv", "text_a,text_b,rating\nA,B,1\nC,D,4.4\nE,F,2.5\nG,H,\n")
    report = import_pairs(project, src)
    assert (report.scale, report.scale_source, report.scale_ambiguous) == ("1-5", "data", True)
    assert report.scale_note == "no score is below 1"
    assert project.display_scale() == "1-5"
    stored = sorted(p.score for p in project.pairs.all() if p.score is not None)
    assert stored == pytest.approx([0.0, 0.375, 0.85])
    # A later import on another scale does not change what the project shows.
    import_pairs(project, _write(tmp_path / "b.csv", "a,b,score\nX,Y,0.5\n"))
    assert project.display_scale() == "1-5"


def test_unlabeled_import_sets_no_display_scale(project, tmp_path):
    import_pairs(project, _write(tmp_path / "u.csv", "a,b\nX,Y\n"))
    assert project.display_scale() is None


def test_outliers_refused_without_scale_and_nothing_written(project, tmp_path):
    rows = "".join(f"Cat {i}.,Dog {i}.,{(i % 10) / 10}\n" for i in range(40))
    src = _write(tmp_path / "o.csv", "sentence1,sentence2,score\n" + rows + "X,Y,3\n")
    before = project.checksum()
    with pytest.raises(ImportDataError, match=r"row 42, column 'score': the scale 0-5 rests on 1"):
        prepare_import(src, ImportOptions(), project)
    assert project.checksum() == before
    report = import_pairs(project, src, ImportOptions(scale="0-5"))
    assert report.labeled == 41 and not report.scale_ambiguous


def test_cli_refuses_outliers_and_states_ambiguity(tmp_path, capsys):
    proj = tmp_path / "P"
    assert main(["new", str(proj)]) == 0
    rows = "".join(f"Cat {i}.,Dog {i}.,{(i % 10) / 10}\n" for i in range(40))
    src = _write(tmp_path / "o.csv", "sentence1,sentence2,score\n" + rows + "X,Y,3\n")
    capsys.readouterr()
    assert main(["import", str(proj), str(src)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "rests on 1 of 41 scores" in err and "--scale" in err
    likert = _write(tmp_path / "l.csv", "text_a,text_b,rating\nA,B,1\nC,D,4.4\n")
    assert main(["import", str(proj), str(likert)]) == 0
    out = capsys.readouterr().out
    assert "scale 1-5 (detected)" in out and "a guess: no score is below 1" in out
    again = _write(tmp_path / "l2.csv", "text_a,text_b,rating\nE,F,1\nG,H,3\n")
    assert main(["import", str(proj), str(again), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scale"] == "1-5" and data["scale_ambiguous"] is True
    assert data["scale_note"] == "no score is below 1" and data["scale_source"] == "data"


def test_score_column_matches_normalise_for_every_scale():
    for name, (low, high) in scales.SCALE_RANGES.items():
        values = np.linspace(low, high, 11)
        scored = score_column(pd.Series(values), "score", name)
        assert scored.problem is None
        assert scored.scores == pytest.approx(np.linspace(0, 1, 11))
