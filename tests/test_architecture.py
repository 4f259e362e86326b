"""Architecture rules, checked on the source with the AST (see /work/shared/STYLE.md).

- The store owns SQL: no SQL string in any module of ``stsstudio`` outside the ``core/store/`` package.
- Core and the GUI have no import cycle (imports inside functions and type-only imports count too).
- The GUI never matches on an exception's text: core raises typed errors (core/errors.py) with hints.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "stsstudio"
STORE = PACKAGE / "core" / "store"
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|WITH|PRAGMA)\s")


def sql_strings(source: str) -> list[str]:
    """String literals (f-string parts included) that start with an SQL keyword."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and SQL_START.match(node.value):
            found.append(node.value)
    return found


@pytest.mark.parametrize(("source", "is_sql"), [
    ('rows = project.execute("SELECT id FROM pairs")', True),
    ('sql = f"SELECT id FROM pairs WHERE {where}"', True),
    ("cur.execute('''\n    UPDATE pairs SET score = ?''')", True),
    ('conn.execute("PRAGMA user_version")', True),
    ('q = "WITH t AS (SELECT 1) SELECT * FROM t"', True),
    ('label = "Select the pairs to delete"', False),
    ('message = "Update STS Studio to open it."', False),
    ("selected = ids  # SELECT nothing here: a comment", False),
])
def test_sql_detector(source: str, is_sql: bool) -> None:
    assert bool(sql_strings(source)) is is_sql


def test_sql_lives_only_in_the_store() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(STORE):
            continue
        found = sql_strings(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(PACKAGE))] = found
    assert not offenders, f"SQL outside core/store/ (add a named method to a store manager): {offenders}"


def core_imports(module: str, source: str, modules: set[str]) -> set[str]:
    """The ``stsstudio.core`` modules that ``module``'s source imports, anywhere in the file."""
    package = module.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # `from stsstudio.core import store` imports a module; `from x.store import y` x.store.
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        out.update(n for n in names if n in modules and n != module)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of a directed graph as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}   # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def core_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    modules = set(sources)
    return {m: core_imports(m, src, modules) for m, src in sources.items()}


def test_cycle_finder_sees_a_cycle_through_a_function_import() -> None:
    sources = {
        "stsstudio.core.a": "from stsstudio.core.b import f\n",
        "stsstudio.core.b": "def f():\n    from stsstudio.core import c\n",
        "stsstudio.core.c": "def g():\n    from .a import x\n",
        "stsstudio.core.d": "import stsstudio.core.a\n",
    }
    graph = core_graph(sources)
    assert graph["stsstudio.core.b"] == {"stsstudio.core.c"}
    assert graph["stsstudio.core.c"] == {"stsstudio.core.a"}
    assert find_cycle(graph) == ["stsstudio.core.a", "stsstudio.core.b", "stsstudio.core.c",
                                 "stsstudio.core.a"]
    del sources["stsstudio.core.c"]
    assert find_cycle(core_graph(sources)) is None


def test_core_has_no_import_cycle() -> None:
    graph = core_graph(package_sources(PACKAGE / "core"))   # core/store/ included
    assert any(graph.values())   # the walk sees imports at all
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def package_sources(folder: Path) -> dict[str, str]:
    """Module name -> source for every module under ``folder``, subpackages included."""
    sources = {}
    for path in folder.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        sources[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path.read_text(encoding="utf-8")
    return sources


def test_cycle_finder_counts_a_type_only_import() -> None:
    sources = {
        "stsstudio.gui.shell.window": "def f():\n    from stsstudio.gui.annotators.menu import install\n",
        "stsstudio.gui.annotators.menu": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                         "    from stsstudio.gui.shell.window import Window\n",
    }
    assert find_cycle(core_graph(sources)) == ["stsstudio.gui.annotators.menu", "stsstudio.gui.shell.window",
                                               "stsstudio.gui.annotators.menu"]


def test_gui_has_no_import_cycle() -> None:
    """Issue 22: type-only imports count too (a feature gets what it needs passed in)."""
    graph = core_graph(package_sources(PACKAGE / "gui"))
    assert graph["stsstudio.gui.shell.main_window"]   # the walk sees imports in subpackages
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


# Issue 9: a view is composed of small widgets; no class grows into a second TrainView.
MAX_CLASS_LINES = 500
MAX_METHOD_LINES = 60


def oversized(source: str, name: str = "<source>") -> list[str]:
    """Classes over MAX_CLASS_LINES and methods over MAX_METHOD_LINES in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            if node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                found.append(f"{name}: class {node.name} has {node.end_lineno - node.lineno + 1} lines")
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and item.end_lineno - item.lineno + 1 > MAX_METHOD_LINES:
                    found.append(f"{name}: {node.name}.{item.name} has "
                                 f"{item.end_lineno - item.lineno + 1} lines")
    return found


def test_size_detector_sees_a_long_class_and_a_long_method() -> None:
    long_method = "class A:\n    def f(self):\n" + "        x = 1\n" * 70
    long_class = "class B:\n" + "".join(f"    def f{i}(self):\n        pass\n" for i in range(260))
    assert oversized(long_method) == ["<source>: A.f has 71 lines"]
    assert oversized(long_class) == ["<source>: class B has 521 lines"]
    assert oversized("class C:\n    def f(self):\n        pass\n") == []


def test_no_gui_class_or_method_is_oversized() -> None:
    found = []
    for path in sorted((PACKAGE / "gui").rglob("*.py")):
        found += oversized(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)))
    assert not found, "split these into composed widgets or helper methods:\n" + "\n".join(found)


# Issue 22: one table of file formats (core/formats.py); no other module spells a suffix.
FORMATS_MODULE = PACKAGE / "core" / "formats.py"
SUFFIX_LITERAL = re.compile(r"\.(csv|tsv|jsonl|parquet|xlsx)\b", re.IGNORECASE)


def suffix_literals(source: str) -> list[str]:
    """String literals (f-string parts included, docstrings not) naming a data file suffix."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant):
            docstrings.add(id(node.body[0].value))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and SUFFIX_LITERAL.search(node.value)]


