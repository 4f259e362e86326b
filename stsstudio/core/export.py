"""Export a run's model to a folder that ``SentenceTransformer(folder)`` loads.

The model card is written from the run's own records (:mod:`stsstudio.core.model_card`): base
model, loss, hyperparameters as the schedule resolved them, the stored training log, and dev and
test figures computed here with scipy, all rounded; front matter the Hub reads, and no generic
template text (the folder is local). :func:`model_card_text` renders exactly the card the export
writes.

The write is atomic (Picard's ``atomic_write``): everything goes to a temporary folder beside
the target, which is renamed into place only when complete.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stsstudio.core.errors import Cancelled, UserError
from stsstudio.core.evaluation import MIN_PAIRS, EvalResult, evaluate_pairs
from stsstudio.core.formats import file_name
from stsstudio.core.losses import get_loss
from stsstudio.core.paths import apply_umask, apply_umask_tree, clean_stale_temps, temp_prefix

# The Hub id of the embedded model, for the card's "finetuned from" link.
EMBEDDED_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
DATA_FILES = (file_name("labeled_pairs", "csv"), file_name("labeled_pairs", "jsonl"))
FOLDER_PLACEHOLDER = "path/to/this/folder"



@dataclass
class _Prepared:
    model: Any
    run: Any
    appendix: str
    dev: EvalResult | None
    test: EvalResult | None
    summary: str = ""


def _progress(task: Any, done: int, total: int) -> None:
    if task is not None:
        if task.is_cancelled():
            raise Cancelled("Export cancelled.")
        task.progress(done, total)


def _find_run(project: Any, run_id: int | None) -> Any:
    from stsstudio.core.inference import resolve_model_ref

    if run_id is None:
        run = project.runs.best()
        if run is None:
            if any(r.model_dir for r in project.runs.all()):
                from stsstudio.core.inference import no_best_run_message

                raise UserError(no_best_run_message(project))
            raise UserError(f"{project.name} has no trained run to export. Train a model first.")
    else:
        run = project.runs.get(int(run_id))
        if run is None:
            raise UserError(f"Run {run_id} does not exist in {project.name}.")
    resolve_model_ref(project, f"run:{run.id}")  # a clear error when the run has no model
    return run


def _model_dir(project: Any, run: Any) -> Path:
    from stsstudio.core.inference import resolve_model_ref

    return Path(resolve_model_ref(project, f"run:{run.id}"))


def _base_model_fields(base_model: str) -> tuple[str | None, str]:
    """The Hub id for the card's base-model link (when there is one) and a human label."""
    from stsstudio.core.models import describe_model, is_default, resolve_model

    label = describe_model(base_model)
    if is_default(base_model):
        return EMBEDDED_HUB_ID, f"{label} ({EMBEDDED_HUB_ID})"
    try:
        target = resolve_model(base_model)
    except UserError:
        return None, str(base_model)
    if Path(target).is_dir():
        return None, f"{label}: {target}"
    return target, target  # a Hub id


def _st_submodules() -> tuple[Any, Any]:
    """sentence-transformers' ``losses`` and ``evaluation``: v6 moved them under
    ``sentence_transformer`` and deprecated the top-level names, which older versions only have."""
    try:
        from sentence_transformers.sentence_transformer import evaluation, losses
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import evaluation, losses
    return losses, evaluation


def _loss_name(run: Any) -> tuple[str, bool]:
    """``("cosent", True)`` from a run recorded as loss "cosent+matryoshka" (or its config)."""
    config = run.config or {}
    recorded = str(run.loss or "").lower()
    name = str(config.get("loss") or recorded.split("+")[0]).lower()
    return name, bool(config.get("matryoshka")) or "matryoshka" in recorded


def _evaluate_split(model: Any, pairs: list[Any]) -> EvalResult | None:
    if len(pairs) < MIN_PAIRS or len({p.score for p in pairs}) < 2:
        return None
    return evaluate_pairs(model, [p.sentence1 for p in pairs], [p.sentence2 for p in pairs],
                          [p.score for p in pairs], pair_ids=[p.id for p in pairs])


def _fmt(value: float | None) -> str:
    return "–" if value is None or value != value else f"{value:.4f}"


