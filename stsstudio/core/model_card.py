"""The model card (README.md) of an exported run, written from the run's own records.

Every figure comes from the project: the run's config and resolved schedule (hyperparameters),
its stored metrics (the training log), and the dev/test figures computed at export. Numbers are
rounded for reading; nothing is left as ``None`` and nothing comes from the library's generic
template (no Hub download line, no example sentences: the folder is local).
"""

from __future__ import annotations

import math
from typing import Any

from stsstudio.core.losses import get_loss

# Hyperparameters shown, in this order, with what an automatic (None) value means when the
# resolved schedule has no figure for it.
_SETTINGS: tuple[tuple[str, str, str | None], ...] = (
    ("loss", "Loss", None),
    ("epochs", "Epochs", None),
    ("batch_size", "Batch size", None),
    ("learning_rate", "Learning rate", None),
    ("warmup_ratio", "Warmup ratio", None),
    ("max_seq_length", "Max sequence length", "the model's own"),
    ("max_steps", "Max steps", "no cap"),
    ("eval_steps", "Evaluation every", None),
    ("seed", "Seed", None),
    ("select_best", "Keep the best checkpoint", None),
    ("matryoshka", "Matryoshka", None),
    ("cv_folds", "Cross-validation folds", "off"),
    ("group_by_length", "Batches grouped by length", None),
    ("device", "Device", None),
)


def number(value: Any, digits: int = 4) -> str:
    """A figure for reading: ``0.1`` not ``0.09999999999999998``, ``3e-05``, ``12``, ``yes``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if value == int(value) and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.{digits}g}"
    return str(value)


def rounded(value: Any, digits: int = 4) -> float | None:
    """``round(value, digits)`` for a finite number, else None."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return round(v, digits) if math.isfinite(v) else None


def hyperparameters(run: Any) -> list[tuple[str, str]]:
    """``(label, value)`` of each training setting, automatic ones as the schedule resolved them."""
    config = dict(run.config or {})
    resolved = (getattr(run, "summary", None) or {}).get("schedule") or config.get("schedule") or {}
    config.setdefault("loss", None)
    out: list[tuple[str, str]] = []
    for key, label, when_none in _SETTINGS:
        if key not in config and key not in resolved:
            continue
        value = config.get(key)
        if key == "loss":
            entry = get_loss(str(value or resolved.get("loss") or str(run.loss).split("+")[0]))
            out.append((label, entry.card_label if entry is not None else str(run.loss)))
            continue
        if value is None and resolved.get(key) is not None:
            out.append((label, f"{number(resolved[key])} (automatic)"))
        elif value is None and when_none is not None:
            out.append((label, when_none))
        elif value == 0 and when_none is not None:
            out.append((label, when_none))   # cv_folds 0: off
        elif value is not None:
            text = number(value)
            out.append((label, f"{text} steps" if key == "eval_steps" else text))
    return out


def training_log(project: Any, run: Any) -> list[dict[str, Any]]:
    """The run's stored loss and dev figures by step: ``{"step", "epoch", "loss", "spearman",
    "pearson"}`` (each rounded to 4 digits; a missing figure is None)."""
    names = {"loss": "loss", "dev_spearman": "spearman", "dev_pearson": "pearson"}
    by_step: dict[int, dict[str, Any]] = {}
    for step, name, value, epoch in project.runs.metric_rows(run.id):
        key = names.get(str(name))
        if key is None:
            continue
        line = by_step.setdefault(int(step), {"step": int(step), "epoch": None, "loss": None,
                                               "spearman": None, "pearson": None})
        if epoch is not None:
            line["epoch"] = rounded(epoch, 2)
        line[key] = rounded(value)
    return [by_step[s] for s in sorted(by_step)]


def front_matter(project: Any, run: Any, base_id: str | None, loss_class: str | None,
                 train_pairs: int, results: list[tuple[str, Any]]) -> str:
    """The YAML block the Hub reads: library, tags, base model and the dev/test figures."""
    tags = ["sentence-transformers", "sentence-similarity", "feature-extraction", "stsstudio"]
    if loss_class:
        tags.append(f"loss:{loss_class}")
    tags.append(f"dataset_size:{train_pairs}")
    lines = ["---", "library_name: sentence-transformers", "pipeline_tag: sentence-similarity",
             "tags:", *[f"- {t}" for t in tags]]
    if base_id:
        lines.append(f"base_model: {base_id}")
    measured = [(name, r) for name, r in results if r is not None]
    if measured:
        lines += ["model-index:", f"- name: {_yaml(f'{project.name} (STS Studio run {run.id})')}",
                  "  results:"]
        for name, r in measured:
            lines += ["  - task:", "      type: semantic-similarity", "      name: Semantic Similarity",
                      "    dataset:", f"      name: {_yaml(f'{project.name} {name}')}",
                      f"      type: {name}", "    metrics:"]
            for metric, value in (("pearson_cosine", r.pearson), ("spearman_cosine", r.spearman)):
                if rounded(value) is not None:
                    lines += [f"    - type: {metric}", f"      value: {rounded(value)}",
                              f"      name: {metric.replace('_', ' ').title()}"]
    lines.append("---")
    return "\n".join(lines) + "\n"


def _yaml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def body(project: Any, run: Any, model: Any, base_label: str, folder: str,
         train_pairs: int, dev: Any, test: Any) -> str:
    """Model details, usage from the folder, hyperparameters, the training log and the figures."""
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    lines = ["", "## Model Details", "", "| | |", "|:--|:--|",
             "| Model type | Sentence Transformer |",
             f"| Base model | {base_label} |",
             f"| Max sequence length | {int(getattr(model, 'max_seq_length', 0) or 0)} tokens |",
             f"| Output dimensions | {int(dimension())} |",
             "| Similarity function | cosine |",
             f"| Training data | {train_pairs:,} labeled pairs of the project *{project.name}* |",
             "", "## Usage", "", "```python", "from sentence_transformers import SentenceTransformer", "",
             f'model = SentenceTransformer("{folder}")',
             'embeddings = model.encode(["first sentence", "second sentence"])',
             "similarity = model.similarity(embeddings[0], embeddings[1])  # cosine, higher is more similar",
             "```", "", "## Training Details", "", "### Hyperparameters", ""]
    lines += [f"- {label}: {value}" for label, value in hyperparameters(run)]
    log = training_log(project, run)
    if log:
        kept = run.best_step
        lines += ["", "### Training Log", "",
                  "Loss and dev Spearman as recorded during training (step 0: the base model"
                  + ("; the kept step is in bold" if kept is not None else "") + ").", "",
                  "| Epoch | Step | Training loss | Dev Spearman | Dev Pearson |",
                  "|:--|:--|:--|:--|:--|"]
        for line in log:
            cells = [number(line["epoch"]) if line["epoch"] is not None else "–", str(line["step"]),
                     *(str(line[k]) if line[k] is not None else "–"   # rounded to 4 places
                       for k in ("loss", "spearman", "pearson"))]
            if kept is not None and line["step"] == kept:
                cells = [f"**{c}**" for c in cells]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Evaluation", "", "| Split | Pairs | Spearman (cosine) | Pearson (cosine) |",
              "|:--|:--|:--|:--|"]
    for name, r in (("dev", dev), ("test", test)):
        if r is not None:
            lines.append(f"| {name} | {r.pairs:,} | {number(rounded(r.spearman))} | "
                         f"{number(rounded(r.pearson))} |")
        else:
            lines.append(f"| {name} | – | – | – |")
    return "\n".join(lines) + "\n"
