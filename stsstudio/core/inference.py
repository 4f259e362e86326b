"""Using a model: score two sentences, encode lists, search the project's sentences.

Models are named by a *model reference* string:

* ``"base"``: the project's base model;
* ``"best"``: the project's best run (by dev Spearman);
* ``"run:<id>"``: one run's model;
* anything else: a model folder, ``"default"`` (the embedded model) or a Hub id (cache only).

Loaded models stay in a small LRU cache (base and a run can both stay loaded while the user
compares them), keyed by the resolved path, the device and the folder's modification stamp,
so a model rewritten in place is loaded afresh. Search embeds the corpus once per model and
data version and keeps the matrix under ``project.cache_dir``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stsstudio.core.errors import Cancelled, ModelUnavailable, UserError

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

MODEL_CACHE_SIZE = 3
_CHUNK_BATCHES = 8  # batches per encode call: progress granularity vs. per-call overhead


# ----------------------------------------------------------------------------------------
# Model references


def resolve_model_ref(project: Any, ref: str | os.PathLike[str]) -> str:
    """Turn a model reference into a folder path or Hub id that can be loaded.

    Args:
        project: the open project, or None when ``ref`` is a folder / Hub id.
        ref: ``"base"``, ``"best"``, ``"run:<id>"``, a folder, ``"default"`` or a Hub id.

    Raises:
        UserError: the run does not exist or has no model, no run is trained yet, the
            reference needs a project and none was given, or the folder does not exist.
    """
    from stsstudio.core.models import resolve_model

    text = str(ref).strip()
    if text in ("base", "best") or text.startswith("run:"):
        if project is None:
            raise UserError(f"The model {text!r} belongs to a project; open or name a project.")
        if text == "base":
            return resolve_model(project.base_model)
        if text == "best":
            run = project.runs.best()
            if run is None:
                raise UserError(no_best_run_message(project))
            return _run_model_dir(project, run)
        try:
            run_id = int(text[4:])
        except ValueError:
            raise UserError(f"{text!r} is not a run reference; use run:<number>.") from None
        run = project.runs.get(run_id)
        if run is None:
            raise UserError(f"Run {run_id} does not exist in {project.name}.")
        return _run_model_dir(project, run)
    return resolve_model(text)


def no_best_run_message(project: Any, *, cli: bool = False, export: bool = False) -> str:
    """Why there is no default run: none trained yet, or none was measurably better than the base
    model. ``cli``: name the ``--run``/``--base`` options instead of a run; ``export``: the base
    model is not an option (only a run can be exported)."""
    trained = [r for r in project.runs.all() if r.model_dir and r.status in ("finished", "cancelled")]
    if trained and all(r.outcome == "worse" for r in trained):
        return (f"Every trained run of {project.name} was worse than the base model on its dev pairs, so "
                f"the base model stays the default. {_use_anyway(trained[-1].id, cli, export)}")
    if trained:
        return (f"No trained run of {project.name} is measurably better than the base model on its dev "
                f"pairs, so the base model stays the default. {_use_anyway(trained[-1].id, cli, export)}")
    if cli:
        return f"{project.name} has no trained model yet; train one, or pass --base to use the base model."
    return f"{project.name} has no trained model yet. Train one first, or use the base model."


def _use_anyway(run_id: int, cli: bool, export: bool) -> str:
    if cli and export:
        return f"Pass --run {run_id} to export that run anyway."
    if cli:
        return f"Pass --run {run_id} to use that run anyway, or --base for the base model."
    return f"Name a run (run {run_id}) to use it anyway."


def _run_model_dir(project: Any, run: Any) -> str:
    if not run.model_dir:
        why = f" ({run.message})" if run.message else ""
        raise UserError(f"Run {run.id} has no model: it is {run.status}{why}.")
    path = Path(run.model_dir)
    if not path.is_absolute():
        path = project.path / path
    if not path.is_dir():
        raise ModelUnavailable(f"The model folder of run {run.id} is missing: {path}.",
                               hint="Choose another run or the base model.")
    return str(project.inside(path, tree=True))  # never a model outside the project


def _device_id(spec: str | None) -> str:
    from stsstudio.core.devices import resolve_device

    return resolve_device(spec or "auto").id


# ----------------------------------------------------------------------------------------
# The model cache


def _stamp(path: str) -> str:
    """Changes when a model folder is rewritten in place (a resumed run, a re-export)."""
    p = Path(path)
    if not p.is_dir():
        return ""
    parts = []
    from stsstudio.core.export_formats import EXPORT_FORMATS

    graphs = [f.file_name for f in EXPORT_FORMATS.values() if f.file_name]
    for name in ("modules.json", "config.json", "model.safetensors", "pytorch_model.bin", *graphs):
        f = p / name
        if f.exists():
            st = f.stat()
            parts.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
    return ";".join(parts)


class _ModelCache:
    """A thread-safe LRU of loaded models."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._models: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, str, str], threading.Lock] = {}

    def get(self, path: str, device: str, format: str = "torch") -> Any:
        from stsstudio.core.export_formats import detect_format, get_format
        from stsstudio.core.models import load_model

        if format == "torch":
            format = detect_format(path)   # a folder with only an ONNX/OpenVINO graph runs as that
        if format != "torch":
            device = format   # the runner runs on the CPU; one entry per variant
        key = (path, device, _stamp(path))
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            # One lock per key: two threads asking for the same model load it once, while a
            # different model can load at the same time.
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    self._models.move_to_end(key)
                    return self._models[key]
            try:
                model = (load_model(path, device=device) if format == "torch"
                         else get_format(format).load(path))
                model.eval()
            except BaseException:
                with self._lock:
                    self._loading.pop(key, None)
                raise
            with self._lock:
                # A stale entry of the same folder (older stamp) is dead weight.
                for old in [k for k in self._models if k[0] == path and k[1] == device]:
                    del self._models[old]
                self._models[key] = model
                while len(self._models) > self.size:
                    self._models.popitem(last=False)
                self._loading.pop(key, None)  # after the insert: a late caller finds the model
            return model

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

    def peek(self, path: str) -> Any:
        """A loaded model of ``path`` on any device (its current stamp), or None; never loads."""
        stamp = _stamp(path)
        with self._lock:
            return next((m for (p, _d, s), m in self._models.items() if p == path and s == stamp), None)

    def keys(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(k[0], k[1]) for k in self._models]


