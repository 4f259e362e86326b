"""Qt views and dialogs of STS Studio. They call stsstudio.core, never the other way round."""

from __future__ import annotations

import sys


def _pin_bool_singletons() -> None:
    """Work around a PySide6 6.12 reference-count bug on CPython < 3.12.

    ``SignalInstance.emit()`` returns ``True`` without taking a reference, so every emit from
    Python drops one reference to ``True``; after a few hundred emits the interpreter aborts
    with "bool_dealloc: deallocating True or False". CPython 3.12+ makes these singletons
    immortal; on older versions we do the same by hand: they are static objects that are
    never freed, so a huge extra count is harmless.
    """
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return
    import ctypes

    for obj in (True, False, None):
        refcnt = ctypes.c_ssize_t.from_address(id(obj))
        if refcnt.value < (1 << 40):
            refcnt.value += 1 << 40


_pin_bool_singletons()
