"""One scale module: every score a person reads goes through core.scales (issue 20 point 4,
issue 22 point 4). Round trips, the display precision, the key steps and the guideline levels."""

from __future__ import annotations

import re

import numpy as np
import pytest

from stsstudio.core import scales
from stsstudio.core.guidelines import TEMPLATES, follow_scale, template_text
from stsstudio.core.importers import import_pairs
from stsstudio.core.store import Project


@pytest.mark.parametrize("scale", [None, *scales.SCALE_RANGES])
def test_round_trips_for_numbers_and_arrays(scale):
    low, high = scales.scale_range(scale)
    shown = np.linspace(low, high, 21)
    stored = scales.to_stored(shown, scale)
    assert stored == pytest.approx(np.linspace(0, 1, 21))
    assert scales.to_display(stored, scale) == pytest.approx(shown)
    for value in shown:
        assert scales.to_display(scales.to_stored(float(value), scale), scale) == pytest.approx(value)
    # Outside values clip, NaN stays NaN (arrays), None stays None.
    assert scales.to_stored([low - 1, high + 1, np.nan], scale)[:2].tolist() == [0.0, 1.0]
    assert np.isnan(scales.to_stored([np.nan], scale)[0])
    assert scales.to_display(None, scale) is None


def test_display_precision_is_the_keys_precision():
    assert [scales.display_digits(s) for s in (None, "0-5", "1-5", "0-10", "1-10", "0-100")] == \
        [2, 1, 1, 1, 1, 0]
    assert scales.format_score(0.31, "1-5") == "2.2"           # not 2.24
    assert scales.format_score(0.85, "1-5") == "4.4"
    assert scales.format_score(0.0, "1-5") == "1" and scales.format_score(1.0, "1-5") == "5"
    assert scales.format_score(0.5, None) == "0.50"             # 0-1 reads as it always did
    assert scales.format_score(0.123, "0-100") == "12"
    assert scales.format_score(None, "1-5") == "–" and scales.format_score(float("nan"), "1-5") == "–"
    # Every digit key's score reads as the key's own number.
    for scale in scales.SCALE_RANGES:
        for key, stored in scales.key_scores(scale).items():
            expected = 10 if (scale == "1-10" and key == 0) else key
            if scale in ("0-1", "0-100"):
                continue   # keys step a fifth of the range there
            assert float(scales.format_score(stored, scale)) == expected


def test_a_difference_scales_by_the_span_only():
    # 0.1 stored is 0.4 on 1-5: the low end (1) does not shift a difference.
    assert scales.delta_to_display(0.1, "1-5") == pytest.approx(0.4)
    assert scales.format_delta(0.1, "1-5") == "0.4"
    assert scales.format_delta(-0.1, "1-5", signed=True) == "-0.4"
    assert scales.format_delta(0.1, "1-5", signed=True) == "+0.4"
    assert scales.format_delta(0.05, "0-100") == "5"
    assert scales.format_delta(0.25, None) == "0.25"
    assert scales.format_delta(0.1025, "1-5", more=1) == "0.41"   # a mean gets one more decimal
    assert scales.format_delta(None, "1-5", empty="n/a") == "n/a"
    assert scales.format_delta(0.0001, "1-5", signed=True) == "0"
    assert scales.delta_to_display(np.array([0.1, 0.25]), "0-10").tolist() == pytest.approx([1.0, 2.5])


@pytest.mark.parametrize("scale", [None, *scales.SCALE_RANGES])
def test_snapped_scores_are_exactly_what_the_screen_shows(scale):
    for stored in np.linspace(0, 1, 137):
        snapped = scales.snap(float(stored), scale)
        shown = scales.format_score(snapped, scale)
        assert snapped == scales.to_stored(float(shown), scale)      # exactly, not merely close
        assert scales.snap(snapped, scale) == snapped


