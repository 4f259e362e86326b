"""Shared GUI pieces: widgets, style, icons, the worker pattern, undo, plots and the project context."""
