"""Inference: model references, the model cache, encoding, similarity and cached search."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from training_support import add_finished_run

from stsstudio.core import inference
from stsstudio.core.errors import UserError
from stsstudio.core.inference import (
    Cancelled,
    encode,
    get_model,
    resolve_model_ref,
    search,
    similarity,
)
from stsstudio.core.store import Project

PAIRS = [
    ("the man is playing a guitar", "a man is playing the flute", 0.4, "dev"),
    ("a dog is running on the street", "a cat is sitting", 0.1, "dev"),
    ("my vpn keeps dropping", "the vpn connection drops again", 0.9, "dev"),
    ("the printer is broken", "printer not working today", 0.8, "train"),
    ("reset my password please", "i cannot login to my account", 0.6, "test"),
    ("wifi disconnects at home", "the network drops", None, "none"),
]


def _project_with_pairs(path: Path, base_model: Path) -> Project:
    project = Project.create(path, base_model=str(base_model))
    project.pairs.insert([(s1, s2, score, split, i + 1, None)
                          for i, (s1, s2, score, split) in enumerate(PAIRS)])
    return project


def _add_run(project: Project, model_dir: Path, spearman: float = 0.5) -> int:
    return add_finished_run(project, model_dir, spearman=spearman)


class _Task:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.cancel_after = cancel_after

    def progress(self, done: int, total: int) -> None:
        self.calls.append((done, total))

    def is_cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.calls) > self.cancel_after


@pytest.fixture
def proj(tmp_path: Path, tiny_model_dir: Path):
    inference.clear_model_cache()
    project = _project_with_pairs(tmp_path / "proj", tiny_model_dir)
    yield project
    project.close()


def test_resolve_model_ref(proj: Project, tiny_model_dir: Path) -> None:
    assert resolve_model_ref(proj, "base") == str(tiny_model_dir.resolve())
    assert resolve_model_ref(None, str(tiny_model_dir)) == str(tiny_model_dir.resolve())
    with pytest.raises(UserError, match="no trained model"):
        resolve_model_ref(proj, "best")
    with pytest.raises(UserError, match="Run 7 does not exist"):
        resolve_model_ref(proj, "run:7")
    with pytest.raises(UserError, match="not a run reference"):
        resolve_model_ref(proj, "run:x")
    with pytest.raises(UserError, match="belongs to a project"):
        resolve_model_ref(None, "base")

    failed = proj.runs.create(base_model="default", loss="cosent", config={})
    proj.runs.update(failed, status="failed", message="NaN loss")
    with pytest.raises(UserError, match=f"Run {failed} has no model: it is failed"):
        resolve_model_ref(proj, f"run:{failed}")

    first = _add_run(proj, tiny_model_dir, spearman=0.3)
    second = _add_run(proj, tiny_model_dir, spearman=0.6)
    assert resolve_model_ref(proj, f"run:{first}") == str((proj.runs.folder(first) / "model").resolve())
    assert resolve_model_ref(proj, "best") == str((proj.runs.folder(second) / "model").resolve())
    shutil.rmtree(proj.runs.folder(second) / "model")
    with pytest.raises(UserError, match="missing"):
        resolve_model_ref(proj, f"run:{second}")


def test_model_cache_keeps_models_loaded(proj: Project, tiny_model_dir: Path) -> None:
    run_id = _add_run(proj, tiny_model_dir)
    base = get_model("base", device="cpu", project=proj)
    run = get_model(f"run:{run_id}", device="cpu", project=proj)
    assert base is not run
    assert get_model("base", device="cpu", project=proj) is base
    assert get_model(str(tiny_model_dir), device="auto") is base  # auto is the CPU here
    assert get_model(base) is base  # a loaded model passes through

    # Threads asking at once get the one instance.
    inference.clear_model_cache()
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(get_model("base", "cpu", proj)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and got[0] is got[1] is got[2]

    # A small LRU: the least recently used model goes first.
    extra = []
    for i in range(inference.MODEL_CACHE_SIZE):
        d = proj.path.parent / f"m{i}"
        shutil.copytree(tiny_model_dir, d)
        extra.append(get_model(str(d), "cpu"))
    paths = [p for p, _ in inference.loaded_models()]
    assert str(tiny_model_dir.resolve()) not in paths
    assert len(paths) == inference.MODEL_CACHE_SIZE


def test_model_rewritten_in_place_is_reloaded(tiny_model: Path) -> None:
    inference.clear_model_cache()
    first = get_model(str(tiny_model), "cpu")
    weights = tiny_model / "model.safetensors"
    weights.write_bytes(weights.read_bytes())  # same content, new modification stamp
    assert get_model(str(tiny_model), "cpu") is not first
    assert len(inference.loaded_models()) == 1


def test_encode_normalised_in_order_with_progress_and_cancel(tiny_model_dir: Path) -> None:
    model = get_model(str(tiny_model_dir), "cpu")
    sentences = [f"the {w} is working" for w in ("printer", "vpn", "laptop screen of my old computer",
                                                 "wifi", "phone")] * 7
    task = _Task()
    emb = encode(model, sentences, batch_size=2, task=task)
    assert emb.dtype == np.float32 and emb.shape == (35, 32)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    direct = model.encode(sentences, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(emb, direct, atol=1e-5)
    assert task.calls[0] == (0, 35) and task.calls[-1] == (35, 35)
    assert encode(model, []).shape == (0, 32)

    with pytest.raises(Cancelled):
        encode(model, sentences, batch_size=2, task=_Task(cancel_after=1))


def test_similarity_is_the_models_cosine(proj: Project, tiny_model_dir: Path) -> None:
    model = get_model("base", "cpu", proj)
    a, b = "the vpn keeps dropping", "my printer is broken"
    expected = float(model.similarity(model.encode([a]), model.encode([b]))[0][0])
    assert similarity("base", a, b, project=proj) == pytest.approx(expected, abs=1e-5)
    assert similarity(model, a, b) == pytest.approx(expected, abs=1e-5)
    assert similarity(str(tiny_model_dir), a, a) == pytest.approx(1.0, abs=1e-5)


def test_search_ranks_and_caches_per_data_version(proj: Project) -> None:
    corpus = proj.pairs.sentences()
    model = get_model("base", "cpu", proj)
    query = "my vpn keeps dropping"
    emb = model.encode(corpus, normalize_embeddings=True)
    q = model.encode([query], normalize_embeddings=True)[0]
    expected = dict(zip(corpus, (emb @ q).tolist()))
    # A random tiny model scores many sentences alike, so compare scores, not the order of ties.
    best3 = sorted(expected.values(), reverse=True)[:3]

    task = _Task()
    hits = search(proj, "base", query, top_k=3, task=task)
    assert len(hits) == 3
    for hit in hits:
        assert hit.score == pytest.approx(expected[hit.sentence], abs=1e-5)
    assert [h.score for h in hits] == pytest.approx(best3, abs=1e-5)
    assert all(h.score >= hits[i + 1].score for i, h in enumerate(hits[:-1]))
    exact = {h.sentence: h for h in search(proj, "base", query, top_k=len(corpus))}[query]
    assert exact.score == pytest.approx(1.0, abs=1e-5) and exact.pair_ids == [3]
    assert {h.sentence: h for h in search(proj, "base", query, top_k=len(corpus))}[
        "the printer is broken"].pair_ids == [4]
    assert task.calls, "the corpus was embedded"
    files = list(proj.cache_dir.glob("corpus-*.npy"))
    assert len(files) == 1
    assert np.load(files[0]).shape == (len(corpus), 32)

    # Same data, same model: no re-encoding (no progress reported), same file.
    task2 = _Task()
    again = search(proj, "base", query, top_k=3, task=task2)
    assert [h.score for h in again] == pytest.approx(best3, abs=1e-5)
    assert task2.calls == []
    inference._memory.clear()  # a fresh process reads the file instead
    task3 = _Task()
    search(proj, "base", query, top_k=3, task=task3)
    assert task3.calls == []

    # New pairs change the data version: the cache is rebuilt and the old file removed.
    proj.pairs.insert([("my vpn keeps dropping at home", "vpn drops", 0.9, "train", 99, None)])
    task4 = _Task()
    hits = search(proj, "base", "my vpn keeps dropping at home", top_k=50, task=task4)
    assert task4.calls, "the corpus was embedded again"
    assert len(hits) == len(proj.pairs.sentences()) == len(corpus) + 2
    assert {h.sentence: h.pair_ids for h in hits}["my vpn keeps dropping at home"] == [7]
    new_files = list(proj.cache_dir.glob("corpus-*.npy"))
    assert len(new_files) == 1 and new_files != files

    # Deleting pairs invalidates too.
    proj.pairs.delete([7])
    assert "my vpn keeps dropping at home" not in [h.sentence for h in search(proj, "base", "vpn", 50)]


def test_search_errors_and_empty_project(tmp_path: Path, tiny_model_dir: Path) -> None:
    with Project.create(tmp_path / "empty", base_model=str(tiny_model_dir)) as project:
        assert search(project, "base", "anything") == []
        with pytest.raises(UserError, match="top-k"):
            search(project, "base", "anything", top_k=0)
        with pytest.raises(UserError, match="empty"):
            search(project, "base", "   ")
        with pytest.raises(UserError, match="no trained model"):
            search(project, "best", "anything")


def test_inference_modules_do_not_import_qt() -> None:
    import subprocess
    import sys

    code = ("import sys, stsstudio.core.inference, stsstudio.core.evaluation, stsstudio.core.export; "
            "assert not [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_embedded_model_scores_paraphrases_higher(tmp_path: Path) -> None:
    """The real embedded model: a paraphrase beats an unrelated sentence, and search finds it."""
    with Project.create(tmp_path / "real", base_model="default") as project:
        project.pairs.insert([
            ("I can't connect to the VPN from home", "The VPN connection fails when I work remotely",
             0.9, "dev", 1, None),
            ("My printer is out of toner", "The cafeteria closes at three today", 0.0, "dev", 2, None),
            ("How do I reset my password?", "I forgot my login password", 0.8, "dev", 3, None),
        ])
        a = "The VPN keeps disconnecting"
        para = similarity("base", a, "My VPN connection drops all the time", project=project)
        unrelated = similarity("base", a, "The cafeteria closes at three today", project=project)
        assert para > unrelated + 0.3
        hits = search(project, "base", "forgot my password", top_k=2)
        assert {h.sentence for h in hits} == {"How do I reset my password?", "I forgot my login password"}
        assert hits[0].score > 0.5
