"""Suggest pairs to label from the sentence pool, spread over the whole similarity range.

Random pairs of real sentences are nearly all unrelated, so labels would pile up near 0. Here
a model (the base model or a run's) embeds the pool and the pairs are drawn by *predicted*
similarity (cosine) into strata with fixed, documented ranges (:data:`STRATA`):

========  ==================  ==========================================================
stratum   predicted cosine    how candidates are found
========  ==================  ==========================================================
near      0.70 .. 1.00        the k nearest neighbours of anchor sentences
mid       0.40 .. 0.70        a sampled rank of an anchor's similarity row in that range
far       -1.00 .. 0.40       a sampled rank of an anchor's similarity row in that range
========  ==================  ==========================================================

Rules every suggestion keeps:

* **No duplicates.** A pair that exists in the project in either order (the project's
  order-independent pair hash) or that was suggested already in this batch is never made.
* **No leakage.** Each pooled sentence gets a split once (seeded, ``dev_fraction`` to dev,
  the rest to train; a sentence already in train/dev/test pairs keeps that split) and pairs
  are only made within a split, so no sentence is in both train and dev/test pairs.
* **Deterministic.** The same pool, model and seed give the same pairs.
* **The planned mix** (:func:`plan_mix`) says how many pairs each stratum gets; when a
  stratum has too few candidates its shortfall goes to the others and the result says so.

Search: exact (blocked numpy matmul) up to :data:`EXACT_LIMIT` sentences per split. Beyond
that, "auto" still starts exactly (a few hundred pairs rarely need more than a few thousand
anchors) and switches to a `usearch <https://github.com/unum-cloud/usearch>`_ HNSW index
(``pip install stsstudio[index]``) once :data:`SWITCH_FRACTION` of the anchors have not given
enough near pairs; without usearch it stays exact. ``search="index"`` uses the index from the
start. Embeddings of
the pool are cached per model under ``project.cache_dir``; sentences added later are embedded
on their own and appended.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stsstudio.core.errors import Cancelled, UserError
from stsstudio.core.hashing import combine_pair_hashes, sentence_hashes
from stsstudio.core.store import PairRows, Project


@dataclass(frozen=True)
class Stratum:
    """One band of predicted similarity; a pair belongs to it when ``low <= score < high``."""

    name: str
    label: str
    low: float
    high: float
    share: float  # of the default mix
    help: str


# The registry: the CLI's choices, the dialog's rows and the docs all read this table.
STRATA: tuple[Stratum, ...] = (
    Stratum("near", "Near", 0.70, 1.0001, 0.4,
            "Nearest neighbours: likely paraphrases or close variants (predicted 0.70 to 1)."),
    Stratum("mid", "Mid", 0.40, 0.70, 0.3,
            "Related: same topic, different point (predicted 0.40 to 0.70)."),
    Stratum("far", "Far", -1.0001, 0.40, 0.3,
            "Unrelated or barely related (predicted below 0.40)."),
)
STRATUM_NAMES = tuple(s.name for s in STRATA)
SEARCH_METHODS = ("auto", "exact", "index")
EXACT_LIMIT = 50_000     # sentences per split always searched exactly by "auto"
# Beyond EXACT_LIMIT, "auto" scans anchors exactly and builds the index only once this share
# of a split's anchors has not yet given enough near pairs: at 100k, 500 pairs took 10 s
# exactly but 145 s with the index, whose build dominates (bench/suggest_pairs.py).
SWITCH_FRACTION = 0.2
NEIGHBOURS = 10          # k of the nearest-neighbour search for the near stratum
DEV_FRACTION = 0.1
SOURCE = "suggested"
_BLOCK = 256             # anchor rows per matmul: 256 x 100k float32 is 100 MB
_CACHE_PREFIX = "pool-"
_PASSES = 8              # draws per anchor at most, for the mid and far strata


def stratum(name: str) -> Stratum:
    for s in STRATA:
        if s.name == name:
            return s
    raise UserError(f"unknown stratum {name!r}; use {', '.join(STRATUM_NAMES)}")


def stratum_of(score: float) -> str:
    """The stratum a predicted similarity falls in."""
    for s in STRATA:
        if s.low <= score < s.high:
            return s.name
    return STRATA[-1].name if score < STRATA[-1].high else STRATA[0].name


def index_available() -> bool:
    """Whether the optional vector index library (usearch) can be imported."""
    try:
        import usearch.index  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------------------
# The plan


def plan_mix(total: int, strata: Sequence[str] | None = None,
             mix: dict[str, float] | None = None) -> dict[str, int]:
    """How many pairs each stratum gets: ``total`` split by ``mix`` (largest remainder).

    Args:
        total: pairs wanted.
        strata: the strata to use (default: all); the others get none.
        mix: relative weights by stratum name (default: each stratum's ``share``).

    Raises:
        UserError: an unknown stratum, a negative weight, or weights that sum to zero.
    """
    if total < 0:
        raise UserError(f"the number of pairs must be positive, not {total}")
    names = list(strata) if strata else list(STRATUM_NAMES)
    for n in names:
        stratum(n)
    if mix:
        for n in mix:
            stratum(n)
    # Without a mix each stratum weighs its default share; with one, what the mix says.
    weights = {n: float(stratum(n).share if mix is None else mix.get(n, 0.0)) for n in names}
    if any(not (0 <= w < float("inf")) for w in weights.values()):
        raise UserError("the weights of the mix must be finite numbers, zero or more")
    wsum = sum(weights.values())
    if wsum <= 0:
        raise UserError("the mix gives no stratum any pairs; give one a weight above zero")
    exact = {n: total * w / wsum for n, w in weights.items()}
    counts = {n: int(np.floor(v)) for n, v in exact.items()}
    left = total - sum(counts.values())
    for n in sorted(names, key=lambda n: (-(exact[n] - counts[n]), names.index(n)))[:left]:
        counts[n] += 1
    return {n: counts.get(n, 0) for n in STRATUM_NAMES if n in names}


@dataclass
class SuggestOptions:
    """What to suggest.

    Attributes:
        pairs: how many pairs to make.
        strata: which strata to use (names of :data:`STRATA`).
        mix: relative weight of each stratum (default: the strata's ``share``).
        model: a model reference: ``"base"``, ``"best"``, ``"run:<id>"`` or a folder.
        seed: the same seed gives the same pairs (and the same new splits).
        dev_fraction: share of not yet assigned sentences that go to dev.
        search: ``"auto"``, ``"exact"`` or ``"index"`` (see the module docstring).
        device: where to run the model.
    """

    pairs: int = 500
    strata: tuple[str, ...] = STRATUM_NAMES
    mix: dict[str, float] | None = None
    model: str = "base"
    seed: int = 0
    dev_fraction: float = DEV_FRACTION
    search: str = "auto"
    device: str = "auto"


@dataclass(frozen=True)
class SuggestedPair:
    sentence1_id: int
    sentence2_id: int
    sentence1: str
    sentence2: str
    predicted: float
    stratum: str
    split: str


@dataclass
class SuggestResult:
    """What :func:`suggest_pairs` made; ``as_dict()`` is the CLI's ``--json``."""

    pairs: list[SuggestedPair] = field(default_factory=list)
    planned: dict[str, int] = field(default_factory=dict)
    made: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    pool: int = 0
    search: str = "exact"
    model: str = ""
    inserted: int = 0
    first_id: int | None = None
    last_id: int | None = None
    seconds_embed: float = 0.0
    seconds_search: float = 0.0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self, with_pairs: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not with_pairs:
            out.pop("pairs")
        out["strata"] = {s.name: [round(max(s.low, -1.0), 2), round(min(s.high, 1.0), 2)]
                         for s in STRATA}
        return out


# --------------------------------------------------------------------------------------
# Splits


def _unit(seed: int, hashes: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) per sentence hash, fixed for a seed (order-independent)."""
    from stsstudio.core.hashing import _mix64

    with np.errstate(over="ignore"):
        x = _mix64(hashes.astype(np.uint64) ^ _mix64(np.full(1, seed & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def assign_splits(project: Project, ids: Sequence[int], splits: Sequence[str | None],
                  hashes: np.ndarray, seed: int, dev_fraction: float = DEV_FRACTION) -> list[str]:
    """Every pooled sentence's split: its stored one, else the split of pairs that already
    hold it (dev/test before train), else a seeded draw (``dev_fraction`` to dev).

    Only computes; :func:`suggest_pairs` stores the new ones when it writes the pairs.
    """
    if not 0 <= dev_fraction < 1:
        raise UserError(f"the dev fraction must be at least 0 and below 1, not {dev_fraction}")
    out = list(splits)
    missing = [i for i, s in enumerate(out) if s is None]
    if not missing:
        return out  # type: ignore[return-value]
    known: dict[int, str] = {}
    rows = project.pairs.split_sentences()
    if rows:
        rank = {"train": 0, "test": 1, "dev": 2}
        h1 = sentence_hashes([r[0] for r in rows]).tolist()
        h2 = sentence_hashes([r[1] for r in rows]).tolist()
        for a, b, (_, _, split) in zip(h1, h2, rows):
            for h in (a, b):
                prev = known.get(h)
                if prev is None or rank[split] > rank[prev]:
                    known[h] = split
    u = _unit(seed, hashes[missing])
    for k, i in enumerate(missing):
        h = int(hashes[i])
        out[i] = known.get(h) or ("dev" if u[k] < dev_fraction else "train")
    return out  # type: ignore[return-value]


# --------------------------------------------------------------------------------------
# Embeddings (cached per model; new sentences are appended)

_memory_lock = threading.Lock()


def pool_embeddings(project: Project, model: Any, model_path: str | None, ids: Sequence[int],
                    texts: Sequence[str], task: Any = None) -> np.ndarray:
    """Unit vectors of the pooled sentences, from ``cache/pool-<model>.npz`` where possible."""
    from stsstudio.core.inference import _stamp, encode

    ids_arr = np.asarray(ids, dtype=np.int64)
    if not model_path:
        return encode(model, list(texts), task=task)
    key = hashlib.blake2b(f"{model_path}|{_stamp(model_path)}".encode(), digest_size=8).hexdigest()
    path = project.cache_file(f"{_CACHE_PREFIX}{key}.npz")
    cached_ids = np.zeros(0, dtype=np.int64)
    cached = None
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                cached_ids, cached = data["ids"], data["emb"]
        except (OSError, ValueError, KeyError):
            cached = None
    if cached is not None:
        pos = {int(i): k for k, i in enumerate(cached_ids.tolist())}
        have = np.array([pos.get(int(i), -1) for i in ids_arr.tolist()], dtype=np.int64)
    else:
        have = np.full(len(ids_arr), -1, dtype=np.int64)
    todo = np.flatnonzero(have < 0)
    if not todo.size:
        return cached[have]  # type: ignore[index]
    new = encode(model, [texts[i] for i in todo.tolist()], task=task)
    emb = np.empty((len(ids_arr), new.shape[1]), dtype=np.float32)
    emb[todo] = new
    done = np.flatnonzero(have >= 0)
    if done.size:
        emb[done] = cached[have[done]]  # type: ignore[index]
    _write_npz(path, ids_arr, emb)
    return emb


def _write_npz(path: Path, ids: np.ndarray, emb: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, ids=ids, emb=emb)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


# --------------------------------------------------------------------------------------
# Search


def exact_knn(emb: np.ndarray, queries: np.ndarray, k: int, task: Any = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` neighbours (indices into ``emb``, cosines) of rows ``queries``, self excluded.

    Blocked matmul: memory stays at ``_BLOCK x len(emb)`` floats whatever the pool size.
    """
    n = len(emb)
    k = min(k, n - 1)
    out_i = np.empty((len(queries), k), dtype=np.int64)
    out_s = np.empty((len(queries), k), dtype=np.float32)
    for start in range(0, len(queries), _BLOCK):
        _check(task)
        q = queries[start:start + _BLOCK]
        sims = emb[q] @ emb.T
        sims[np.arange(len(q)), q] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        ts = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-ts, axis=1, kind="stable")
        out_i[start:start + len(q)] = np.take_along_axis(top, order, axis=1)
        out_s[start:start + len(q)] = np.take_along_axis(ts, order, axis=1)
    return out_i, out_s


class VectorIndex:
    """An approximate nearest-neighbour index over unit vectors (usearch HNSW, cosine).

    Settings chosen by ``bench/suggest_pairs.py`` (recall@10 against exact search).
    """

    def __init__(self, emb: np.ndarray, *, connectivity: int = 16, expansion_add: int = 128,
                 expansion_search: int = 128, threads: int = 0) -> None:
        from usearch.index import Index

        self.emb = emb
        self.index = Index(ndim=emb.shape[1], metric="ip", dtype="f32", connectivity=connectivity,
                           expansion_add=expansion_add, expansion_search=expansion_search)
        self.index.add(np.arange(len(emb), dtype=np.uint64), emb, threads=threads)
        self.threads = threads

    def knn(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Like :func:`exact_knn`; cosines are recomputed exactly for the returned ids."""
        k = min(k, len(self.emb) - 1)
        found = self.index.search(self.emb[queries], k + 1, threads=self.threads)
        keys = np.asarray(found.keys, dtype=np.int64).reshape(len(queries), -1)
        out_i = np.empty((len(queries), k), dtype=np.int64)
        for r, q in enumerate(queries.tolist()):
            row = [j for j in keys[r].tolist() if j != q and 0 <= j < len(self.emb)][:k]
            row += [q] * (k - len(row))  # too few found: padded with self, filtered later
            out_i[r] = row
        out_s = np.einsum("qd,qkd->qk", self.emb[queries], self.emb[out_i]).astype(np.float32)
        out_s[out_i == queries[:, None]] = -np.inf
        return out_i, out_s


def _check(task: Any) -> None:
    if task is not None and getattr(task, "is_cancelled", lambda: False)():
        raise Cancelled()


# --------------------------------------------------------------------------------------
# Candidates and choice


def _group_quotas(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Pairs per split in proportion to its sentences (largest remainder)."""
    usable = {g: n for g, n in sizes.items() if n >= 2}
    if not usable:
        return {}
    s = sum(usable.values())
    exact = {g: total * n / s for g, n in usable.items()}
    out = {g: int(np.floor(v)) for g, v in exact.items()}
    for g in sorted(usable, key=lambda g: -(exact[g] - out[g]))[:total - sum(out.values())]:
        out[g] += 1
    return out


def split_quotas(planned: dict[str, int], group_quota: dict[str, int]) -> dict[str, dict[str, int]]:
    """Each split's pairs per stratum, so that the strata add up to ``planned`` exactly and the
    splits to ``group_quota`` (controlled rounding: largest remainders first).

    Rounding each split's mix on its own drifted: 40 pairs planned 16/12/12 came out 16/13/11
    with 32 train and 8 dev pairs.
    """
    total = sum(group_quota.values())
    groups = [g for g, q in group_quota.items() if q]
    if not groups or total == 0:
        return {}
    exact = {(g, n): planned[n] * group_quota[g] / total for g in groups for n in planned}
    out = {cell: int(np.floor(v)) for cell, v in exact.items()}
    row = {g: group_quota[g] - sum(out[(g, n)] for n in planned) for g in groups}
    col = {n: planned[n] - sum(out[(g, n)] for g in groups) for n in planned}
    cells = sorted(exact, key=lambda c: -(exact[c] - out[c]))
    for _pass in range(2):   # remainders first; then any cell both sides still lack
        for g, n in cells:
            while row[g] > 0 and col[n] > 0:
                out[(g, n)] += 1
                row[g] -= 1
                col[n] -= 1
                if _pass == 0:
                    break
    return {g: {n: out[(g, n)] for n in planned} for g in groups}


def _pick_group(emb: np.ndarray, members: np.ndarray, hashes: np.ndarray, quota: dict[str, int],
                taken: set[int], rng: np.random.Generator, method: str, task: Any
                ) -> tuple[list[tuple[int, int, float, str]], str]:
    """Pairs ``(i, j, cosine, stratum)`` (indices into the pool) within one split, and the
    search used: "exact", "index" or "exact+index" (``method`` "adaptive" switched)."""
    sub = emb[members]
    n = len(members)
    want = sum(quota.values())
    if want == 0 or n < 2:
        return [], "exact"
    target = {s: max(want, 1) for s in quota if quota[s] > 0}  # spare candidates for shortfalls
    cands: dict[str, list[tuple[int, int, float]]] = {s: [] for s in STRATUM_NAMES}
    seen: set[int] = set(taken)

    def add(stratum_name: str, a: int, b: int, s: float) -> bool:
        key = int(combine_pair_hashes(hashes[members[a]:members[a] + 1],
                                      hashes[members[b]:members[b] + 1])[0])
        if key in seen:
            return False
        seen.add(key)
        cands[stratum_name].append((a, b, s))
        return True

    # Near: nearest neighbours of anchors in a seeded order, until enough candidates.
    used = "index" if method == "index" else "exact"
    if "near" in target:
        near = stratum("near")
        anchors = rng.permutation(n)
        index = VectorIndex(sub) if method == "index" else None
        for start in range(0, n, _BLOCK):
            _check(task)
            if index is None and method == "adaptive" and start >= SWITCH_FRACTION * n:
                # Near pairs are rare here: the remaining anchors would cost more exactly
                # than building the index (measured, see bench/suggest_pairs.py).
                index = VectorIndex(sub)
                used = "exact+index"
            q = anchors[start:start + _BLOCK]
            nn_i, nn_s = index.knn(q, NEIGHBOURS) if index else exact_knn(sub, q, NEIGHBOURS)
            for r, a in enumerate(q.tolist()):
                for b, s in zip(nn_i[r].tolist(), nn_s[r].tolist()):
                    if near.low <= s < near.high and b != a:
                        add("near", a, b, s)
            if len(cands["near"]) >= 3 * target["near"]:
                break
    # Mid and far: for each anchor, a random rank among those in the stratum's range. A small
    # pool needs several draws per anchor; a large one is done within the first pass.
    banded = [s for s in ("mid", "far") if s in target]
    anchors = rng.permutation(n)
    for start in range(0, n * _PASSES if banded else 0, _BLOCK):
        if all(len(cands[s]) >= target[s] for s in banded):
            break
        _check(task)
        q = anchors[start % n:start % n + _BLOCK]
        sims = sub[q] @ sub.T
        sims[np.arange(len(q)), q] = np.nan
        draws = rng.random((len(q), len(banded)))
        for b_i, name in enumerate(banded):
            if len(cands[name]) >= target[name]:
                continue
            st = stratum(name)
            inside = (sims >= st.low) & (sims < st.high)
            for r in np.flatnonzero(inside.any(axis=1)).tolist():
                cols = np.flatnonzero(inside[r])
                b = int(cols[int(draws[r, b_i] * len(cols))])
                add(name, int(q[r]), b, float(sims[r, b]))
    chosen = _choose_quota(cands, quota, rng)
    return [(int(members[a]), int(members[b]), s, name) for a, b, s, name in chosen], used


def _choose_quota(cands: dict[str, list[tuple[int, int, float]]], quota: dict[str, int],
                  rng: np.random.Generator) -> list[tuple[int, int, float, str]]:
    """Choose: each stratum its quota at random, then shortfalls from the others' spares."""
    chosen: list[tuple[int, int, float, str]] = []
    spare: dict[str, list[tuple[int, int, float]]] = {}
    short = 0
    for name in STRATUM_NAMES:
        pool = cands[name]
        order = rng.permutation(len(pool)).tolist()
        k = min(quota.get(name, 0), len(pool))
        chosen += [(*pool[i], name) for i in order[:k]]
        spare[name] = [pool[i] for i in order[k:]]
        short += quota.get(name, 0) - k
    for name in STRATUM_NAMES:
        if short <= 0:
            break
        if quota.get(name, 0) == 0:
            continue
        extra = spare[name][:short]
        chosen += [(*c, name) for c in extra]
        short -= len(extra)
    return chosen


def suggest_pairs(project: Project, options: SuggestOptions | None = None, *, commit: bool = True,
                  task: Any = None) -> SuggestResult:
    """Make pairs from the sentence pool and (with ``commit``) add them as unlabeled pairs.

    Args:
        project: the open project; its pool is filled by :func:`stsstudio.core.sentences.import_sentences`.
        options: what to suggest (default: 500 pairs, the default mix, the base model).
        commit: False computes a preview and writes nothing (splits included).
        task: optional ``progress(done, total)`` / ``is_cancelled()`` handle.

    Returns:
        A :class:`SuggestResult`; its ``pairs`` are in the order they were written.

    Raises:
        UserError: an empty pool, a bad option, or a model that cannot be loaded.
        Cancelled: the task was cancelled (nothing written).
    """
    started = time.perf_counter()
    options = options or SuggestOptions()
    _check_options(options)
    planned = plan_mix(options.pairs, options.strata, options.mix)
    ids, texts, stored = project.pool.columns()
    if len(ids) < 2:
        raise UserError("The sentence pool has fewer than two sentences; import sentences first "
                        "(stsstudio import-sentences, or Import sentences… in File ▸ Suggest pairs…).")
    hashes = sentence_hashes(texts, list(texts))
    splits = assign_splits(project, ids, stored, hashes, options.seed, options.dev_fraction)

    model_ref = options.model or "base"
    model, model_path = _suggest_model(project, model_ref, options.device)
    t0 = time.perf_counter()
    emb = pool_embeddings(project, model, model_path, ids, texts, task=task)
    seconds_embed = time.perf_counter() - t0

    t0 = time.perf_counter()
    rng = np.random.default_rng(options.seed)
    picked, used = _pick_pairs(project, emb, splits, hashes, planned, options, rng, task)
    seconds_search = time.perf_counter() - t0

    order = rng.permutation(len(picked)).tolist()  # strata interleaved in the label queue
    pairs = []
    for k in order:
        i, j, s, name, g = picked[k]
        if ids[j] < ids[i]:
            i, j = j, i
        pairs.append(SuggestedPair(ids[i], ids[j], texts[i], texts[j], float(s), name, g))
    made, split_counts, warnings = _tally(pairs, planned, len(ids), options.pairs)
    result = SuggestResult(
        pairs=pairs, planned=planned, made=made, splits=split_counts, pool=len(ids), search=used,
        model=str(model_ref), seconds_embed=seconds_embed, seconds_search=seconds_search,
        warnings=warnings)
    if commit:
        _check(task)
        _commit_suggested(project, result, ids, stored, splits, hashes)
    result.seconds = time.perf_counter() - started
    return result


def _check_options(options: SuggestOptions) -> None:
    if options.search not in SEARCH_METHODS:
        raise UserError(f"unknown search {options.search!r}; use {', '.join(SEARCH_METHODS)}")
    if options.pairs < 1:
        raise UserError(f"ask for at least one pair, not {options.pairs}")
    if not 0 <= int(options.seed) < 2**32:
        raise UserError(f"the seed must be a whole number from 0 to {2**32 - 1}, not {options.seed}")


def _suggest_model(project: Project, model_ref: Any, device: str) -> tuple[Any, Any]:
    """The model that embeds the pool, and its folder (None for a model object)."""
    from stsstudio.core.inference import _cache, _device_id, get_model, resolve_model_ref

    model_path = None
    if isinstance(model_ref, (str, os.PathLike)):
        model_path = resolve_model_ref(project, "base" if model_ref == "base" else model_ref)
        model = _cache.get(model_path, _device_id(device))
    else:
        model = get_model(model_ref)
    return model, model_path


def _pick_pairs(project: Project, emb: np.ndarray, splits: list[str], hashes: np.ndarray,
                planned: dict[str, int], options: SuggestOptions, rng: np.random.Generator, task: Any
                ) -> tuple[list[tuple[int, int, float, str, str]], str]:
    """Pairs ``(i, j, cosine, stratum, split)`` within each split, new to the project, and the
    search used."""
    groups: dict[str, np.ndarray] = {}
    split_arr = np.array(splits, dtype=object)
    for g in ("train", "dev", "test"):
        members = np.flatnonzero(split_arr == g)
        if len(members):
            groups[g] = members
    group_quota = _group_quotas({g: len(m) for g, m in groups.items()}, options.pairs)
    taken = {int(h) for h in project.pairs.hashes()}
    used = "exact"
    picked: list[tuple[int, int, float, str, str]] = []
    quotas = split_quotas(planned, group_quota)   # the plan's totals, kept exactly
    methods: dict[str, str] = {}
    for g, members in groups.items():
        if g not in quotas:
            continue
        method = options.search
        if method == "auto":
            method = "adaptive" if len(members) > EXACT_LIMIT and index_available() else "exact"
        if method == "index" and not index_available():
            raise UserError("The vector index is not installed; pip install usearch, or use the "
                            "exact search.")
        methods[g] = method
        chosen, how = _pick_group(emb, members, hashes, quotas[g], taken, rng, method, task)
        used = how if how != "exact" else used
        for i, j, s, name in chosen:
            picked.append((i, j, s, name, g))
            taken.add(int(combine_pair_hashes(hashes[i:i + 1], hashes[j:j + 1])[0]))
    # A small split can run out of new pairs; the larger ones make up the rest.
    for g in sorted(methods, key=lambda g: -len(groups[g])):
        left = options.pairs - len(picked)
        if left <= 0:
            break
        quota = plan_mix(left, options.strata, options.mix)
        chosen, _ = _pick_group(emb, groups[g], hashes, quota, taken, rng, methods[g], task)
        for i, j, s, name in chosen:
            picked.append((i, j, s, name, g))
            taken.add(int(combine_pair_hashes(hashes[i:i + 1], hashes[j:j + 1])[0]))
    return picked, used


def _tally(pairs: list[SuggestedPair], planned: dict[str, int], pool: int, asked: int
           ) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """Pairs made per stratum and per split, and warnings where the plan was not met."""
    warnings: list[str] = []
    made = {n: 0 for n in planned}
    split_counts: dict[str, int] = {}
    for p in pairs:
        made[p.stratum] = made.get(p.stratum, 0) + 1
        split_counts[p.split] = split_counts.get(p.split, 0) + 1
    if len(pairs) < asked:
        warnings.append(f"Only {len(pairs)} new pairs could be made from {pool} sentences "
                        f"(asked for {asked}); import more sentences.")
    for name, n in planned.items():
        if made.get(name, 0) < n:
            warnings.append(f"The {name} stratum had candidates for {made.get(name, 0)} of "
                            f"{n} pairs; the rest went to the other strata.")
    return made, split_counts, warnings


def _commit_suggested(project: Project, result: SuggestResult, ids: list[int], stored: list[Any],
                      splits: list[str], hashes: np.ndarray) -> None:
    """Write the pool's new splits and the suggested pairs; note the inserted ids in ``result``."""
    pairs = result.pairs
    new_splits = [(ids[i], splits[i]) for i in range(len(ids)) if stored[i] is None]
    pos = {sid: k for k, sid in enumerate(ids)}
    h1 = hashes[[pos[p.sentence1_id] for p in pairs]] if pairs else hashes[:0]
    h2 = hashes[[pos[p.sentence2_id] for p in pairs]] if pairs else hashes[:0]
    rows = PairRows([p.sentence1 for p in pairs], [p.sentence2 for p in pairs],
                    [None] * len(pairs), [p.split for p in pairs], [None] * len(pairs),
                    combine_pair_hashes(h1, h2).tolist())
    # Splits first: fixing them is harmless even if the insert then fails.
    project.pool.set_splits(new_splits)
    report = project.pairs.insert(rows, source=SOURCE)
    result.inserted, result.first_id, result.last_id = report.inserted, report.first_id, report.last_id
