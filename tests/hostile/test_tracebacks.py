"""Issue 24, points 8 and 9: stored values and arguments that gave a traceback (exit 1) or hung
now give one line (exit 2), or are read as absent."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from stsstudio.cli import main
from stsstudio.core.calibration import Calibration
from stsstudio.core.store import Project

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from training_support import add_finished_run, fill_project  # noqa: E402


def _refused(capsys, args: list[str], needle: str = "") -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, (args, code, err)
    line = err.strip().splitlines()[-1]
    assert "Traceback" not in err and line.startswith("stsstudio "), err
    assert needle in line, line
    return line


def _ok(capsys, args: list[str]) -> str:
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err, (args, err)
    return out


@pytest.fixture
def proj(tmp_path: Path, tiny_model: Path) -> Path:
    folder = tmp_path / "P"
    with Project.create(folder) as p:
        fill_project(p, train=16, dev=6)
        p.labels.set(1, 0.5, annotator="ann")
        p.labels.set(1, 0.7, annotator="bob")
        add_finished_run(p, tiny_model)
    return folder


def _sql(folder: Path, *statements: str, params: tuple = ()) -> None:
    conn = sqlite3.connect(folder / "project.stsproj")
    conn.execute("PRAGMA ignore_check_constraints = 1")  # as an editor past the CHECK would
    for st in statements:
        conn.execute(st, params if "?" in st else ())
    conn.commit()
    conn.close()


MALFORMED_CALIBRATIONS = ["not json", "[1, 2]", "{}",
                          '{"run_id": 1, "x": "a", "y": [1], "labels": 5, "fitted_on": "dev"}',
                          '{"run_id": 1, "x": [0.1, 0.2], "y": [1], "labels": 5, "fitted_on": "dev"}',
                          '{"run_id": 1, "x": [], "y": [], "labels": 5, "fitted_on": "dev", "scale": "9-9"}']


@pytest.mark.parametrize("payload", MALFORMED_CALIBRATIONS)
def test_malformed_calibrations_read_as_none(proj, tmp_path, capsys, payload):
    _sql(proj, "INSERT OR REPLACE INTO calibrations (run_id, created_at, payload) VALUES (1, 0, ?)",
         params=(payload,))
    with Project.open(proj, readonly=True) as p:
        assert Calibration.load(p, 1) is None
    _refused(capsys, ["similarity", str(proj), "a dog", "a cat", "--calibrated", "--run", "1",
                      "--device", "cpu"], "no calibration")
    _ok(capsys, ["export", str(proj), str(tmp_path / "out")])


@pytest.mark.parametrize("case", ["unknown scale", "label 7", "label text", "run config"])
def test_stored_values_of_the_wrong_kind_never_give_a_traceback(proj, tmp_path, capsys, case):
    _sql(proj, *{
        "unknown scale": ["INSERT OR REPLACE INTO meta (key, value) VALUES ('display_scale', '7-3')"],
        "label 7": ["UPDATE pairs SET score = 7 WHERE id = 2",
                    "UPDATE labels SET score = 7 WHERE pair_id = 2"],
        "label text": ["UPDATE pairs SET score = 'high' WHERE id = 1",
                       "UPDATE labels SET score = 'high' WHERE pair_id = 1"],
        "run config": ["UPDATE runs SET config = 'not json', summary = '[1]', steps = 'x' WHERE id = 1"],
    }[case])
    for args in (["info", str(proj)], ["queue", str(proj)], ["agreement", str(proj)],
                 ["export-data", str(proj), str(tmp_path / "d.csv"), "--force"],
                 ["export", str(proj), str(tmp_path / "m"), "--force"],
                 ["similarity", str(proj), "a dog", "a cat", "--device", "cpu"]):
        code = main(args)
        out, err = capsys.readouterr()
        assert "Traceback" not in err, (args, err)
        # Exit 0, or a one-line refusal (a run whose summary is unreadable is not "best").
        assert code == 0 or (code == 2 and err.strip().splitlines()[-1].startswith("stsstudio ")), \
            (args, code, err)


def test_argument_values_are_one_line_errors(proj, tmp_path, capsys):
    _refused(capsys, ["suggest-pairs", str(proj), "--mix", "near=inf"], "finite")
    _refused(capsys, ["suggest-pairs", str(proj), "--seed", "-1"], "seed")
    _refused(capsys, ["agreement", str(proj), "--seed", "-1"], "seed")
    _refused(capsys, ["train", str(proj), "--seed", "-1", "--device", "cpu"], "seed")
    for dims in ("-5", "0", "100000"):
        _refused(capsys, ["export", str(proj), str(tmp_path / f"d{dims}"), "--dims", dims], "dims")
        assert not (tmp_path / f"d{dims}").exists()


def test_a_huge_bootstrap_is_refused_at_once(proj, capsys):
    started = time.monotonic()
    _refused(capsys, ["agreement", str(proj), "--bootstrap", "1000000000"], "bootstrap")
    assert time.monotonic() - started < 10


def test_pickled_or_coded_checkpoints_and_models_are_refused(proj, tmp_path, capsys):
    with Project.open(proj) as p:
        run_id = p.runs.create(base_model="default", loss="cosent", config={})
        p.runs.update(run_id, status="interrupted", pid=None)
    checkpoint = proj / "runs" / str(run_id) / "checkpoints" / "checkpoint-2"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    (checkpoint / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")  # a pickle
    _refused(capsys, ["resume", str(proj), str(run_id), "--device", "cpu"], "pickled weights")
    (checkpoint / "pytorch_model.bin").unlink()
    (checkpoint / "model.safetensors").write_bytes(b"")
    (checkpoint / "modeling_evil.py").write_text("raise SystemExit('ran')\n")
    _refused(capsys, ["resume", str(proj), str(run_id), "--device", "cpu"], "model code")
    # A model folder whose config asks for custom code: export refuses in one line.
    model = proj / "runs" / "1" / "model"
    config = json.loads((model / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    config["model_type"] = "evil"
    (model / "config.json").write_text(json.dumps(config))
    (model / "modeling_evil.py").write_text("raise SystemExit('ran')\n")
    _refused(capsys, ["export", str(proj), str(tmp_path / "evil")], "Could not load")
    assert not (tmp_path / "evil").exists()
    shutil.rmtree(model)
