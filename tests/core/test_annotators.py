"""Several annotators (issue 15): per-annotator labels, merging, overlap, agreement, ceiling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from stsstudio import cli
from stsstudio.core import agreement as ag
from stsstudio.core.errors import UserError
from stsstudio.core.merge import merge_labels
from stsstudio.core.store import Project


def _pairs(project: Project, n: int, split: str = "train", scored: bool = False) -> list[int]:
    rows = [(f"sentence one number {i}", f"sentence two number {i}", (i % 5) / 4 if scored else None,
             split, i + 1, None) for i in range(n)]
    report = project.pairs.insert(rows, source="test.csv")
    return list(range(report.first_id, report.last_id + 1))


# --------------------------------------------------------------------------------------
# Labels per annotator and the training target


def test_target_is_mean_of_latest_labels_and_training_reads_it(project):
    ids = _pairs(project, 3)
    project.labels.set(ids[0], 0.2, "ann")
    project.labels.set(ids[0], 0.4, "ann")    # a revision: ann's latest is 0.4
    project.labels.set(ids[0], 0.9, "bob")
    project.labels.set(ids[1], 0.7, "ann")    # one annotator: exactly their label
    assert project.pairs.get(ids[0]).score == pytest.approx(0.65)
    assert project.pairs.get(ids[1]).score == 0.7
    assert project.labels.summaries(ids) == {ids[0]: (2, pytest.approx(0.5)), ids[1]: (1, 0.0)}
    # What training reads is the mean.
    from stsstudio.core.training import _split

    train = _split(project.pairs.labeled("train"))
    assert train.scores == [pytest.approx(0.65), 0.7]
    # Median as a project option (three annotators make it differ from the mean).
    project.labels.set(ids[0], 1.0, "cy")
    assert project.pairs.get(ids[0]).score == pytest.approx((0.4 + 0.9 + 1.0) / 3)
    assert project.labels.set_aggregate("median") == 1
    assert project.pairs.get(ids[0]).score == pytest.approx(0.9)
    assert project.labels.aggregate == "median"
    with pytest.raises(UserError):
        project.labels.set_aggregate("mode")


def test_imported_label_gives_way_to_a_person(project):
    ids = _pairs(project, 2, scored=True)
    project.labels.set(ids[1], 0.1, "ann")
    assert project.pairs.get(ids[1]).score == 0.1  # a correction, not a mean with the import
    assert [(a, s) for _p, _sp, a, s in project.labels.by_annotator(pair_ids=[ids[1]])] == [("ann", 0.1)]


def test_adjudicated_value_wins_and_is_recorded_as_such(project):
    (pid,) = _pairs(project, 1)
    project.labels.set(pid, 0.2, "ann")
    project.labels.set(pid, 0.8, "bob")
    label_id = project.labels.adjudicate(pid, 0.3, "lead")
    assert project.pairs.get(pid).score == 0.3
    project.labels.set(pid, 1.0, "cy")  # a later annotator label does not override it
    assert project.pairs.get(pid).score == 0.3
    history = project.labels.history(pid)
    assert [lb.adjudicated for lb in history] == [False, False, True, False]
    # The adjudicated value is not an annotator's label: agreement leaves it out.
    assert {a for _p, _s, a, _v in project.labels.by_annotator()} == {"ann", "bob", "cy"}
    assert project.labels.adjudicated() == {pid: 0.3}
    project.labels.remove(label_id)  # undo the adjudication: back to the mean
    assert project.pairs.get(pid).score == pytest.approx(2.0 / 3)


def test_disagreement_queue(project):
    ids = _pairs(project, 4)
    for pid, (a, b) in zip(ids, [(0.1, 0.9), (0.5, 0.6), (0.2, 0.6), (0.3, 0.3)]):
        project.labels.set(pid, a, "ann")
        project.labels.set(pid, b, "bob")
    found = ag.disagreements(project, 0.25)
    assert [d.pair_id for d in found] == [ids[0], ids[2]]
    assert found[0].labels == {"ann": 0.1, "bob": 0.9} and found[0].spread == pytest.approx(0.8)
    project.labels.adjudicate(ids[0], 0.5, "lead")
    assert ag.disagreement_pair_ids(project, 0.25) == [ids[2]]


# --------------------------------------------------------------------------------------
# Merging


def test_merge_from_another_project_reports_matched_new_conflicting(tmp_path, project):
    ids = _pairs(project, 4)
    project.labels.set(ids[0], 0.5, "bob")   # bob already labelled pair 0 here, differently
    project.labels.set(ids[1], 0.25, "bob")  # and pair 1 the same
    other = Project.create(tmp_path / "bob_copy")
    other_ids = _pairs(other, 4)
    # Bob's copy has the pairs the other way round for pair 2: (B, A) = (A, B).
    other.pairs.insert([("a brand new pair", "that only bob has", None, "dev", 9, None)])
    other.labels.set(other_ids[0], 0.9, "bob")
    other.labels.set(other_ids[1], 0.25, "bob")
    other.labels.set(other_ids[2], 0.75, "bob")
    other.labels.set(other_ids[3], 0.6, "")      # unnamed: --annotator names it
    other.labels.set(other_ids[-1] + 1, 0.1, "bob")
    other.close()

    before = project.checksum()
    preview = merge_labels(project, tmp_path / "bob_copy", annotator="bob", dry_run=True)
    assert project.checksum() == before
    report = merge_labels(project, tmp_path / "bob_copy", annotator="bob")
    assert report.as_dict() == preview.as_dict()
    counts = (report.matched, report.new, report.conflicting, report.unchanged, report.skipped)
    assert counts == (4, 1, 1, 1, 0)
    assert report.written == 3  # pairs 2 and 3, and the new pair; the conflict keeps ours
    assert report.conflicts[0]["pair_id"] == ids[0] and report.conflicts[0]["source"] == 0.9
    assert project.pairs.get(ids[0]).score == 0.5
    assert project.pairs.get(ids[2]).score == 0.75
    new_id = project.pairs.find("that only bob has", "a brand new pair")
    assert project.pairs.get(new_id).split == "dev" and project.pairs.get(new_id).score == 0.1
    # Merging again writes nothing; replacing resolves the conflict the source's way.
    again = merge_labels(project, tmp_path / "bob_copy", annotator="bob")
    assert again.written == 0 and again.new == 0 and again.conflicting == 1
    merge_labels(project, tmp_path / "bob_copy", annotator="bob", on_conflict="replace")
    assert project.pairs.get(ids[0]).score == 0.9


def test_merge_from_csv_with_annotators_and_scale(tmp_path, capsys):
    project = Project.create(tmp_path / "proj")
    ids = _pairs(project, 3)
    project.labels.set(ids[0], 0.2, "ann")
    project.close()
    csv = tmp_path / "labels.csv"
    csv.write_text(
        "sentence1,sentence2,score,annotator\n"
        "sentence two number 0,sentence one number 0,5,bob\n"   # swapped order; 0-5 scale
        "sentence one number 0,sentence two number 0,2,ann\n"   # conflicts with ann's 0.2
        "sentence one number 1,sentence two number 1,,bob\n"    # no score: skipped
        "sentence one number 2,sentence two number 2,2.5,cy\n"
        "a pair the project lacks,entirely,0,bob\n", encoding="utf-8")
    code = cli.main(["merge-labels", str(project.path), str(csv), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {k: out[k] for k in ("matched", "new", "conflicting", "skipped", "written")} == \
        {"matched": 3, "new": 1, "conflicting": 1, "skipped": 1, "written": 3}
    assert out["scale"] == "0-5" and out["annotators"] == ["ann", "bob", "cy"]
    assert out["conflicts"][0]["project"] == 0.2 and out["conflicts"][0]["source"] == pytest.approx(0.4)
    with Project.open(project.path) as project:
        assert project.pairs.get(ids[0]).score == pytest.approx(0.6)   # mean of ann 0.2 and bob 1.0
        assert project.pairs.get(ids[2]).score == pytest.approx(0.5)


def test_bad_merge_input_writes_nothing(tmp_path, capsys):
    with Project.create(tmp_path / "proj") as project:
        _pairs(project, 2)
        before = project.checksum()
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence1,sentence2,score,annotator\nx one,y one,0.5,bob\nx two,y two,abc,bob\n",
                   encoding="utf-8")
    assert cli.main(["merge-labels", str(project.path), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "row 3" in err and "abc" in err
    nameless = tmp_path / "nameless.jsonl"
    nameless.write_text('{"sentence1": "x", "sentence2": "y", "score": 0.5}\n', encoding="utf-8")
    assert cli.main(["merge-labels", str(project.path), str(nameless)]) == 2
    assert "--annotator" in capsys.readouterr().err
    assert cli.main(["merge-labels", str(project.path), str(tmp_path / "missing.csv")]) == 2
    capsys.readouterr()
    with Project.open(project.path) as project:
        assert project.checksum() == before


# --------------------------------------------------------------------------------------
# Overlap assignment and the labelling pack


def test_overlap_assignment_is_seeded_and_disjoint_apart_from_the_overlap(tmp_path, project):
    ids = _pairs(project, 100)
    summary = project.assignments.assign(["ann", "bob", "cy"], 0.2, seed=7)
    assert summary == {"ann": {"share": 27, "overlap": 20}, "bob": {"share": 27, "overlap": 20},
                       "cy": {"share": 26, "overlap": 20}}
    sets = {a: set(project.assignments.pair_ids(a)) for a in ("ann", "bob", "cy")}
    overlap = sets["ann"] & sets["bob"] & sets["cy"]
    assert len(overlap) == 20
    for a, b in (("ann", "bob"), ("ann", "cy"), ("bob", "cy")):
        assert sets[a] & sets[b] == overlap  # disjoint apart from the overlap
    assert set().union(*sets.values()) == set(ids)
    first = {a: sorted(s) for a, s in sets.items()}
    project.assignments.assign(["ann", "bob", "cy"], 0.2, seed=7)
    assert {a: project.assignments.pair_ids(a) for a in sets} == first
    project.assignments.assign(["ann", "bob", "cy"], 0.2, seed=8)
    assert {a: project.assignments.pair_ids(a) for a in sets} != first

    # The pack for bob, labelled in a spreadsheet and merged back, closes the loop.
    pack = tmp_path / "bob.csv"
    assert cli.main(["export-data", str(project.path), str(pack), "--annotator", "bob",
                     "--assignment"]) == 0
    import pandas as pd

    frame = pd.read_csv(pack)
    assert len(frame) == 47 and set(frame["annotator"]) == {"bob"} and frame["score"].isna().all()
    frame["score"] = 0.5
    frame.to_csv(pack, index=False)
    report = merge_labels(project, pack)
    assert report.matched == 47 and report.written == 47 and report.new == 0
    assert project.assignments.pair_ids("bob", unlabeled_by_annotator=True) == []
    assert len(project.assignments.pair_ids("ann", unlabeled_by_annotator=True)) == 47


# --------------------------------------------------------------------------------------
# Agreement


def test_alpha_matches_a_hand_worked_example():
    # Two annotators, three pairs: (1, 1), (2, 2), (3, 4). Interval metric:
    # D_o = (1/n) * sum over units of sum over ordered pairs (a-b)^2 / (m_u - 1) = 2/6;
    # D_e = sum over all ordered value pairs (a-b)^2 / (n(n-1)) = 82/30; alpha = 1 - D_o/D_e.
    values = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 4.0]])
    assert ag.krippendorff_alpha(values) == pytest.approx(1 - (2 / 6) / (82 / 30))
    assert ag.krippendorff_alpha(values) == pytest.approx(36 / 41)
    # A pair only one annotator labelled does not count; identical labels are undefined.
    with_gap = np.array([[1.0, 2.0, 3.0, 5.0], [1.0, 2.0, 4.0, np.nan]])
    assert ag.krippendorff_alpha(with_gap) == pytest.approx(36 / 41)
    assert ag.krippendorff_alpha(np.array([[0.5, 0.5], [0.5, 0.5]])) is None


def test_alpha_closed_form_for_large_projects_equals_the_package(monkeypatch):
    import krippendorff

    rng = np.random.default_rng(5)
    values = rng.uniform(0, 1, (3, 60)).round(3)
    values[0, :20] = np.nan
    values[1, 50:] = np.nan
    package = krippendorff.alpha(reliability_data=values, level_of_measurement="interval")
    assert ag.krippendorff_alpha(values) == pytest.approx(package)
    monkeypatch.setattr(ag, "_PACKAGE_CELLS", 0)  # force the per-pair sums
    assert ag.krippendorff_alpha(values) == pytest.approx(package, abs=1e-12)
    big = rng.uniform(0, 1, (2, 5000))  # would need 5000^3 cells in the package
    assert -0.1 < ag.krippendorff_alpha(big) < 0.1
    lo, hi = ag._alpha_ci(big, 200, 0)
    assert lo < 0 < hi


def _three_annotators(project: Project, split: str = "dev") -> tuple[list[int], np.ndarray]:
    rng = np.random.default_rng(3)
    ids = _pairs(project, 30, split=split)
    truth = rng.uniform(0, 1, 30)
    labels = np.clip(truth + rng.normal(0, 0.15, (3, 30)), 0, 1).round(2)
    labels[2, :10] = np.nan  # cy labelled only 20 of the pairs
    for who, row in zip(("ann", "bob", "cy"), labels):
        for pid, score in zip(ids, row):
            if not np.isnan(score):
                project.labels.set(pid, float(score), who)
    return ids, labels


def test_agreement_figures_match_direct_computations(project, capsys):
    _ids, labels = _three_annotators(project)
    report = ag.agreement_report(project, n_boot=200, seed=1)
    import krippendorff

    assert report["alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=labels, level_of_measurement="interval"))
    assert report["alpha_ci"][0] < report["alpha"] < report["alpha_ci"][1]
    spear = {(p["a"], p["b"]): p for p in report["pairwise_spearman"]}
    assert spear[("ann", "bob")]["spearman"] == pytest.approx(spearmanr(labels[0], labels[1]).statistic)
    assert spear[("ann", "cy")]["spearman"] == pytest.approx(
        spearmanr(labels[0, 10:], labels[2, 10:]).statistic)
    assert spear[("ann", "cy")]["pairs"] == 20
    lo, hi = spear[("ann", "bob")]["ci"]
    assert lo < spear[("ann", "bob")]["spearman"] < hi
    # Mean |a - b|: per pair over its annotator pairs, then over pairs.
    per_pair = []
    for j in range(30):
        vals = [v for v in labels[:, j] if not np.isnan(v)]
        diffs = [abs(a - b) for k, a in enumerate(vals) for b in vals[k + 1:]]
        per_pair.append(np.mean(diffs))
    assert report["mean_abs_diff"] == pytest.approx(np.mean(per_pair))
    assert report["pairs_with_multiple_labels"] == 30 and report["annotators"] == ["ann", "bob", "cy"]
    assert set(report["splits"]) == {"dev"}
    # Seeded: the same intervals again.
    assert ag.agreement_report(project, n_boot=200, seed=1)["alpha_ci"] == report["alpha_ci"]

    assert cli.main(["agreement", str(project.path), "--split", "dev", "--bootstrap", "50", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("alpha", "alpha_ci", "pairwise_spearman", "mean_abs_diff", "pairs_with_multiple_labels",
                "annotators"):
        assert key in out
    assert out["alpha"] == pytest.approx(report["alpha"])


def test_human_ceiling_only_with_two_annotators_on_dev(project):
    ids = _pairs(project, 12, split="dev")
    for i, pid in enumerate(ids):
        project.labels.set(pid, i / 12, "ann")
    assert ag.human_ceiling(project) is None  # one annotator
    _three_annotators(project, split="train")
    assert ag.human_ceiling(project) is None  # several annotators, but not on dev
    assert ag.human_ceiling(project, "train", n_boot=100) is not None
    rng = np.random.default_rng(0)
    bob = np.clip(np.arange(12) / 12 + rng.normal(0, 0.1, 12), 0, 1)
    for pid, score in zip(ids, bob):
        project.labels.set(pid, float(score), "bob")
    ceiling = ag.human_ceiling(project, n_boot=200, seed=0)
    assert ceiling is not None and ceiling["annotators"] == ["ann", "bob"] and ceiling["pairs"] == 12
    # With two annotators, "each against the mean of the others" is their Spearman.
    direct = spearmanr(np.arange(12) / 12, bob).statistic
    assert ceiling["spearman"] == pytest.approx(direct)
    assert ceiling["ci"][0] <= ceiling["spearman"] <= ceiling["ci"][1]
    assert ag.human_ceiling(project, n_boot=200, seed=0) == ceiling


def test_agreement_of_a_project_without_multiple_labels(tmp_path):
    with Project.create(Path(tmp_path) / "solo") as project:
        ids = _pairs(project, 3, scored=True)
        assert ids
        report = ag.agreement_report(project, n_boot=10)
    assert report["alpha"] is None and report["pairwise_spearman"] == []
    assert report["pairs_with_multiple_labels"] == 0 and report["annotators"] == []


def test_label_queue_orders_for_several_annotators(project):
    from stsstudio.core.label_queue import LabelQueue, queue_order

    ids = _pairs(project, 6) + _pairs(project, 4, split="dev")
    project.assignments.assign(["ana", "ben"], 0.5, seed=3)
    queue = LabelQueue(project, order="assigned", annotator="ana")
    queue.extend()
    assert queue.ids == project.assignments.pair_ids("ana")
    dev_queue = LabelQueue(project, split="dev", order="assigned", annotator="ana")
    dev_queue.extend()
    assert set(dev_queue.ids) == set(project.assignments.pair_ids("ana")) & set(ids[6:])
    for pid, (a, b) in zip(ids, [(0.0, 1.0), (0.3, 0.4), (0.2, 0.7)]):
        project.labels.set(pid, a, "ana")
        project.labels.set(pid, b, "ben")
    resolve = LabelQueue(project, order="disagreements")
    while resolve.extend():
        pass
    assert resolve.ids == [ids[0], ids[2]] and queue_order("disagreements").adjudicates
    assert not queue_order("file").adjudicates


def test_merge_reads_scores_on_the_projects_scale(tmp_path, project):
    ids = _pairs(project, 2)
    project.set_display_scale("1-5")
    csv = tmp_path / "likert.csv"
    csv.write_text("sentence1,sentence2,score,annotator\n"
                   "sentence one number 0,sentence two number 0,3,bob\n"
                   "sentence one number 1,sentence two number 1,2.5,bob\n", encoding="utf-8")
    report = merge_labels(project, csv)
    assert report.scale == "1-5"    # auto alone would have said 0-5 (2.5 is not whole)
    assert project.pairs.get(ids[0]).score == 0.5 and project.pairs.get(ids[1]).score == pytest.approx(0.375)


def test_label_target_command(tmp_path, capsys):
    with Project.create(tmp_path / "p") as project:
        (pid,) = _pairs(project, 1)
        for who, score in (("ana", 0.1), ("ben", 0.2), ("cy", 0.9)):
            project.labels.set(pid, score, who)
    assert cli.main(["label-target", str(tmp_path / "p")]) == 0
    assert capsys.readouterr().out.strip() == "mean"
    assert cli.main(["label-target", str(tmp_path / "p"), "median"]) == 0
    assert "1 targets changed" in capsys.readouterr().out
    with Project.open(tmp_path / "p", readonly=True) as project:
        assert project.pairs.get(pid).score == 0.2 and project.labels.aggregate == "median"
