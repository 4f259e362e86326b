"""`stsstudio import` and `stsstudio export-data`: exit codes, JSON, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from stsstudio.cli import main
from stsstudio.core.store import Project


@pytest.fixture
def proj(tmp_path):
    path = tmp_path / "proj"
    Project.create(path, name="CLI").close()
    return path


def test_import_stsb_json(proj, stsb_train, capsys):
    code = main(["import", str(proj), str(stsb_train), "--no-header", "--sentence1", "5", "--sentence2", "6",
                 "--score", "4", "--split", "train", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("rows", "imported", "duplicates", "conflicting_duplicates", "unlabeled", "leakage"):
        assert key in out
    assert out["rows"] == 5749 and out["imported"] + out["duplicates"] == 5749
    assert isinstance(out["leakage"], int) and out["scale"] == "0-5"
    with Project.open(proj, readonly=True) as p:
        assert p.stats()["splits"]["train"] == out["imported"]


def test_import_human_output_and_user_error(proj, tmp_path, capsys):
    src = tmp_path / "p.csv"
    src.write_text("sentence1,sentence2,score\nA,B,4\nB,A,3\nC,D,\n")
    assert main(["import", str(proj), str(src), "--scale", "0-5"]) == 0
    out = capsys.readouterr().out
    assert "Imported 2 of 3 rows" in out and "1 duplicates" in out
    assert "1 of them had a different score" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence1,sentence2,score\nA,B,x\n")
    with Project.open(proj, readonly=True) as p:
        before = p.checksum()
    assert main(["import", str(proj), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.csv, row 2, column 'score'" in err and "Traceback" not in err
    with Project.open(proj, readonly=True) as p:
        assert p.checksum() == before


def test_export_data_formats_and_filters(proj, tmp_path, capsys):
    src = tmp_path / "p.csv"
    src.write_text("sentence1,sentence2,score,split\n=SUM(A1),+danger,5,train\n"
                   "@me,-1 minus,,dev\nplain,text,2.5,train\n")
    assert main(["import", str(proj), str(src)]) == 0
    out_csv = tmp_path / "out.csv"
    assert main(["export-data", str(proj), str(out_csv)]) == 0
    frame = pd.read_csv(out_csv, keep_default_na=False)
    # The score also on the project's own scale (0-5 from the import), next to the 0-1 one.
    assert list(frame.columns) == ["sentence1", "sentence2", "score", "score_0_5", "split"]
    assert frame["score_0_5"].astype(str).tolist() == ["5.0", "", "2.5"]
    assert frame["sentence1"].tolist() == ["'=SUM(A1)", "'@me", "plain"]
    assert frame["sentence2"].tolist() == ["'+danger", "'-1 minus", "text"]
    assert frame["score"].astype(str).tolist() == ["1.0", "", "0.5"]
    jl = tmp_path / "out.jsonl"
    assert main(["export-data", str(proj), str(jl), "--split", "train", "--labeled-only"]) == 0
    records = [json.loads(line) for line in jl.read_text().splitlines()]
    assert [r["sentence1"] for r in records] == ["=SUM(A1)", "plain"]  # not a spreadsheet: as is
    pq = tmp_path / "out.parquet"
    assert main(["export-data", str(proj), str(pq), "--labeled-only"]) == 0
    assert len(pd.read_parquet(pq)) == 2
    tsv = tmp_path / "out.tsv"
    assert main(["export-data", str(proj), str(tsv), "--split", "dev"]) == 0
    assert tsv.read_text().splitlines()[1].startswith("'@me\t")
    assert "Wrote 1 pairs" in capsys.readouterr().out
    assert not list(tmp_path.glob(".out*"))  # no temporary files left behind


def test_export_data_errors(proj, tmp_path, capsys):
    assert main(["export-data", str(proj), str(tmp_path / "out.docx")]) == 2
    assert "ending in .csv, .tsv, .jsonl, .parquet or .xlsx" in capsys.readouterr().err
    assert main(["export-data", str(proj), str(tmp_path / "missing" / "out.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_export_roundtrip_reimports_as_duplicates(proj, tmp_path, capsys):
    src = tmp_path / "p.csv"
    src.write_text("sentence1,sentence2,score\nA cat,A dog,1\nRain,Sun,0.2\n")
    main(["import", str(proj), str(src)])
    main(["export-data", str(proj), str(tmp_path / "rt.jsonl")])
    capsys.readouterr()
    assert main(["import", str(proj), str(tmp_path / "rt.jsonl"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["imported"] == 0 and out["duplicates"] == 2 and out["conflicting_duplicates"] == 0


def test_cli_subprocess_help_and_exit_code(proj, tmp_path):
    run = subprocess.run([sys.executable, "-m", "stsstudio", "import", "--help"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "--no-header" in run.stdout
    run = subprocess.run([sys.executable, "-m", "stsstudio", "import", str(proj), str(tmp_path / "none.csv")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    expected = f"stsstudio import: {tmp_path / 'none.csv'}: no such file or folder"
    assert run.stderr.strip().splitlines() == [expected]
