"""Issue 24, point 6: one person is one annotator, however the name was typed."""

from __future__ import annotations

from stsstudio.cli import main
from stsstudio.core.annotators import annotator_key, clean_annotator, join_spellings
from stsstudio.core.merge import merge_labels
from stsstudio.core.store import Project

SPELLINGS = ["Alice", "alice", " Alice ", "ALICE", "Al\u200bice", "Alice\ufeff"]


def test_keys_join_case_spaces_zero_width_and_unicode_forms():
    assert {annotator_key(s) for s in SPELLINGS} == {"alice"}
    assert annotator_key("Jose\u0301") == annotator_key("Jos\u00e9")  # NFD and NFC
    assert clean_annotator("  Mary   Ann\u200d ") == "Mary Ann"
    assert annotator_key("Bob") != annotator_key("Alice")
    assert join_spellings(["alice", "BOB", "bob "], known=["Alice"]) == \
        {"alice": "Alice", "BOB": "BOB", "bob ": "BOB"}


def test_labels_under_four_spellings_are_one_annotator(project):
    project.pairs.insert([("a b", "c d", None, "train", 1, None)])
    for i, name in enumerate(SPELLINGS):
        project.labels.set(1, i / 10, annotator=name)
    labels = project.labels.by_annotator()
    assert labels == [(1, "train", "Alice", (len(SPELLINGS) - 1) / 10)]  # one annotator, latest label
    project.labels.adjudicate(1, 0.5, annotator="ALICE ")
    assert {h.annotator for h in project.labels.history(1)} == {"Alice"}


def test_assignments_and_merges_join_spellings_and_say_so(project, tmp_path, capsys):
    project.pairs.insert([(f"s {i}", f"t {i}", None, "train", i + 1, None) for i in range(6)])
    project.labels.set(1, 0.2, annotator="Alice")
    summary = project.assignments.assign(["alice", "Bob", " ALICE", "bob"], 0.5, seed=1)
    assert sorted(summary) == ["Alice", "Bob"]
    project.close()
    assert main(["assign-overlap", str(project.path), "alice", "Bob", "bob", "--overlap", "50"]) == 0
    assert "Spellings of one annotator joined: 'alice' as 'Alice', 'bob' as 'Bob'" in \
        capsys.readouterr().out
    project = Project.open(project.path)
    assert project.assignments.pair_ids("ALICE") == project.assignments.pair_ids("Alice")
    labels = tmp_path / "labels.csv"
    labels.write_text("sentence1,sentence2,score,annotator\ns 1,t 1,0.9,alice\ns 2,t 2,0.4,Al\u200bice\n"
                      "s 3,t 3,0.6, bob \n", encoding="utf-8")
    report = merge_labels(project, labels, dry_run=True)
    assert report.annotators == ["Alice", "Bob"]
    assert "'alice' as 'Alice'" in report.joined and "'bob' as 'Bob'" in report.joined
    project.close()
    assert main(["merge-labels", str(project.path), str(labels), "--on-conflict", "replace"]) == 0
    out = capsys.readouterr().out
    assert "spellings of one annotator joined: " in out and "'alice' as 'Alice'" in out, out
    with Project.open(project.path, readonly=True) as p:
        assert sorted({a for _p, _s, a, _v in p.labels.by_annotator()}) == ["Alice", "Bob"]