@pytest.mark.parametrize(("source", "found"), [
    ('SUFFIXES = (".csv", ".tsv")', True),
    ('name = "labeled_pairs.parquet"', True),
    ('msg = f"use a .jsonl or {x}.XLSX file"', True),
    ('FILTER = "Pairs (*.csv *.tsv)"', True),
    ('def f():\n    """Reads a .csv file."""\n    return 1\n', False),
    ('"""A module about .parquet files."""\nx = 1\n', False),
    ('label = "CSV, TSV or Parquet"', False),
    ('path = base.with_suffix(fmt.suffix)', False),
    ('name = "data.csvx"', False),
])
def test_suffix_detector(source: str, found: bool) -> None:
    assert bool(suffix_literals(source)) is found


def test_file_suffixes_live_only_in_the_format_registry() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == FORMATS_MODULE:
            continue
        found = suffix_literals(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(PACKAGE))] = found
    assert suffix_literals(FORMATS_MODULE.read_text(encoding="utf-8"))  # the registry is seen
    assert not offenders, f"file suffixes outside core/formats.py (read the registry): {offenders}"


# -- change sets: one helper turns a write's Changes into the views' signals -------------------

PROJECT_SIGNALS = {"pairsChanged", "pairChanged", "runsChanged", "predictionsChanged"}
CHANGE_HELPER = PACKAGE / "gui" / "common" / "context.py"


def hand_emitted_signals(source: str) -> list[int]:
    """Lines that emit a project signal by hand (``ctx.pairsChanged.emit()``) or forward
    another signal into one (``x.connect(ctx.pairsChanged)``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value if node.func.attr == "emit" else (
            node.args[0] if node.func.attr == "connect" and node.args else None)
        if isinstance(target, ast.Attribute) and target.attr in PROJECT_SIGNALS:
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(("source", "found"), [
    ("self.ctx.pairsChanged.emit()", True),
    ("ctx.pairChanged.emit(3)", True),
    ("panel.targetChanged.connect(window.ctx.pairsChanged)", True),
    ("self.ctx.apply(Changes.new_pairs())", False),
    ("ctx.pairsChanged.connect(self._on_pairs_changed)", False),
    ("self.finished.emit(result)", False),
])
def test_hand_emit_detector(source: str, found: bool) -> None:
    assert bool(hand_emitted_signals(source)) is found


def test_project_signals_come_only_from_change_sets() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == CHANGE_HELPER:
            continue
        lines = hand_emitted_signals(path.read_text(encoding="utf-8"))
        if lines:
            offenders[str(path.relative_to(PACKAGE))] = lines
    assert hand_emitted_signals(CHANGE_HELPER.read_text(encoding="utf-8"))   # the helper is seen
    assert not offenders, f"emit a change set with ctx.apply(Changes...) instead: {offenders}"


# -- colours: every colour is a named role of gui/common/style.py (issue 22, point 6) ----------

STYLE = PACKAGE / "gui" / "common" / "style.py"
# Six digits anywhere; three ("#fff") as a whole string or after a CSS colon, so that
# "issue #123" is not a colour.
HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}\b|^#[0-9a-fA-F]{3}$|:\s*#[0-9a-fA-F]{3}\b")


def hex_colors(source: str) -> list[str]:
    """Hex colour literals in string constants (f-string parts included); comments don't count."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.extend(HEX_COLOR.findall(node.value))
    return found


