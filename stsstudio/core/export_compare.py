"""Measure every export variant of a run before writing one: :func:`compare_exports`.

Each available format (core/export_formats.py's registry) is written to a temporary folder
and measured on the project's own data: dev Spearman and its change against the torch model
(paired bootstrap over the same dev pairs, 95 % interval, core/stats.py), encode throughput in
sentences/s over the project's sentences on this machine, and size on disk. Matryoshka sizes are
rows too when the run was trained with Matryoshka; a truncated row reuses its format's
embeddings (truncate, then normalise, as ``truncate_dim`` does), so it shares that format's
throughput and size.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stsstudio.core.errors import Cancelled, UserError
from stsstudio.core.export import _find_run, _loss_name, _model_dir
from stsstudio.core.export_formats import (
    FORMAT_NAMES,
    THROUGHPUT_BATCH,
    THROUGHPUT_SENTENCES,
    CompareResult,
    VariantRow,
    _dimension,
    _pair_scores,
    _truncate,
    format_size,
    get_format,
    reuse_traced_graph,
    variant_size,
    write_variant,
)
from stsstudio.core.paths import STALE_TEMP_SECONDS, clean_stale_temps, temp_prefix
from stsstudio.core.stats import compare_to_base, spearman, spearman_ci

# The working folder of a comparison in the project's cache: .stsstudio-compare.<pid>.<random>.tmp
_WORK_NAME = "stsstudio-compare"


def clean_stale_compare_folders(cache: Path) -> list[Path]:
    """Remove the working folders that killed comparisons left in ``cache``; return them.

    Current ones name their process and are removed once it is gone; those of earlier versions
    (``.stsstudio-compare-<random>``) once they are an hour old.
    """
    removed = clean_stale_temps(cache / _WORK_NAME)
    try:
        legacy = [p for p in cache.glob(".stsstudio-compare-*") if p.is_dir() and not p.is_symlink()]
    except OSError:
        return removed
    for folder in legacy:
        try:
            if time.time() - folder.lstat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except OSError:
            pass
    return removed


def run_dims(run: Any, full: int) -> list[int]:
    """The embedding sizes to compare: the Matryoshka sizes when the run was trained with them."""
    _, matryoshka = _loss_name(run)
    if not matryoshka:
        return [full]
    config = run.config or {}
    dims = config.get("matryoshka_dims") or (config.get("extra") or {}).get("matryoshka_dims")
    if not dims:
        dims = [d for d in (full, full // 2, full // 4, full // 8) if d >= 8]
    return sorted({int(d) for d in dims if 0 < int(d) <= full} | {full}, reverse=True)


def _throughput(model: Any, sentences: list[str]) -> float:
    """Sentences per second of ``model.encode`` over ``sentences`` (after one warm-up batch)."""
    if not sentences:
        return float("nan")
    model.encode(sentences[:THROUGHPUT_BATCH], batch_size=THROUGHPUT_BATCH, show_progress_bar=False)
    start = time.perf_counter()
    model.encode(sentences, batch_size=THROUGHPUT_BATCH, show_progress_bar=False)
    return len(sentences) / max(time.perf_counter() - start, 1e-9)


def _throughput_sample(project: Any, limit: int) -> list[str]:
    """An evenly spaced, deterministic sample of the project's sentences."""
    sentences = [s for s in project.pairs.sentences() if s]
    if len(sentences) <= limit:
        return sentences
    step = len(sentences) / limit
    return [sentences[int(i * step)] for i in range(limit)]


def compare_exports(project: Any, run_id: int | None = None, *, formats: Sequence[str] | None = None,
                    throughput_sentences: int = THROUGHPUT_SENTENCES, resamples: int = 1000,
                    task: Any = None) -> CompareResult:
    """Write each available variant of a run to a temporary folder and measure it.

    Args:
        project: the open project (its dev pairs and sentences are the data).
        run_id: the run; None for the best run.
        formats: the format names to include (default: all of :data:`EXPORT_FORMATS`);
            unavailable ones are rows with ``available=False`` and the reason.
        throughput_sentences: how many of the project's sentences the sentences/s figure encodes.
        resamples: bootstrap resamples for the intervals.
        task: optional progress/cancel handle.

    Returns:
        A :class:`CompareResult`; its first row is the torch model at full size, the reference.

    Raises:
        UserError: no such run, no model, or fewer than 3 labeled dev pairs.
        Cancelled: the task was cancelled; the temporary folders are removed.
    """
    run = _find_run(project, run_id)
    dev, s1, s2, gold, index, unique = _dev_data(project)
    sample = _throughput_sample(project, throughput_sentences)
    fmts = _formats_to_compare(formats)

    torch_model = get_format("torch").load(_model_dir(project, run))
    torch_model.eval()
    full = _dimension(torch_model)
    dims_list = run_dims(run, full)
    _, matryoshka = _loss_name(run)
    rows: list[VariantRow] = []
    reference: np.ndarray | None = None
    reference_emb: np.ndarray | None = None   # torch's embeddings of the dev sentences
    total = len(fmts)
    cache = project.cache_dir if getattr(project, "cache_dir", None) else None
    if cache is not None:
        clean_stale_compare_folders(cache)  # a killed comparison leaves its variants behind
    work = Path(tempfile.mkdtemp(prefix=temp_prefix(Path(cache or tempfile.gettempdir()) / _WORK_NAME),
                                 suffix=".tmp", dir=cache))
    traced = reuse_traced_graph()   # one trace to ONNX serves every graph format
    traced.__enter__()
    try:
        for i, fmt in enumerate(fmts):
            if task is not None:
                if task.is_cancelled():
                    raise Cancelled("Comparison cancelled.")
                task.status(f"Measuring {fmt.label} ({i + 1}/{total})…")
                task.progress(i, total)
            reason = fmt.unavailable_reason(deep=True)
            base = dict(format=fmt.name, label=fmt.label, full_dims=full)
            if reason is None:
                measured = _measure_variant(torch_model, fmt, work / fmt.name, project, unique, sample)
                reason = measured if isinstance(measured, str) else None
            if reason is not None:   # one greyed row says it; no row per size
                rows.append(VariantRow(**base, dims=full, available=False, reason=reason,
                                       load_call=fmt.load_call()))
                continue
            emb, speed, size = measured
            if reference_emb is None:
                reference_emb = emb      # torch: the first format measured
            reference = _size_rows(rows, fmt, base, emb, reference_emb, reference, dims_list, full,
                                   (index, s1, s2, gold), speed, size, resamples)
    finally:
        traced.__exit__(None, None, None)
        shutil.rmtree(work, ignore_errors=True)
    if task is not None:
        task.progress(total, total)
    return CompareResult(run.id, len(dev), len(sample), (s1[0], s2[0]), matryoshka, rows)


