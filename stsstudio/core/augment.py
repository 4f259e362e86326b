"""Silver pairs (Augmented SBERT): a cross-encoder trained on the expert's labels scores more pairs.

A small project has few labels but more text: unlabelled pairs and the sentence pool. Augmented
SBERT (Thakur et al., 2021) trains a cross-encoder on the gold pairs, lets it label sampled
unlabelled pairs ("silver"), and trains the bi-encoder on gold plus silver. The paper stresses
that how the silver pairs are sampled decides the gain; here they come from

1. the project's own unlabelled pairs (what the expert imported or had suggested), then
2. new pairs of the project's sentences drawn by predicted similarity into the suggest-pairs
   strata (:mod:`stsstudio.core.suggest`, near / mid / far), so the silver labels cover the whole
   range rather than piling up near 0.

Rules every silver set keeps (tests/core/test_augment.py):

* **No leakage.** No silver pair contains a sentence of ``exclude_sentences`` (the caller passes
  every dev and test sentence; the project wrapper adds every sentence of the project's dev and
  test pairs and pool itself), compared as the project compares sentences (case and spacing
  folded, :func:`stsstudio.core.hashing.normalise_sentence`).
* **Never a labelled pair.** A gold pair, or any labelled pair of the project, in either order,
  never comes back as silver.
* **Deterministic.** The same data, base model and seed give the same pairs and scores.
* **Cancel leaves nothing half-made.** ``cancel()`` returning True raises
  :class:`~stsstudio.core.errors.Cancelled`; no partial set is returned.

Measured (bench/augment_time.py, STSb, embedded model, one seed; bench/results/augment_time.jsonl):
the cross-encoder that starts from the embedded *bi*-encoder is weaker than the base model itself
at these sizes. Its silver scores (labelled in one order) had a Spearman of 0.58 against the true
STSb scores at 100 labels and 0.73 at 300, where the base model's cosine on the same pairs gave
0.78 and 0.79 (on 300 test pairs: 0.69 and 0.78 against the base's 0.85). Whether silver pays off
is for the schedule's bench to show; these numbers say the gold must outweigh the silver at small
sizes.

The list-based :func:`make_silver` needs no project (``bench/small_data.py`` calls it with plain
lists); :func:`silver_pairs` is the thin project-facing wrapper around it.
"""

from __future__ import annotations

import math
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stsstudio.core.errors import Cancelled, UserError

# The default size rule: SILVER_PER_GOLD silver pairs per label, at most MAX_SILVER, and never
# more than the candidates available (:func:`silver_count`).
SILVER_PER_GOLD = 4
MAX_SILVER = 2_000
# Below this many labels a cross-encoder learns too little to label anything: no silver.
MIN_GOLD = 20
# At most this many sentences are recombined into new pairs (a seeded sample beyond it): enough
# for MAX_SILVER pairs in every stratum, and it bounds the time spent embedding a large pool.
MAX_RECOMBINED_SENTENCES = 5_000

# The cross-encoder's schedule: sentence-transformers' STSb cross-encoder recipe (batch 16,
# 4 epochs, 10 % warm-up), with both orders of each gold pair (the paper's symmetric training).
# Small data gets more epochs: at least CE_MIN_STEPS optimisation steps, at most CE_MAX_EPOCHS.
CE_BATCH_SIZE = 16
CE_EPOCHS = 4
CE_MIN_STEPS = 100
CE_MAX_EPOCHS = 12
CE_LEARNING_RATE = 5e-5
CE_WARMUP_RATIO = 0.1
CE_MAX_LENGTH = 128
LABEL_BATCH_SIZE = 64

Pair = tuple[str, str]
ScoredPair = tuple[str, str, float]


