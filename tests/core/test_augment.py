"""Silver pairs (issue 23): no leakage into dev or test, never a labelled pair, reproducible for a
seed, and a cancel that leaves nothing half-made. Real SQLite, the tiny real model as both the
bi-encoder that draws the strata and the cross-encoder's starting weights."""

from __future__ import annotations

import pytest

from stsstudio.core import augment
from stsstudio.core.augment import (
    MAX_SILVER,
    MIN_GOLD,
    SILVER_PER_GOLD,
    candidate_pairs,
    clean_candidates,
    make_silver,
    silver_count,
    silver_pairs,
)
from stsstudio.core.errors import Cancelled
from stsstudio.core.hashing import normalise_sentence, pair_hash
from stsstudio.core.sentences import import_sentences

WORDS = ("man woman dog cat person plane car train bus bike guitar flute pizza cheese water street "
         "laptop printer screen phone").split()
VERBS = "playing eating riding cutting slicing running walking sitting standing taking".split()


def _sentence(i: int) -> str:
    n = len(WORDS)
    return f"a {WORDS[i % n]} is {VERBS[(i // n) % len(VERBS)]} {WORDS[(i * 7) % n]}"


def _fill(project, tmp_path) -> dict[str, list]:
    """Labelled train pairs (MIN_GOLD + 4), labelled dev and test pairs, unlabelled train pairs
    (two of them touch a dev or test sentence, written differently), an unlabelled dev pair, and a
    sentence pool with a dev sentence."""
    s = [_sentence(i) for i in range(160)]
    gold = [(s[i], s[i + 1], round((i % 11) / 10, 2)) for i in range(0, 2 * (MIN_GOLD + 4), 2)]
    dev = [(s[100 + i], s[101 + i], 0.5) for i in range(0, 10, 2)]
    test = [(s[110 + i], s[111 + i], 0.25) for i in range(0, 10, 2)]
    unlabelled = [(s[60 + i], s[61 + i]) for i in range(0, 30, 2)]
    leaky = [(s[90], "  " + dev[0][0].upper() + " "), (test[1][1], s[91])]
    rows = ([(a, b, sc, "train", None, None) for a, b, sc in gold]
            + [(a, b, sc, "dev", None, None) for a, b, sc in dev]
            + [(a, b, sc, "test", None, None) for a, b, sc in test]
            + [(a, b, None, "train", None, None) for a, b in unlabelled + leaky]
            + [(s[120], s[121], None, "dev", None, None)])
    project.pairs.insert(rows)
    pool = [s[130 + i] for i in range(20)] + [s[62], s[63]]
    (tmp_path / "pool.txt").write_text("\n".join(pool) + "\n")
    import_sentences(project, tmp_path / "pool.txt")
    ids, texts, _splits = project.pool.columns()
    project.pool.set_splits([(ids[texts.index(s[130])], "dev")])
    held_out = [x for a, b, _ in dev + test for x in (a, b)] + [s[120], s[121], s[130]]
    return {"gold": gold, "unlabelled": unlabelled, "held_out": held_out, "extra": [s[140]]}


def _assert_clean(pairs, data, project) -> None:
    banned = {normalise_sentence(t) for t in data["held_out"] + data["extra"]}
    labelled = {pair_hash(p.sentence1, p.sentence2) for p in project.pairs.all() if p.score is not None}
    keys = [pair_hash(p[0], p[1]) for p in pairs]
    assert len(set(keys)) == len(keys), "a pair came back twice (A,B = B,A)"
    for p, key in zip(pairs, keys):
        assert normalise_sentence(p[0]) not in banned and normalise_sentence(p[1]) not in banned, p
        assert key not in labelled, f"labelled pair came back as silver: {p}"


def test_size_rule() -> None:
    assert silver_count(100, 10_000) == SILVER_PER_GOLD * 100
    assert silver_count(300, 10_000) == 1_200
    assert silver_count(1_000, 10**6) == MAX_SILVER
    assert silver_count(300, 50) == 50
    assert silver_count(MIN_GOLD - 1, 10_000) == 0


