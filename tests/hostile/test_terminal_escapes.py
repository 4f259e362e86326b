"""Issue 24, point 7: names holding terminal escape sequences are printed escaped, never raw."""

from __future__ import annotations

from stsstudio.cli import main, terminal_safe
from stsstudio.core.store import Project

EVIL = "x\x1b]0;owned\x07\x1b[2J\x9b31m\u202e\r"


def _raw_controls(text: str) -> list[str]:
    return [c for c in text if c in "\x1b\x07\x9b\u202e"]


def test_terminal_safe_escapes_controls_and_keeps_text():
    assert terminal_safe("plain text, été\n") == "plain text, été\n"
    safe = terminal_safe(EVIL)
    assert _raw_controls(safe) == [] and "\\x1b]0;owned\\x07" in safe and "\\u202e" in safe


def test_info_agreement_and_merge_print_names_escaped(tmp_path, capsys):
    folder = tmp_path / "P"
    with Project.create(folder, name="Project " + EVIL) as p:
        p.pairs.insert([(f"s {i}", f"t {i}", None, "train", i + 1, None) for i in range(8)])
        for pid in range(1, 9):
            p.labels.set(pid, (pid % 4) / 4, annotator="Eve" + EVIL)
            p.labels.set(pid, (pid % 3) / 3, annotator="bob")
    labels = tmp_path / "labels.csv"
    labels.write_text("sentence1,sentence2,score,annotator\n" + "".join(
        f"s {i},t {i},0.5,Mallory{EVIL.replace(chr(13), '')}\n" for i in range(8)), encoding="utf-8")
    for args in (["info", str(folder)], ["agreement", str(folder)],
                 ["merge-labels", str(folder), str(labels)]):
        code = main(args)
        out, err = capsys.readouterr()
        assert code == 0, err
        assert _raw_controls(out + err) == [], (args, out + err)
        assert "\\x1b" in out, (args, out)