@dataclass
class SilverSet:
    """Silver pairs and what the Train view says about them.

    Attributes:
        pairs: ``(sentence1, sentence2, score)`` with the score in 0..1 (the stored scale).
        description: one sentence for the user, e.g. "1,200 silver pairs from your unlabelled
            pairs, labelled by a cross-encoder trained on your 300 labels".
        seconds: wall time of the whole job (cross-encoder training and labelling included).
        gold: labels the cross-encoder trained on.
        candidates: candidate pairs that were left after the leakage and duplicate filters.
        from_unlabelled: silver pairs that are the project's unlabelled pairs.
        from_sentences: silver pairs newly made from the project's sentences (strata).
        seconds_train: of ``seconds``, training the cross-encoder.
        seconds_label: of ``seconds``, labelling the silver pairs.
    """

    pairs: list[ScoredPair] = field(default_factory=list)
    description: str = ""
    seconds: float = 0.0
    gold: int = 0
    candidates: int = 0
    from_unlabelled: int = 0
    from_sentences: int = 0
    seconds_train: float = 0.0
    seconds_label: float = 0.0

    def __len__(self) -> int:
        return len(self.pairs)

    def as_dict(self, with_pairs: bool = False) -> dict[str, Any]:
        out = asdict(self)
        out["count"] = len(self.pairs)
        if not with_pairs:
            out.pop("pairs")
        return out


def silver_count(gold: int, candidates: int) -> int:
    """The default number of silver pairs: ``SILVER_PER_GOLD`` per label, at most ``MAX_SILVER``,
    and no more than the ``candidates`` available; none below ``MIN_GOLD`` labels."""
    if gold < MIN_GOLD:
        return 0
    return max(0, min(SILVER_PER_GOLD * gold, MAX_SILVER, candidates))


# --------------------------------------------------------------------------------------
# Identity of sentences and pairs (the project's own: case and spacing folded)


def _sentence_keys(sentences: Sequence[str]) -> list[int]:
    from stsstudio.core.hashing import sentence_hashes

    if not sentences:
        return []
    return [int(h) for h in sentence_hashes(list(sentences), list(sentences)).tolist()]


def _pair_keys(pairs: Sequence[Sequence[Any]]) -> list[int]:
    from stsstudio.core.hashing import pair_hashes

    if not pairs:
        return []
    return [int(h) for h in pair_hashes([p[0] for p in pairs], [p[1] for p in pairs]).tolist()]


def clean_candidates(candidates: Iterable[Sequence[Any]], *, exclude_sentences: Iterable[str] = (),
                     exclude_pairs: Iterable[Sequence[Any]] = (),
                     exclude_pair_keys: Iterable[int] = ()) -> list[Pair]:
    """The candidates, in order, without any pair that holds an excluded sentence, that equals an
    excluded pair (either order), that repeats an earlier candidate (A,B = B,A), or whose two
    sentences are the same."""
    cands = [(str(c[0]), str(c[1])) for c in candidates]
    banned = set(_sentence_keys(list(dict.fromkeys(str(s) for s in exclude_sentences))))
    seen = set(_pair_keys(list(exclude_pairs))) | {int(k) for k in exclude_pair_keys}
    k1 = _sentence_keys([c[0] for c in cands])
    k2 = _sentence_keys([c[1] for c in cands])
    keys = _pair_keys(cands)
    out: list[Pair] = []
    for cand, a, b, key in zip(cands, k1, k2, keys):
        if a == b or a in banned or b in banned or key in seen:
            continue
        seen.add(key)
        out.append(cand)
    return out


# --------------------------------------------------------------------------------------
# Candidates


class _Task:
    """The ``progress``/``is_cancelled`` handle that suggest and inference check."""

    def __init__(self, cancel: Callable[[], bool] | None) -> None:
        self._cancel = cancel

    def progress(self, done: int, total: int) -> None:
        pass

    def is_cancelled(self) -> bool:
        return bool(self._cancel and self._cancel())


