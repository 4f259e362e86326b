"""Every hint names a real place (issue 20, point 2): an "A ▸ B" path in the GUI's text (and in
core's messages, which the GUI shows) is a menu path of the real main window, and no GUI text
sends the user to a terminal command."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from PySide6.QtWidgets import QMenu

import stsstudio
from stsstudio import cli

PACKAGE = Path(stsstudio.__file__).parent
ARROW = " ▸ "
# Text printed in the terminal because no window can open there (the user is in a shell).
TERMINAL_ONLY = {("shell/application.py", "platform_problem")}


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _strings(folder: Path, *, docstrings: bool) -> list[tuple[str, int, str]]:
    """(file, line, text) of every string literal; an f-string's fields read as ``{}``."""
    out: list[tuple[str, int, str]] = []
    for path in sorted(folder.rglob("*.py")):
        name = path.relative_to(folder).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = set() if docstrings else _docstring_nodes(tree)
        terminal: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and (name, node.name) in TERMINAL_ONLY:
                terminal.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            if id(node) in skip or id(node) in terminal:
                continue
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append((name, node.lineno, node.value))
            elif isinstance(node, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
                out.append((name, node.lineno, text))
    return out


def _menus(window) -> dict[str, QMenu]:
    return {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions() if a.menu()}


def _items(menu: QMenu) -> dict[str, QMenu | None]:
    return {a.text().replace("&", ""): a.menu() for a in menu.actions() if a.text()}


def _bad_path(text: str, menus: dict[str, QMenu]) -> str:
    """The first "A ▸ B" path in ``text`` that the window's menus do not have ("" if none)."""
    pieces = text.split(ARROW)
    if len(pieces) < 2:
        return ""
    top = re.findall(r"[\w-]+$", pieces[0])
    menu = menus.get(top[0]) if top else None
    if menu is None:
        return f"{top[0] if top else pieces[0]!r} is no menu"
    for i, piece in enumerate(pieces[1:], start=1):
        items = _items(menu)
        if i < len(pieces) - 1 and isinstance(items.get(piece), QMenu):
            menu = items[piece]          # a submenu, and the path goes on
            continue
        if not any(piece.startswith(name) for name in items):
            return f"{piece!r} is not in that menu ({', '.join(items)})"
        if i < len(pieces) - 1:          # another path follows in the same text
            top = re.findall(r"[\w-]+$", piece)
            menu = menus.get(top[0]) if top else None
            if menu is None:
                return f"{piece!r} does not end in a menu name"
    return ""


def test_every_menu_path_in_the_app_exists(main_window) -> None:
    menus = _menus(main_window)
    assert {"File", "Edit", "View", "Annotators", "Help"} <= set(menus)
    found, wrong = 0, []
    for folder in (PACKAGE / "gui", PACKAGE / "core"):
        for name, line, text in _strings(folder, docstrings=True):
            if ARROW in text:
                found += 1
                problem = _bad_path(text, menus)
                if problem:
                    wrong.append(f"{folder.name}/{name}:{line}: {problem}")
    assert found >= 4                    # the check reads the hints it is meant to check
    assert not wrong, "\n".join(wrong)
    # The check itself tells a wrong path from a right one.
    assert _bad_path("Merge labels (File ▸ Merge labels…)", menus)
    assert not _bad_path("Merge labels (Annotators ▸ Merge labels…)", menus)


def test_no_gui_text_names_a_terminal_command() -> None:
    commands = sorted(cli.build_parser()._subparsers._group_actions[0].choices, key=len, reverse=True)
    assert {"export-data", "predict", "queue"} <= set(commands)
    pattern = re.compile(r"\bstsstudio (?:" + "|".join(map(re.escape, commands)) + r")\b")
    hits = [f"gui/{name}:{line}: {text!r}" for name, line, text in _strings(PACKAGE / "gui", docstrings=False)
            if pattern.search(text)]
    assert not hits, "\n".join(hits)
    assert pattern.search("run `stsstudio predict /path --model best`")


def test_the_double_label_dialog_saves_the_packs_it_names(project, qtbot, tmp_path: Path) -> None:
    import pandas as pd
    from PySide6.QtWidgets import QLabel

    from stsstudio.core.merge import merge_labels
    from stsstudio.gui.annotators.annotators_menu import OverlapDialog

    project.pairs.insert([(f"a {i}", f"b {i}", None, "train", i, None) for i in range(10)])
    dialog = OverlapDialog(project)
    qtbot.addWidget(dialog)
    intro = dialog.findChildren(QLabel)[0].text()
    assert dialog.save_button.text() in intro and "Annotators ▸ Merge labels…" in intro
    assert not dialog.save_button.isEnabled()            # nothing assigned yet
    dialog.names.setText("ana, ben/../x")
    dialog.assign()
    assert dialog.save_button.isEnabled()
    written = dialog.save_packs(str(tmp_path / "packs"))   # a folder that does not exist: said
    assert written == [] and "stopped" in dialog.result.text()
    (tmp_path / "packs").mkdir()
    written = dialog.save_packs(str(tmp_path / "packs"))
    assert sorted(p.name for p in (tmp_path / "packs").iterdir()) == ["ana.csv", "ben_.._x.csv"]
    assert len(written) == 2 and "Annotators ▸ Merge labels…" in dialog.result.text()
    pack = pd.read_csv(tmp_path / "packs" / "ana.csv")
    summary = project.assignments.summary()["ana"]
    assert len(pack) == summary["share"] + summary["overlap"] and set(pack["annotator"]) == {"ana"}
    pack.loc[0, "score"] = 0.5                            # ana labels one pair and sends it back
    pack.to_csv(tmp_path / "packs" / "ana.csv", index=False)
    report = merge_labels(project, tmp_path / "packs" / "ana.csv")
    assert report.written == 1 and report.annotators == ["ana"]
