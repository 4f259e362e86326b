"""Annotator identity: one person is one annotator, however their name was typed.

``Alice``, ``alice``, `` Alice `` and ``Alice`` with a zero-width space are one annotator. A name
is compared by its key (Unicode NFC, zero-width characters removed, whitespace trimmed and
collapsed, case-folded); the first spelling a project saw is the one it keeps and shows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Invisible characters that make two names look the same and compare different.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
_SPACES = re.compile(r"\s+")


def clean_annotator(name: str | None) -> str:
    """The name as shown: NFC, zero-width characters removed, whitespace trimmed and collapsed."""
    if not name:
        return ""
    text = unicodedata.normalize("NFC", str(name)).translate(_ZERO_WIDTH)
    return _SPACES.sub(" ", text).strip()


def annotator_key(name: str | None) -> str:
    """The identity two spellings of one annotator share (:func:`clean_annotator`, case-folded)."""
    return unicodedata.normalize("NFC", clean_annotator(name).casefold())


def join_spellings(names: Iterable[str], known: Iterable[str] = ()) -> dict[str, str]:
    """Each of ``names`` mapped to the spelling it is kept under.

    Args:
        names: the spellings arriving (labels, a merge, an assignment).
        known: the spellings a project already holds, oldest first; they win over new ones.

    Returns:
        ``{name: kept spelling}``: the first known spelling with the same key, else the first
        arriving one (cleaned).
    """
    first: dict[str, str] = {}
    for spelling in known:
        first.setdefault(annotator_key(spelling), spelling)
    out: dict[str, str] = {}
    for name in names:
        key = annotator_key(name)
        out[name] = first.setdefault(key, clean_annotator(name)) if key else ""
    return out
