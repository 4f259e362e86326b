"""Export formats: one registry of the ways a run's model can be written.

:data:`EXPORT_FORMATS` is the one table of formats (name, label, help text, the
sentence-transformers backend that loads it, the function that writes it, and whether it is
available here). The CLI choices, the Export view and the model card all read it.

The ONNX and OpenVINO formats use sentence-transformers' own exporters
(``export_optimized_onnx_model``, ``export_dynamic_quantized_onnx_model``,
``export_static_quantized_openvino_model``) and backends; they need the optional extras
(``stsstudio[onnx]``, ``stsstudio[openvino]``, both in ``stsstudio[export]``). When an extra
is missing, :meth:`ExportFormat.unavailable_reason` says so with the install command, and
:meth:`ExportFormat.require` raises it as a :class:`UserError` (CLI exit 2).

Measuring the variants before writing one is core/export_compare.py; checking a written
folder with its backend is :func:`verify_variant` here.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stsstudio.core.errors import UserError
from stsstudio.core.formats import file_name

# Third-party modules each backend needs; importing them is the availability check.
_BACKEND_MODULES = {
    "torch": (),
    "onnx": ("onnxruntime", "optimum.onnxruntime"),
    "openvino": ("openvino", "optimum.intel.openvino"),
}
_BACKEND_EXTRA = {"onnx": "onnx", "openvino": "openvino"}
_TORCH_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
THROUGHPUT_SENTENCES = 512   # sentences encoded per variant for the sentences/s figure
THROUGHPUT_BATCH = 32


def install_command(backend: str) -> str:
    """The pip line that installs what a backend needs."""
    return f"pip install 'stsstudio[{_BACKEND_EXTRA.get(backend, 'export')}]'"


@functools.cache
def _backend_problem(backend: str, deep: bool) -> str | None:
    """None when the backend's modules import; otherwise why not (cached per process)."""
    for module in _BACKEND_MODULES.get(backend, ()):
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
    _backend_problem.cache_clear()


