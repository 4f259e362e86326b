"""The Train view's banner shows a typed error's text and its hint, as core declared them (no
matching on the failure's text in the GUI)."""

from __future__ import annotations

import html
from pathlib import Path

from stsstudio.core.errors import TooFewLabels, UnsafeModel

TIMEOUT_MS = 60_000


def fill_project(project, train: int, dev: int) -> None:
    """Labeled train and dev pairs in the tiny model's vocabulary."""
    rows = [(f"the user {i} cannot login", f"vpn drops at home {i}", (i % 5) / 4, "train", i, None)
            for i in range(train)]
    rows += [(f"printer {i} jams", f"screen {i} flickers", (i % 3) / 2, "dev", 1000 + i, None)
             for i in range(dev)]
    project.pairs.insert(rows)


def _run_and_wait(view, qtbot, model: Path) -> str:
    view.set_base_model(str(model))
    view.batch_size.setValue(8)
    view.max_steps.setValue(2)
    view.device_combo.setCurrentIndex(view.device_combo.findData("cpu"))
    view.start_training()
    qtbot.waitUntil(lambda: not view.is_training(), timeout=TIMEOUT_MS)
    assert view.last_status == "failed" and view.banner.isVisible()
    return html.unescape(view.banner.text())


def test_banner_shows_the_hint_of_too_few_labels(ctx, qtbot, tiny_model_dir: Path) -> None:
    from stsstudio.core.training import data_plan
    from stsstudio.gui.train.train_view import TrainView

    fill_project(ctx.project, train=8, dev=3)
    view = TrainView(ctx)
    qtbot.addWidget(view)
    view.show()
    text = _run_and_wait(view, qtbot, tiny_model_dir)
    what, hint = text.split("<br>")
    assert what.startswith("Too few labeled train pairs (8)")
    assert hint == data_plan(ctx.project).hint and "Label view" in hint and "Pairs view" in hint
    assert TooFewLabels.hint != hint      # this error's own next step, not the class's generic one
    # The form shows the same next step before anyone presses Start.
    assert html.escape(hint) in view.warnings_label.text()


def test_banner_shows_the_hint_of_a_refused_model(ctx, qtbot, tiny_model: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from stsstudio.gui.train.train_view import TrainView

    for weights in list(tiny_model.rglob("model.safetensors")):
        torch.save(load_file(str(weights)), weights.with_name("pytorch_model.bin"))
        weights.unlink()
    fill_project(ctx.project, train=20, dev=6)
    view = TrainView(ctx)
    qtbot.addWidget(view)
    view.show()
    text = _run_and_wait(view, qtbot, tiny_model)
    what, hint = text.split("<br>")
    assert "is refused" in what and "pickle" in what
    assert hint == UnsafeModel.hint
    assert ctx.project.runs.all() == []
