"""The model commands of the CLI: evaluate, export, similarity, search (exit codes, output, JSON)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from training_support import add_finished_run

from stsstudio import cli
from stsstudio.core import inference
from stsstudio.core.evaluation import evaluate_project
from stsstudio.core.inference import search, similarity
from stsstudio.core.store import Project

PAIRS = [
    ("the man is playing a guitar", "a man is playing the flute", 0.4, "dev"),
    ("a dog is running on the street", "a cat is sitting", 0.1, "dev"),
    ("my vpn keeps dropping", "the vpn connection drops again", 0.9, "dev"),
    ("the printer is broken", "printer not working today", 0.8, "train"),
    ("reset my password please", "i cannot login to my account", 0.6, "test"),
    ("a woman is eating pizza", "the laptop screen is slow", 0.0, "test"),
    ("wifi disconnects at home", "the network drops", None, "none"),
]


@pytest.fixture
def proj_path(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """A closed project (the CLI opens it itself) with pairs in every split."""
    inference.clear_model_cache()
    with Project.create(tmp_path / "proj", base_model=str(tiny_model_dir)) as project:
        project.pairs.insert([(s1, s2, score, split, i + 1, None)
                              for i, (s1, s2, score, split) in enumerate(PAIRS)])
    return tmp_path / "proj"


def _add_run(path: Path, model_dir: Path) -> int:
    with Project.open(path) as project:
        return add_finished_run(project, model_dir, loss="cosine", spearman=0.4)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _user_error(code: int, err: str, command: str, pattern: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"stsstudio {command}: "), err
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in err


def test_evaluate_json_matches_core(proj_path: Path, tiny_model_dir: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "evaluate", str(proj_path), "--base", "--json")
    assert code == 0, err
    figures = json.loads(out.strip().splitlines()[-1])
    with Project.open(proj_path, readonly=True) as project:
        expected = evaluate_project(project, "base", "dev").as_dict()
        test_expected = evaluate_project(project, "base", "test").as_dict()
    assert set(figures) == {"spearman", "pearson", "pairs", "spearman_ci"}
    lo, hi = figures["spearman_ci"]
    assert figures["pairs"] == 3 and lo <= figures["spearman"] <= hi  # 3 pairs: a very wide interval
    assert figures["spearman"] == pytest.approx(expected["spearman"])
    assert figures["pearson"] == pytest.approx(expected["pearson"])

    code, out, _ = _run(capsys, "evaluate", str(proj_path), "--base", "--split", "test", "--json")
    assert code == 0 and json.loads(out)["pearson"] == pytest.approx(test_expected["pearson"])

    # --model DIR on the project's pairs; the best run by default; readable text without --json.
    code, out, _ = _run(capsys, "evaluate", str(proj_path), "--model", str(tiny_model_dir), "--json")
    assert code == 0 and json.loads(out)["spearman"] == pytest.approx(expected["spearman"])
    run_id = _add_run(proj_path, tiny_model_dir)
    code, out, _ = _run(capsys, "evaluate", str(proj_path))
    assert code == 0
    assert re.fullmatch(r"Spearman -?\d\.\d{4} \(95 % interval -?\d\.\d{4} to -?\d\.\d{4}\)  "
                        r"Pearson -?\d\.\d{4}  \(3 pairs of the dev split\)\n", out)
    code, out, _ = _run(capsys, "evaluate", str(proj_path), "--run", str(run_id), "--json")
    assert code == 0 and json.loads(out)["pairs"] == 3


def test_evaluate_on_a_file(proj_path: Path, tiny_model_dir: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    from stsstudio.core.evaluation import evaluate_pairs
    from stsstudio.core.inference import get_model

    data = tmp_path / "pairs.tsv"
    rows = [("the man is playing a guitar", "a man is playing the flute", 2.0),
            ("a dog is running", "a cat is sitting", 0.5),
            ("my vpn keeps dropping", "the vpn drops", 4.5),
            ("the printer is broken", "printer not working", 4.0),
            ("reset my password", "a woman is eating pizza", 0.0)]
    data.write_text("a\tb\tsim\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in rows))
    code, out, err = _run(capsys, "evaluate", "--model", str(tiny_model_dir), "--data", str(data),
                          "--sentence1", "a", "--sentence2", "b", "--score", "sim", "--json")
    assert code == 0, err
    expected = evaluate_pairs(get_model(str(tiny_model_dir), "cpu"), [r[0] for r in rows],
                              [r[1] for r in rows], [r[2] for r in rows])
    figures = json.loads(out)
    assert figures["pairs"] == 5
    assert figures["spearman"] == pytest.approx(expected.spearman, abs=1e-6)  # scale-free
    code, out, err = _run(capsys, "evaluate", str(proj_path), "--base", "--data", str(data),
                          "--sentence1", "a", "--sentence2", "b", "--score", "sim", "--json")
    assert code == 0 and json.loads(out)["pairs"] == 5

    missing = tmp_path / "missing.csv"
    code, _, err = _run(capsys, "evaluate", "--model", str(tiny_model_dir), "--data", str(missing))
    _user_error(code, err, "evaluate", "missing.csv")


def test_evaluate_user_errors(proj_path: Path, tiny_model_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    _user_error(*_run(capsys, "evaluate")[::2], "evaluate", "PROJECT")
    _user_error(*_run(capsys, "evaluate", "--model", str(tiny_model_dir))[::2], "evaluate", "--data")
    _user_error(*_run(capsys, "evaluate", str(proj_path))[::2], "evaluate", "no trained model.*--base")
    _user_error(*_run(capsys, "evaluate", str(proj_path), "--run", "9")[::2], "evaluate",
                "Run 9 does not exist")
    _user_error(*_run(capsys, "evaluate", str(proj_path), "--base", "--split", "train")[::2],
                "evaluate", "train split has 1 labeled pair")
    _user_error(*_run(capsys, "evaluate", str(proj_path.parent / "nope"), "--base")[::2],
                "evaluate", "not an STS Studio project")
    _user_error(*_run(capsys, "evaluate", "--model", str(proj_path / "nope"), str(proj_path))[::2],
                "evaluate", "does not exist")


def test_similarity_command(proj_path: Path, tiny_model_dir: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    s1, s2 = "my vpn keeps dropping", "the printer is broken"
    code, out, err = _run(capsys, "similarity", "--model", str(tiny_model_dir), s1, s2)
    assert code == 0, err
    assert re.fullmatch(r"-?\d\.\d{4}\n", out)
    assert float(out) == pytest.approx(similarity(str(tiny_model_dir), s1, s2), abs=5e-5)
    code, base_out, _ = _run(capsys, "similarity", "--base", str(proj_path), s1, s2)
    assert code == 0 and base_out == out  # the base model is that same folder

    _user_error(*_run(capsys, "similarity", str(proj_path), s1, s2)[::2], "similarity", "--base")
    _user_error(*_run(capsys, "similarity", str(proj_path), s1)[::2], "similarity", "PROJECT S1 S2")
    _user_error(*_run(capsys, "similarity", "--model", str(tiny_model_dir), s1)[::2], "similarity",
                "exactly two sentences")
    _user_error(*_run(capsys, "similarity", "--model", str(tiny_model_dir), "--run", "1", s1, s2)[::2],
                "similarity", "not both")


def test_search_command(proj_path: Path, tiny_model_dir: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "search", str(proj_path), "my vpn keeps dropping", "--base",
                          "--top-k", "4", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert len(hits) == 4 and all(set(h) == {"sentence", "score", "pair_ids"} for h in hits)
    with Project.open(proj_path, readonly=True) as project:
        expected = search(project, "base", "my vpn keeps dropping", top_k=4)
    assert [h["score"] for h in hits] == pytest.approx([h.score for h in expected])
    assert (proj_path / "cache").is_dir() and list((proj_path / "cache").glob("corpus-*.npy"))

    code, out, _ = _run(capsys, "search", str(proj_path), "printer", "--base", "--top-k", "2")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all(re.match(r"-?\d\.\d{4}  .+  \[pairs \d+", line) for line in lines)

    _user_error(*_run(capsys, "search", str(proj_path), "printer")[::2], "search", "no trained model.*--base")
    _user_error(*_run(capsys, "search", str(proj_path), "printer", "--base", "--top-k", "0")[::2],
                "search", "top-k")
    _user_error(*_run(capsys, "search", str(proj_path), "printer", "--base", "--run", "1")[::2],
                "search", "not both")
    run_id = _add_run(proj_path, tiny_model_dir)
    code, out, _ = _run(capsys, "search", str(proj_path), "printer", "--run", str(run_id), "--json")
    assert code == 0 and len(json.loads(out)) == 10  # the default top-k


def test_export_command(proj_path: Path, tiny_model_dir: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "exported"
    _user_error(*_run(capsys, "export", str(proj_path), str(out_dir))[::2], "export", "no trained run")
    run_id = _add_run(proj_path, tiny_model_dir)
    code, out, err = _run(capsys, "export", str(proj_path), str(out_dir))
    assert code == 0, err
    assert out.strip() == f"Exported run {run_id} to {out_dir.resolve()}"
    assert (out_dir / "modules.json").is_file() and (out_dir / "README.md").is_file()
    _user_error(*_run(capsys, "export", str(proj_path), str(out_dir))[::2], "export", "not empty")
    code, _, err = _run(capsys, "export", str(proj_path), str(out_dir), "--run", str(run_id), "--force")
    assert code == 0, err
    _user_error(*_run(capsys, "export", str(proj_path), str(tmp_path / "x"), "--run", "7")[::2],
                "export", "Run 7 does not exist")
    assert not (tmp_path / "x").exists()
    code, _, err = _run(capsys, "export", str(proj_path), str(tmp_path / "d"), "--with-data")
    assert code == 0, err
    assert (tmp_path / "d" / "data" / "labeled_pairs.csv").is_file()
    assert (tmp_path / "d" / "data" / "labeled_pairs.jsonl").is_file()