def _check(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled()


def recombined_pairs(sentences: Sequence[str], n: int, *, model: Any = "default", seed: int = 0,
                     exclude_sentences: Iterable[str] = (), exclude_pair_keys: Iterable[int] = (),
                     device: str = "auto", cancel: Callable[[], bool] | None = None) -> list[Pair]:
    """New pairs of ``sentences`` drawn into the suggest-pairs strata by the model's similarity.

    Args:
        sentences: the sentences to pair (duplicates and excluded ones are dropped first).
        n: pairs wanted, split over the strata by :func:`stsstudio.core.suggest.plan_mix`.
        model: a loaded bi-encoder or a model reference (default: the embedded model).
        seed: the same sentences, model and seed give the same pairs.
        exclude_sentences: sentences no pair may contain.
        exclude_pair_keys: pair keys (:func:`stsstudio.core.hashing.pair_hash`) never to make.
        device: where the model runs when it is loaded here.
        cancel: returns True to stop (raises :class:`Cancelled`).

    Returns:
        Up to ``n`` pairs; fewer when the sentences do not give more.
    """
    import numpy as np

    from stsstudio.core import suggest
    from stsstudio.core.hashing import sentence_hashes
    from stsstudio.core.inference import encode, get_model

    if n <= 0:
        return []
    banned = set(_sentence_keys(list(dict.fromkeys(str(s) for s in exclude_sentences))))
    texts: list[str] = []
    keys: set[int] = set()
    unique = list(dict.fromkeys(str(s) for s in sentences if str(s).strip()))
    for text, key in zip(unique, _sentence_keys(unique)):
        if key not in banned and key not in keys:
            keys.add(key)
            texts.append(text)
    if len(texts) < 2:
        return []
    rng = np.random.default_rng(seed)
    if len(texts) > MAX_RECOMBINED_SENTENCES:
        keep = np.sort(rng.choice(len(texts), MAX_RECOMBINED_SENTENCES, replace=False))
        texts = [texts[i] for i in keep.tolist()]
    task = _Task(cancel)
    emb = encode(get_model(model, device), texts, task=task)
    hashes = sentence_hashes(texts, texts)
    method = ("adaptive" if len(texts) > suggest.EXACT_LIMIT and suggest.index_available()
              else "exact")
    chosen, _ = suggest._pick_group(emb, np.arange(len(texts)), hashes, suggest.plan_mix(n),
                                    {int(k) for k in exclude_pair_keys}, rng, method, task)
    # The strata come in blocks; interleave them, as suggest does for the label queue.
    order = rng.permutation(len(chosen)).tolist()
    return [(texts[chosen[k][0]], texts[chosen[k][1]]) for k in order][:n]


_HELD_OUT = ("dev", "test")


def _project_exclusions(pairs: Sequence[Any], pool_texts: Sequence[str],
                        pool_splits: Sequence[str | None]) -> list[str]:
    """Every sentence of the project's dev and test pairs and of its dev and test pool."""
    excluded: list[str] = []
    for pair in pairs:
        if pair.split in _HELD_OUT:
            excluded += [pair.sentence1, pair.sentence2]
    excluded += [t for t, s in zip(pool_texts, pool_splits) if s in _HELD_OUT]
    return excluded


def candidates_from(unlabelled: Sequence[Sequence[str]], sentences: Sequence[str], *, limit: int,
                    exclude_sentences: Iterable[str] = (), exclude_pairs: Sequence[Sequence[Any]] = (),
                    existing_pair_keys: Iterable[int] = (), seed: int = 0, model: Any = "default",
                    device: str = "auto", cancel: Callable[[], bool] | None = None
                    ) -> tuple[list[Pair], int]:
    """:func:`candidate_pairs` on plain lists (no project): the bench's way in.

    Args:
        unlabelled: pairs without a label, taken first (in a seeded order).
        sentences: sentences to pair anew into the suggest-pairs strata for the rest.
        limit: at most this many pairs.
        exclude_sentences: sentences no candidate may contain (every dev and test sentence).
        exclude_pairs: pairs never to return, in either order (every labelled pair).
        existing_pair_keys: keys (:func:`stsstudio.core.hashing.pair_hash`) of pairs that exist
            already, labelled or not: new pairs are never one of them.
        seed, model, device, cancel: as :func:`recombined_pairs`.

    Returns:
        ``(pairs, k)``: up to ``limit`` pairs, of which the first ``k`` are unlabelled ones.
    """
    import numpy as np

    if limit <= 0:
        return [], 0
    excluded = list(exclude_sentences)
    labelled = set(_pair_keys(list(exclude_pairs)))
    order = np.random.default_rng(seed).permutation(len(unlabelled)).tolist()
    own = clean_candidates([unlabelled[i] for i in order], exclude_sentences=excluded,
                           exclude_pair_keys=labelled)[:limit]
    _check(cancel)
    if len(own) >= limit:
        return own, len(own)
    new = recombined_pairs(sentences, limit - len(own), model=model, seed=seed, exclude_sentences=excluded,
                           exclude_pair_keys={int(k) for k in existing_pair_keys} | labelled
                           | set(_pair_keys(own)), device=device, cancel=cancel)
    return own + new, len(own)


def _candidates(project: Any, *, exclude_sentences: Iterable[str], limit: int, seed: int,
                model: Any, device: str, cancel: Callable[[], bool] | None) -> tuple[list[Pair], int]:
    """:func:`candidate_pairs` and how many of them are the project's unlabelled pairs."""
    if limit <= 0:
        return [], 0
    every = project.pairs.all()
    _ids, texts, splits = project.pool.columns()
    unlabelled = [(p.sentence1, p.sentence2) for p in every if p.score is None and p.split not in _HELD_OUT]
    # The paper's recombination: the pool and the train pairs' own sentences, paired anew.
    sentences = [t for t, s in zip(texts, splits) if s not in _HELD_OUT]
    for p in every:
        if p.split not in _HELD_OUT:
            sentences += [p.sentence1, p.sentence2]
    return candidates_from(
        unlabelled, sentences, limit=limit, seed=seed, model=model, device=device, cancel=cancel,
        exclude_sentences=[*exclude_sentences, *_project_exclusions(every, texts, splits)],
        exclude_pairs=[(p.sentence1, p.sentence2) for p in every if p.score is not None],
        existing_pair_keys=project.pairs.hashes())


def candidate_pairs(project: Any, *, exclude_sentences: Iterable[str] = (), limit: int = MAX_SILVER,
                    seed: int = 0, model: Any = "base", device: str = "auto",
                    cancel: Callable[[], bool] | None = None) -> list[Pair]:
    """Pairs to label as silver: the project's unlabelled pairs first, then new pairs of its
    sentences drawn into the suggest-pairs strata.

    Args:
        project: the open project.
        exclude_sentences: sentences no candidate may contain (every dev and test sentence of the
            run); the sentences of the project's dev and test pairs and pool are always excluded.
        limit: at most this many pairs.
        seed: the same project and seed give the same candidates (in the same order).
        model: the bi-encoder that embeds the sentences for the strata: ``"base"`` (the project's
            base model), another model reference or a loaded model.
        device: where that model runs.
        cancel: returns True to stop (raises :class:`Cancelled`).

    Returns:
        Up to ``limit`` pairs, none labelled, none in a dev or test split, no duplicates.
    """
    if model == "base":
        from stsstudio.core.inference import resolve_model_ref

        model = resolve_model_ref(project, "base")
    return _candidates(project, exclude_sentences=exclude_sentences, limit=limit, seed=seed,
                       model=model, device=device, cancel=cancel)[0]


# --------------------------------------------------------------------------------------
# The cross-encoder


def ce_schedule(gold: int, epochs: int | None = None) -> tuple[int, int]:
    """``(epochs, steps)`` of the cross-encoder for ``gold`` labels (both orders of each pair).

    ``CE_EPOCHS`` epochs, raised for small data to reach ``CE_MIN_STEPS`` steps, at most
    ``CE_MAX_EPOCHS``; an explicit ``epochs`` wins.
    """
    per_epoch = max(1, math.ceil(2 * gold / CE_BATCH_SIZE))
    if epochs is None:
        epochs = min(CE_MAX_EPOCHS, max(CE_EPOCHS, math.ceil(CE_MIN_STEPS / per_epoch)))
    if epochs < 1:
        raise UserError(f"the cross-encoder needs at least one epoch, not {epochs}")
    return epochs, epochs * per_epoch


def _base_folder(base: str | Path | None) -> str:
    from stsstudio.core.models import check_model_folder, default_model_dir

    folder = Path(base) if base is not None else default_model_dir()
    if not folder.is_dir():
        raise UserError(f"The cross-encoder's base model folder {folder} does not exist.")
    check_model_folder(folder)
    return str(folder)


def train_cross_encoder(gold: Sequence[Sequence[Any]], *, base: str | Path | None = None, seed: int = 0,
                        device: str = "auto", epochs: int | None = None,
                        cancel: Callable[[], bool] | None = None) -> Any:
    """A cross-encoder (one output, 0..1 through a sigmoid) trained on the gold pairs.

    Args:
        gold: ``(sentence1, sentence2, score)`` with scores in 0..1; each pair is trained in both
            orders, with binary cross-entropy on the score.
        base: a local transformer folder (default: the embedded all-MiniLM-L6-v2, so nothing is
            downloaded); its encoder weights are kept and a new one-output head is added.
        seed: the same gold pairs and seed give the same model.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        epochs: override the small-data rule of :func:`ce_schedule`.
        cancel: returns True to stop; checked at every step (raises :class:`Cancelled`).

    Returns:
        A ``sentence_transformers.CrossEncoder``.
    """
    from datasets import Dataset
    from sentence_transformers import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import PrinterCallback, TrainerCallback, set_seed
    from transformers.utils import logging as hf_logging

    from stsstudio.core.devices import precision_for, resolve_device

    rows = [(str(a), str(b), float(s)) for a, b, s in gold]
    if not rows:
        raise UserError("The cross-encoder needs labelled pairs to train on.")
    bad = [s for _a, _b, s in rows if not 0.0 <= s <= 1.0]
    if bad:
        raise UserError(f"Gold scores must be on the stored 0 to 1 scale; {bad[0]} is not.")
    _check(cancel)
    folder = _base_folder(base)
    dev = resolve_device(device)
    set_seed(int(seed))  # the new head's initial weights
    verbosity = hf_logging.get_verbosity()
    try:
        # The new head is expected: no "converting a SentenceTransformer model" or load report.
        hf_logging.set_verbosity_error()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = CrossEncoder(folder, num_labels=1, max_length=CE_MAX_LENGTH, device=dev.id,
                                 local_files_only=True, trust_remote_code=False)
    finally:
        hf_logging.set_verbosity(verbosity)
    epochs, steps = ce_schedule(len(rows), epochs)
    data = Dataset.from_dict({
        "sentence1": [a for a, _b, _s in rows] + [b for _a, b, _s in rows],
        "sentence2": [b for _a, b, _s in rows] + [a for a, _b, _s in rows],
        "label": [s for _a, _b, s in rows] * 2,
    })

    class _Stop(TrainerCallback):
        stopped = False

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            if cancel is not None and cancel():
                control.should_training_stop = True
                self.stopped = True
            return control

    stop = _Stop()
    precision = precision_for(dev)
    with tempfile.TemporaryDirectory(prefix="stsstudio_ce_") as tmp:
        args = CrossEncoderTrainingArguments(
            output_dir=tmp, num_train_epochs=epochs, max_steps=steps,
            per_device_train_batch_size=CE_BATCH_SIZE, learning_rate=CE_LEARNING_RATE,
            warmup_steps=math.ceil(steps * CE_WARMUP_RATIO), seed=int(seed), data_seed=int(seed),
            eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none",
            disable_tqdm=True, use_cpu=dev.kind == "cpu", bf16=precision["bf16"], fp16=precision["fp16"],
            dataloader_pin_memory=dev.kind == "cuda")
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data,
                                      loss=BinaryCrossEntropyLoss(model), callbacks=[stop])
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    if stop.stopped:
        raise Cancelled()
    model.eval()
    return model