def _appendix(project: Any, run: Any, base_label: str, dev: EvalResult | None,
              test: EvalResult | None) -> str:
    config = run.config or {}
    resolved = (getattr(run, "summary", None) or {}).get("schedule") or config.get("schedule") or {}

    def setting(key: str) -> Any:
        # Automatic settings are stored as None; the card gives what the schedule chose.
        value = config.get(key)
        if value is None and key in resolved:
            return f"{resolved[key]:g} (automatic)" if isinstance(resolved[key], float) else resolved[key]
        return "–" if value is None else value
    name, matryoshka = _loss_name(run)
    entry = get_loss(name)
    loss = entry.card_label if entry is not None else str(run.loss)
    if matryoshka:
        loss = f"Matryoshka({loss})"
    trained_on = ""
    if config.get("train_pairs") is not None:
        held = " held out from train" if config.get("dev_held_out") else ""
        trained_on = (f"| Trained on | {config['train_pairs']:,} labeled train pairs; evaluated on "
                      f"{config.get('dev_pairs') or 0:,} dev pairs{held} |")
        if config.get("cv_folds"):
            trained_on = (f"| Trained on | all {config['train_pairs']:,} labeled pairs, after a "
                          f"{config['cv_folds']}-fold cross-validation |")
    lines = [
        "",
        "## STS Studio",
        "",
        f"Fine-tuned with STS Studio from the project **{project.name}** (run {run.id}).",
        "",
        "| | |",
        "|:--|:--|",
        f"| Base model | {base_label} |",
        f"| Loss | {loss} |",
        f"| Epochs | {setting('epochs')} |",
        f"| Batch size | {config.get('batch_size', '–')} |",
        f"| Learning rate | {setting('learning_rate')} |",
        f"| Warmup ratio | {setting('warmup_ratio')} |",
        f"| Max sequence length | {config.get('max_seq_length') or 'model default'} |",
        f"| Seed | {config.get('seed', '–')} |",
        f"| Steps | {run.steps if run.steps is not None else '–'} |",
        f"| Device | {run.device or '–'} |",
        *([trained_on] if trained_on else []),
        f"| Dev Spearman before training | {_fmt(run.base_dev_spearman)} |",
        f"| Best dev Spearman during training | {_fmt(run.best_dev_spearman)}"
        f"{f' (step {run.best_step})' if run.best_step is not None else ''} |",
        f"| Dev Spearman (cosine) | {_fmt(dev.spearman if dev else None)}"
        f"{f' on {dev.pairs:,} pairs' if dev else ''} |",
        f"| Dev Pearson (cosine) | {_fmt(dev.pearson if dev else None)} |",
        f"| Test Spearman (cosine) | {_fmt(test.spearman if test else None)}"
        f"{f' on {test.pairs:,} pairs' if test else ''} |",
        f"| Test Pearson (cosine) | {_fmt(test.pearson if test else None)} |",
        "",
        "Correlations are computed with scipy from the cosine similarity of the exported model's "
        "embeddings against the project's labels (scaled to 0–1).",
        "",
    ]
    from stsstudio.core.calibration import card_section

    return "\n".join(lines) + card_section(project, run.id)


def _prepare(project: Any, run: Any, task: Any = None, total: int = 4) -> _Prepared:
    """Load the run's model and evaluate it on dev and test; the card is written from the run's
    records (:mod:`stsstudio.core.model_card`)."""
    from sentence_transformers import SentenceTransformer, SentenceTransformerModelCardData

    model_dir = _model_dir(project, run)
    _, base_label = _base_model_fields(run.base_model)
    from stsstudio.core.evaluation import split_trained

    # The card's figures never include pairs the run trained on (moved to dev or test later).
    dev_pairs, dev_leaked = split_trained(project, project.pairs.labeled("dev"), run.id)
    test_pairs, test_leaked = split_trained(project, project.pairs.labeled("test"), run.id)
    left_out = len(dev_leaked) + len(test_leaked)
    # The library writes its own card when a variant is saved; ours replaces it. No widget
    # examples (random, and slow), no Hub look-ups.
    card = SentenceTransformerModelCardData(local_files_only=True, generate_widget_examples=False)
    _progress(task, 0, total)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True,
                                        trust_remote_code=False, model_card_data=card)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - custom code, pickled or broken weights raise anything
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise UserError(f"Could not load the model of run {run.id} in {model_dir}: {first}") from None
    model.eval()
    _progress(task, 1, total)
    dev = _evaluate_split(model, dev_pairs)
    _progress(task, 2, total)
    test = _evaluate_split(model, test_pairs)
    _progress(task, 3, total)
    appendix = _appendix(project, run, base_label, dev, test)
    if left_out:
        appendix += (f"\n{left_out} dev/test pairs that run {run.id} trained on were left out of these "
                     "figures.\n")
    return _Prepared(model, run, appendix, dev, test,
                     _summary_section(project, run, base_label, FOLDER_PLACEHOLDER))


