"""Export formats: one registry of the ways a run's model can be written.

:data:`EXPORT_FORMATS` is the one table of formats (name, label, help text, the file it writes,
the function that writes it, and whether it is available here). The CLI choices, the Export
view and the model card all read it.

Every format writes the torch model and its tokenizer first; the ONNX and OpenVINO formats add
their graph beside them, in the layout sentence-transformers' own backends use
(``onnx/model.onnx``, ``onnx/model_qint8.onnx``, ``openvino/openvino_model.xml``,
``openvino/openvino_model_int8.xml``). They need no optimum:

* ONNX: ``torch.onnx.export(dynamo=True)`` of a small wrapper around the whole
  SentenceTransformer, so pooling and normalisation are inside the graph, with dynamic batch
  and sequence sizes; the output is named ``sentence_embedding``.
* ONNX int8: ``onnxruntime.quantization.quantize_dynamic`` with int8 weights per channel and
  ``reduce_range`` (per-tensor weights moved one sentence to cosine 0.81 against torch;
  full-range s8 weights can saturate on AVX2-only CPUs).
* OpenVINO: ``openvino.convert_model`` of that ONNX graph, saved in fp32.
* OpenVINO int8: ``nncf.compress_weights`` (int8 weights, no calibration data).

core/runtime.py runs them with onnxruntime or OpenVINO and ``tokenizers``, without torch.
When an extra is missing, :meth:`ExportFormat.unavailable_reason` says so with the install
command, and :meth:`ExportFormat.require` raises it as a :class:`UserError` (CLI exit 2).

Measuring the variants before writing one is core/export_compare.py; checking a written
folder with the runner is :func:`verify_variant` here.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import io
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stsstudio.core.errors import UserError

# Third-party modules each extra brings; importing them is the availability check. Writing a
# variant needs torch.onnx's exporter (onnx, onnxscript); running one needs only its runtime.
_EXTRA_MODULES = {
    "onnx": ("onnxruntime", "onnx", "onnxscript"),
    "openvino": ("openvino", "onnx", "onnxscript", "nncf"),
}
# Running a written variant needs only its runtime.
_RUN_MODULES = {"onnx": ("onnxruntime",), "openvino": ("openvino",)}
_TORCH_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
THROUGHPUT_SENTENCES = 512   # sentences encoded per variant for the sentences/s figure
THROUGHPUT_BATCH = 32
OPSET = 18


def install_command(extra: str) -> str:
    """The pip line that installs what an extra needs (``onnx``, ``openvino`` or ``export``)."""
    return f"pip install 'stsstudio[{extra if extra in _EXTRA_MODULES else 'export'}]'"


@functools.cache
def _modules_problem(modules: tuple[str, ...], deep: bool) -> str | None:
    """None when the modules import; otherwise why not (cached per process)."""
    for module in modules:
        try:
            if deep:
                importlib.import_module(module)
            elif importlib.util.find_spec(module) is None:
                raise ModuleNotFoundError(module)
        except ModuleNotFoundError:
            return f"missing {module.split('.')[0]}"
        except Exception as exc:  # noqa: BLE001 - an installed but broken package (version clash)
            first = str(exc).splitlines()[0] if str(exc) else ""
            return f"{module} is installed but does not import ({type(exc).__name__}: {first[:160]})"
    return None


def reset_availability() -> None:
    """Forget the cached availability checks (after installing an extra, or in tests)."""
    _modules_problem.cache_clear()


@dataclass(frozen=True)
class ExportFormat:
    """One way to write a model: what it is called, how it is written, how it is loaded."""

    name: str
    label: str
    help: str
    backend: str                       # "torch", "onnx" or "openvino": the runtime that runs it
    file_name: str | None              # the graph inside the folder; None for the torch weights
    write: Callable[[Any, Path, Any], None] = field(repr=False)  # (torch model, folder, project)
    tolerance: float = 1e-4            # probe-pair cosine vs. the torch model
    quantized: bool = False

    @property
    def extra(self) -> str | None:
        """The stsstudio extra that installs what this format needs (None for torch)."""
        return None if self.backend == "torch" else self.backend

    def unavailable_reason(self, deep: bool = True) -> str | None:
        """None when this format can be written here; else a one-line reason with the pip line.

        ``deep=False`` only looks for the packages (cheap, for the GUI thread); ``deep=True``
        imports them, which also catches an installed package that does not work.
        """
        if self.extra is None:
            return None
        problem = _modules_problem(_EXTRA_MODULES[self.extra], deep)
        if problem is None:
            return None
        return f"{self.label} needs the {self.extra} extra ({problem}): {install_command(self.extra)}"

    def available(self, deep: bool = True) -> bool:
        return self.unavailable_reason(deep) is None

    def require(self) -> None:
        """Raise the :class:`UserError` that names the install command when unavailable."""
        reason = self.unavailable_reason(deep=True)
        if reason is not None:
            raise UserError(reason)

    def load_kwargs(self, dims: int | None = None) -> dict[str, Any]:
        """sentence-transformers' own arguments for this folder (its onnx/openvino backends
        need optimum; :meth:`load` needs only the runtime)."""
        kwargs: dict[str, Any] = {}
        if self.backend != "torch":
            kwargs["backend"] = self.backend
        if self.file_name and self.file_name not in ("onnx/model.onnx", "openvino/openvino_model.xml"):
            kwargs["model_kwargs"] = {"file_name": self.file_name}
        if dims:
            kwargs["truncate_dim"] = int(dims)
        return kwargs

    def load_call(self, path: str = "path/to/model", dims: int | None = None) -> str:
        """The Python line that loads this export, for the model card and the CLI."""
        if self.backend != "torch":
            args = [repr(str(path)), repr(self.name)] + ([f"dims={int(dims)}"] if dims else [])
            return f"load_export({', '.join(args)})"
        args = [repr(str(path))] + [f"{k}={v!r}" for k, v in self.load_kwargs(dims).items()]
        return f"SentenceTransformer({', '.join(args)})"

    @property
    def runtime(self) -> str:
        """What runs this format: sentence-transformers, onnxruntime or OpenVINO."""
        return {"torch": "sentence-transformers", "onnx": "onnxruntime"}.get(self.backend, "OpenVINO")

    def load_hint(self, path: str = "folder", dims: int | None = None) -> str:
        """One plain sentence on how the written folder is used, for the Export view."""
        if self.backend == "torch":
            return f"Loads with {self.load_call(path, dims)}."
        return (f"Runs with {self.runtime} alone, no torch needed; the model card in the folder shows "
                "the ten lines of Python that load it.")

    def load(self, path: str | Path, dims: int | None = None) -> Any:
        """Load an export of this format from disk, on the CPU, never touching the network.

        torch: a ``SentenceTransformer``; the others: a :class:`runtime.ExportRunner`, which
        needs no torch.
        """
        if self.backend != "torch":
            from stsstudio.core.runtime import load_runner

            problem = _modules_problem(_RUN_MODULES[self.backend], True)
            if problem is not None:
                raise UserError(f"Running the {self.label} export needs {self.runtime} ({problem}): "
                                f"{install_command(self.backend)}")
            assert self.file_name is not None
            return load_runner(path, self.file_name, truncate_dim=dims)
        from sentence_transformers import SentenceTransformer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SentenceTransformer(str(path), device="cpu", local_files_only=True,
                                       trust_remote_code=False, **self.load_kwargs(dims))


def load_export(path: str | Path, format: str = "torch", dims: int | None = None) -> Any:
    """Load an exported folder in one of the registry's formats (see :meth:`ExportFormat.load`)."""
    return get_format(format).load(path, dims)