def label_silver(cross_encoder: Any, pairs: Sequence[Sequence[str]], batch_size: int = LABEL_BATCH_SIZE,
                 cancel: Callable[[], bool] | None = None) -> list[float]:
    """Scores in 0..1 for ``pairs``: the cross-encoder's mean over both orders of each pair.

    Both orders, as the cross-encoder trained: the schedule's bench measured silver labelled this
    way (bench/small_data.py). Labelling is cheap beside training (400 pairs took 11 s against
    222 s for the training at 100 labels, bench/augment_time.py).

    Raises:
        Cancelled: ``cancel()`` returned True (checked between chunks of a few batches).
    """
    import numpy as np

    items = [(str(p[0]), str(p[1])) for p in pairs]
    out: list[float] = []
    chunk = max(1, batch_size) * 8
    for start in range(0, len(items), chunk):
        _check(cancel)
        part = items[start:start + chunk]
        both = part + [(b, a) for a, b in part]
        scores = np.asarray(cross_encoder.predict(both, batch_size=batch_size, show_progress_bar=False,
                                                  convert_to_numpy=True), dtype=np.float64).reshape(-1)
        out += np.clip((scores[:len(part)] + scores[len(part):]) / 2, 0.0, 1.0).tolist()
    return out


# --------------------------------------------------------------------------------------
# Silver sets


