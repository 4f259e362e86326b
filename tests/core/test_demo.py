"""The demo project: built from the shipped CSV, replaced when stale, sidestepped when in use."""

from __future__ import annotations

import subprocess
import sys

from stsstudio.core.demo import DEMO_NAME, create_demo_project
from stsstudio.core.paths import user_data_dir
from stsstudio.core.resources import demo_csv


def test_demo_project_contents(tmp_path):
    with create_demo_project(tmp_path / "demo") as project:
        stats = project.stats()
        assert project.name == DEMO_NAME
    rows = demo_csv().read_text(encoding="utf-8").strip().splitlines()[1:]
    assert stats["pairs"] >= 200 and stats["pairs"] <= len(rows)
    assert 0 < stats["labeled"] < stats["pairs"]  # a mix of labeled and unlabeled
    assert stats["splits"]["train"] > 0 and stats["splits"]["dev"] > 0


def test_default_demo_is_replaced_or_sidestepped(tmp_path):
    first = create_demo_project()
    assert first.path == (user_data_dir() / "demo").resolve()
    first.set_meta("name", "changed")
    first.close()
    second = create_demo_project()  # the stale copy is replaced
    assert second.path == first.path and second.name == DEMO_NAME
    # While it is open (here, in this process), a new demo goes beside it.
    third = create_demo_project()
    assert third.path != second.path and third.path.parent == second.path.parent
    third.close()
    second.close()


def test_demo_in_use_by_another_process(tmp_path):
    create_demo_project().close()
    code = ("import sys; from stsstudio.core.store import Project; p = Project.open(sys.argv[1]); "
            "print('open', flush=True); sys.stdin.readline()")
    holder = subprocess.Popen([sys.executable, "-c", code, str(user_data_dir() / "demo")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with create_demo_project() as project:
            assert project.path.name.startswith("demo-")
    finally:
        holder.communicate("\n", timeout=30)  # closes the pipes too


def test_fresh_demo_never_replaces_a_project_the_app_did_not_mark(tmp_path):
    import pytest

    from stsstudio.core.demo import DEMO_MARKER, open_demo_project
    from stsstudio.core.errors import UserError
    from stsstudio.core.store import Project

    folder = user_data_dir() / "demo"
    with Project.create(folder, name="My thesis labels") as mine:
        mine.pairs.insert([(f"s {i}", f"t {i}", 0.25, "train", i + 1, None) for i in range(256)])
    with pytest.raises(UserError, match="would go in .*demo.*did not build as the demo") as info:
        open_demo_project(fresh=True)
    assert "\n" not in str(info.value)
    with Project.open(folder, readonly=True) as kept:
        assert kept.name == "My thesis labels" and kept.counts.get().labeled() == 256
    # Other files there are refused the same way; the app's own demo (marked) is rebuilt.
    import shutil

    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="holds files"):
        open_demo_project(fresh=True)
    assert (folder / "notes.txt").read_text() == "mine"
    shutil.rmtree(folder)
    with open_demo_project(fresh=True) as built:
        assert (built.path / DEMO_MARKER).is_file()
        built.set_meta("name", "edited")
    with open_demo_project(fresh=True) as rebuilt:
        assert rebuilt.name == DEMO_NAME