def test_clean_candidates_drops_leaks_gold_and_repeats() -> None:
    gold = [("a dog runs", "a cat sits", 0.2)]
    cands = [("a cat sits", "A dog  runs"),        # the gold pair, other order and spelling
             ("x one", "y two"), ("Y two", "x one"),  # a repeat in the other order
             ("x one", "the dev sentence"),       # holds a forbidden sentence
             ("same", "SAME"),                    # one sentence twice
             ("z three", "w four")]
    out = clean_candidates(cands, exclude_sentences=["The dev sentence"], exclude_pairs=gold)
    assert out == [("x one", "y two"), ("z three", "w four")]


def test_candidates_never_leak_and_put_unlabelled_first(project, tiny_model_dir, tmp_path) -> None:
    data = _fill(project, tmp_path)
    cands = candidate_pairs(project, exclude_sentences=data["extra"], limit=60, seed=3,
                            model=str(tiny_model_dir), device="cpu")
    _assert_clean(cands, data, project)
    own = {pair_hash(a, b) for a, b in data["unlabelled"]}
    n_own = len(data["unlabelled"])
    assert {pair_hash(a, b) for a, b in cands[:n_own]} == own    # the unlabelled pairs first
    assert len(cands) == 60                                       # then new pairs of sentences
    assert not own & {pair_hash(a, b) for a, b in cands[n_own:]}
    again = candidate_pairs(project, exclude_sentences=data["extra"], limit=60, seed=3,
                            model=str(tiny_model_dir), device="cpu")
    assert again == cands
    assert candidate_pairs(project, exclude_sentences=data["extra"], limit=5, seed=3,
                           model=str(tiny_model_dir), device="cpu") == cands[:5]


def test_new_pairs_never_remake_a_project_pair(project, tiny_model_dir) -> None:
    """With only labelled pairs, every new pair is a recombination of their sentences: asking for
    more than exist must still never give back a labelled pair."""
    gold = [(_sentence(i), _sentence(i + 1), 0.5) for i in range(0, 24, 2)]
    project.pairs.insert([(a, b, sc, "train", None, None) for a, b, sc in gold])
    cands = candidate_pairs(project, limit=500, seed=0, model=str(tiny_model_dir), device="cpu")
    possible = 24 * 23 // 2
    assert 0 < len(cands) <= possible - len(gold)
    known = {pair_hash(a, b) for a, b, _ in gold}
    assert not known & {pair_hash(a, b) for a, b in cands}


def test_recombined_pairs_respect_both_exclusions(tiny_model_dir) -> None:
    s = [_sentence(i) for i in range(4)]
    got = augment.recombined_pairs(s, 10, model=str(tiny_model_dir), device="cpu", seed=0,
                                   exclude_sentences=[s[3].upper()],
                                   exclude_pair_keys=[pair_hash(s[1], s[0])])
    assert {pair_hash(a, b) for a, b in got} == {pair_hash(s[0], s[2]), pair_hash(s[1], s[2])}


def test_candidates_from_plain_lists(tiny_model_dir) -> None:
    s = [_sentence(i) for i in range(8)]
    unlabelled = [(s[1], s[0]), (s[2], s[3]), (s[4], s[7])]  # a labelled pair reversed; a leak
    pairs, own = augment.candidates_from(
        unlabelled, s, limit=100, exclude_sentences=[s[7]], exclude_pairs=[(s[0], s[1])],
        existing_pair_keys=[pair_hash(s[2], s[3]), pair_hash(s[4], s[5])], seed=0,
        model=str(tiny_model_dir), device="cpu")
    assert own == 1 and pairs[0] == (s[2], s[3])
    keys = [pair_hash(a, b) for a, b in pairs]
    assert len(keys) == len(set(keys))
    assert not {pair_hash(s[0], s[1]), pair_hash(s[4], s[5])} & set(keys)
    assert not any(s[7] in p for p in pairs)
    assert 1 < len(pairs) <= 7 * 6 // 2 - 2