def describe_silver(count: int, gold: int, from_unlabelled: int | None = None,
                    from_sentences: int = 0) -> str:
    """The Train view's sentence about a silver set."""
    if count == 0:
        return "No silver pairs."
    if from_unlabelled is None:
        source = ""
    elif from_sentences == 0:
        source = " from your unlabelled pairs"
    elif from_unlabelled == 0:
        source = " made from your sentences"
    else:
        source = (f" ({from_unlabelled:,} from your unlabelled pairs, {from_sentences:,} made from "
                  "your sentences)")
    return (f"{count:,} silver pair{'s' if count != 1 else ''}{source}, labelled by a cross-encoder "
            f"trained on your {gold:,} label{'s' if gold != 1 else ''}")


def _none(reason: str, gold: int, candidates: int, started: float) -> SilverSet:
    return SilverSet([], f"No silver pairs: {reason}.", time.perf_counter() - started, gold, candidates)


def make_silver(gold: Sequence[Sequence[Any]], candidates: Sequence[Sequence[str]], *,
                exclude_sentences: Iterable[str] = (), n_silver: int | None = None, seed: int = 0,
                device: str = "auto", base: str | Path | None = None,
                cancel: Callable[[], bool] | None = None, status: Callable[[str], None] | None = None,
                unlabelled: int | None = None, epochs: int | None = None) -> SilverSet:
    """Label candidate pairs with a cross-encoder trained on the gold pairs (no project needed).

    Args:
        gold: ``(sentence1, sentence2, score)``, scores in 0..1.
        candidates: pairs to label, best first; pairs holding an excluded sentence, gold pairs and
            repeats are dropped, then the first ``n_silver`` are kept.
        exclude_sentences: sentences no silver pair may contain (every dev and test sentence).
        n_silver: silver pairs wanted (default: :func:`silver_count`).
        seed: the same inputs and seed give the same silver set and scores.
        device: where the cross-encoder trains and labels.
        base: the cross-encoder's starting transformer folder (default: the embedded model).
        cancel: returns True to stop (raises :class:`Cancelled`; nothing is returned).
        status: called with a short line at each stage.
        unlabelled: how many of the first candidates are the project's unlabelled pairs (only for
            the description).
        epochs: the cross-encoder's epochs (default: the small-data rule of :func:`ce_schedule`).

    Returns:
        A :class:`SilverSet` (empty, with the reason, when there is nothing to do).
    """
    started = time.perf_counter()
    say = status or (lambda _text: None)
    gold_rows = [(str(a), str(b), float(s)) for a, b, s in gold]
    cands = clean_candidates(candidates, exclude_sentences=exclude_sentences, exclude_pairs=gold_rows)
    n = (silver_count(len(gold_rows), len(cands)) if n_silver is None
         else max(0, min(int(n_silver), len(cands))))
    if len(gold_rows) < MIN_GOLD:
        return _none(f"a cross-encoder needs at least {MIN_GOLD} labels", len(gold_rows), len(cands),
                     started)
    if n == 0:
        return _none("no unlabelled pairs or sentences to pair", len(gold_rows), len(cands), started)
    chosen = cands[:n]
    _check(cancel)
    say(f"Training a cross-encoder on {len(gold_rows):,} labels…")
    t0 = time.perf_counter()
    model = train_cross_encoder(gold_rows, base=base, seed=seed, device=device, epochs=epochs,
                                cancel=cancel)
    seconds_train = time.perf_counter() - t0
    say(f"Labelling {n:,} silver pairs…")
    t0 = time.perf_counter()
    scores = label_silver(model, chosen, cancel=cancel)
    seconds_label = time.perf_counter() - t0
    del model
    own = None if unlabelled is None else min(unlabelled, n)
    fresh = 0 if own is None else n - own
    return SilverSet(
        pairs=[(a, b, s) for (a, b), s in zip(chosen, scores)],
        description=describe_silver(n, len(gold_rows), own, fresh),
        seconds=time.perf_counter() - started, gold=len(gold_rows), candidates=len(cands),
        from_unlabelled=own or 0, from_sentences=fresh, seconds_train=seconds_train,
        seconds_label=seconds_label)