_cache = _ModelCache(MODEL_CACHE_SIZE)


def get_model(model_ref: Any, device: str = "auto", project: Any = None,
              format: str = "torch") -> SentenceTransformer:
    """A loaded model for a reference, from the cache when it is already loaded.

    Args:
        model_ref: a model reference (see the module docstring) or an already loaded model,
            which is returned as it is.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ...
        project: needed for ``"base"``, ``"best"`` and ``"run:<id>"``.
        format: an export format name (core/export_formats.py): ``"onnx"``, ``"openvino-int8"``,
            ... run the folder's graph with :mod:`stsstudio.core.runtime` (CPU, no torch);
            ``"torch"`` loads the torch model, or the graph of a folder that has only a graph.

    Raises:
        UserError: the reference cannot be resolved or the model cannot be loaded.
    """
    if not isinstance(model_ref, (str, os.PathLike)):
        return model_ref
    path = resolve_model_ref(project, model_ref)
    if format != "torch" and project is not None and Path(path).is_dir():
        path = str(variant_folder(project, path, format))   # a run as ONNX: written once, cached
    return _cache.get(path, _device_id(device) if format == "torch" else "cpu", format)


def variant_folder(project: Any, model_dir: str | Path, format: str) -> Path:
    """A folder that holds ``model_dir``'s model in ``format``, for Try and ``similarity``/
    ``search`` on a run or base model: ``model_dir`` itself when it has the graph, else a copy
    written once (atomically) under the project's cache, named by the model folder and its stamp.

    Raises:
        UserError: the extra is missing, or the export failed (one line, as for an export).
    """
    import shutil
    import tempfile

    from stsstudio.core.export_formats import get_format, write_variant
    from stsstudio.core.paths import clean_stale_temps, temp_prefix

    fmt = get_format(format)
    model_dir = Path(model_dir)
    if fmt.file_name is None or (model_dir / fmt.file_name).is_file():
        return model_dir
    stamp = f"{model_dir.resolve()}|{_stamp(str(model_dir))}"
    key = hashlib.blake2b(stamp.encode(), digest_size=6).hexdigest()
    target = Path(project.cache_dir) / "variants" / f"{key}-{fmt.name}"
    if (target / fmt.file_name).is_file():
        return target
    fmt.require()
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(target)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(target), suffix=".tmp", dir=target.parent))
    try:
        write_variant(get_format("torch").load(model_dir), tmp, fmt)
        os.replace(tmp, target)
    except OSError as exc:
        if not (target / fmt.file_name).is_file():   # not another writer that won the race
            raise UserError(f"cannot write the {fmt.label} variant to {target}: "
                            f"{exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def loaded_models() -> list[tuple[str, str]]:
    """``(path, device)`` of the models held in memory, least recently used first."""
    return _cache.keys()


def clear_model_cache() -> None:
    """Drop every loaded model (frees memory; the next call loads again)."""
    _cache.clear()


# ----------------------------------------------------------------------------------------
# Encoding and similarity


def encode(model: Any, sentences: Sequence[str], batch_size: int = 64, task: Any = None) -> np.ndarray:
    """Encode sentences into unit-length float32 vectors, in batches.

    Args:
        model: a loaded ``SentenceTransformer`` (a model reference string is loaded first).
        sentences: the texts.
        batch_size: sentences per forward pass.
        task: optional handle with ``progress(done, total)`` and ``is_cancelled()``, checked
            between chunks of a few batches.

    Returns:
        An array of shape ``(len(sentences), dim)``.

    Raises:
        Cancelled: ``task.is_cancelled()`` became true.
    """
    model = get_model(model)
    sentences = [str(s) for s in sentences]
    n = len(sentences)
    if n == 0:
        dim_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return np.zeros((0, dim_of() or 0), dtype=np.float32)
    out: np.ndarray | None = None
    # Sort by length once over the whole list: every chunk then pads little, and the library's
    # own per-call length sort only ever sees one chunk.
    order = sorted(range(n), key=lambda i: len(sentences[i]), reverse=True)
    chunk = max(1, batch_size) * _CHUNK_BATCHES
    if task is not None:
        task.progress(0, n)
    for start in range(0, n, chunk):
        if task is not None and task.is_cancelled():
            raise Cancelled()
        idx = order[start:start + chunk]
        emb = model.encode([sentences[i] for i in idx], batch_size=batch_size, convert_to_numpy=True,
                           normalize_embeddings=True, show_progress_bar=False)
        emb = np.asarray(emb, dtype=np.float32)
        if out is None:
            out = np.empty((n, emb.shape[1]), dtype=np.float32)
        out[idx] = emb
        if task is not None:
            task.progress(min(start + chunk, n), n)
    assert out is not None
    return out


def similarity(model_ref_or_model: Any, s1: str, s2: str, project: Any = None,
               device: str = "auto", format: str = "torch") -> float:
    """Cosine similarity of two sentences under a model.

    Args:
        model_ref_or_model: a loaded model or a model reference.
        s1: first sentence.
        s2: second sentence.
        project: needed for project references (``"base"``, ``"best"``, ``"run:<id>"``).
        device: where to load a model that is not loaded yet.
        format: the export variant of the model folder to run (see :func:`get_model`).
    """
    model = get_model(model_ref_or_model, device=device, project=project, format=format)
    emb = encode(model, [s1, s2])
    return float(np.dot(emb[0], emb[1]))


def token_counts(model: Any, sentences: Sequence[str]) -> tuple[int | None, list[int]]:
    """The model's limit in tokens (``max_seq_length``) and each sentence's length in tokens
    (special tokens included). ``(None, [])`` when the model has no tokenizer or no limit."""
    limit = getattr(model, "max_seq_length", None)
    tokenizer = getattr(model, "tokenizer", None)
    if not limit or tokenizer is None:
        return None, []
    try:
        ids = tokenizer([str(s) for s in sentences], add_special_tokens=True)["input_ids"]
    except Exception:  # noqa: BLE001 - a tokenizer without batch call: say nothing rather than fail
        return None, []
    return int(limit), [len(i) for i in ids]


def cut_note(limit: int | None, counts: Sequence[int], names: Sequence[str] = ("first", "second")) -> str:
    """Plain words when a sentence is longer than the model reads; "" when none is.

    E.g. ``"Only the first 256 tokens of the second sentence were read (it has 301); the rest
    does not count in the score."``
    """
    if not limit:
        return ""
    long = [(name, n) for name, n in zip(names, counts) if n > limit]
    if not long:
        return ""
    which = " and ".join(f"the {name} sentence" for name, _ in long)
    has = ", ".join(f"{n}" for _, n in long)
    verb = "it has" if len(long) == 1 else "they have"
    return f"Only the first {limit} tokens of {which} were read ({verb} {has}); the rest does not count."


def loaded_model(project: Any, model_ref: Any) -> Any:
    """The model for a reference if it is already loaded in this process, else None (never loads)."""
    try:
        path = resolve_model_ref(project, model_ref)
    except UserError:
        return None
    return _cache.peek(path)


# ----------------------------------------------------------------------------------------
# Search


@dataclass
class SearchHit:
    """One search result: a project sentence, its cosine similarity, the pairs it occurs in."""

    sentence: str
    score: float
    pair_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "score": self.score, "pair_ids": list(self.pair_ids)}


