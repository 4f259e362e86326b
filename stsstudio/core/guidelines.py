"""Guideline templates a new project can start from: one registry for the dialog and the CLI.

The texts are Markdown files shipped in ``resources/``. The demo project keeps its own
IT-helpdesk guidelines (``resources/guidelines.md``); a new project gets a neutral template
that reads well as it is (no placeholders to fill in). Its table of levels follows the
project's scale (:func:`stsstudio.core.scales.rubric`, the steps the slider shows): five
levels 5 ... 1 on 1-5, six elsewhere; an untouched template follows the scale the first
import sets (:func:`follow_scale`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GuidelineTemplate:
    """One starting text: ``name`` for the CLI, ``label``/``help`` for the dialog.

    ``levels`` are the meanings of the six steps of a scale, top to bottom; a five-point
    scale (1-5) leaves out the one at index ``drop_on_five``. ``middle`` is the level the
    middle example illustrates.
    """

    name: str
    label: str
    help: str
    file: str
    levels: tuple[str, ...] = ()
    drop_on_five: int = 3
    middle: str = ""

    def meanings(self, steps: int) -> list[str]:
        """The meanings of ``steps`` levels (5 or 6), top to bottom."""
        levels = list(self.levels)
        if steps == 5:
            del levels[self.drop_on_five]
        return levels


TEMPLATES: tuple[GuidelineTemplate, ...] = (
    GuidelineTemplate("sts", "Generic similarity (STS)",
                      "How similar in meaning, from unrelated to equivalent.", "template-sts.md",
                      ("Completely equivalent: they say the same thing.",
                       "Mostly equivalent: only unimportant details differ.",
                       "Roughly equivalent: important information differs or is missing.",
                       "Not equivalent, but they share some details.",
                       "Not equivalent, only the same topic.",
                       "Unrelated."), drop_on_five=3,
                      middle="Roughly equivalent: important information differs or is missing."),
    GuidelineTemplate("intent", "Same intent / same request",
                      "Whether two messages ask for the same thing (support, chat, tickets).",
                      "template-intent.md",
                      ("Same intent and the same details: one answer fits both.",
                       "Same intent; a detail differs that does not change the answer.",
                       "Same intent, but a detail differs that changes the answer.",
                       "Related intents (same product or process, different request).",
                       "Same topic, different intents.",
                       "Unrelated: different intents."), drop_on_five=4,
                      middle="Same intent, but a detail differs that changes the answer."),
    GuidelineTemplate("retrieval", "Same meaning, for retrieval",
                      "Whether the second text is a good search result for the first.",
                      "template-retrieval.md",
                      ("Same meaning: a perfect result.",
                       "Answers the first, with extra or missing minor details.",
                       "Answers the main point, but misses a part of it.",
                       "Partly relevant: covers some of what was asked.",
                       "Same topic, but would not help.",
                       "Unrelated: a wrong result."), drop_on_five=2,
                      middle="Partly relevant: covers some of what was asked."),
)
TEMPLATE_NAMES = tuple(t.name for t in TEMPLATES)
DEFAULT_TEMPLATE = "sts"
_FALLBACK = ("Rate how similar the two sentences are in meaning, from the lowest score "
             "(unrelated) to the highest (equivalent).")


def template(name: str) -> GuidelineTemplate:
    for t in TEMPLATES:
        if t.name == name:
            return t
    raise ValueError(f"unknown guideline template {name!r}; use one of {', '.join(TEMPLATE_NAMES)}")


def template_text(name: str = DEFAULT_TEMPLATE, scale: str | None = None) -> str:
    """The Markdown of a template on a project's scale (None: not known yet, 0-1), or a
    one-line fallback if the resource is missing."""
    from stsstudio.core.resources import read_text

    t = template(name)
    try:
        text = read_text(t.file)
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return _FALLBACK
    if not t.levels:
        return text
    levels = _levels(t, scale)
    middle = next((shown for shown, meaning in levels if meaning == t.middle), levels[len(levels) // 2][0])
    for token, value in (("{levels}", _levels_table(levels, scale)), ("{top}", levels[0][0]),
                         ("{middle}", middle), ("{bottom}", levels[-1][0])):
        text = text.replace(token, value)
    return text


def _levels(t: GuidelineTemplate, scale: str | None) -> list[tuple[str, str]]:
    """``(score as shown, meaning)`` top to bottom: the rubric's steps of the scale."""
    from stsstudio.core.scales import rubric

    steps = [shown for _stored, shown, _m in reversed(rubric(scale))]
    return list(zip(steps, t.meanings(len(steps)), strict=True))


def _levels_table(levels: list[tuple[str, str]], scale: str | None) -> str:
    from stsstudio.core.scales import scale_text

    lines = [f"The scores are on the project's scale, {scale_text(scale)}, as the slider shows them.",
             "", "| Score | Meaning |", "|------:|---------|"]
    lines += [f"| **{shown}** | {meaning} |" for shown, meaning in levels]
    return "\n".join(lines)


def follow_scale(project: Any) -> bool:
    """Put an untouched template (the text a template gives on any scale) on the project's
    display scale; guidelines someone has edited stay as they are. True when it changed."""
    from stsstudio.core.scales import SCALE_RANGES

    text = project.guidelines
    scale = project.display_scale()
    for t in TEMPLATES:
        for was in (None, *SCALE_RANGES):
            if text == template_text(t.name, was):
                new = template_text(t.name, scale)
                if new != text:
                    project.set_meta("guidelines", new)
                return new != text
    return False


def demo_guidelines() -> str:
    """The demo project's own guidelines (IT helpdesk tickets)."""
    from stsstudio.core.resources import read_text

    try:
        return read_text("guidelines.md")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return _FALLBACK