def detect_format(folder: str | Path) -> str:
    """The format a model folder runs as: torch when it has torch weights (or is not a folder),
    else the first variant whose graph it holds."""
    folder = Path(folder)
    if not folder.is_dir() or any((folder / w).is_file() for w in _TORCH_WEIGHTS):
        return "torch"
    for fmt in EXPORT_FORMATS.values():
        if fmt.file_name and (folder / fmt.file_name).is_file():
            return fmt.name
    return "torch"


# ----------------------------------------------------------------------------------------
# Writers: each gets the saved torch folder (config, tokenizer, card) and adds its graph


def _write_torch(model: Any, folder: Path, project: Any) -> None:
    pass  # the torch folder is already the export


class _Quiet:
    """Silence the exporters' chatter (torch.onnx's registry warnings, NNCF's progress bars)."""

    def __enter__(self) -> None:
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._levels = {}
        # "" is the root logger: onnxruntime's quantizer logs its pre-processing advice there.
        for name in ("", "torch.onnx", "torch.export", "torch._dynamo", "onnxscript", "nncf"):
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: Any) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._warnings.__exit__(*exc)


_traced: dict[int, Path] = {}   # id(model) -> its fp32 graph, inside reuse_traced_graph()
_reuse_dir: list[Path] = []


@contextlib.contextmanager
def reuse_traced_graph() -> Iterator[None]:
    """Within the block, each torch model is traced to ONNX once and its graph copied to every
    variant that starts from it (compare-exports writes four from one trace)."""
    work = Path(tempfile.mkdtemp(prefix="stsstudio-trace-"))
    _reuse_dir.append(work)
    try:
        yield
    finally:
        _reuse_dir.remove(work)
        if not _reuse_dir:
            _traced.clear()
        shutil.rmtree(work, ignore_errors=True)