@pytest.mark.parametrize(("source", "has_hex"), [
    ('label.setStyleSheet("color: #6b6b6b;")', True),
    ('GREY = QColor("#9a9a9a")', True),
    ("html = f\"<span style='color:#b3261e'>{text}</span>\"", True),
    ('pen = pg.mkPen("#fff")', True),
    ('sheet = "QLabel { background:#eee; }"', True),
    ('label.setStyleSheet(style.text_color("hint"))', False),
    ('colour = QColor(style.color("accent"))  # was #4c5fd5', False),
    ('link = "see issue #123 and row #12"', False),
    ('pattern = re.compile(r\'color="#[0-9a-fA-F]{3,6}"\')', False),
])
def test_hex_color_detector(source: str, has_hex: bool) -> None:
    assert bool(hex_colors(source)) is has_hex


def test_hex_colours_live_only_in_style() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == STYLE:
            continue
        found = hex_colors(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(PACKAGE))] = found
    assert not offenders, f"Hex colours outside gui/common/style.py (add a named role there): {offenders}"


# -- typed errors: the GUI never guesses a failure from its text -------------------------------

ERROR_NAMES = {"message", "msg", "error", "err", "exc", "exception", "failure", "reason", "details"}
TEXT_METHODS = {"lower", "upper", "casefold", "startswith", "endswith", "find", "index", "count"}
REGEX_CALLS = {"search", "match", "fullmatch", "findall", "finditer"}


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _text_matches(body: list[ast.stmt], names: set[str]) -> list[int]:
    """Lines in ``body`` that look inside the text of one of ``names``."""
    lines = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str) \
                        and any(_mentions(c, names) for c in node.comparators):
                    lines.append(node.lineno)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in TEXT_METHODS and _mentions(node.func.value, names):
                    lines.append(node.lineno)
                elif node.func.attr in REGEX_CALLS and any(_mentions(a, names) for a in node.args[1:]):
                    lines.append(node.lineno)
    return lines


def error_text_matches(source: str) -> list[int]:
    """Lines that match on an exception's text: inside ``except ... as e`` (on ``e``), in a function
    that takes a failure message (``message``, ``error``, ...), or any function named ``explain*``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ExceptHandler) and node.name:
            lines += _text_matches(node.body, {node.name})
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name.lstrip("_").startswith("explain"):
                lines.append(node.lineno)
            params = {a.arg for a in [*node.args.args, *node.args.kwonlyargs]} & ERROR_NAMES
            if params:
                lines += _text_matches(node.body, params)
    return sorted(set(lines))


@pytest.mark.parametrize(("source", "found"), [
    ("try:\n    f()\nexcept RuntimeError as exc:\n    if 'out of memory' in str(exc).lower():\n"
     "        g()", True),
    ("try:\n    f()\nexcept Exception as e:\n    oom = 'CUDA' in str(e)", True),
    ("try:\n    f()\nexcept Exception as e:\n    if re.search('nan', str(e)):\n        g()", True),
    ("def explain_failure(text):\n    return text", True),
    ("def _on_failed(self, message, details):\n    if 'too few' in message:\n        pass", True),
    ("def _on_failed(self, message, details):\n    low = message.lower()", True),
    ("try:\n    f()\nexcept UserError as exc:\n    self.show(exc.text, exc.hint)", False),
    ("def _on_failed(self, message, details):\n    self.banner.setText(message)", False),
    ("def _on_failed(self, message, details):\n    self.log('FAILED: ' + message.replace('\\n', ' '))",
     False),
    ("def f(text):\n    return 'x' in text.lower()", False),
])
def test_error_text_detector(source: str, found: bool) -> None:
    assert bool(error_text_matches(source)) is found


def test_gui_never_matches_on_exception_text() -> None:
    offenders = {}
    for path in sorted((PACKAGE / "gui").rglob("*.py")):
        lines = error_text_matches(path.read_text(encoding="utf-8"))
        if lines:
            offenders[str(path.relative_to(PACKAGE))] = lines
    assert not offenders, ("raise a typed error with its hint in core (core/errors.py) and show "
                           f"error.text and error.hint instead: {offenders}")


# Core may translate a third party's exception by its text in these places only (torch's
# out-of-memory, pandas' ragged-row parse error); everything else raises a typed error.
CORE_TRANSLATIONS = {("core/training.py", "_is_oom"), ("core/importers.py", "parse_ragged")}


def matching_functions(source: str) -> set[str]:
    """The innermost function around each line that matches on an exception's text."""
    tree = ast.parse(source)
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    names = set()
    for line in error_text_matches(source):
        around = [f for f in functions if f.lineno <= line <= (f.end_lineno or f.lineno)]
        names.add(max(around, key=lambda f: f.lineno).name if around else "<module>")
    return names