def test_silver_set_is_clean_reproducible_and_described(project, tiny_model_dir, tmp_path) -> None:
    data = _fill(project, tmp_path)

    def run():
        return silver_pairs(project, exclude_sentences=data["extra"], n_silver=30, seed=7, device="cpu",
                            model=str(tiny_model_dir), base=tiny_model_dir, epochs=2)

    first, second = run(), run()
    assert len(first) == 30
    _assert_clean(first.pairs, data, project)
    assert all(0.0 <= sc <= 1.0 for _a, _b, sc in first.pairs)
    assert first.pairs == second.pairs                      # same pairs, same scores
    assert first.gold == len(data["gold"])
    assert (first.from_unlabelled, first.from_sentences) == (15, 15)
    assert first.description == (
        "30 silver pairs (15 from your unlabelled pairs, 15 made from your sentences), labelled by a "
        f"cross-encoder trained on your {first.gold} labels")
    assert first.seconds >= first.seconds_train + first.seconds_label > 0


def test_list_based_silver_needs_no_project(tiny_model_dir) -> None:
    gold = [(_sentence(i), _sentence(i + 1), (i % 5) / 4) for i in range(MIN_GOLD)]
    cands = [(_sentence(i), _sentence(i + 3)) for i in range(40, 70)]
    cands.insert(0, (gold[0][1], gold[0][0]))               # a gold pair, reversed
    cands.insert(1, (_sentence(40), "the test sentence"))   # a forbidden sentence
    silver = make_silver(gold, cands, exclude_sentences=["The test sentence"], seed=1, device="cpu",
                         base=tiny_model_dir, epochs=1)
    assert [p[:2] for p in silver.pairs] == cands[2:]       # all the rest: 30 < 4 x 20
    assert silver.description.startswith("30 silver pairs, labelled by a cross-encoder trained on your 20")


def test_too_few_labels_gives_no_silver_without_training(tiny_model_dir, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("trained a cross-encoder on too few labels")

    monkeypatch.setattr(augment, "train_cross_encoder", boom)
    gold = [(_sentence(i), _sentence(i + 1), 0.5) for i in range(MIN_GOLD - 1)]
    silver = make_silver(gold, [("x one", "y two")], base=tiny_model_dir, device="cpu")
    assert silver.pairs == [] and f"at least {MIN_GOLD} labels" in silver.description


def test_cancel_during_training_returns_nothing(tiny_model_dir) -> None:
    gold = [(_sentence(i), _sentence(i + 1), (i % 5) / 4) for i in range(MIN_GOLD)]
    cands = [(_sentence(i), _sentence(i + 3)) for i in range(40, 60)]
    state = {"training": False, "calls": 0}

    def status(text: str) -> None:
        state["training"] = state["training"] or text.startswith("Training")
        assert not text.startswith("Labelling"), "went on to label after the cancel"

    def cancel() -> bool:
        if state["training"]:
            state["calls"] += 1
        return state["calls"] >= 3   # a couple of steps in

    with pytest.raises(Cancelled):
        make_silver(gold, cands, seed=0, device="cpu", base=tiny_model_dir, epochs=3,
                    cancel=cancel, status=status)
    _epochs, steps = augment.ce_schedule(len(gold), 3)
    assert 3 <= state["calls"] < steps    # stopped inside training, well before its end


def test_cancel_while_choosing_candidates(project, tiny_model_dir, tmp_path) -> None:
    data = _fill(project, tmp_path)
    with pytest.raises(Cancelled):
        silver_pairs(project, exclude_sentences=data["extra"], n_silver=40, seed=0, device="cpu",
                     model=str(tiny_model_dir), base=tiny_model_dir, cancel=lambda: True)
