"""The labelling view's keys: which key does what (keyboard first, nothing to click).

:func:`handles` says which keys the view claims before the window's menu shortcuts see them;
:func:`key_action` names the view's method a key calls, with its arguments.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

from stsstudio.core.scales import key_range, key_scores, key_steps

HINTS = ("<b>{keys}</b> set score &nbsp;·&nbsp; <b>←/→</b> ±{step} &nbsp;·&nbsp; <b>Shift+←/→</b> ±{fine}"
         " &nbsp;·&nbsp; <b>Enter</b> save &amp; next &nbsp;·&nbsp; <b>Backspace</b> back"
         " &nbsp;·&nbsp; <b>S</b> skip &nbsp;·&nbsp; <b>F</b> flag &nbsp;·&nbsp; <b>N</b> note"
         " &nbsp;·&nbsp; <b>Ctrl+Z</b> undo")

# Plain keys (Shift allowed) -> (the view's method, arguments without / with Shift).
_PLAIN: dict[Qt.Key, tuple[str, tuple, tuple]] = {
    # ←/→ move one step of the project's scale, Shift one readable unit (core.scales.nudge).
    Qt.Key.Key_Left: ("nudge", (-1,), (-1, True)),
    Qt.Key.Key_Right: ("nudge", (1,), (1, True)),
    Qt.Key.Key_Return: ("confirm", (), ()),
    Qt.Key.Key_Enter: ("confirm", (), ()),
    Qt.Key.Key_Backspace: ("back", (), ()),
    Qt.Key.Key_S: ("next", (), ()),
    Qt.Key.Key_F: ("toggle_flag", (), ()),
    Qt.Key.Key_N: ("edit_note", (), ()),
    Qt.Key.Key_G: ("accept_guess", (), ()),
}


def number_keys(scale: str | None) -> dict[int, float]:
    """Qt digit key -> stored score on the project's display scale (core.scales.key_scores):
    on 1-5 key 1 is a 1 (stored 0), key 5 a 5."""
    return {getattr(Qt.Key, f"Key_{k}"): v for k, v in key_scores(scale).items()}


def hints(scale: str | None) -> str:
    """The key hint under the labelling view, in the project's own units (1-5: "±0.2")."""
    step, fine = key_steps(scale)
    return HINTS.format(keys=key_range(scale), step=f"{step:g}", fine=f"{fine:g}")


def _is_undo(event: QKeyEvent) -> bool:
    mods = event.modifiers()
    return event.key() == Qt.Key.Key_Z and bool(mods & Qt.KeyboardModifier.ControlModifier) \
        and not mods & Qt.KeyboardModifier.ShiftModifier


def _plain(event: QKeyEvent) -> bool:
    rest = event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier)
    return rest == Qt.KeyboardModifier.NoModifier


def handles(event: QKeyEvent, digits: dict[int, float]) -> bool:
    """Whether the view takes this key (Ctrl+Z, and its plain keys with or without Shift)."""
    if _is_undo(event):
        return True
    return _plain(event) and (event.key() in digits or event.key() in _PLAIN)


def key_action(event: QKeyEvent, digits: dict[int, float]) -> tuple[str, tuple] | None:
    """``(method, args)`` the key calls on the view, or None when it is not the view's."""
    if _is_undo(event):
        return "undo", ()
    if not _plain(event):
        return None
    key = event.key()
    shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
    if key in digits:
        return None if shift else ("set_score", (digits[key],))
    if key in _PLAIN:
        name, args, shift_args = _PLAIN[key]
        return name, shift_args if shift else args
    return None
