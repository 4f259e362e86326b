"""Issue 24, point 5: merging matches pairs by their sentences, hashed here, never by a hash
stored in the other project; the other project's adjudicated values come along or are reported."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from stsstudio.cli import main
from stsstudio.core.merge import merge_labels
from stsstudio.core.store import Project

PAIRS = [("the printer is slow", "the printer is not working"),
         ("a dog is running", "a cat is sitting"),
         ("my password reset is broken", "please help reset my password")]


def _make(folder: Path) -> Project:
    p = Project.create(folder)
    p.pairs.insert([(a, b, None, "train", i + 1, None) for i, (a, b) in enumerate(PAIRS)])
    return p


def _id_of(p: Project, s1: str) -> int:
    return next(pid for pid in range(1, 10) if (pair := p.pairs.get(pid)) and pair.sentence1 == s1)


def test_a_crafted_pair_hash_in_the_source_never_moves_a_label(tmp_path):
    with _make(tmp_path / "P") as p:
        p.labels.set(_id_of(p, PAIRS[1][0]), 0.85, annotator="me")
    with _make(tmp_path / "Q") as q:
        q.labels.set(_id_of(q, PAIRS[0][0]), 0.0, annotator="eve")
        target_hash = q._scalar("SELECT pair_hash FROM pairs WHERE sentence1 = ?", (PAIRS[1][0],))
    # The source claims its labelled pair is the dog/cat pair.
    with sqlite3.connect(tmp_path / "Q" / "project.stsproj") as conn:
        conn.execute("UPDATE pairs SET pair_hash = ? WHERE sentence1 = ?", (target_hash, PAIRS[0][0]))
    with Project.open(tmp_path / "P") as p:
        report = merge_labels(p, tmp_path / "Q")
        assert report.written == 1 and report.matched == 1 and report.new == 0
        assert p.pairs.get(_id_of(p, PAIRS[1][0])).score == 0.85   # untouched
        assert p.pairs.get(_id_of(p, PAIRS[0][0])).score == 0.0    # the pair eve labelled


def test_adjudicated_values_are_brought_or_reported(tmp_path, capsys):
    with _make(tmp_path / "P") as p:
        p.labels.adjudicate(_id_of(p, PAIRS[2][0]), 0.4)
    with _make(tmp_path / "Q") as q:
        for s1, _s2 in PAIRS[:2]:
            pid = _id_of(q, s1)
            q.labels.set(pid, 0.2, annotator="ann")
            q.labels.set(pid, 0.8, annotator="bob")
        q.labels.adjudicate(_id_of(q, PAIRS[0][0]), 0.5)      # P has none: brought
        q.labels.adjudicate(_id_of(q, PAIRS[2][0]), 0.9)      # P settled it at 0.4: kept, reported
        q.pairs.insert([("a brand new pair", "only in the source", None, "dev", 9, None)])
        q.labels.adjudicate(_id_of(q, "a brand new pair"), 0.7)  # a new pair, with its adjudication
    assert main(["merge-labels", str(tmp_path / "P"), str(tmp_path / "Q")]) == 0
    out = capsys.readouterr().out
    assert "adjudicated values: 2 brought, 1 left out" in out, out
    with Project.open(tmp_path / "P", readonly=True) as p:
        settled = {p.pairs.get(pid).sentence1: v for pid, v in p.labels.adjudicated().items()}
        assert settled == {PAIRS[0][0]: 0.5, PAIRS[2][0]: 0.4, "a brand new pair": 0.7}
        assert p.pairs.get(_id_of(p, PAIRS[0][0])).score == 0.5  # the adjudicated value wins
    with Project.open(tmp_path / "P") as p:
        report = merge_labels(p, tmp_path / "Q", on_conflict="replace")
        assert report.adjudicated == 1 and report.adjudicated_left_out == 0
        assert p.pairs.get(_id_of(p, PAIRS[2][0])).score == 0.9
        assert merge_labels(p, tmp_path / "Q").written == 0  # repeating it is a no-op