def test_arrow_keys_move_by_display_steps():
    assert scales.key_steps("1-5") == (0.2, 0.1)
    assert scales.key_steps(None) == (0.05, 0.01)
    assert scales.key_steps("0-100") == (5.0, 1.0)
    # Shift+→ from 2.2 on 1-5 stores exactly 2.3 (to_stored of the number on screen), never 2.24.
    start = scales.to_stored(2.2, "1-5")
    after = scales.nudge(start, +1, "1-5", fine=True)
    assert scales.format_score(after, "1-5") == "2.3" and after == scales.to_stored(2.3, "1-5")
    assert scales.format_score(scales.nudge(after, +1, "1-5"), "1-5") == "2.5"
    # From a label between steps (an imported 2.24), the first press moves from what is shown.
    assert scales.format_score(scales.nudge(scales.to_stored(2.24, "1-5"), -1, "1-5", fine=True),
                               "1-5") == "2.1"
    # The ends hold; an unset score starts in the middle.
    assert scales.nudge(1.0, +1, "1-5") == 1.0 and scales.nudge(0.0, -1, "1-5", fine=True) == 0.0
    assert scales.format_score(scales.nudge(None, +1, "1-5"), "1-5") == "3"
    for scale in scales.SCALE_RANGES:
        value = scales.to_stored(scales.scale_range(scale)[0], scale)
        for _ in range(7):
            value = scales.nudge(value, +1, scale, fine=True)
            assert value == scales.to_stored(float(scales.format_score(value, scale)), scale)


def test_column_names_and_axis_ticks():
    assert scales.display_column("1-5") == "score_1_5" and scales.display_column(None) is None
    assert scales.display_column("0-1") is None
    assert "score_0_100" in scales.DISPLAY_COLUMNS and len(scales.DISPLAY_COLUMNS) == 5
    assert scales.axis_ticks("1-5") == [(0.0, "1"), (0.25, "2"), (0.5, "3"), (0.75, "4"), (1.0, "5")]
    assert [t for _v, t in scales.axis_ticks("0-100")] == ["0", "20", "40", "60", "80", "100"]
    assert scales.scale_text("1-5") == "1–5" and scales.scale_text(None) == "0–1"


def _levels(text: str) -> list[str]:
    return re.findall(r"^\| \*\*([\d.]+)\*\* \|", text, flags=re.MULTILINE)


@pytest.mark.parametrize("name", [t.name for t in TEMPLATES])
def test_guideline_template_follows_the_scale(name):
    assert _levels(template_text(name, "1-5")) == ["5", "4", "3", "2", "1"]
    assert _levels(template_text(name, "0-5")) == ["5", "4", "3", "2", "1", "0"]
    assert _levels(template_text(name, None)) == ["1.0", "0.8", "0.6", "0.4", "0.2", "0.0"]
    for scale in (None, *scales.SCALE_RANGES):
        text = template_text(name, scale)
        assert "[" not in text and "{" not in text, scale     # no placeholders left
        assert scales.scale_text(scale) in text


def test_an_untouched_template_takes_the_scale_of_the_first_import(tmp_path):
    src = tmp_path / "clinic.csv"
    src.write_text("finding_a,finding_b,rating\n" + "".join(
        f"Finding {i} in the left lung.,The left lung shows finding {i}.,{1 + i % 5}\n" for i in range(12)),
        encoding="utf-8")
    with Project.create(tmp_path / "p") as project:
        assert _levels(project.guidelines) == ["1.0", "0.8", "0.6", "0.4", "0.2", "0.0"]
        import_pairs(project, src)
        assert project.display_scale() == "1-5"
        assert _levels(project.guidelines) == ["5", "4", "3", "2", "1"]
        assert project.guidelines == template_text("sts", "1-5")
    # Guidelines someone has written stay as they are.
    with Project.create(tmp_path / "q", guidelines="Our own rules.") as project:
        import_pairs(project, src)
        assert project.guidelines == "Our own rules."
        assert follow_scale(project) is False
