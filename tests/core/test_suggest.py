"""Sentence pool import and pair suggestion (issue 13): dedup, splits, strata, determinism."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from stsstudio.core.hashing import pair_hash
from stsstudio.core.importers import ImportDataError
from stsstudio.core.sentences import SentenceImportOptions, import_sentences
from stsstudio.core.suggest import (
    STRATA,
    SuggestOptions,
    index_available,
    plan_mix,
    stratum,
    suggest_pairs,
)


class TopicEncoder:
    """A stand-in embedding model with a known geometry: "topic T variant V" lies near topic
    T's direction, the further the larger V, so cosines cover the whole range."""

    dim = 48

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.topics = rng.standard_normal((12, self.dim))

    def vector(self, text: str) -> np.ndarray:
        words = text.split()
        topic, variant = int(words[1]), int(words[3])
        noise = np.random.default_rng(zlib.crc32(text.encode())).standard_normal(self.dim)
        v = self.topics[topic] + (0.1 + 0.25 * variant) * noise
        return v / np.linalg.norm(v)

    def encode(self, sentences, **kwargs) -> np.ndarray:
        return np.stack([self.vector(s) for s in sentences]).astype(np.float32)


def _topic_pool(project, tmp_path, topics: int = 12, variants: int = 8) -> None:
    path = tmp_path / "pool.txt"
    path.write_text("\n".join(f"topic {t} variant {v}" for t in range(topics)
                              for v in range(variants)) + "\n")
    import_sentences(project, path)


def _pairs_by_hash(project) -> list[int]:
    return [pair_hash(p.sentence1, p.sentence2) for p in project.pairs.all()]


# -- import -----------------------------------------------------------------------------


def test_one_column_csv_imports_as_sentences(project, tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("text\nThe VPN keeps dropping.\nthe   VPN keeps  dropping.\nPrinter is slow\n")
    report = import_sentences(project, path)
    assert (report.rows, report.imported, report.duplicates_in_file) == (3, 2, 1)
    assert report.column == "text"
    assert project.pool.split_counts()["sentences"] == 2
    assert project.stats()["pairs"] == 0
    ids, texts, splits = project.pool.columns()
    assert texts == ["The VPN keeps dropping.", "Printer is slow"]
    assert splits == [None, None]
    # Growing the pool later: only the new sentence is added.
    more = tmp_path / "more.txt"
    more.write_text("printer IS slow\n\nA new sentence\n")
    report = import_sentences(project, more)
    assert (report.imported, report.duplicates_in_pool) == (1, 1)
    assert project.pool.split_counts()["sentences"] == 3


def test_id_and_other_columns_are_metadata(project, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"ticket_id": "T-1", "text": "Login fails", "team": "it"},
        {"ticket_id": "T-2", "text": "Screen is broken", "team": "hw"}]) + "\n")
    report = import_sentences(project, path)
    assert report.id_column == "ticket_id" and report.metadata_columns == ["team"]
    ids, _, _ = project.pool.columns()
    got = project.pool.by_ids(ids)
    assert got[ids[1]].metadata == {"id": "T-2", "columns": {"team": "hw"}}
    assert got[ids[1]].source_row == 2


def test_bad_sentence_file_writes_nothing(project, tmp_path):
    import_sentences(project, _write(tmp_path / "ok.txt", "first\nsecond\n"))
    before = project.checksum()
    bad = _write(tmp_path / "bad.csv", "id,text\n1,fine\n2,\n3,also fine\n")
    with pytest.raises(ImportDataError) as err:
        import_sentences(project, bad, SentenceImportOptions(column="text"))
    assert str(err.value) == "bad.csv, row 3, column 'text': the sentence is empty"
    dup = _write(tmp_path / "dup.csv", "id,text\n1,a\n1,b\n")
    with pytest.raises(ImportDataError, match="row 3, column 'id'"):
        import_sentences(project, dup)
    assert project.checksum() == before


def _write(path, text):
    path.write_text(text)
    return path


# -- suggestion -------------------------------------------------------------------------


def test_plan_mix_rounds_to_the_total():
    assert plan_mix(500) == {"near": 200, "mid": 150, "far": 150}
    assert plan_mix(10, ["near", "far"]) == {"near": 6, "far": 4}
    assert plan_mix(7, mix={"near": 1, "mid": 0, "far": 1}) == {"near": 4, "mid": 0, "far": 3}
    with pytest.raises(Exception, match="unknown stratum"):
        plan_mix(5, ["close"])


def test_strata_ranges_are_as_documented(project, tmp_path):
    _topic_pool(project, tmp_path)
    enc = TopicEncoder()
    result = suggest_pairs(project, SuggestOptions(pairs=60, model=enc, seed=1, dev_fraction=0.0))
    assert len(result.pairs) == 60
    assert all(result.made[s.name] > 0 for s in STRATA), result.made
    assert result.made == result.planned
    for p in result.pairs:
        st = stratum(p.stratum)
        assert st.low <= p.predicted < st.high
        true = float(enc.vector(p.sentence1) @ enc.vector(p.sentence2))
        assert abs(true - p.predicted) < 1e-4
    assert (stratum("near").low, stratum("mid").low, stratum("mid").high) == (0.70, 0.40, 0.70)


def test_no_duplicates_and_no_existing_pairs(project, tmp_path):
    _topic_pool(project, tmp_path, topics=6, variants=6)
    # An existing pair of two pooled sentences, stored in the reverse order.
    project.pairs.insert([("topic 0 variant 1", "topic 0 variant 0", None, "none", None, None)])
    existing = pair_hash("topic 0 variant 0", "topic 0 variant 1")
    enc = TopicEncoder()
    for seed in (0, 1, 2):
        suggest_pairs(project, SuggestOptions(pairs=40, model=enc, seed=seed))
    hashes = _pairs_by_hash(project)
    assert len(hashes) == len(set(hashes)) == 1 + 120
    assert hashes.count(existing) == 1
    suggested = [p for p in project.pairs.all() if p.source == "suggested"]
    assert all(p.score is None for p in suggested) and len(suggested) == 120


