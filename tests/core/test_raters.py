"""Raters in a file are annotators (issue 20 point 3), and headless imports get splits (point 12).

Real files, the real CLI and a real SQLite project throughout.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from stsstudio import cli
from stsstudio.core import importers
from stsstudio.core.data_export import export_pairs
from stsstudio.core.errors import UserError
from stsstudio.core.importers import ImportOptions, find_annotator_column, import_pairs
from stsstudio.core.merge import merge_labels
from stsstudio.core.splits import NothingToMove, move_pairs
from stsstudio.core.store import DEV_FRACTION, Project


def _rater_csv(path: Path, pairs: int = 30, *, empty_every: int = 7, seed: int = 0) -> Path:
    """The clinician's file: case_id, finding_a, finding_b, rating (1-5, decimals), rater.

    rater_b writes every second pair with the sentences swapped (A,B = B,A); some ratings empty.
    """
    rng = random.Random(seed)
    rows = []
    for i in range(pairs):
        a, b = f"finding {i} in the left lobe", f"finding {i} seen on the right side"
        base = rng.choice([1, 2, 3, 4, 5])
        for k, rater in enumerate(("rater_a", "rater_b")):
            value = min(5.0, max(1.0, base + rng.choice([-0.5, 0, 0, 0.5])))
            cell = "" if (i * 2 + k) % empty_every == 0 else f"{value:.1f}"
            s1, s2 = (b, a) if rater == "rater_b" and i % 2 else (a, b)
            rows.append((f"case-{i:03d}", s1, s2, cell, rater))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["case_id", "finding_a", "finding_b", "rating", "rater"])
        w.writerows(rows)
    return path


def _labels(project: Project) -> dict[tuple[str, str], float]:
    """{(sentence1 of the pair, annotator): score} from the store."""
    rows = project.labels.by_annotator(raw=True)
    pairs = project.pairs.by_ids(sorted({r[0] for r in rows}))
    return {(pairs[pid].sentence1, who): score for pid, _s, who, score in rows}


@pytest.mark.parametrize(("columns", "expected"), [
    (["s1", "s2", "score", "rater"], "rater"),
    (["s1", "s2", "score", "Annotator"], "Annotator"),
    (["s1", "s2", "score", "LABELLER"], "LABELLER"),
    (["s1", "s2", "score", "labeler"], "labeler"),
    (["s1", "s2", "score", "Coder"], "Coder"),
    (["s1", "s2", "score", "annotated by"], "annotated by"),
    (["s1", "s2", "score", "annotated-by"], "annotated-by"),
    (["s1", "s2", "score", "user"], None),        # a user column is not a rater
    (["s1", "s2", "score", "rater_notes"], None),
    (["s1", "s2", "score"], None),
])
def test_the_annotator_column_is_recognised_by_its_name(columns, expected):
    assert find_annotator_column(columns) == expected


def test_a_taken_column_is_never_the_annotator():
    assert find_annotator_column(["rater", "coder"], taken=["rater"]) == "coder"


def test_import_gives_each_raters_label_to_that_rater(tmp_path, project):
    src = _rater_csv(tmp_path / "rad.csv")
    report = import_pairs(project, src)
    assert report.columns["annotator"] == "rater"
    assert report.annotators == ["rater_a", "rater_b"]
    assert report.imported == 30 and project.pairs.count() == 30   # A,B = B,A: one pair
    assert report.duplicates == 0   # the second rater's rows are not duplicates
    frame = pd.read_csv(src, keep_default_na=False)
    rated = frame[frame["rating"] != ""]
    assert report.labels == len(rated)
    stored = _labels(project)
    assert len(stored) == len(rated)
    assert {who for _s, who in stored} == {"rater_a", "rater_b"}
    # Each rater's own score (1-5 -> 0-1), attributed to them.
    for row in rated.itertuples():
        s1 = row.finding_a if row.rater == "rater_a" or int(row.case_id[-3:]) % 2 == 0 else row.finding_b
        assert stored[(s1, row.rater)] == pytest.approx((float(row.rating) - 1) / 4)
    # The target follows the multi-annotator rule: the mean of the raters' labels.
    for pid in project.pairs.query_ids():
        mine = [s for p, _sp, _w, s in project.labels.by_annotator(pair_ids=[pid])]
        assert project.pairs.get(pid).score == pytest.approx(sum(mine) / len(mine))
    assert "rater" not in project.pairs.metadata_keys() and "case_id" in project.pairs.metadata_keys()


def test_the_target_follows_the_projects_median(tmp_path, project):
    project.labels.set_aggregate("median")
    src = tmp_path / "three.csv"
    src.write_text("sentence1,sentence2,score,coder\nA cat,A dog,1,x\nA cat,A dog,2,y\n"
                   "A dog,A cat,5,z\nRain,Sun,3,x\n", encoding="utf-8")
    import_pairs(project, src, ImportOptions(scale="1-5"))
    cat = project.pairs.find("A cat", "A dog")
    assert project.pairs.get(cat).score == pytest.approx(0.25)   # median of 0, 0.25, 1
    assert len(project.labels.history(cat)) == 3


def test_the_same_rater_twice_keeps_the_later_row_and_counts_the_conflict(tmp_path, project):
    src = tmp_path / "twice.csv"
    src.write_text("sentence1,sentence2,score,rater\nA,B,0.2,ann\nA,B,0.6,ann\nA,B,0.6,bob\n",
                   encoding="utf-8")
    report = import_pairs(project, src)
    assert report.conflicting_duplicates == 1 and report.duplicates_in_file == 1
    assert _labels(project) == {("A", "ann"): pytest.approx(0.6), ("A", "bob"): pytest.approx(0.6)}


def test_the_annotator_column_can_be_chosen_or_switched_off(tmp_path, project):
    src = tmp_path / "who.csv"
    src.write_text("sentence1,sentence2,score,who\nA,B,0.2,ann\nB,A,0.8,bob\n", encoding="utf-8")
    report = import_pairs(project, src, ImportOptions(annotator_column="who"))
    assert report.annotators == ["ann", "bob"] and project.pairs.count() == 1
    assert project.pairs.get(project.pairs.query_ids()[0]).score == pytest.approx(0.5)
    other = Project.create(tmp_path / "other")
    try:
        off = tmp_path / "rater.csv"
        off.write_text("sentence1,sentence2,score,rater\nA,B,0.2,ann\nB,A,0.8,bob\n", encoding="utf-8")
        report = import_pairs(other, off, ImportOptions(annotator_column=""))
        assert report.columns["annotator"] is None and report.duplicates_in_file == 1
        assert {who for _s, who in _labels(other)} == {"import"}
        assert "rater" in other.pairs.metadata_keys()
    finally:
        other.close()
    with pytest.raises(importers.ImportDataError, match="no annotator column named 'nobody'"):
        import_pairs(project, src, ImportOptions(annotator_column="nobody"))


def test_a_second_file_adds_its_raters_labels_to_pairs_already_there(tmp_path, project):
    first = tmp_path / "a.csv"
    first.write_text("sentence1,sentence2,score,rater\nA,B,0.2,ann\nC,D,0.4,ann\n", encoding="utf-8")
    import_pairs(project, first)
    second = tmp_path / "b.csv"
    second.write_text("sentence1,sentence2,score,rater\nB,A,0.6,bob\nC,D,0.9,ann\nE,F,0.5,bob\n",
                      encoding="utf-8")
    report = import_pairs(project, second)
    assert report.imported == 1 and report.labels_on_existing == 1
    assert report.conflicting_duplicates == 1   # ann's 0.9 differs from her 0.4: hers is kept
    stored = _labels(project)
    assert stored[("A", "bob")] == pytest.approx(0.6) and stored[("C", "ann")] == pytest.approx(0.4)
    assert project.pairs.get(project.pairs.find("A", "B")).score == pytest.approx(0.4)
    assert project.counts.get().labeled() == 3


def test_merge_labels_reads_the_same_annotator_column(tmp_path, project):
    project.pairs.insert([("A", "B", None, "train", 1, None)])
    src = tmp_path / "merge.csv"
    src.write_text("sentence1,sentence2,score,Annotated_By\nA,B,0.2,ann\nB,A,0.8,bob\n", encoding="utf-8")
    report = merge_labels(project, src)
    assert report.annotators == ["ann", "bob"] and report.written == 2
    chosen = tmp_path / "chosen.csv"
    chosen.write_text("sentence1,sentence2,score,who\nA,B,0.4,cy\n", encoding="utf-8")
    assert merge_labels(project, chosen, annotator_column="who").annotators == ["cy"]
    with pytest.raises(UserError, match="names no annotator"):
        merge_labels(project, chosen)   # "who" is not a name the rule knows


def test_cli_import_with_a_rater_column_gives_agreement_for_both_raters(tmp_path, capsys):
    """Acceptance (issue 20): import a 1-5 file with a rater column, then agreement --json."""
    proj = tmp_path / "clinic"
    assert cli.main(["new", str(proj)]) == 0
    src = _rater_csv(tmp_path / "rad.csv", pairs=40)
    assert cli.main(["import", str(proj), str(src)]) == 0
    out = capsys.readouterr().out
    assert "annotator='rater'" in out and "2 raters: rater_a, rater_b" in out
    assert cli.main(["agreement", str(proj), "--json", "--bootstrap", "50"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["annotators"] == ["rater_a", "rater_b"]
    assert report["alpha"] is not None and -1 <= report["alpha"] <= 1
    assert report["pairs_with_multiple_labels"] > 20
    with Project.open(proj, readonly=True) as p:
        assert p.display_scale() == "1-5"


def test_export_data_writes_who_labelled_what(tmp_path, project, capsys):
    src = _rater_csv(tmp_path / "rad.csv", pairs=12)
    import_pairs(project, src, ImportOptions(scale="1-5"))
    stored = _labels(project)
    wide = tmp_path / "wide.csv"
    assert export_pairs(project, wide) == 12
    frame = pd.read_csv(wide)
    assert {"label_rater_a", "label_rater_b", "score_1_5", "case_id"} <= set(frame.columns)
    for row in frame.itertuples():
        for who in ("rater_a", "rater_b"):
            value = getattr(row, f"label_{who}")
            if (row.sentence1, who) in stored:
                assert value == pytest.approx(1 + 4 * stored[(row.sentence1, who)])  # on 1-5
            else:
                assert pd.isna(value)
    long = tmp_path / "long.csv"
    assert cli.main(["export-data", str(project.path), str(long), "--labels", "long"]) == 0
    written = int(capsys.readouterr().out.split()[1])
    frame = pd.read_csv(long, keep_default_na=False)
    assert written == len(frame) == len(stored) + sum(
        1 for pid in project.pairs.query_ids() if not project.labels.by_annotator(pair_ids=[pid]))
    assert list(frame.columns[:6]) == ["sentence1", "sentence2", "score", "score_1_5", "split", "annotator"]
    got = {(r.sentence1, r.annotator): r.score for r in frame.itertuples() if r.annotator}
    assert got == pytest.approx(stored)
    # The long file imports back as the same raters' labels.
    again = Project.create(tmp_path / "again")
    try:
        import_pairs(again, long)
        assert _labels(again) == pytest.approx(stored)
    finally:
        again.close()


def test_export_with_one_annotator_has_no_label_columns(tmp_path, project):
    project.pairs.insert([("A", "B", 0.5, "train", 1, None)])
    out = tmp_path / "one.csv"
    export_pairs(project, out)
    assert list(pd.read_csv(out).columns) == ["sentence1", "sentence2", "score", "split"]


# -- splits (issue 20 point 12) ---------------------------------------------------------------


def _plain_csv(path: Path, n: int = 40) -> Path:
    path.write_text("sentence1,sentence2,score\n" + "".join(
        f"sentence one {i},sentence two {i},{(i % 6) / 5:.1f}\n" for i in range(n)), encoding="utf-8")
    return path


def test_cli_import_without_a_split_column_does_what_the_wizard_does(tmp_path, capsys):
    proj = tmp_path / "p"
    cli.main(["new", str(proj)])
    capsys.readouterr()
    src = _plain_csv(tmp_path / "pairs.csv")
    assert cli.main(["import", str(proj), str(src), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # The wizard's default: train, with the seeded dev holdout of core's default_dev_fraction.
    assert importers.DEFAULT_SPLIT == "train"
    assert importers.default_dev_fraction(None, "train") == DEV_FRACTION
    assert report["splits"] == {"train": 36, "dev": 4} and report["held_out"] == 4
    with Project.open(proj, readonly=True) as p:
        wizard_like = importers.prepare_import(src, ImportOptions(split="train",
                                                                  dev_fraction=DEV_FRACTION))
        dev_rows = {r for r, s in zip(wizard_like.rows.source_row, wizard_like.rows.split) if s == "dev"}
        stored_dev = {p.pairs.get(i).source_row for i in p.pairs.query_ids(split="dev")}
        assert stored_dev == dev_rows   # the same seeded pairs as the wizard holds out


def test_an_explicit_split_holds_nothing_out_unless_asked(tmp_path, capsys):
    proj = tmp_path / "p"
    cli.main(["new", str(proj)])
    capsys.readouterr()
    src = _plain_csv(tmp_path / "pairs.csv")
    assert cli.main(["import", str(proj), str(src), "--split", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["splits"] == {"none": 40}


def test_pairs_in_none_say_exactly_how_to_train(tmp_path, capsys):
    proj = tmp_path / "p"
    cli.main(["new", str(proj)])
    capsys.readouterr()
    cli.main(["import", str(proj), str(_plain_csv(tmp_path / "pairs.csv")), "--split", "none"])
    capsys.readouterr()
    assert cli.main(["assign-dev", str(proj)]) == 2
    err = capsys.readouterr().err
    assert "no labeled pairs in train" in err and "none 40" in err
    assert f"stsstudio split {proj} --to train --from none" in err
    assert cli.main(["train", str(proj)]) == 2
    err = capsys.readouterr().err
    assert "40 labeled pairs are in no split (none)" in err and "the Set split button, Train" in err
    assert f"stsstudio split {proj} --to train --from none" in err
    with Project.open(proj, readonly=True) as p:   # the Train view shows the same words
        from stsstudio.core.training import data_plan

        assert any("the Set split button, Train" in problem for problem in data_plan(p).problems)

    assert cli.main(["split", str(proj), "--to", "train", "--from", "none"]) == 0
    assert "Moved 40 of 40 pairs from none to train" in capsys.readouterr().out
    assert cli.main(["split", str(proj), "--to", "dev", "--fraction", "0.2", "--seed", "0", "--json"]) == 0
    move = json.loads(capsys.readouterr().out)
    assert move["moved"] == 8 and move["from_split"] == "train" and move["labeled_only"]
    with Project.open(proj, readonly=True) as p:
        dev = set(p.pairs.query_ids(split="dev"))
        assert {k: v for k, v in p.counts.get().splits.items() if v} == {"train": 32, "dev": 8}
    # Seeded: the same seed on the same pairs picks the same ones.
    cli.main(["split", str(proj), "--to", "train", "--from", "dev"])
    cli.main(["split", str(proj), "--to", "dev", "--fraction", "0.2", "--seed", "0"])
    with Project.open(proj, readonly=True) as p:
        assert set(p.pairs.query_ids(split="dev")) == dev


def test_a_move_that_moves_nothing_says_why(project):
    project.pairs.insert([("A", "B", None, "train", 1, None), ("C", "D", 0.5, "train", 2, None)])
    with pytest.raises(NothingToMove, match="rounds to no pair"):
        move_pairs(project, "dev", fraction=0.1)
    with pytest.raises(NothingToMove, match="no labeled pairs in test"):
        move_pairs(project, "dev", from_split="test")
    with pytest.raises(Exception, match="already in train"):
        move_pairs(project, "train", from_split="train")
    assert move_pairs(project, "none", from_split="train").moved == 2   # unlabeled too
    assert project.counts.get().total("none") == project.counts.get().total() == 2


def test_reimport_with_another_split_says_what_happened_to_the_duplicates(tmp_path, capsys):
    proj = tmp_path / "p"
    cli.main(["new", str(proj)])
    capsys.readouterr()
    src = _plain_csv(tmp_path / "pairs.csv", 10)
    cli.main(["import", str(proj), str(src), "--split", "none"])
    capsys.readouterr()
    assert cli.main(["import", str(proj), str(src), "--split", "train"]) == 0
    out = capsys.readouterr().out
    assert "10 pairs of the file are already in the project (split none 10)" in out
    assert "keep their split" in out
    assert f"stsstudio split {proj} --to train --from none" in out
