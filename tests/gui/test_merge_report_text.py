"""The merge dialog's summary says which annotator spellings were joined (issue 24)."""

from __future__ import annotations

from stsstudio.core.merge import merge_labels


def test_merge_dialog_text_says_which_spellings_were_joined(project, tmp_path):
    from stsstudio.gui.importing.merge_dialog import report_text

    project.pairs.insert([("s 1", "t 1", None, "train", 1, None)])
    project.labels.set(1, 0.2, annotator="Alice")
    labels = tmp_path / "labels.csv"
    labels.write_text("sentence1,sentence2,score,annotator\ns 1,t 1,0.9,ALICE\n", encoding="utf-8")
    text = report_text(merge_labels(project, labels, dry_run=True), written=False)
    assert "Spellings of one annotator joined: 'ALICE' as 'Alice'." in text
