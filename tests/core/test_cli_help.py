"""The command line's own help names everything a user can type (issue 20, point 12)."""

from __future__ import annotations

from stsstudio.cli import build_parser


def test_help_names_the_desktop_entry_flags() -> None:
    text = build_parser().format_help()
    assert "--install-desktop-entry" in text and "--uninstall-desktop-entry" in text