def test_no_sentence_crosses_splits(project, tmp_path):
    _topic_pool(project, tmp_path, topics=8, variants=6)
    project.pairs.insert([("topic 1 variant 0", "something else", 0.5, "train", None, None),
                          ("topic 2 variant 0", "another thing", 0.5, "test", None, None)])
    suggest_pairs(project, SuggestOptions(pairs=80, model=TopicEncoder(), seed=4, dev_fraction=0.3))
    side: dict[str, set[str]] = {}
    for p in project.pairs.all():
        for s in (p.sentence1, p.sentence2):
            side.setdefault(s.casefold(), set()).add("train" if p.split == "train" else "held-out")
    assert all(len(v) == 1 for v in side.values())
    assert side["topic 1 variant 0"] == {"train"} and side["topic 2 variant 0"] == {"held-out"}
    counts = project.pool.split_counts()
    assert counts["unassigned"] == 0 and counts["dev"] > 0 and counts["train"] > 0
    # The one test sentence has no partner in its split: it is in no suggested pair.
    assert counts["test"] == 1
    splits = {p.split for p in project.pairs.all() if p.source == "suggested"}
    assert splits == {"train", "dev"}


def test_same_seed_same_pairs(project, tmp_path):
    _topic_pool(project, tmp_path)
    enc = TopicEncoder()

    def run(seed):
        r = suggest_pairs(project, SuggestOptions(pairs=50, model=enc, seed=seed), commit=False)
        return [(p.sentence1_id, p.sentence2_id, p.stratum, p.split) for p in r.pairs]

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert project.stats()["pairs"] == 0 and project.pool.split_counts()["unassigned"] == 96


@pytest.mark.skipif(not index_available(), reason="usearch is not installed")
def test_index_search_keeps_the_rules(project, tmp_path):
    _topic_pool(project, tmp_path)
    r = suggest_pairs(project, SuggestOptions(pairs=40, model=TopicEncoder(), search="index"))
    assert r.search == "index" and len(r.pairs) == 40
    assert all(stratum(p.stratum).low <= p.predicted < stratum(p.stratum).high for p in r.pairs)


def test_empty_pool_is_a_user_error(project):
    from stsstudio.core.errors import UserError

    with pytest.raises(UserError, match="fewer than two sentences"):
        suggest_pairs(project, SuggestOptions(pairs=5, model=TopicEncoder()))


def test_tiny_model_cached_embeddings_and_cli(tmp_path, tiny_model, capsys):
    from stsstudio.cli import main
    from stsstudio.core.store import Project

    folder = tmp_path / "p"
    Project.create(folder, base_model=str(tiny_model)).close()
    csv = _write(tmp_path / "s.csv", "sentence\n" + "\n".join(
        f"the {a} {b} is broken" for a in ("vpn", "printer", "laptop", "phone", "server")
        for b in ("screen", "login", "email", "wifi")) + "\n")
    assert main(["import", str(folder), str(csv)]) == 2
    assert "stsstudio import-sentences" in capsys.readouterr().err
    assert main(["import-sentences", str(folder), str(csv), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 20
    assert main(["suggest-pairs", str(folder), "--pairs", "12", "--seed", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sum(out["made"].values()) == 12 and out["inserted"] == 12
    with Project.open(folder) as project:
        assert len(list((project.cache_dir).glob("pool-*.npz"))) == 1
        assert {p.source for p in project.pairs.all()} == {"suggested"}


@pytest.mark.skipif(not index_available(), reason="usearch is not installed")
def test_auto_switches_to_the_index_when_near_pairs_are_rare(project, tmp_path, monkeypatch):
    from stsstudio.core import suggest

    _topic_pool(project, tmp_path)
    monkeypatch.setattr(suggest, "EXACT_LIMIT", 10)
    monkeypatch.setattr(suggest, "_BLOCK", 8)
    r = suggest_pairs(project, SuggestOptions(pairs=60, model=TopicEncoder(), dev_fraction=0.0))
    assert r.search == "exact+index" and len(r.pairs) == 60
    assert all(stratum(p.stratum).low <= p.predicted < stratum(p.stratum).high for p in r.pairs)
    hashes = [pair_hash(p.sentence1, p.sentence2) for p in r.pairs]
    assert len(set(hashes)) == 60


def test_the_realised_mix_is_the_planned_mix_across_splits(project, tmp_path):
    """Issue 20, point 11: 40 pairs planned 16/12/12 came out 16/13/11, because each split
    rounded its own share of the mix. The split quotas now keep the plan's totals exactly."""
    from stsstudio.core.suggest import _group_quotas, split_quotas

    quotas = split_quotas(plan_mix(40), _group_quotas({"train": 80, "dev": 20}, 40))
    assert {n: sum(q[n] for q in quotas.values()) for n in ("near", "mid", "far")} == plan_mix(40)
    assert {g: sum(q.values()) for g, q in quotas.items()} == {"train": 32, "dev": 8}
    _topic_pool(project, tmp_path)
    result = suggest_pairs(project, SuggestOptions(pairs=40, model=TopicEncoder(), seed=1, dev_fraction=0.2),
                           commit=False)
    assert result.planned == plan_mix(40) == {"near": 16, "mid": 12, "far": 12}
    assert result.made == result.planned, result.warnings
    assert set(result.splits) == {"train", "dev"}