def export_onnx(model: Any, path: Path) -> None:
    """Write ``model`` (a torch SentenceTransformer) as one ONNX graph from token ids to the
    ``sentence_embedding`` (pooling and normalisation inside), dynamic in batch and length."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cached = _traced.get(id(model))
    if cached is not None and cached.is_file():
        shutil.copyfile(cached, path)
        return
    _trace_onnx(model, path)
    if _reuse_dir:
        keep = _reuse_dir[-1] / f"{id(model)}.onnx"
        shutil.copyfile(path, keep)
        _traced[id(model)] = keep


def _trace_onnx(model: Any, path: Path) -> None:
    import torch

    texts = ["a sentence to trace the graph with", "a second one"]
    preprocess = getattr(model, "preprocess", None) or model.tokenize  # tokenize: before v6
    features = preprocess(texts)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in features]

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            feats = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                feats["token_type_ids"] = token_type_ids
            return self.model(feats)["sentence_embedding"]

    batch, length = torch.export.Dim("batch"), torch.export.Dim("sequence")
    with _Quiet(), torch.no_grad():
        program = torch.onnx.export(
            Wrapper().eval(), (), kwargs={n: features[n] for n in names}, dynamo=True,
            opset_version=OPSET, input_names=names, output_names=["sentence_embedding"],
            dynamic_shapes={n: {0: batch, 1: length} for n in names}, verbose=False)
        program.save(str(path))


def _write_onnx(model: Any, folder: Path, project: Any) -> None:
    export_onnx(model, folder / "onnx" / "model.onnx")


def _write_onnx_int8(model: Any, folder: Path, project: Any) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = folder / "onnx" / "model_fp32.tmp.onnx"
    export_onnx(model, fp32)
    try:
        with _Quiet():
            quantize_dynamic(str(fp32), str(folder / "onnx" / "model_qint8.onnx"),
                             weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    finally:
        fp32.unlink(missing_ok=True)


def _openvino_from_onnx(model: Any, folder: Path) -> Any:
    import openvino as ov

    tmp = folder / "openvino" / "model_fp32.tmp.onnx"
    export_onnx(model, tmp)
    try:
        return ov.convert_model(str(tmp))
    finally:
        tmp.unlink(missing_ok=True)


def _write_openvino(model: Any, folder: Path, project: Any) -> None:
    import openvino as ov

    ov.save_model(_openvino_from_onnx(model, folder), str(folder / "openvino" / "openvino_model.xml"),
                  compress_to_fp16=False)


def _write_openvino_int8(model: Any, folder: Path, project: Any) -> None:
    import nncf
    import openvino as ov

    with _Quiet(), contextlib.redirect_stdout(io.StringIO()):   # NNCF draws a progress bar on stdout
        compressed = nncf.compress_weights(_openvino_from_onnx(model, folder))
    ov.save_model(compressed, str(folder / "openvino" / "openvino_model_int8.xml"), compress_to_fp16=False)


EXPORT_FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("torch", "PyTorch", "The model as trained (safetensors); loads everywhere "
                 "sentence-transformers runs, on CPU or GPU.", "torch", None, _write_torch),
    ExportFormat("onnx", "ONNX", "ONNX graph with pooling inside; runs with onnxruntime alone "
                 "(no torch), often faster on CPU, same scores.", "onnx", "onnx/model.onnx",
                 _write_onnx),
    ExportFormat("onnx-int8", "ONNX int8", "ONNX with int8 weights (dynamic quantisation, per "
                 "channel); about a quarter of the size and faster on CPU, scores shift slightly.",
                 "onnx", "onnx/model_qint8.onnx", _write_onnx_int8, tolerance=0.05, quantized=True),
    ExportFormat("openvino", "OpenVINO", "OpenVINO IR (fp32) for Intel CPUs and GPUs; runs with "
                 "OpenVINO alone (no torch), same scores.", "openvino", "openvino/openvino_model.xml",
                 _write_openvino),
    ExportFormat("openvino-int8", "OpenVINO int8", "OpenVINO with int8 weights (NNCF weight "
                 "compression, no calibration data); smaller and faster, scores shift slightly.",
                 "openvino", "openvino/openvino_model_int8.xml", _write_openvino_int8,
                 tolerance=0.05, quantized=True),
)}
FORMAT_NAMES = tuple(EXPORT_FORMATS)


def get_format(name: str) -> ExportFormat:
    """The registry entry for ``name``; a :class:`UserError` that lists the names otherwise."""
    try:
        return EXPORT_FORMATS[str(name)]
    except KeyError:
        raise UserError(f"Unknown export format {name!r}; choose one of {', '.join(FORMAT_NAMES)}.") from None


def folder_size(path: str | Path) -> int:
    """Bytes of all files under a folder."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def load_snippet(fmt: ExportFormat, folder: str | Path, dims: int | None = None,
                 tokenizer_folder: str | Path | None = None) -> str:
    """About ten lines of Python that load a written ONNX/OpenVINO folder with only its runtime,
    ``tokenizers`` and numpy (no torch, no stsstudio), for the model card. The tokenizer's limit
    and pad token are read from ``tokenizer_folder`` (default ``folder``)."""
    from stsstudio.core.runtime import tokenizer_settings

    if fmt.file_name is None:
        raise ValueError("the torch format loads with SentenceTransformer")
    t = tokenizer_settings(tokenizer_folder or folder)
    cut = f"[:, :{int(dims)}]" if dims else ""
    if fmt.backend == "onnx":
        runtime = ["import numpy as np", "import onnxruntime as ort",
                   f'model = ort.InferenceSession(folder + "/{fmt.file_name}")',
                   "names = [i.name for i in model.get_inputs()]"]
        run = 'model.run(["sentence_embedding"], feed)[0]'
    else:
        runtime = ["import numpy as np", "import openvino as ov",
                   f'model = ov.Core().compile_model(folder + "/{fmt.file_name}", "CPU", '
                   '{"INFERENCE_PRECISION_HINT": "f32"})',
                   "names = [i.get_any_name() for i in model.inputs]"]
        run = 'model(feed)["sentence_embedding"]'
    return "\n".join([
        *runtime[:2], "from tokenizers import Tokenizer", "", f"folder = {str(folder)!r}",
        'tokenizer = Tokenizer.from_file(folder + "/tokenizer.json")',
        f"tokenizer.enable_truncation(max_length={t['max_length']})  # the model's limit",
        f"tokenizer.enable_padding(pad_id={t['pad_id']}, pad_token={t['pad_token']!r})  "
        "# to the longest in a batch",
        *runtime[2:], "",
        "def encode(texts):",
        "    enc = tokenizer.encode_batch([t.strip() for t in texts])",
        '    cols = {"input_ids": [e.ids for e in enc], "attention_mask": [e.attention_mask for e in enc],',
        '            "token_type_ids": [e.type_ids for e in enc]}',
        "    feed = {n: np.array(cols[n], dtype=np.int64) for n in names}",
        f"    emb = np.asarray({run}){cut}",
        "    return emb / np.linalg.norm(emb, axis=1, keepdims=True)",
        "",
        'a, b = encode(["A man is playing a guitar.", "Someone plays the guitar."])',
        "print(float(a @ b))  # cosine similarity",
    ])