def _train_pair_count(project: Any, run: Any) -> int:
    config = run.config or {}
    if config.get("train_pairs") is not None:
        return int(config["train_pairs"])
    trained = project.runs.pair_ids(run.id, "train")
    return len(trained) if trained else len(project.pairs.labeled("train"))


def _card(project: Any, prepared: _Prepared, folder: str) -> str:
    """The card's front matter, title, summary and body, for the folder it is written to."""
    from stsstudio.core import model_card

    run = prepared.run
    base_id, base_label = _base_model_fields(run.base_model)
    entry = get_loss(_loss_name(run)[0])
    train_pairs = _train_pair_count(project, run)
    head = model_card.front_matter(project, run, base_id, entry.class_name if entry else None,
                                   train_pairs, [("dev", prepared.dev), ("test", prepared.test)])
    title = f"\n# {project.name} (STS Studio run {run.id})\n"
    text = (head + title + prepared.summary
            + model_card.body(project, run, prepared.model, base_label, folder, train_pairs,
                              prepared.dev, prepared.test)
            + prepared.appendix)
    return text.replace(FOLDER_PLACEHOLDER, folder)


def _summary_section(project: Any, run: Any, base_label: str, folder: str) -> str:
    """The card's plain summary, first thing under the title block: data, labels, gain with its
    interval, and how to load the folder. Written from the run's own records (its config and
    summary at training time), so the counts agree with what the run actually used."""
    from stsstudio.core.stats import headline

    config, summary = run.config or {}, getattr(run, "summary", None) or {}
    cv = summary.get("cv") or {}
    if cv:
        data = (f"{config.get('train_pairs', 0):,} labeled pairs, measured by {cv.get('folds')}-fold "
                "cross-validation, then trained on all of them")
    elif config.get("train_pairs") is not None:
        held = " held out from the labeled train pairs" if config.get("dev_held_out") else ""
        data = (f"{config['train_pairs']:,} labeled pairs; evaluated on {config.get('dev_pairs') or 0:,} dev "
                f"pairs{held}")
    else:
        data = "not recorded"
    lines = ["", "## In short", "",
             f"- **What:** a sentence-embedding model fine-tuned with STS Studio from {base_label}, on the "
             f"project *{project.name}* (run {run.id}).",
             f"- **Trained on:** {data}."]
    ci = summary.get("dev_spearman_ci")
    if run.best_dev_spearman is not None:
        interval = f" (95 % interval {ci[0]:.3f}–{ci[1]:.3f})" if ci and None not in ci else ""
        base = f"; the base model: {run.base_dev_spearman:.3f}" if run.base_dev_spearman is not None else ""
        lines.append(f"- **Dev Spearman:** {run.best_dev_spearman:.3f}{interval}{base}.")
    if summary.get("verdict"):
        words, _ = headline(summary.get("outcome", ""))
        lines.append(f"- **Result:** {words} {summary['verdict']}")
    ceiling = summary.get("human_ceiling") or {}
    if ceiling.get("summary"):
        lines.append(f"- **Human agreement:** {ceiling['summary']}")
    estimate = (summary.get("estimate") or {}).get("status")
    if estimate in ("pending", "cancelled", "failed") and not summary.get("verdict"):
        lines.append("- **Result:** not estimated yet: the model was exported before its cross-validation "
                     "estimate was made (Train view, or `stsstudio estimate`).")
    if summary.get("label_curve"):
        from stsstudio.core.label_curve import sentence

        lines.append(f"- **More labels:** {sentence(summary['label_curve'])}")
    elif estimate in ("pending", "cancelled", "failed"):
        lines.append("- **More labels:** not estimated yet (the run's estimate had not finished when this "
                     "model was exported).")
    for key in ("silver", "blend"):
        if key == "silver" and summary.get("silver"):
            lines.append(f"- **Silver pairs:** {summary['silver']['description']}.")
        if key == "blend" and summary.get("blend"):
            lines.append(f"- **Blend:** the tuned weights blended {summary['blend']:.0%} with the base "
                         "model's (weight-space ensembling).")
    lines += [f"- **Use it:** `SentenceTransformer(\"{folder}\")`, then `model.similarity(a, b)` on "
              "the embeddings of two sentences (cosine, higher is more similar).", ""]
    return "\n".join(lines)


def model_card_text(project: Any, run_id: int | None = None, *, format: str = "torch",
                    dims: int | None = None, measured: Any = None, folder: str | None = None) -> str:
    """The model card (README.md) that :func:`export_run` would write for a run.

    Args:
        project: the open project.
        run_id: the run; None for the best run.
        format, dims, measured: as for :func:`export_run`.
        folder: the export folder the card's load lines name (default: a placeholder path).

    Raises:
        UserError: no such run, or it has no model.
    """
    from stsstudio.core.export_formats import get_format

    fmt = get_format(format)
    run = _find_run(project, run_id)
    prepared = _prepare(project, run)
    folder = str(Path(folder).expanduser().resolve()) if folder else FOLDER_PLACEHOLDER
    return (_card(project, prepared, folder)
            + _variant_section(project, prepared.model, fmt, dims, measured, folder,
                               _model_dir(project, run)))


def _check_target(project: Any, run: Any, out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; choose a folder to export the model to.")
    model_dir = _model_dir(project, run)
    for protected, what in ((project.path, "the project folder"), (model_dir, "the run's model folder")):
        if out == protected or out in protected.parents:
            raise UserError(f"Exporting to {out} would replace {what}; choose another folder.")
    if model_dir in out.parents:
        raise UserError(f"{out} is inside the run's model folder; choose another folder.")
    project.refuse_own_file(out)  # the database, its lock, runs/ and cache/
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UserError(f"{out} is not empty. Choose an empty or new folder, or replace its "
                        "contents: tick \"Replace the folder if it is not empty\" (CLI: --force).")
    for above in out.parents:
        if above.exists():
            if not above.is_dir():
                raise UserError(f"cannot export to {out}: {above} is a file, not a folder.")
            break


def export_run(project: Any, out_dir: str | os.PathLike[str], run_id: int | None = None, *,
               with_data: bool = False, force: bool = False, task: Any = None,
               format: str = "torch", dims: int | None = None, measured: Any = None) -> Path:
    """Write a run's model, with its model card, to a folder.

    Args:
        project: the open project.
        out_dir: the target folder: new, empty, or (with ``force``) replaced.
        run_id: the run to export; None for the best run.
        with_data: also write the labeled pairs to ``data/labeled_pairs.csv`` and ``.jsonl``.
        force: replace a non-empty target folder.
        task: optional progress/cancel handle (``progress(done, total)``, ``is_cancelled()``).
        format: a name from :data:`export_formats.EXPORT_FORMATS` (torch, onnx, onnx-int8, ...).
        dims: a smaller embedding size (Matryoshka); the card's load call sets ``truncate_dim``.
        measured: the :class:`export_formats.VariantRow` of this variant from
            :func:`export_formats.compare_exports`, when it was measured: its figures go into the
            card and its probe score is what the written folder must reproduce.

    Returns:
        The target folder.

    Raises:
        UserError: no such run, no model, a non-empty target without ``force``, a target
            that would overwrite the project or the run itself, a format whose extra is not
            installed (the message names the pip line), or a written folder that, loaded back
            with its backend, does not score the probe pair within the format's tolerance.
        Cancelled: the task was cancelled; nothing is left behind.
    """
    from stsstudio.core.export_formats import get_format

    fmt = get_format(format)
    fmt.require()  # before any work: the missing extra is the whole message
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 1):
        raise UserError(f"the embedding size (--dims) must be a whole number of at least 1, not {dims}")
    out = Path(out_dir).expanduser().resolve()
    run = _find_run(project, run_id)
    _check_target(project, run, out, force)
    total = 6 if with_data else 5
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(out)
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out), suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise UserError(f"cannot export to {out}: {exc.strerror or exc}") from None
    apply_umask(tmp, folder=True)  # mkdtemp makes it 0700 whatever the umask
    try:
        _write_export(project, run, tmp, out, fmt, dims, measured, with_data, task, total)
        apply_umask_tree(tmp)   # the library writes the weights 0600: a colleague must read them
        _progress(task, total - 1, total)  # last chance to cancel before the swap
        _swap_into_place(tmp, out)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, a folder that became read-only, ...
            raise UserError(f"cannot export to {out}: {' '.join(str(exc.strerror or exc).split())}; "
                            "nothing was written.") from None
        raise
    if task is not None:
        task.progress(total, total)
    return out


def _write_export(project: Any, run: Any, tmp: Path, out: Path, fmt: Any, dims: int | None,
                  measured: Any, with_data: bool, task: Any, total: int) -> None:
    """Write the export into the temporary folder ``tmp``: the model in its format, checked,
    its card, its calibration and (``with_data``) the labeled pairs."""
    prepared = _prepare(project, run, task, total)
    full = getattr(prepared.model, "get_embedding_dimension", None) \
        or getattr(prepared.model, "get_sentence_embedding_dimension", lambda: None)
    full = full()
    if dims is not None and full and dims > full:
        raise UserError(f"the model has {full} dimensions; --dims must be at most that, not {dims}")
    from stsstudio.core.export_formats import verify_variant, write_variant

    write_variant(prepared.model, tmp, fmt, project)
    verify_variant(project, prepared.model, tmp, fmt, dims, measured)
    readme = tmp / "README.md"   # ours replaces the library's generic card
    readme.write_text(_card(project, prepared, str(out))
                      + _variant_section(project, prepared.model, fmt, dims, measured, str(out),
                                         tmp),
                      encoding="utf-8")
    from stsstudio.core.calibration import write_export_calibration

    write_export_calibration(project, run.id, tmp)   # issue 12: guesses on the user's scale
    _progress(task, 4, total)
    if with_data:
        from stsstudio.core.data_export import export_pairs

        (tmp / "data").mkdir()
        for name in DATA_FILES:
            export_pairs(project, tmp / "data" / name, labeled_only=True)
        _progress(task, 5, total)


def _variant_section(project: Any, model: Any, fmt: Any, dims: int | None, measured: Any,
                     folder: str = "path/to/this/folder", tokenizer_folder: Path | None = None) -> str:
    """The card's "How to load" section: the exact call, the figures measured for it, and the
    check the export makes (it writes nothing when the check fails, so a written card holds)."""
    from stsstudio.core.export_formats import expected_probe, format_size

    lines = ["", "## How to load this export", "",
             f"Format: **{fmt.label}**{f', truncated to {dims} dimensions' if dims else ''}. "
             f"{fmt.help}", ""]
    if fmt.backend == "torch":
        lines += ["```python", "from sentence_transformers import SentenceTransformer",
                  "", f"model = {fmt.load_call(folder, dims)}", "```", ""]
    else:
        from stsstudio.core.export_formats import load_snippet

        runtime = "onnxruntime" if fmt.backend == "onnx" else "openvino"
        lines += [f"It needs only `pip install {runtime} tokenizers numpy` (no torch):", "",
                  "```python", load_snippet(fmt, folder, dims, tokenizer_folder), "```", "",
                  "The torch model beside it still loads with `SentenceTransformer(folder)`.", ""]
    if measured is not None and getattr(measured, "available", False):
        ci = measured.delta_ci or (float("nan"), float("nan"))
        lines += ["Measured by STS Studio before writing, on this project's data:", "",
                  "| | |", "|:--|:--|",
                  f"| Dev Spearman | {_fmt(measured.spearman)} |",
                  f"| Change against the torch model | {measured.delta:+.4f} "
                  f"(95 % interval {ci[0]:+.4f} to {ci[1]:+.4f}) |",
                  *([f"| Worst cosine to the torch embedding | {measured.worst_cosine:.4f} |"]
                    if getattr(measured, "worst_cosine", None) is not None else []),
                  f"| Encode throughput | {measured.sentences_per_s:,.0f} sentences/s (CPU) |",
                  f"| Size on disk | {format_size(measured.size_bytes)} |", ""]
    target = expected_probe(project, model, dims, measured)
    if target is not None:
        (s1, s2), expected, source = target
        lines += [f"Checked when written: loaded back from disk with the call above, the probe pair "
                  f"“{s1[:60]}” / “{s2[:60]}” scores {expected:.4f} ± {fmt.tolerance:g} "
                  f"(the score from {source}).", ""]
    return "\n".join(lines)


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished folder onto the target; an existing target is moved aside first and
    deleted only after the new folder is in place, so a failure leaves the old one intact."""
    if not out.exists():
        os.replace(tmp, out)
        return
    stamp = _dt.datetime.now().strftime("%Y%m%d%H%M%S")
    old = out.with_name(f".{out.name}.old-{stamp}-{os.getpid()}")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
