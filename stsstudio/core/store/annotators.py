"""Annotators: one person is one annotator, whatever the spelling."""

from __future__ import annotations

import json
from collections.abc import Iterable

from stsstudio.core.store.db import Database
from stsstudio.core.store.records import (
    _SPELLINGS_KEY,
    _metadata,
)


class Annotators:
    """``project.annotators``: the spelling the project keeps for each annotator."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._spellings: list[str] | None = None

    def spellings(self, names: Iterable[str], *, remember: bool = False) -> dict[str, str]:
        """Each name mapped to the spelling this project keeps for that annotator.

        One person is one annotator: names are compared by :func:`annotators.annotator_key`
        (NFC, trimmed, zero-width characters removed, case-folded), and the first spelling the
        project saw is kept. The label-writing methods apply it (``remember``: the names are
        being written); callers use it to say which spellings were joined.
        """
        from stsstudio.core.annotators import join_spellings

        with self._db._lock:
            if self._spellings is None:
                self._spellings = self._known_spellings(persist=remember)
            names = list(names)
            out = join_spellings(names, self._spellings)
            if remember:
                known = set(self._spellings)
                new = [v for v in dict.fromkeys(out.values()) if v and v not in known]
                if new:
                    self._spellings += new
                    if not self._db.readonly:
                        self._db.set_meta(_SPELLINGS_KEY, json.dumps(self._spellings, ensure_ascii=False))
        return out

    def _known_spellings(self, persist: bool) -> list[str]:
        """The annotator spellings seen, oldest first: kept in meta, so that the first label
        of a session does not scan every label (0.9 s at a million labels)."""
        stored = _metadata('{"v": ' + (self._db.get_meta(_SPELLINGS_KEY) or "null") + "}")
        value = (stored or {}).get("v")
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        rows = self._db._execute("SELECT annotator FROM (SELECT annotator, MIN(id) AS first "
                             "FROM labels GROUP BY annotator UNION ALL SELECT annotator, "
                             "NULL FROM assignments GROUP BY annotator) ORDER BY first IS NULL, first")
        spellings = list(dict.fromkeys(r[0] for r in rows if isinstance(r[0], str) and r[0]))
        if persist and not self._db.readonly:
            self._db.set_meta(_SPELLINGS_KEY, json.dumps(spellings, ensure_ascii=False))
        return spellings

    def spelling(self, name: str | None, *, remember: bool = False) -> str:
        """The spelling this project keeps for ``name`` (see :meth:`spellings`)."""
        if not name:
            return ""
        return self.spellings([name], remember=remember)[name]
