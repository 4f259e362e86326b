"""Export and verify: one user action, the Export view's button and ``stsstudio export``.

:func:`export_and_verify` writes a run's model (:func:`stsstudio.core.export.export_run`, which
already refuses a variant that does not reproduce the probe pair before anything is written),
then loads the written folder back from disk with its own backend, exactly as a user would, and
scores a sample pair with it and with the run. The view only shows the :class:`ExportCheck`;
the CLI prints it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# The least difference counted as "the same" (a torch export reloads bit-identical; a quantised
# one differs by up to its format's tolerance).
MIN_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ExportCheck:
    """What an export wrote, and how the written folder, loaded back from disk, scores."""

    path: str
    format: str                         # the format's label ("PyTorch", "ONNX", ...)
    load_call: str                      # the exact call (torch) or what runs it (a graph variant)
    dimension: int                      # of the embeddings the loaded folder gives
    max_seq_length: int
    tolerance: float                    # the format's: how far a score may move
    files: tuple[str, ...] = ()
    runtime: str = "sentence-transformers"  # what loaded it back: sentence-transformers, onnxruntime, ...
    sample: tuple[str, str] | None = None   # the pair scored (None: the project has no label)
    exported_score: float | None = None     # by the folder loaded back from disk
    run_score: float | None = None          # by the run's own model, at the same size

    @property
    def same(self) -> bool | None:
        """The folder scores the sample as the run does (None: nothing was scored)."""
        if self.exported_score is None or self.run_score is None:
            return None
        return abs(self.exported_score - self.run_score) <= max(MIN_TOLERANCE, self.tolerance)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "format": self.format, "load_call": self.load_call,
                             "dimension": self.dimension, "max_seq_length": self.max_seq_length,
                             "tolerance": self.tolerance, "files": list(self.files), "runtime": self.runtime}
        if self.sample is not None:
            d.update(sample=self.sample, exported_score=self.exported_score, run_score=self.run_score,
                     same=self.same)
        return d

    def describe(self) -> str:
        """The check in one plain line (the CLI prints it)."""
        if self.sample is None:
            return (f"Loaded back from disk with {self.runtime}: {self.dimension}-dim embeddings (no labeled "
                    "pair to compare scores on).")
        gap = abs(self.exported_score - self.run_score)
        allowed = max(MIN_TOLERANCE, self.tolerance)
        if not self.same:
            verdict = f"DIFFERENT from the run ({self.run_score:.4f}; {gap:.4f} apart, {allowed:g} allowed)"
        elif gap < 5e-5:
            verdict = f"the same as the run ({self.run_score:.4f})"
        else:   # a quantised variant: close, not equal
            verdict = (f"within {allowed:g} of the run ({self.run_score:.4f}; {gap:.4f} apart, as this "
                       "format allows)")
        return (f"Loaded back from disk with {self.runtime}: {self.dimension}-dim embeddings; a sample "
                f"pair scores {self.exported_score:.4f}, {verdict}.")


def export_and_verify(project: Any, out_dir: str | os.PathLike[str], run_id: int | None = None, *,
                      with_data: bool = False, parquet: bool = False, force: bool = False,
                      format: str = "torch", dims: int | None = None, measured: Any = None,
                      task: Any = None) -> ExportCheck:
    """Export a run's model to ``out_dir``, then load it back from disk and check it.

    Args:
        project: the open project.
        out_dir: the target folder (see :func:`stsstudio.core.export.export_run`).
        run_id: the run to export; None for the best run.
        with_data: also write the labeled pairs (CSV and JSONL) under ``data/``.
        parquet: with ``with_data``, also as Parquet.
        force: replace a non-empty target folder.
        format: a name from :data:`stsstudio.core.export_formats.EXPORT_FORMATS`.
        dims: a smaller embedding size (Matryoshka); None for the full size.
        measured: the compare table's row for this variant, when it was measured.
        task: optional progress, status and cancel handle.

    Returns:
        The :class:`ExportCheck`: where it went, how to load it, and the sample pair's scores
        from the loaded folder and from the run.

    Raises:
        UserError: as :func:`~stsstudio.core.export.export_run` (nothing is written then).
        Cancelled: the task was cancelled; nothing is left behind.
    """
    from stsstudio.core.export import export_run
    from stsstudio.core.export_formats import expected_probe, get_format
    from stsstudio.core.inference import get_model, similarity

    fmt = get_format(format)
    path = export_run(project, out_dir, run_id, with_data=with_data, force=force, task=task,
                      format=fmt.name, dims=dims, measured=measured)   # it refuses a bad size
    dims = dims or None
    if with_data and parquet:
        from stsstudio.core.data_export import export_pairs
        from stsstudio.core.formats import file_name

        export_pairs(project, Path(path) / "data" / file_name("labeled_pairs", "parquet"), labeled_only=True)
    if task is not None:
        task.status("Loading the exported folder back…")
    model = fmt.load(str(path), dims)
    # sentence-transformers v6 renamed get_sentence_embedding_dimension.
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    files = tuple(sorted(p.relative_to(path).as_posix() for p in Path(path).rglob("*") if p.is_file()))
    load_call = fmt.load_call(str(path), dims) if fmt.backend == "torch" else fmt.load_hint(str(path), dims)
    check = ExportCheck(path=str(path), format=fmt.label, load_call=load_call, runtime=fmt.runtime,
                        dimension=int(dims or dimension()),
                        max_seq_length=int(getattr(model, "max_seq_length", 0) or 0),
                        tolerance=float(fmt.tolerance), files=files)
    run_model = get_model(f"run:{run_id}" if run_id is not None else "best", "cpu", project)
    target = expected_probe(project, run_model, dims)   # the run's own score, at the same size
    if target is None:
        return check
    (s1, s2), run_score, _ = target
    return replace(check, sample=(s1, s2), run_score=float(run_score),
                   exported_score=similarity(model, s1, s2))
