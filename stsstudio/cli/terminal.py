"""What a command prints, kept safe for the user's terminal, and errors as one line."""

from __future__ import annotations

from typing import Any


def terminal_safe(text: str, keep: str = "\n\t") -> str:
    """``text`` with control characters written as visible escapes (``\\x1b``, ``\\u202e``).

    Escapes C0 and C1 controls (ESC, BEL, CSI, carriage return, ...), DEL, the bidirectional
    overrides and the Unicode line separators; keeps the characters in ``keep``.
    """
    if text.isprintable() and not any(c in _BIDI for c in text):
        return text
    return "".join(c if c in keep or (c.isprintable() and c not in _BIDI) or c == " "
                   else c.encode("unicode_escape").decode("ascii") for c in text)


_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


class _TerminalSafeStream:
    """sys.stdout/stderr for a command: text is escaped by :func:`terminal_safe`; our own
    progress redraws (``raw_write``) keep their carriage return and erase-line sequence."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        # A carriage return stays: progress bars (ours, Hugging Face's) redraw their line with it.
        return self._stream.write(terminal_safe(text, keep="\n\t\r"))

    def raw_write(self, text: str) -> int:
        return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _raw_write(stream: Any, text: str) -> None:
    """Write our own terminal control (a progress bar's redraw) past the escaping."""
    getattr(stream, "raw_write", stream.write)(text)


def one_line(text: str) -> str:
    """A message as one line: newlines and other control characters (from file names) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _os_error_text(exc: OSError) -> str:
    import errno

    why = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        why = "no space left on device (the disk is full); nothing was written"
    name = exc.filename if exc.filename is not None else None
    return f"{name}: {why}" if name else why