def test_matching_functions_names_the_innermost_function() -> None:
    source = ("def outer():\n    def parse_ragged(exc):\n        return 'Expected' in str(exc)\n"
              "    try:\n        f()\n    except ValueError as exc:\n        return 'x' in str(exc)\n")
    assert matching_functions(source) == {"outer", "parse_ragged"}
    # Tidying a message's whitespace for one line is not matching on it.
    assert matching_functions("def f(message):\n    return ' '.join(message.split())") == set()


def test_core_translates_exception_text_in_one_place_per_library() -> None:
    found = set()
    for path in sorted((PACKAGE / "core").rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        found |= {(rel, name) for name in matching_functions(path.read_text(encoding="utf-8"))}
    assert ("core/training.py", "_is_oom") in found            # the detector sees the one we keep
    assert found <= CORE_TRANSLATIONS, (f"raise a typed error (core/errors.py) instead of matching "
                                        f"on exception text: {sorted(found - CORE_TRANSLATIONS)}")


# -- sizes everywhere (issue 22): no class over 500 lines, no function over 80, core included --

MAX_FUNCTION_LINES = 80
# Being split on other branches right now (the store's managers; the training engine). The lead
# empties this set when those branches are merged; a path left here must still exist and still
# break a size rule (test_pending_size_exceptions_are_still_needed), so the set cannot go stale.
PENDING: set[str] = set()


def oversized_anywhere(source: str, name: str = "<source>") -> list[str]:
    """Classes over MAX_CLASS_LINES and functions over MAX_FUNCTION_LINES in ``source``: module
    functions, methods and nested functions alike, each named by its dotted path."""
    found: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = f"{prefix}{child.name}"
                lines = (child.end_lineno or child.lineno) - child.lineno + 1
                if isinstance(child, ast.ClassDef) and lines > MAX_CLASS_LINES:
                    found.append(f"{name}: class {qualname} has {lines} lines")
                elif not isinstance(child, ast.ClassDef) and lines > MAX_FUNCTION_LINES:
                    found.append(f"{name}: {qualname} has {lines} lines")
                visit(child, qualname + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def _function(name: str, body_lines: int, indent: str = "") -> str:
    return f"{indent}def {name}():\n" + f"{indent}    x = 1\n" * body_lines


def test_size_detector_sees_long_functions_and_classes_anywhere() -> None:
    assert oversized_anywhere(_function("fits", 79)) == []            # 80 lines in all
    assert oversized_anywhere(_function("f", 80)) == ["<source>: f has 81 lines"]
    assert oversized_anywhere(_function("f", 80).replace("def", "async def")) \
        == ["<source>: f has 81 lines"]
    # A method and a nested function are named by their dotted path; the outer function
    # that holds a long nested one is long too.
    method = "class A:\n" + _function("run", 85, "    ")
    assert oversized_anywhere(method, "core/x.py") == ["core/x.py: A.run has 86 lines"]
    nested = "def outer():\n" + _function("inner", 82, "    ") + "    return inner\n"
    assert oversized_anywhere(nested) == ["<source>: outer has 85 lines",
                                          "<source>: outer.inner has 83 lines"]
    # A function inside an `if` or `try` at module level counts as well.
    guarded = "if True:\n" + _function("g", 81, "    ")
    assert oversized_anywhere(guarded) == ["<source>: g has 82 lines"]
    long_class = "class B:\n" + "".join(f"    def f{i}(self):\n        pass\n" for i in range(250))
    assert oversized_anywhere(long_class) == ["<source>: class B has 501 lines"]
    assert oversized_anywhere(long_class.rsplit("    def f249", 1)[0]) == []   # 499 lines


def test_no_class_or_function_in_stsstudio_is_oversized() -> None:
    found, seen = [], 0
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in PENDING:
            continue
        seen += 1
        found += oversized_anywhere(path.read_text(encoding="utf-8"), rel)
    assert seen > 50   # the walk sees the whole package, core and cli included
    assert not found, ("split these into named helper functions (no class over "
                       f"{MAX_CLASS_LINES} lines, no function over {MAX_FUNCTION_LINES}):\n"
                       + "\n".join(found))


def test_pending_size_exceptions_are_still_needed() -> None:
    for rel in sorted(PENDING):
        path = PACKAGE / rel
        assert path.is_file(), f"{rel} is gone: remove it from PENDING"
        assert oversized_anywhere(path.read_text(encoding="utf-8"), rel), \
            f"{rel} keeps to the size rules now: remove it from PENDING"
