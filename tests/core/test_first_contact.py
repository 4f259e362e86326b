"""Issue 11 (first contact), core side: a user's own columns, scale and dev holdout survive."""

from __future__ import annotations

import pandas as pd
import pytest

from stsstudio.cli import main
from stsstudio.core.data_export import export_pairs
from stsstudio.core.importers import ImportOptions, import_pairs
from stsstudio.core.store import Project, choose_dev


def _clinic_csv(path, n=40):
    lines = ["pair_id,text_a,text_b,rating,judgment"]
    for i in range(n):
        rating = "" if i % 5 == 0 else f"{1 + (i % 9) / 2:g}"
        lines.append(f"00{i},the patient {i} has a cough,patient {i} is coughing,{rating},note =x{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_unmapped_columns_are_kept_searched_and_exported(tmp_path):
    src = _clinic_csv(tmp_path / "clinic.csv")
    with Project.create(tmp_path / "p") as project:
        report = import_pairs(project, src, ImportOptions(split="train"))
        assert report.metadata_columns == ["pair_id", "judgment"]
        assert project.pairs.metadata_keys() == ["pair_id", "judgment"]
        assert project.pairs.get(1).metadata == {"pair_id": "000", "judgment": "note =x0"}
        # Search sees metadata values (not only the sentences).
        assert project.pairs.query_ids(search="x17") == [18]
        assert project.pairs.query_ids(search="0017") == [18]
        out = tmp_path / "out.csv"
        export_pairs(project, out)
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["sentence1", "sentence2", "score", "score_1_5", "split",
                                   "pair_id", "judgment"]
    source = pd.read_csv(src, dtype=str, keep_default_na=False)
    assert frame["pair_id"].tolist() == source["pair_id"].tolist()  # leading zeros kept
    # The user's own scale next to the 0-1 score: (x - 1) / 4 stored, x shown.
    labeled = source["rating"] != ""
    assert [float(v) for v in frame["score_1_5"][labeled]] == \
        [float(v) for v in source["rating"][labeled]]
    assert [float(v) for v in frame["score"][labeled]] == \
        pytest.approx([(float(v) - 1) / 4 for v in source["rating"][labeled]])
    # Re-importing the export keeps the columns and ids, and not the display score column.
    with Project.create(tmp_path / "q") as again:
        report = import_pairs(again, out)
        assert report.metadata_columns == ["pair_id", "judgment"]
        assert again.pairs.get(3).metadata == {"pair_id": "002", "judgment": "note =x2"}


def test_a_file_without_extra_columns_stores_no_metadata(tmp_path):
    src = tmp_path / "plain.csv"
    src.write_text("sentence1,sentence2,score\na,b,0.5\nc,d,1\n")
    with Project.create(tmp_path / "p") as project:
        assert import_pairs(project, src).metadata_columns == []
        assert project.pairs.get(1).metadata is None and project.pairs.metadata_keys() == []


def test_dev_holdout_is_seeded_and_takes_only_labeled_pairs(tmp_path):
    src = _clinic_csv(tmp_path / "clinic.csv", n=200)
    dev_sets = []
    for name in ("a", "b"):
        with Project.create(tmp_path / name) as project:
            report = import_pairs(project, src, ImportOptions(split="train", dev_fraction=0.1))
            dev = [p for p in project.pairs.all("dev")]
            assert report.held_out == len(dev) == round(0.1 * 160)  # 160 of 200 are labeled
            assert all(p.score is not None for p in dev)
            assert report.splits == {"train": 200 - len(dev), "dev": len(dev)}
            dev_sets.append([p.id for p in dev])
    assert dev_sets[0] == dev_sets[1]
    # A split column wins: nothing is held out.
    split_src = tmp_path / "split.csv"
    split_src.write_text("sentence1,sentence2,score,split\na,b,1,train\nc,d,2,train\n")
    with Project.create(tmp_path / "c") as project:
        report = import_pairs(project, split_src, ImportOptions(dev_fraction=0.5))
        assert report.held_out == 0 and report.splits == {"train": 2}


def test_choose_dev_is_the_assign_dev_rule(tmp_path):
    assert choose_dev(range(100), 0.1, 42) == choose_dev(list(range(100)), 0.1, 42)
    assert len(choose_dev(range(100), 0.1)) == 10
    with pytest.raises(ValueError):
        choose_dev(range(10), 1.5)


def test_cli_import_holds_out_dev_and_names_kept_columns(tmp_path, capsys):
    src = _clinic_csv(tmp_path / "clinic.csv", n=100)
    proj = tmp_path / "p"
    assert main(["new", str(proj)]) == 0
    assert main(["import", str(proj), str(src), "--split", "train", "--dev-fraction", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "kept      pair_id, judgment" in out
    assert "8 labeled pairs held out as dev, seeded" in out


def test_new_projects_get_a_neutral_template_and_the_demo_keeps_its_own(tmp_path):
    from stsstudio.core.demo import create_demo_project
    from stsstudio.core.guidelines import TEMPLATES, demo_guidelines, template_text

    with Project.create(tmp_path / "p") as project:
        text = project.guidelines
    assert "helpdesk" not in text.lower() and "VPN" not in text
    assert "Examples" in text and "[" not in text  # reads well as it is: nothing to fill in
    texts = {t.name: template_text(t.name) for t in TEMPLATES}
    assert set(texts) == {"sts", "intent", "retrieval"} and len(set(texts.values())) == 3
    assert all("[" not in t and "{" not in t and "helpdesk" not in t.lower() for t in texts.values())
    with Project.create(tmp_path / "q", guidelines=texts["intent"]) as project:
        assert project.guidelines == texts["intent"]
    with create_demo_project(tmp_path / "demo") as demo:
        assert demo.guidelines == demo_guidelines() and "helpdesk" in demo.guidelines.lower()


def test_demo_is_reopened_with_its_labels_unless_fresh():
    from stsstudio.core.demo import open_demo_project

    with open_demo_project() as demo:
        path = demo.path
        demo.labels.set(1, 0.123, annotator="me")
    with open_demo_project() as again:  # reopened: the label is still there
        assert again.path == path and again.pairs.get(1).score == pytest.approx(0.123)
    with open_demo_project(fresh=True) as rebuilt:
        assert rebuilt.path == path and rebuilt.pairs.get(1).score != pytest.approx(0.123)


def test_without_a_dev_split_evaluation_uses_a_runs_held_out_pairs(tmp_path):
    from stsstudio.core.evaluation import evaluation_pairs, held_out_run

    src = _clinic_csv(tmp_path / "clinic.csv", n=60)
    with Project.create(tmp_path / "p") as project:
        import_pairs(project, src, ImportOptions(split="train"))
        assert project.counts.get().labeled("dev") == 0
        pairs, source = evaluation_pairs(project, "dev", "base")
        assert pairs == [] and source == "the dev split"  # no run yet: nothing to fall back on
        labeled = [p.id for p in project.pairs.labeled("train")]
        run_id = project.runs.create(base_model="default", loss="cosine", config={})
        project.runs.record_pairs(run_id, labeled[5:], labeled[:5])
        assert held_out_run(project, f"run:{run_id}") == run_id
        assert held_out_run(project, "base") == run_id  # the latest run that held pairs out
        pairs, source = evaluation_pairs(project, "dev", f"run:{run_id}")
        assert [p.id for p in pairs] == labeled[:5] and source == f"run {run_id}'s held-out pairs"
        # A real dev split wins over the fallback.
        project.pairs.set_split(labeled[10:14], "dev")
        pairs, source = evaluation_pairs(project, "dev", f"run:{run_id}")
        assert [p.id for p in pairs] == labeled[10:14] and source == "the dev split"