_CACHE_PREFIX = "corpus-"
_memory_lock = threading.Lock()
_memory: dict[str, tuple[list[str], np.ndarray]] = {}  # cache file -> (corpus, embeddings)


def _model_key(model_path: str, format: str = "torch") -> str:
    variant = "" if format == "torch" else f"|{format}"
    return hashlib.blake2b(f"{model_path}|{_stamp(model_path)}{variant}".encode(), digest_size=8).hexdigest()


def corpus_embeddings(project: Any, model: Any, model_path: str | None = None,
                      task: Any = None, format: str = "torch") -> tuple[list[str], np.ndarray]:
    """The project's sentences and their embeddings under ``model``, cached on disk.

    The cache file is named by a hash of the model folder (and its modification stamp) and by
    ``project.pairs.version()``, so any change to the pairs makes a new file; older files of the
    same model are removed when the new one is written. A model given without its folder
    (``model_path`` None) is encoded afresh every time: there is no safe name to cache it by.
    """
    if not model_path:
        corpus = project.pairs.sentences()
        return corpus, encode(model, corpus, task=task)
    data_key = hashlib.blake2b(project.pairs.version().encode(), digest_size=6).hexdigest()
    model_key = _model_key(model_path, format)
    cache_dir = project.cache_dir
    path = project.cache_file(f"{_CACHE_PREFIX}{model_key}-{data_key}.npy")
    with _memory_lock:
        hit = _memory.get(str(path))
    if hit is not None:
        return hit
    corpus = project.pairs.sentences()
    emb: np.ndarray | None = None
    if path.is_file():
        try:
            emb = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            emb = None  # a torn or foreign file: rebuild it
        if emb is not None and emb.shape[0] != len(corpus):
            emb = None
    if emb is None:
        emb = encode(model, corpus, task=task)
        _write_cache(cache_dir, path, model_key, emb)
    with _memory_lock:
        # Keep one corpus per project in memory: the one being searched now.
        for key in [k for k in _memory if Path(k).parent == cache_dir]:
            del _memory[key]
        _memory[str(path)] = (corpus, emb)
    return corpus, emb


