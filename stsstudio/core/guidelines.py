"""Guideline templates a new project can start from: one registry for the dialog and the CLI.

The texts are Markdown files shipped in ``resources/``. The demo project keeps its own
IT-helpdesk guidelines (``resources/guidelines.md``); a new project gets a neutral template
with placeholders for the domain, the question to ask and examples.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GuidelineTemplate:
    """One starting text: ``name`` for the CLI, ``label``/``help`` for the dialog."""

    name: str
    label: str
    help: str
    file: str


TEMPLATES: tuple[GuidelineTemplate, ...] = (
    GuidelineTemplate("sts", "Generic similarity (STS)",
                      "How similar in meaning, from unrelated to equivalent.", "template-sts.md"),
    GuidelineTemplate("intent", "Same intent / same request",
                      "Whether two messages ask for the same thing (support, chat, tickets).",
                      "template-intent.md"),
    GuidelineTemplate("retrieval", "Same meaning, for retrieval",
                      "Whether the second text is a good search result for the first.",
                      "template-retrieval.md"),
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


def template_text(name: str = DEFAULT_TEMPLATE) -> str:
    """The Markdown of a template (a one-line fallback if the resource is missing)."""
    from stsstudio.core.resources import read_text

    try:
        return read_text(template(name).file)
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return _FALLBACK


def demo_guidelines() -> str:
    """The demo project's own guidelines (IT helpdesk tickets)."""
    from stsstudio.core.resources import read_text

    try:
        return read_text("guidelines.md")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return _FALLBACK
