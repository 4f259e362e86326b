"""Run an exported ONNX or OpenVINO model without torch: :func:`load_runner`.

A runner is an onnxruntime session or a compiled OpenVINO model plus the ``tokenizers``
library, with the small part of the ``SentenceTransformer`` interface the app uses
(``encode``, the embedding dimension, ``max_seq_length``), so compare-exports, the check after
writing, Try and ``similarity``/``search`` can use a written variant as they use a torch model.

Two things make it give the torch model's embeddings:

* The ``tokenizer.json`` that sentence-transformers saves may carry its own truncation (128)
  and fixed padding (128); the model's real limit is in ``sentence_bert_config.json`` or
  ``tokenizer_config.json``. The runner truncates at the real limit and pads to the longest
  sentence of each batch.
* A graph with a ``sentence_embedding`` output (what STS Studio writes: pooling and
  normalisation inside the graph) is used as it is; any other graph's token embeddings are
  pooled as ``modules.json`` says (mean, cls or max; then Normalize when listed).

This module must never import torch: the exported folder is for machines without it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stsstudio.core.errors import UserError

SENTENCE_EMBEDDING = "sentence_embedding"
_TOKEN_OUTPUTS = ("token_embeddings", "last_hidden_state")
_HUGE = 1_000_000  # transformers' "no limit" model_max_length is 1e30


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def max_length(folder: str | Path) -> int:
    """The model's real maximum sequence length in tokens, as sentence-transformers uses it.

    ``sentence_bert_config.json``'s ``max_seq_length`` first, else ``tokenizer_config.json``'s
    ``model_max_length``, capped by ``config.json``'s ``max_position_embeddings``.
    """
    folder = Path(folder)
    limit = _read_json(folder / "sentence_bert_config.json").get("max_seq_length")
    if not isinstance(limit, int) or limit <= 0:
        limit = _read_json(folder / "tokenizer_config.json").get("model_max_length")
    positions = _read_json(folder / "config.json").get("max_position_embeddings")
    if not isinstance(limit, (int, float)) or limit <= 0 or limit > _HUGE:
        limit = positions if isinstance(positions, int) and positions > 0 else 512
    if isinstance(positions, int) and positions > 0:
        limit = min(int(limit), positions)
    return int(limit)


def tokenizer_settings(folder: str | Path) -> dict[str, Any]:
    """What a loader must set on ``tokenizer.json``: ``max_length`` (the model's real limit),
    ``pad_id``, ``pad_token`` and ``pad_type_id`` (padding to the longest in a batch)."""
    from tokenizers import Tokenizer

    folder = Path(folder)
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise UserError(f"{folder} has no tokenizer.json; the runner needs a fast tokenizer's file.")
    tok = Tokenizer.from_file(str(path))
    saved = tok.padding or {}
    pad_token = saved.get("pad_token") or _read_json(folder / "tokenizer_config.json").get("pad_token")
    if isinstance(pad_token, dict):
        pad_token = pad_token.get("content")
    pad_id = saved.get("pad_id")
    if pad_id is None:
        pad_id = tok.token_to_id(pad_token) if pad_token else None
    return {"max_length": max_length(folder), "pad_id": int(pad_id or 0),
            "pad_token": str(pad_token or "[PAD]"), "pad_type_id": int(saved.get("pad_type_id") or 0)}


def load_tokenizer(folder: str | Path) -> Any:
    """``tokenizers.Tokenizer`` of an exported folder: truncation at the model's real limit and
    padding to the longest sentence in a batch (whatever the saved file says)."""
    from tokenizers import Tokenizer

    settings = tokenizer_settings(folder)
    tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=settings["max_length"])
    tok.enable_padding(pad_id=settings["pad_id"], pad_token=settings["pad_token"],
                       pad_type_id=settings["pad_type_id"])
    return tok


def pooling_plan(folder: str | Path) -> tuple[str, bool]:
    """How ``modules.json`` pools token embeddings: (``"mean"``/``"cls"``/``"max"``, normalise)."""
    folder = Path(folder)
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "mean", False  # a plain transformers folder: sentence-transformers' default
    mode, normalize = "mean", False
    for module in modules if isinstance(modules, list) else []:
        kind = str(module.get("type", ""))
        if kind.endswith("Normalize"):
            normalize = True
        elif kind.endswith("Pooling"):
            config = _read_json(folder / str(module.get("path", "")) / "config.json")
            named = config.get("pooling_mode")
            if isinstance(named, str):
                mode = {"mean_tokens": "mean", "cls_token": "cls", "max_tokens": "max"}.get(named, named)
            else:
                flags = [m for m in ("cls", "max", "mean") if config.get(f"pooling_mode_{m}_token")
                         or config.get(f"pooling_mode_{m}_tokens")]
                mode = flags[0] if flags else "mean"
    if mode not in ("mean", "cls", "max"):
        raise UserError(f"{folder}: pooling {mode!r} is not supported by the ONNX/OpenVINO runner; "
                        "export the model with STS Studio (pooling inside the graph) instead.")
    return mode, normalize


def _pool(tokens: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    m = mask[..., None].astype(tokens.dtype)
    if mode == "cls":
        return tokens[:, 0]
    if mode == "max":
        return np.where(m > 0, tokens, -1e9).max(axis=1)
    return (tokens * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)


class _OnnxSession:
    def __init__(self, path: Path, threads: int | None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]

    def run(self, output: str, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run([output], feed)[0]


class _OpenVinoModel:
    def __init__(self, path: Path, threads: int | None) -> None:
        import openvino as ov

        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "f32"}  # no bf16 on CPUs that have it
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.compiled = ov.Core().compile_model(str(path), "CPU", config)
        self.inputs = [i.get_any_name() for i in self.compiled.inputs]
        self._ports = {name: o for o in self.compiled.outputs for name in o.get_names()}
        self.outputs = [o.get_any_name() for o in self.compiled.outputs]

    def run(self, output: str, feed: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.compiled(feed)[self._ports[output]])


class ExportRunner:
    """An exported model with ``encode(texts) -> np.ndarray``, like ``SentenceTransformer``'s."""

    def __init__(self, folder: str | Path, file_name: str, truncate_dim: int | None = None,
                 threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.file_name = file_name
        path = self.folder / file_name
        if not path.is_file():
            raise UserError(f"{self.folder} has no {file_name}; export that format first.")
        self.graph = (_OpenVinoModel if path.suffix == ".xml" else _OnnxSession)(path, threads)
        self.max_seq_length = max_length(self.folder)
        self.tokenizer = load_tokenizer(self.folder)
        self.truncate_dim = int(truncate_dim) if truncate_dim else None
        if SENTENCE_EMBEDDING in self.graph.outputs:
            self.output, self.pooling, self.normalize = SENTENCE_EMBEDDING, None, False
        else:
            found = [o for o in _TOKEN_OUTPUTS if o in self.graph.outputs]
            self.output = found[0] if found else self.graph.outputs[0]
            self.pooling, self.normalize = pooling_plan(self.folder)
        self._dimension: int | None = None

    def eval(self) -> ExportRunner:
        return self  # the SentenceTransformer call sites put their model in eval mode

    def _batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([str(t).strip() for t in texts])
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        arrays = {"input_ids": ids, "attention_mask": mask,
                  "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64)}
        out = self.graph.run(self.output, {k: arrays[k] for k in self.graph.inputs if k in arrays})
        out = np.asarray(out, dtype=np.float32)
        if self.pooling is not None:
            out = _pool(out, mask, self.pooling)
            if self.normalize:
                out = out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out

    def encode(self, sentences: str | Sequence[str], batch_size: int = 32, normalize_embeddings: bool = False,
               convert_to_numpy: bool = True, show_progress_bar: bool = False, **_: Any) -> np.ndarray:
        """Embeddings of ``sentences`` as float32, shape ``(n, dim)`` (``(dim,)`` for one string).

        Sorted by length and batched so each batch pads little; ``truncate_dim`` keeps the first
        dimensions, then ``normalize_embeddings`` scales each row to unit length.
        """
        single = isinstance(sentences, str)
        texts = [sentences] if single else [str(s) for s in sentences]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        parts: list[np.ndarray] = []
        step = max(1, int(batch_size))
        for start in range(0, len(texts), step):
            parts.append(self._batch([texts[i] for i in order[start:start + step]]))
        dim = self.get_sentence_embedding_dimension()
        emb = np.empty((len(texts), dim), dtype=np.float32)
        if parts:
            emb[order] = np.concatenate(parts)[:, :dim]
        if normalize_embeddings:
            emb = emb / np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
        return emb[0] if single else emb

    def get_sentence_embedding_dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self._batch(["a"]).shape[1])
        return min(self._dimension, self.truncate_dim or self._dimension)

    get_embedding_dimension = get_sentence_embedding_dimension


def load_runner(folder: str | Path, file_name: str, truncate_dim: int | None = None,
                threads: int | None = None) -> ExportRunner:
    """Load ``folder/file_name`` (``onnx/*.onnx`` or ``openvino/*.xml``) as an :class:`ExportRunner`.

    Raises:
        UserError: the file or tokenizer is missing, or the pooling is not one the runner knows.
    """
    return ExportRunner(folder, file_name, truncate_dim, threads)