def silver_pairs(project: Any, *, gold: Sequence[Sequence[Any]] | None = None,
                 exclude_sentences: Iterable[str] = (), n_silver: int | None = None, seed: int = 0,
                 device: str = "auto", model: Any = "base", base: str | Path | None = None,
                 cancel: Callable[[], bool] | None = None, status: Callable[[str], None] | None = None,
                 epochs: int | None = None) -> SilverSet:
    """Silver pairs for a project: :func:`candidate_pairs`, then :func:`make_silver`.

    Args:
        project: the open project.
        gold: the labels the run trains on, ``(sentence1, sentence2, score)`` in 0..1 (default:
            every labelled train pair).
        exclude_sentences: every dev and test sentence of the run (the project's dev and test
            sentences are always excluded).
        n_silver: silver pairs wanted (default: :func:`silver_count`).
        seed, device, base, cancel, status, epochs: as :func:`make_silver`.
        model: the bi-encoder that draws new pairs into the strata (default: the base model).

    Returns:
        A :class:`SilverSet`.
    """
    if gold is None:
        gold = [(p.sentence1, p.sentence2, float(p.score)) for p in project.pairs.labeled("train")]
    gold = list(gold)
    excluded = list(exclude_sentences)
    limit = n_silver if n_silver is not None else silver_count(len(gold), MAX_SILVER)
    say = status or (lambda _text: None)
    if limit > 0:
        say("Choosing pairs to label as silver…")
    if model == "base":
        from stsstudio.core.inference import resolve_model_ref

        model = resolve_model_ref(project, "base")
    started = time.perf_counter()
    cands, own = _candidates(project, exclude_sentences=excluded, limit=max(0, limit), seed=seed,
                             model=model, device=device, cancel=cancel)
    result = make_silver(gold, cands, exclude_sentences=excluded, n_silver=limit, seed=seed,
                         device=device, base=base, cancel=cancel, status=status, unlabelled=own,
                         epochs=epochs)
    result.seconds = time.perf_counter() - started   # choosing the candidates included
    return result
