"""The loss registry: the one list of training losses.

Training builds the loss from it, the model card names it, the Train view's form and the CLI's
``--loss`` choices list it. Add a loss here and every one of them offers it.

sentence-transformers is imported inside :func:`build_loss` only: the GUI imports this module on
its start-up path, before torch may be loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Loss:
    """One training loss.

    Attributes:
        name: the key stored with a run and passed as ``--loss`` ("cosine").
        label: the short name the form shows ("CosineSimilarity").
        help: one sentence on when to choose it (the form's hint).
        class_name: the sentence-transformers class in its ``losses`` module.
        card_label: the name the model card's table shows.
    """

    name: str
    label: str
    help: str
    class_name: str
    card_label: str


# In the form's order. The first is the default, chosen by measurement on STSb dev (MiniLM-L6,
# 1 epoch, batch 16); see bench/train_throughput.py and bench/loss_sweep.py.
LOSSES: tuple[Loss, ...] = (
    Loss("cosine", "CosineSimilarity",
         "Regresses the cosine onto your scores. A safe default for graded 0–1 labels.",
         "CosineSimilarityLoss", "CosineSimilarityLoss"),
    Loss("cosent", "CoSENT",
         "Learns only the ranking of pairs. Good when scores are consistent but not calibrated.",
         "CoSENTLoss", "CoSENT"),
    Loss("angle", "AnglE",
         "CoSENT in angle space; can help when many pairs are near-duplicates (cosine ≈ 1).",
         "AnglELoss", "AnglE"),
)
LOSS_NAMES: tuple[str, ...] = tuple(loss.name for loss in LOSSES)
DEFAULT_LOSS = LOSSES[0].name


def get_loss(name: str) -> Loss | None:
    """The registry entry called ``name``, or None."""
    return next((loss for loss in LOSSES if loss.name == name), None)


def st_losses() -> Any:
    """sentence-transformers' ``losses`` module. v6 moved it under ``sentence_transformer`` and
    deprecates the top-level name (a warning at import); older versions only have that one."""
    try:
        from sentence_transformers.sentence_transformer import losses
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers import losses  # type: ignore[no-redef]
    return losses


def matryoshka_dims(model: Any) -> list[int]:
    """The engine's Matryoshka sizes: the full embedding size and its halvings down to 8."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = getter() or 0
    return [d for d in (dim, dim // 2, dim // 4, dim // 8) if d >= 8] or [dim]


def build_loss(name: str, model: Any, matryoshka: bool = False,
               dims: list[int] | None = None) -> Any:
    """The sentence-transformers loss ``name`` for ``model``, wrapped in MatryoshkaLoss if asked.

    Args:
        name: a registry name (see :data:`LOSS_NAMES`).
        model: the SentenceTransformer being trained.
        matryoshka: wrap the loss in ``MatryoshkaLoss``.
        dims: the Matryoshka sizes; None takes :func:`matryoshka_dims`.

    Raises:
        KeyError: ``name`` is not in the registry.
    """
    entry = get_loss(name)
    if entry is None:
        raise KeyError(name)
    losses = st_losses()
    base = getattr(losses, entry.class_name)(model)
    if not matryoshka:
        return base
    return losses.MatryoshkaLoss(model, base, matryoshka_dims=list(dims or matryoshka_dims(model)))