def _dev_data(project: Any) -> tuple[list[Any], list[str], list[str], np.ndarray, dict[str, int], list[str]]:
    """The labeled dev pairs, their sentences and scores, and each distinct sentence's index."""
    dev = [p for p in project.pairs.labeled("dev")]
    if len(dev) < 3 or len({p.score for p in dev}) < 2:
        raise UserError(f"Comparing export variants needs at least 3 labeled dev pairs with different "
                        f"scores; {project.name} has {len(dev)}.")
    s1, s2 = [p.sentence1 for p in dev], [p.sentence2 for p in dev]
    gold = np.asarray([p.score for p in dev], dtype=np.float64)
    index: dict[str, int] = {}
    for s in (*s1, *s2):
        index.setdefault(s, len(index))
    unique = list(index)
    return dev, s1, s2, gold, index, unique


def _formats_to_compare(formats: Sequence[str] | None) -> list[Any]:
    names = list(formats) if formats else list(FORMAT_NAMES)
    if "torch" in names:
        names.remove("torch")
    names.insert(0, "torch")   # the reference is measured first
    return [get_format(n) for n in names]


def _measure_variant(torch_model: Any, fmt: Any, folder: Path, project: Any, unique: list[str],
                     sample: list[str]) -> tuple[np.ndarray, float, int] | str:
    """Write one variant and measure it: its embeddings of ``unique``, sentences/s and size;
    or why it failed. The folder is removed either way."""
    try:
        write_variant(torch_model, folder, fmt, project)
        model = fmt.load(folder)
        emb = np.asarray(model.encode(unique, batch_size=64, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False),
                         dtype=np.float64)
        speed = _throughput(model, sample)
        size = variant_size(folder, fmt)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - one broken backend must not hide the others
        return (str(exc) if isinstance(exc, UserError)
                else f"{fmt.label} failed: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return emb, speed, size


def _size_rows(rows: list[VariantRow], fmt: Any, base: dict[str, Any], emb: np.ndarray,
               reference_emb: np.ndarray, reference: np.ndarray | None, dims_list: list[int], full: int,
               data: tuple[dict[str, int], list[str], list[str], np.ndarray], speed: float, size: int,
               resamples: int) -> np.ndarray | None:
    """Append a measured format's row per embedding size to ``rows``; return the reference scores."""
    index, s1, s2, gold = data
    for d in dims_list:
        cut, ref_cut = _truncate(emb, d), _truncate(reference_emb, d)
        scores = _pair_scores(cut, index, s1, s2)
        if reference is None:
            reference = scores   # torch at full size: the first row measured
        rho = spearman(scores, gold)
        ci = spearman_ci(scores, gold, resamples=resamples)
        cmp = compare_to_base(scores, reference, gold, resamples=resamples)
        rows.append(VariantRow(
            **base, dims=d, available=True, spearman=rho, spearman_ci=ci,
            delta=float(cmp.diff), delta_ci=tuple(cmp.diff_ci),
            sentences_per_s=float(speed), size_bytes=int(size), probe_score=float(scores[0]),
            worst_cosine=float(np.einsum("ij,ij->i", cut, ref_cut).min()),
            load_call=fmt.load_call(dims=d if d != full else None)))
    return reference


def compare_table_markdown(result: CompareResult) -> str:
    """The compare table as Markdown (for the model card and the notes)."""
    lines = ["| Variant | Dims | Dev Spearman (95 % interval) | Change vs torch (95 % interval) "
             "| Worst cosine to torch | Sentences/s | Size |", "|:--|--:|:--|:--|--:|--:|--:|"]
    for r in result.rows:
        if not r.available:
            lines.append(f"| {r.label} | – | not measured: {r.reason} | | | | |")
            continue
        ci = f" ({r.spearman_ci[0]:.3f}–{r.spearman_ci[1]:.3f})" if r.spearman_ci else ""
        dci = f" ({r.delta_ci[0]:+.3f} to {r.delta_ci[1]:+.3f})" if r.delta_ci else ""
        lines.append(f"| {r.label} | {r.dims} | {r.spearman:.4f}{ci} | {r.delta:+.4f}{dci} "
                     f"| {r.worst_cosine:.4f} | {r.sentences_per_s:,.0f} | {format_size(r.size_bytes)} |")
    return "\n".join(lines)