@dataclass(frozen=True)
class ExportFormat:
    """One way to write a model: what it is called, how it is written, how it is loaded."""

    name: str
    label: str
    help: str
    backend: str                       # the SentenceTransformer(backend=...) that loads it
    file_name: str | None              # model_kwargs={"file_name": ...}, None for the default
    write: Callable[[Any, Path, Any], None] = field(repr=False)  # (torch model, folder, project)
    tolerance: float = 1e-4            # probe-pair cosine vs. the torch model
    quantized: bool = False

    def unavailable_reason(self, deep: bool = True) -> str | None:
        """None when this format can be written here; else a one-line reason with the pip line.

        ``deep=False`` only looks for the packages (cheap, for the GUI thread); ``deep=True``
        imports them, which also catches an installed package that does not work.
        """
        problem = _backend_problem(self.backend, deep)
        if problem is None:
            return None
        return f"{self.label} needs the {self.backend} extra ({problem}): {install_command(self.backend)}"

    def available(self, deep: bool = True) -> bool:
        return self.unavailable_reason(deep) is None

    def require(self) -> None:
        """Raise the :class:`UserError` that names the install command when unavailable."""
        reason = self.unavailable_reason(deep=True)
        if reason is not None:
            raise UserError(reason)

    def load_kwargs(self, dims: int | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.backend != "torch":
            kwargs["backend"] = self.backend
        if self.file_name:
            kwargs["model_kwargs"] = {"file_name": self.file_name}
        if dims:
            kwargs["truncate_dim"] = int(dims)
        return kwargs

    def load_call(self, path: str = "path/to/model", dims: int | None = None) -> str:
        """The Python line that loads this export, for the model card and the CLI."""
        args = [repr(str(path))] + [f"{k}={v!r}" for k, v in self.load_kwargs(dims).items()]
        return f"SentenceTransformer({', '.join(args)})"

    def load(self, path: str | Path, dims: int | None = None) -> Any:
        """Load an export of this format from disk, on the CPU, never touching the network."""
        from sentence_transformers import SentenceTransformer

        self.require()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SentenceTransformer(str(path), device="cpu", local_files_only=True,
                                       trust_remote_code=False, **self.load_kwargs(dims))


# ----------------------------------------------------------------------------------------
# Writers: each gets the saved torch folder (config, tokenizer, card) and turns it into its format


def _write_torch(model: Any, folder: Path, project: Any) -> None:
    pass  # the torch folder is already the export


def _drop(folder: Path, names: Sequence[str]) -> None:
    for name in names:
        target = folder / name
        if target.is_file():
            target.unlink()


def _onnx_model(folder: Path) -> Any:
    """The saved folder loaded with the ONNX backend (exports the graph on load), then saved,
    which writes ``onnx/model.onnx`` beside the configuration."""
    from sentence_transformers import SentenceTransformer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SentenceTransformer(str(folder), backend="onnx", device="cpu", local_files_only=True)
        model.save_pretrained(str(folder))
    return model


def _write_onnx(model: Any, folder: Path, project: Any) -> None:
    from sentence_transformers import export_optimized_onnx_model

    onnx_model = _onnx_model(folder)
    # O2: the general and transformer-specific fusions, without O3's GELU approximation, so
    # the optimised graph computes what the torch model computes.
    export_optimized_onnx_model(onnx_model, "O2", str(folder))
    _drop(folder, [*_TORCH_WEIGHTS, "onnx/model.onnx"])


def _write_onnx_int8(model: Any, folder: Path, project: Any) -> None:
    from sentence_transformers import export_dynamic_quantized_onnx_model

    onnx_model = _onnx_model(folder)
    # avx2 runs on every x86-64 CPU of the last decade; avx512_vnni would be faster where present.
    export_dynamic_quantized_onnx_model(onnx_model, "avx2", str(folder))
    _drop(folder, [*_TORCH_WEIGHTS, "onnx/model.onnx"])


def _openvino_model(folder: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SentenceTransformer(str(folder), backend="openvino", device="cpu", local_files_only=True)
        model.save_pretrained(str(folder))
    return model


def _write_openvino(model: Any, folder: Path, project: Any) -> None:
    _openvino_model(folder)
    _drop(folder, _TORCH_WEIGHTS)


def _write_openvino_int8(model: Any, folder: Path, project: Any) -> None:
    from sentence_transformers import export_static_quantized_openvino_model

    ov_model = _openvino_model(folder)
    # Static quantisation calibrates on sentences; the library's default is a Hub dataset, which
    # is neither offline nor the user's data. Calibrate on the project's own sentences instead,
    # as a local CSV folder that `datasets.load_dataset(folder)` reads.
    sentences = (project.sentences() if project is not None else [])[:300] or ["calibration sentence"]
    with tempfile.TemporaryDirectory(prefix="stsstudio-calib-") as calib:
        import csv

        with open(Path(calib) / file_name("train", "csv"), "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["sentence"])
            writer.writerows([s] for s in sentences)
        export_static_quantized_openvino_model(
            ov_model, None, str(folder), dataset_name=calib, dataset_config_name="default",
            dataset_split="train", column_name="sentence")
    _drop(folder, [*_TORCH_WEIGHTS, "openvino/openvino_model.xml", "openvino/openvino_model.bin"])


EXPORT_FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("torch", "PyTorch", "The model as trained (safetensors); loads everywhere "
                 "sentence-transformers runs, on CPU or GPU.", "torch", None, _write_torch),
    ExportFormat("onnx", "ONNX", "ONNX graph optimised by ONNX Runtime (level O2); often faster "
                 "on CPU, same scores.", "onnx", "onnx/model_O2.onnx", _write_onnx, tolerance=1e-3),
    ExportFormat("onnx-int8", "ONNX int8", "ONNX with int8 weights (dynamic quantisation, avx2); "
                 "smaller and faster on CPU, scores shift slightly.", "onnx",
                 "onnx/model_qint8_avx2.onnx", _write_onnx_int8, tolerance=0.05, quantized=True),
    ExportFormat("openvino", "OpenVINO", "OpenVINO IR for Intel CPUs and GPUs; same scores.",
                 "openvino", None, _write_openvino, tolerance=1e-3),
    ExportFormat("openvino-int8", "OpenVINO int8", "OpenVINO with int8 static quantisation, "
                 "calibrated on this project's sentences; smaller and faster, scores shift slightly.",
                 "openvino", "openvino/openvino_model_qint8_quantized.xml", _write_openvino_int8,
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


def write_variant(model: Any, folder: Path, fmt: ExportFormat, project: Any = None) -> None:
    """Write ``model`` (a loaded torch SentenceTransformer) to ``folder`` in format ``fmt``."""
    fmt.require()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(folder))
    fmt.write(model, folder, project)


def _probe_pair(project: Any) -> tuple[str, str] | None:
    """The pair the written folder is checked on: the first labeled dev pair (the compare
    table's probe), else the first labeled pair."""
    pairs = project.labeled_pairs("dev") or project.labeled_pairs()
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
