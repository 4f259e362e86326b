"""Issue 24, points 9 and 10: what export-data writes comes back; odd files are refused early
and name the right row."""

from __future__ import annotations

import time

from stsstudio.cli import main
from stsstudio.core.data_export import export_pairs
from stsstudio.core.importers import MAX_COLUMNS, ImportOptions, import_pairs
from stsstudio.core.merge import merge_labels
from stsstudio.core.store import Project

ODD = "line one\u2028line two \u2029 and \u0085 more"


def test_jsonl_with_line_separators_round_trips(tmp_path):
    with Project.create(tmp_path / "P") as p:
        p.pairs.insert([(ODD, "plain", 0.5, "train", 1, None), ("a b", "c d", 0.25, "dev", 2, None)])
        export_pairs(p, tmp_path / "out.jsonl")
    with Project.create(tmp_path / "Q") as q:
        import_pairs(q, tmp_path / "out.jsonl", ImportOptions())
        assert {x.sentence1 for x in q.pairs.all()} == {ODD, "a b"}
        report = merge_labels(q, tmp_path / "out.jsonl", annotator="eve")
        assert report.written == 2 and report.matched == 2


def test_true_and_false_are_not_scores(tmp_path, capsys):
    Project.create(tmp_path / "P").close()
    labels = tmp_path / "tf.csv"
    labels.write_text("sentence1,sentence2,score,annotator\na,b,true,x\nc,d,false,x\n")
    assert main(["merge-labels", str(tmp_path / "P"), str(labels)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "row 2" in err and "not a number" in err, err


def test_a_cell_with_line_separators_names_its_own_row(tmp_path, capsys):
    Project.create(tmp_path / "P").close()
    bad = tmp_path / "sep.csv"
    bad.write_text('sentence1,sentence2,score\na,b,0.5\n"x\u2028y\u2028' + "z" * 1_000_000
                   + '",second sentence,abc\n', encoding="utf-8")
    assert main(["import", str(tmp_path / "P"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "Traceback" not in err, err


def test_a_ragged_file_with_absurdly_many_columns_is_refused_at_once(tmp_path, capsys):
    Project.create(tmp_path / "P").close()
    rows = ["text,id"] + [f"sentence {i},{i}" for i in range(200)]
    rows.insert(5, ",".join(["x"] * 50_000))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("\n".join(rows) + "\n")
    started = time.monotonic()
    assert main(["import-sentences", str(tmp_path / "P"), str(ragged)]) == 2
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    assert "row 6" in err and f"{MAX_COLUMNS:,}" in err and err.count("\n") == 1, err


def test_a_formula_like_column_name_is_escaped_in_csv_and_comes_back(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"sentence1": "a cat", "sentence2": "a dog", "score": 0.5, '
                      '"=HYPERLINK(\\"http://x\\")": "link"}\n')
    with Project.create(tmp_path / "P") as p:
        import_pairs(p, source, ImportOptions())
        out = tmp_path / "out.csv"
        export_pairs(p, out)
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert "'=HYPERLINK" in header and ",=HYPERLINK" not in header, header
    with Project.create(tmp_path / "Q") as q:
        import_pairs(q, out, ImportOptions())
        assert q.pairs.metadata_keys() == ['=HYPERLINK("http://x")']
