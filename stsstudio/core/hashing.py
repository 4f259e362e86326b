"""Pair identity: normalised sentences and 64-bit pair keys, vectorised for a million rows.

The store keeps one key per pair (``pairs.pair_hash``); the importers compute the same keys
with numpy/pyarrow for a whole file at once and deduplicate against the project's keys.
"""

from __future__ import annotations

import unicodedata
from typing import Any


def normalise_sentence(text: str) -> str:
    """The form two sentences are compared in for duplicate detection.

    Unicode NFC, whitespace collapsed, case folded: "A  cat." and "a cat." are the same.
    """
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


# Strings that need the full Python normalisation: only ASCII text without odd whitespace
# can take the vectorised lower-case path, and for it both give the same result.
_NEEDS_PYTHON_NORMALISATION = r"[^\x00-\x7f]|[\t\n\r\x0b\x0c\x1c-\x1f]|  |^ | $"


def _may_need_python_normalisation(arr: Any) -> bool:
    """A quick scan of the raw string bytes: False means every string takes the fast path.

    Much cheaper than the per-string regex when, as usual, no string has odd whitespace or
    non-ASCII characters. False positives only cost the precise check.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(arr) == 0:
        return False
    if pc.any(pc.starts_with(arr, " ")).as_py() or pc.any(pc.ends_with(arr, " ")).as_py():
        return True
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    for chunk in chunks:
        buf = chunk.buffers()[2]
        if buf is None or buf.size == 0:
            continue
        # Every string of the chunk back to back (plus maybe some slack), without a copy.
        data = np.frombuffer(buf, dtype=np.uint8)
        if ((data < 0x20) | (data >= 0x80)).any():  # control bytes (tab, newline, ...), non-ASCII
            return True
        spaces = data == 0x20
        if (spaces[1:] & spaces[:-1]).any():
            return True
    return False


def _mix64(x: Any) -> Any:
    """splitmix64's finaliser on a uint64 numpy array (wrapping arithmetic is intended)."""
    import numpy as np

    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def sentence_hashes(sentences: Any, texts: list[str] | None = None) -> Any:
    """64-bit hashes (numpy uint64) of normalised sentences, vectorised for a million rows.

    Args:
        sentences: a list of str, a pandas Series or a pyarrow array, without nulls.
        texts: the same sentences as a Python list, when the caller has one already.

    Equal under :func:`normalise_sentence` means equal hash. Pure-ASCII sentences without odd
    whitespace are just lower-cased; only the rest go through Python's NFC and casefold.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import xxhash

    arr = sentences if isinstance(sentences, (pa.Array, pa.ChunkedArray)) else pa.array(
        sentences, type=pa.large_string(), from_pandas=True)
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    if texts is None:
        texts = arr.to_pylist()
    digest = xxhash.xxh3_64_intdigest
    if not _may_need_python_normalisation(arr):
        return np.fromiter(map(digest, map(str.encode, map(str.lower, texts))), dtype=np.uint64,
                           count=len(texts))
    special = pc.match_substring_regex(arr, _NEEDS_PYTHON_NORMALISATION).to_numpy(zero_copy_only=False)
    return np.fromiter((digest((normalise_sentence(t) if odd else t.lower()).encode())
                        for t, odd in zip(texts, special.tolist())), dtype=np.uint64, count=len(texts))


def combine_pair_hashes(h1: Any, h2: Any) -> Any:
    """Order-independent 64-bit pair keys (numpy int64) from two arrays of sentence hashes."""
    import numpy as np

    lo, hi = np.minimum(h1, h2), np.maximum(h1, h2)
    with np.errstate(over="ignore"):
        key = _mix64(lo * np.uint64(0xD6E8FEB86659FD93) ^ _mix64(hi))
    return key.view(np.int64)


def pair_hashes(sentences1: Any, sentences2: Any) -> Any:
    """Signed 64-bit keys (numpy int64) of unordered, normalised pairs; see :func:`pair_hash`."""
    return combine_pair_hashes(sentence_hashes(sentences1), sentence_hashes(sentences2))


def pair_hash(sentence1: str, sentence2: str) -> int:
    """A signed 64-bit key of the unordered, normalised pair: (A, B) and (B, A) collide.

    Dedup by this key is far cheaper than a unique index on the text itself. Identical to
    what the importers compute for a million rows at once with :func:`pair_hashes`.
    """
    return int(pair_hashes([sentence1], [sentence2])[0])