def _write_cache(cache_dir: Path, path: Path, model_key: str, emb: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.save(fh, emb, allow_pickle=False)
        os.replace(tmp, path)  # readers never see a half-written matrix
        for old in cache_dir.glob(f"{_CACHE_PREFIX}{model_key}-*.npy"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        # A read-only project folder: search still works, it just is not cached.
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def search(project: Any, model_ref: Any, query: str, top_k: int = 10, task: Any = None,
           device: str = "auto", format: str = "torch") -> list[SearchHit]:
    """The project's sentences most similar to a query.

    Args:
        project: the open project; its distinct sentences are the corpus.
        model_ref: a model reference or a loaded model.
        query: the text to search for.
        top_k: how many hits to return.
        task: optional progress/cancel handle (used while the corpus is embedded).
        device: where to load the model.
        format: the export variant of the model folder to run (see :func:`get_model`).

    Returns:
        Up to ``top_k`` hits, best first.

    Raises:
        UserError: bad ``top_k``, an empty query, or an unresolvable model.
        Cancelled: the task was cancelled while the corpus was being embedded.
    """
    if top_k < 1:
        raise UserError(f"top-k must be at least 1, not {top_k}.")
    if not str(query).strip():
        raise UserError("The search query is empty.")
    model_path = None
    if isinstance(model_ref, (str, os.PathLike)):
        model = get_model(model_ref, device, project, format)
        model_path = resolve_model_ref(project, model_ref)
        if format != "torch" and Path(model_path).is_dir():
            model_path = str(variant_folder(project, model_path, format))
    else:
        model = model_ref
    corpus, emb = corpus_embeddings(project, model, model_path, task=task, format=format)
    if not corpus:
        return []
    q = encode(model, [query])[0]
    scores = emb @ q
    k = min(top_k, len(corpus))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    sentences = [corpus[int(i)] for i in top]
    where = _pairs_of(project, sentences)
    return [SearchHit(s, float(scores[int(i)]), where.get(s, [])) for s, i in zip(sentences, top)]


def _pairs_of(project: Any, sentences: list[str]) -> dict[str, list[int]]:
    """Pair ids each sentence occurs in, with one query (the sentence columns have no index)."""
    return project.pairs.ids_by_sentence(sentences)

