"""Shared fixtures. Qt runs offscreen, the Hub is offline, and no test touches a real profile."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The tests train tiny models: one thread is faster than two, and on a busy 2-core machine two
# threads per process spin against each other (a tiny run took 4x as long).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
STSB_TRAIN = SHARED / "data" / "stsb" / "sts-train.csv"
STSB_DEV = SHARED / "data" / "stsb" / "sts-dev.csv"

# A small vocabulary that covers the words of the demo data and the tests' sentences well
# enough for a tokenizer to be realistic; unknown words map to [UNK] like any WordPiece.
_WORDS = """the a an is are was were be to of and in on at for with my our your it this that
man woman person people dog cat plane car train bus bike guitar flute pizza cheese playing
taking off riding eating cutting slicing running walking sitting standing car street water
vpn printer password reset email laptop screen login account network wifi disconnects
drops keeps cannot can not works working broken slow fast error server outlook teams
connection home office today again please help user users new old computer phone
""".split()


def _build_tiny_model(target: Path) -> Path:
    """A random 2-layer BERT with a real WordPiece tokenizer, saved as a sentence-transformers
    folder. Built once per session; each test copies it."""
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers >= 6 moved the modules
        from sentence_transformers.sentence_transformer import modules as models
    except ImportError:  # pragma: no cover - older versions
        from sentence_transformers import models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    target.mkdir(parents=True, exist_ok=True)
    hf_dir = target / "hf"
    hf_dir.mkdir(exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(_WORDS))
    vocab += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    vocab += list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    (hf_dir / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    tokenizer = BertTokenizerFast(vocab=str(hf_dir / "vocab.txt"), do_lower_case=True)
    assert tokenizer.vocab_size > 100, "the tiny tokenizer lost its vocabulary"
    import torch

    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    transformer = models.Transformer(str(hf_dir), max_seq_length=64)
    dim = (transformer.get_embedding_dimension() if hasattr(transformer, "get_embedding_dimension")
           else transformer.get_word_embedding_dimension())
    pooling = models.Pooling(dim, pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling], device="cpu")
    st_dir = target / "st"
    model.save(str(st_dir))
    return st_dir


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the session's tiny sentence-transformers model (do not modify it)."""
    return _build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="session")
def tiny_hf_dir(tiny_model_dir: Path) -> Path:
    """The same tiny model as a plain transformers folder (no sentence-transformers config)."""
    return tiny_model_dir.parent / "hf"


@pytest.fixture
def tiny_model(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny model folder for one test."""
    dst = tmp_path / "tiny_model"
    shutil.copytree(tiny_model_dir, dst)
    return dst


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep QSettings and the user data folder inside the test's tmp_path."""
    data = tmp_path / "_userdata"
    monkeypatch.setenv("STSSTUDIO_DATA_DIR", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "_config"))
    monkeypatch.setenv("STSSTUDIO_SETTINGS_DIR", str(tmp_path / "_config"))


@pytest.fixture
def project(tmp_path: Path):
    """A new, empty, open project."""
    from stsstudio.core.store import Project

    p = Project.create(tmp_path / "proj", name="Test project")
    yield p
    p.close()


def stsb_missing(path: Path) -> str:
    """The skip reason of a test that needs the STS Benchmark: what is missing and where."""
    return (f"needs the STS Benchmark (STSb) file {path.name} in {path.parent} "
            "(not in the repository; README, 'Test data', says how to get it)")


@pytest.fixture
def stsb_train() -> Path:
    if not STSB_TRAIN.exists():
        pytest.skip(stsb_missing(STSB_TRAIN))
    return STSB_TRAIN


@pytest.fixture
def stsb_dev() -> Path:
    if not STSB_DEV.exists():
        pytest.skip(stsb_missing(STSB_DEV))
    return STSB_DEV


def pytest_configure(config: pytest.Config) -> None:
    sys.path.insert(0, str(REPO))