def variant_size(folder: str | Path, fmt: ExportFormat) -> int:
    """Bytes a user deploys for this format: the folder without the torch weights for a graph
    format (they stay beside it, but the runtime never reads them)."""
    folder = Path(folder)
    size = folder_size(folder)
    if fmt.backend != "torch":
        size -= sum((folder / w).stat().st_size for w in _TORCH_WEIGHTS if (folder / w).is_file())
    return size


def write_variant(model: Any, folder: Path, fmt: ExportFormat, project: Any = None) -> None:
    """Write ``model`` (a loaded torch SentenceTransformer) to ``folder`` in format ``fmt``.

    Raises:
        UserError: the extra is missing, or the exporter failed (an architecture it cannot
            trace, a graph the runtime rejects): one line naming the format and what to choose
            instead. The caller removes the half-written folder.
    """
    fmt.require()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(folder))
    try:
        fmt.write(model, folder, project)
    except (UserError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - any exporter failure is one line for the user
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise UserError(f"The {fmt.label} export failed ({type(exc).__name__}: {first}); this model "
                        f"may not trace to {fmt.backend}. Choose the PyTorch format instead.") from exc


def _probe_pair(project: Any) -> tuple[str, str] | None:
    """The pair the written folder is checked on: the first labeled dev pair (the compare
    table's probe), else the first labeled pair."""
    pairs = project.pairs.labeled("dev") or project.pairs.labeled()
    return (pairs[0].sentence1, pairs[0].sentence2) if pairs else None


def _cosine(model: Any, s1: str, s2: str, dims: int | None = None) -> float:
    emb = np.asarray(model.encode([s1, s2], normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False), dtype=np.float64)
    if dims:
        emb = _truncate(emb, dims)
    return float(emb[0] @ emb[1])


def expected_probe(project: Any, torch_model: Any, dims: int | None = None,
                   measured: Any = None) -> tuple[tuple[str, str], float, str] | None:
    """The probe pair, the score a written export must give it, and where that score comes from
    (the compare table's row when the variant was measured, else the torch model)."""
    probe = _probe_pair(project)
    if probe is None:
        return None
    if measured is not None and getattr(measured, "probe_score", None) is not None:
        return probe, float(measured.probe_score), "the compare table"
    return probe, _cosine(torch_model, *probe, dims=dims), "the torch model"


def verify_variant(project: Any, torch_model: Any, folder: str | Path, fmt: ExportFormat,
                   dims: int | None = None, measured: Any = None) -> dict[str, Any] | None:
    """Load a written folder with its backend and check the probe pair's score.

    The expected score is the compare table's (``measured.probe_score``) when the variant was
    measured, else the torch model's at the same size. Returns the figures for the model card,
    or None when the project has no labeled pair to probe with.

    Raises:
        UserError: the folder does not load, or scores the probe outside ``fmt.tolerance``.
    """
    target = expected_probe(project, torch_model, dims, measured)
    if target is None:
        return None
    probe, expected, _ = target
    try:
        model = fmt.load(folder, dims)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - the check failed: say so, write nothing
        raise UserError(f"The {fmt.label} export did not load back with {fmt.load_call(dims=dims)}: "
                        f"{type(exc).__name__}: {exc}") from exc
    score = _cosine(model, *probe)  # truncate_dim is applied by the loaded model itself
    if not abs(score - expected) <= fmt.tolerance:
        raise UserError(f"The {fmt.label} export scores the probe pair {score:.4f}, not "
                        f"{expected:.4f} (tolerance {fmt.tolerance:g}); nothing was written.")
    return {"score": score, "expected": expected, "tolerance": fmt.tolerance, "probe": probe}


# ----------------------------------------------------------------------------------------
# Measuring the variants


@dataclass
class VariantRow:
    """One row of the compare table: a format at an embedding size."""

    format: str
    label: str
    dims: int
    full_dims: int
    available: bool
    reason: str | None = None          # why it is unavailable, or why it failed
    spearman: float | None = None
    spearman_ci: tuple[float, float] | None = None
    delta: float | None = None         # spearman - torch full-size spearman, same pairs
    delta_ci: tuple[float, float] | None = None
    sentences_per_s: float | None = None
    size_bytes: int | None = None
    probe_score: float | None = None   # cosine of the probe pair, to check the written export
    worst_cosine: float | None = None  # lowest cosine of a dev sentence's embedding to torch's
    load_call: str = ""

    @property
    def key(self) -> str:
        return self.format if self.dims == self.full_dims else f"{self.format}@{self.dims}"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["key"] = self.key
        for k in ("spearman_ci", "delta_ci"):
            d[k] = list(d[k]) if d[k] is not None else None
        return d


@dataclass
class CompareResult:
    run_id: int
    dev_pairs: int
    throughput_sentences: int
    probe: tuple[str, str] | None
    matryoshka: bool
    rows: list[VariantRow]

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run_id, "dev_pairs": self.dev_pairs,
                "throughput_sentences": self.throughput_sentences,
                "probe": list(self.probe) if self.probe else None, "matryoshka": self.matryoshka,
                "rows": [r.as_dict() for r in self.rows]}

    def row(self, fmt: str, dims: int | None = None) -> VariantRow | None:
        for r in self.rows:
            if r.format == fmt and (dims is None and r.dims == r.full_dims or r.dims == dims):
                return r
        return None


def _dimension(model: Any) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter() or 0)


def _truncate(emb: np.ndarray, dims: int) -> np.ndarray:
    out = emb[:, :dims]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def _pair_scores(emb: np.ndarray, index: dict[str, int], s1: Sequence[str], s2: Sequence[str]) -> np.ndarray:
    a = emb[[index[s] for s in s1]]
    b = emb[[index[s] for s in s2]]
    return np.einsum("ij,ij->i", a, b).astype(np.float64)


def format_size(n: int | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover
