"""The hostile-input corpus of issue 14, generated rather than stored as binaries.

Each :class:`Case` is one command line against a project, with the files it needs. A case that
must be refused expects exit 2, one line on stderr holding every string of ``expect`` (file,
row, column where they exist) and no traceback, with the project unchanged. A case that must
import lists the sentence pairs that ``export-data`` has to give back exactly.

Run ``python tests/hostile/make_corpus.py OUT`` to write the files (and a list of the cases)
to a folder for manual poking; the tests build the same files inside ``tmp_path``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HEADER = b"sentence1,sentence2,score\n"


@dataclass
class Case:
    id: str
    argv: list[str]                       # "{P}": the project folder, "{D}/": the work folder
    files: dict[str, bytes] = field(default_factory=dict)
    expect: list[str] = field(default_factory=list)
    imports: list[tuple[str, str]] | None = None   # pairs that must round-trip exactly
    setup: Callable[[Path, Path], None] | None = None   # (work folder, project) -> None
    needs: str | None = None              # "nonroot", "fifo", "symlink": skipped where missing


def _csv(*rows: str) -> bytes:
    return HEADER + "".join(r + "\n" for r in rows).encode("utf-8")


def _jsonl(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _parquet(columns: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def _zip() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.csv", "sentence1,sentence2\na,b\n")
    return buf.getvalue()


def _imp(name: str, data: bytes, *expect: str, extra: tuple[str, ...] = ()) -> Case:
    return Case(f"import-{name}", ["import", "{P}", "{D}/" + name, *extra], {name: data},
                [name, *expect])


# -- project tamperings (setup functions) ---------------------------------------------------


def _set_version(version: int) -> Callable[[Path, Path], None]:
    def setup(work: Path, project: Path) -> None:
        conn = sqlite3.connect(project / "project.stsproj")
        conn.execute(f"PRAGMA user_version = {version}")
        conn.close()
    return setup


def _truncate_db(work: Path, project: Path) -> None:
    (project / "project.stsproj").write_bytes(b"")


def _garbage_db(work: Path, project: Path) -> None:
    (project / "project.stsproj").write_bytes(b"this is not a database\n" * 100)


def _link_lock(work: Path, project: Path) -> None:
    (work / "victim.txt").write_text("precious\n")
    lock = project / ".lock"
    if lock.exists():
        lock.unlink()
    os.symlink(work / "victim.txt", lock)


def _link_db_wal(work: Path, project: Path) -> None:
    (work / "victim.txt").write_text("precious\n")
    os.symlink(work / "victim.txt", project / "project.stsproj-wal")


def _link_runs(work: Path, project: Path) -> None:
    (project / "runs").rmdir()
    (work / "elsewhere").mkdir()
    os.symlink(work / "elsewhere", project / "runs")


def _fifo(name: str) -> Callable[[Path, Path], None]:
    def setup(work: Path, project: Path) -> None:
        os.mkfifo(work / name)
    return setup


def _loop(name: str) -> Callable[[Path, Path], None]:
    def setup(work: Path, project: Path) -> None:
        os.symlink(work / (name + ".b"), work / name)
        os.symlink(work / name, work / (name + ".b"))
    return setup


def _broken_link(name: str) -> Callable[[Path, Path], None]:
    def setup(work: Path, project: Path) -> None:
        os.symlink(work / "does-not-exist.csv", work / name)
    return setup


def _unreadable(name: str) -> Callable[[Path, Path], None]:
    def setup(work: Path, project: Path) -> None:
        os.chmod(work / name, 0)
    return setup


def _corrupt_checkpoint(work: Path, project: Path) -> None:
    from stsstudio.core.store import Project

    with Project.open(project) as p:
        p.pairs.insert([(f"left sentence {i}", f"right sentence {i}", (i % 5) / 4, "train", i, None)
                        for i in range(40)])
        run_id = p.runs.create(base_model="default", loss="cosent", config={})
        p.runs.update(run_id, status="interrupted", pid=None)
    ckpt = project / "runs" / str(run_id) / "checkpoints" / "checkpoint-5"
    ckpt.mkdir(parents=True)
    (ckpt / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    (ckpt / "config.json").write_text("{not json")
    (ckpt / "trainer_state.json").write_text("{also not json")


def _garbage_weights(work: Path, project: Path) -> None:
    """A checkpoint whose JSON files are fine but whose weights are not."""
    _corrupt_checkpoint(work, project)
    ckpt = next((project / "runs").glob("*/checkpoints/checkpoint-5"))
    (ckpt / "config.json").write_text('{"model_type": "bert"}')
    (ckpt / "trainer_state.json").write_text('{"global_step": 5}')


def _link_to_db(name: str) -> Callable[[Path, Path], None]:
    def setup(work: Path, project: Path) -> None:
        os.symlink(project / "project.stsproj", work / name)
    return setup


def _linked_interrupted_run(work: Path, project: Path) -> None:
    """Issue 24: run 1's folder is a link to a folder elsewhere, shaped like a run."""
    from stsstudio.core.store import Project

    with Project.open(project) as p:
        run_id = p.runs.create(base_model="default", loss="cosent", config={})
        p.runs.update(run_id, status="interrupted", pid=None)
    folder = project / "runs" / str(run_id)
    folder.rmdir()
    elsewhere = work / "elsewhere"
    (elsewhere / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (elsewhere / "model").mkdir()
    os.symlink(elsewhere, folder)


def _model_outside(stored: str) -> Callable[[Path, Path], None]:
    """Issue 24: a finished run whose stored model folder lies outside the project."""
    def setup(work: Path, project: Path) -> None:
        from stsstudio.core.store import Project

        (work / "elsewhere").mkdir()
        (work / "elsewhere" / "modules.json").write_text("[]")
        with Project.open(project) as p:
            run_id = p.runs.create(base_model="default", loss="cosent", config={})
            p.runs.update(run_id, status="finished", best_dev_spearman=0.5)
        conn = sqlite3.connect(project / "project.stsproj")
        conn.execute("UPDATE runs SET model_dir = ? WHERE id = ?",
                     (str(work / "elsewhere") if stored == "absolute" else "../work/elsewhere", run_id))
        conn.commit()
        conn.close()
    return setup


def _issue24_cases() -> list[Case]:
    """Issue 24: paths out of the project, writes over it, arguments and files that hung."""
    wide = ("text,id\n" + "a,1\n" * 4 + ",".join(["x"] * 50_000) + "\n").encode()
    return [
        Case("export-data-link-to-db", ["export-data", "{P}", "{D}/out.csv", "--force"], {},
             ["a file of the open project"], setup=_link_to_db("out.csv"), needs="symlink"),
        Case("backup-over-db", ["backup", "{P}", "{P}/project.stsproj", "--force"], {},
             ["a file of the open project"]),
        Case("resume-linked-run-folder", ["resume", "{P}", "1"], {}, ["symbolic link"],
             setup=_linked_interrupted_run, needs="symlink"),
        Case("delete-run-missing", ["delete-run", "{P}", "7"], {}, ["no run 7"]),
        Case("search-model-outside", ["search", "{P}", "a query", "--run", "1"], {},
             ["outside the project"], setup=_model_outside("absolute")),
        Case("compare-exports-model-outside", ["compare-exports", "{P}", "--run", "1"], {},
             ["outside the project"], setup=_model_outside("relative")),
        Case("similarity-model-outside", ["similarity", "{P}", "a", "b", "--run", "1"], {},
             ["outside the project"], setup=_model_outside("absolute")),
        Case("predict-model-outside", ["predict", "{P}", "--model", "run:1"], {},
             ["outside the project"], setup=_model_outside("relative")),
        Case("suggest-mix-inf", ["suggest-pairs", "{P}", "--mix", "near=inf"], {}, ["finite"]),
        Case("suggest-seed-negative", ["suggest-pairs", "{P}", "--seed", "-1"], {}, ["seed"]),
        Case("agreement-seed-negative", ["agreement", "{P}", "--seed", "-1"], {}, ["seed"]),
        Case("agreement-bootstrap-huge", ["agreement", "{P}", "--bootstrap", "1000000000"], {},
             ["bootstrap"]),
        Case("export-dims-negative", ["export", "{P}", "{D}/out", "--dims", "-5"], {}, ["dims"]),
        Case("merge-labels-true-false", ["merge-labels", "{P}", "{D}/tf.csv"],
             {"tf.csv": b"sentence1,sentence2,score,annotator\na,b,true,x\nc,d,false,x\n"},
             ["tf.csv", "row 2", "not a number"]),
        Case("merge-pack-columns-disagree", ["merge-labels", "{P}", "{D}/pack.csv"],
             {"pack.csv": b"sentence1,sentence2,score,score_0_5,annotator\n"
                          b"a,b,0.2,1,x\nc,d,0.2,4,x\n"}, ["pack.csv", "rows 3", "score_0_5"]),
        Case("import-sentences-50k-columns", ["import-sentences", "{P}", "{D}/wide.csv"],
             {"wide.csv": wide}, ["wide.csv", "row 6", "50,000 fields"]),
    ]


def cases() -> list[Case]:
    """Every case of the corpus."""
    big = "x" * 100_001
    out: list[Case] = [
        # -- bytes and encodings
        _imp("empty.csv", b"", "empty"),
        _imp("blank.csv", b"\n\n   \n", "empty"),
        _imp("header-only.csv", HEADER, "no rows"),
        _imp("utf16-bom.csv", "\ufeffsentence1,sentence2\na,b\n".encode("utf-16-le"), "UTF-16"),
        _imp("utf16-nobom.csv", "sentence1,sentence2\na,b\n".encode("utf-16-le"), "UTF-16"),
        _imp("nul.csv", HEADER + b"a\x00b,c,1\n", "row 2", "binary"),
        _imp("gzip.csv", gzip.compress(_csv("a,b,1")), "gzip"),
        _imp("zip.csv", _zip(), "zip"),
        _imp("zip.xlsx", _zip(), "Excel workbook"),
        _imp("text.xlsx", _csv("a,b,1"), "not an Excel workbook"),
        _imp("parquet-named.csv", _parquet({"sentence1": ["a"], "sentence2": ["b"]}), "Parquet"),
        _imp("bad-byte.csv", _csv("Café,au lait,1") + b"na\xefve,b,2\n", "row 3", "byte offset"),
        _imp("bad-byte-bom.csv", b"\xef\xbb\xbf" + _csv("a,b,1") + b"\xff,c,2\n", "row 3"),
        _imp("bad-byte.jsonl", _jsonl('{"sentence1": "Café", "sentence2": "b", "score": 1}')
             + b'{"sentence1": "\xe9", "sentence2": "c", "score": 1}\n', "row 2", "byte offset"),
        # -- cells
        _imp("empty-s1.csv", _csv("a,b,1", ",c,2"), "row 3", "column 'sentence1'", "empty"),
        _imp("space-s2.csv", _csv("a,   ,1"), "row 2", "column 'sentence2'", "empty"),
        _imp("zwsp.csv", _csv("\u200b\u200b,b,1"), "row 2", "column 'sentence1'", "empty"),
        _imp("zwj-bom.csv", _csv("a,\u200d\ufeff\u2060,1"), "row 2", "column 'sentence2'", "empty"),
        _imp("soft-hyphen.csv", _csv("ok,b,1", "\u00ad \u200c,c,1"), "row 3", "empty"),
        _imp("huge-cell.csv", _csv(f"{big},b,1"), "row 2", "column 'sentence1'", "100,000"),
        _imp("score-word.csv", _csv("a,b,1", "c,d,high"), "row 3", "column 'score'"),
        _imp("score-neg.csv", _csv("a,b,1", "c,d,-1"), "row 3", "column 'score'"),
        _imp("score-inf.csv", _csv("a,b,1", "c,d,inf"), "column 'score'"),
        _imp("score-huge.csv", _csv("a,b,1", "c,d,1e308"), "column 'score'"),
        _imp("score-range.csv", _csv("a,b,0.5", "c,d,3"), "row 3", "column 'score'",
             extra=("--scale", "0-1")),
        _imp("dup-header.csv", b"sentence1,sentence1,score\na,b,1\n", "row 1", "twice"),
        _imp("dup-header-case.csv", b"Text,text,score\na,b,1\n", "row 1", "twice"),
        _imp("wide.csv", (",".join(f"c{i}" for i in range(100_000)) + "\n").encode(), "row 1",
             "columns"),
        _imp("wide-tsv.tsv", ("\t".join(f"c{i}" for i in range(1500)) + "\n").encode(), "row 1",
             "1,500 columns"),
        _imp("missing-col.csv", _csv("a,b,1"), "column 'nope'", extra=("--sentence1", "nope")),
        _imp("index-range.csv", _csv("a,b,1"), "column 7", extra=("--sentence2", "7")),
        _imp("same-col.csv", _csv("a,b,1"), "same column",
             extra=("--sentence1", "sentence1", "--sentence2", "sentence1")),
        _imp("score-is-text.csv", _csv("a,b,1"), "column 'sentence1'", extra=("--score", "sentence1")),
        _imp("bad-split.csv", b"sentence1,sentence2,score,split\na,b,1,train\nc,d,1,banana\n",
             "row 3", "column 'split'"),
        _imp("one-column.csv", b"sentence1\nhello\nworld\n", "sentence2"),
        # -- JSON
        _imp("list-line.jsonl", _jsonl('{"sentence1": "a", "sentence2": "b"}', "[1,2,3]"), "row 2"),
        _imp("null-line.jsonl", _jsonl('{"sentence1": "a", "sentence2": "b"}', "null"), "row 2"),
        _imp("number-line.jsonl", _jsonl("42"), "row 1"),
        _imp("string-line.jsonl", _jsonl('{"sentence1": "a", "sentence2": "b"}', '"text"'), "row 2"),
        _imp("true-line.jsonl", _jsonl("true", '{"sentence1": "a", "sentence2": "b"}'), "row 1"),
        _imp("broken.jsonl", _jsonl('{"sentence1": "a", "sentence2": "b"}', '{"sentence1": "c",'),
             "row 2", "invalid JSON"),
        _imp("nested.jsonl", _jsonl('{"sentence1": {"text": "x"}, "sentence2": "b", "score": 1}'),
             "row 1", "column 'sentence1'", "object"),
        _imp("list-value.jsonl", _jsonl('{"sentence1": "a", "sentence2": ["b", "c"], "score": 1}'),
             "row 1", "column 'sentence2'", "list"),
        _imp("lone-high.jsonl", _jsonl('{"sentence1": "a", "sentence2": "b"}',
                                       '{"sentence1": "x\\ud800y", "sentence2": "b2"}'),
             "row 2", "surrogate"),
        _imp("lone-low.jsonl", _jsonl('{"sentence1": "\\udc00", "sentence2": "b"}'), "row 1",
             "surrogate"),
        _imp("empty-object.jsonl", _jsonl("{}", "{}"), "sentence1"),
        _imp("array-of-numbers.json", b"[1, 2, 3]\n", "objects"),
        _imp("null-sentence.jsonl", _jsonl('{"sentence1": null, "sentence2": "b", "score": 1}'),
             "row 1", "column 'sentence1'", "empty"),
        _imp("blank-lines.jsonl", b"\n\n\n", "empty"),
        # -- Parquet
        _imp("binary.parquet", _parquet({"sentence1": [b"ab", b"cd"], "sentence2": ["x", "y"]}),
             "row 1", "column 'sentence1'", "binary"),
        _imp("list.parquet", _parquet({"sentence1": ["a", "b"], "sentence2": [["x"], ["y"]]}),
             "row 1", "column 'sentence2'", "list"),
        _imp("struct.parquet", _parquet({"sentence1": [{"t": "a"}], "sentence2": ["x"]}),
             "row 1", "column 'sentence1'", "object"),
        _imp("truncated.parquet", _parquet({"sentence1": ["a"], "sentence2": ["b"]})[:40], "Parquet"),
        _imp("zero.parquet", b"", "empty"),
        _imp("wide.parquet", _parquet({f"c{i}": ["x"] for i in range(1200)}), "1,200 columns"),
        _imp("null.parquet", _parquet({"sentence1": ["a", None], "sentence2": ["x", "y"]}),
             "row 2", "column 'sentence1'", "empty"),
        _imp("no-rows.parquet", _parquet({"sentence1": [], "sentence2": []}), "no rows"),
        # -- paths
        Case("import-missing", ["import", "{P}", "{D}/nope.csv"], {}, ["nope.csv", "no such file"]),
        Case("import-folder-without-data", ["import", "{P}", "{D}/folder"], {"folder/readme.md": b"x"},
             ["folder", "no dataset"]),
        Case("import-fifo", ["import", "{P}", "{D}/pipe.csv"], {}, ["pipe.csv", "FIFO"],
             setup=_fifo("pipe.csv"), needs="fifo"),
        Case("import-loop", ["import", "{P}", "{D}/loop.csv"], {}, ["loop.csv", "symbolic link loop"],
             setup=_loop("loop.csv"), needs="symlink"),
        Case("import-broken-link", ["import", "{P}", "{D}/dangling.csv"], {},
             ["dangling.csv", "broken symbolic link"], setup=_broken_link("dangling.csv"),
             needs="symlink"),
        Case("import-newline-name-missing", ["import", "{P}", "{D}/two\nlines.csv"], {},
             ["two\\nlines.csv"]),
        Case("import-newline-name-bad", ["import", "{P}", "{D}/bad\nname.csv"],
             {"bad\nname.csv": _csv("a,b,1", ",c,2")}, ["bad\\nname.csv", "row 3"]),
        Case("import-escape-name", ["import", "{P}", "{D}/esc\x1b[31mred.csv"],
             {"esc\x1b[31mred.csv": b""}, ["\\x1b[31mred.csv", "empty"]),
        Case("import-unreadable", ["import", "{P}", "{D}/secret.csv"], {"secret.csv": _csv("a,b,1")},
             ["secret.csv", "permission denied"], setup=_unreadable("secret.csv"), needs="nonroot"),
        Case("import-into-missing-project", ["import", "{D}/no-project", "{D}/ok.csv"],
             {"ok.csv": _csv("a,b,1")}, ["no-project", "not an STS Studio project"]),
        Case("import-into-plain-folder", ["import", "{D}/plain", "{D}/ok.csv"],
             {"ok.csv": _csv("a,b,1"), "plain/x.txt": b"x"}, ["plain", "not an STS Studio project"]),
        # -- tampered projects
        Case("lock-symlink", ["import", "{P}", "{D}/ok.csv"], {"ok.csv": _csv("a,b,1")},
             [".lock", "symbolic link"], setup=_link_lock, needs="symlink"),
        Case("wal-symlink", ["import", "{P}", "{D}/ok.csv"], {"ok.csv": _csv("a,b,1")},
             ["project.stsproj-wal", "symbolic link"], setup=_link_db_wal, needs="symlink"),
        Case("runs-symlink", ["info", "{P}"], {}, ["runs", "symbolic link"], setup=_link_runs,
             needs="symlink"),
        Case("schema-minus-one", ["import", "{P}", "{D}/ok.csv"], {"ok.csv": _csv("a,b,1")},
             ["project.stsproj", "schema version -1"], setup=_set_version(-1)),
        Case("schema-minus-one-info", ["info", "{P}"], {}, ["schema version -1"],
             setup=_set_version(-1)),
        Case("schema-zero", ["import", "{P}", "{D}/ok.csv"], {"ok.csv": _csv("a,b,1")},
             ["schema version 0"], setup=_set_version(0)),
        Case("schema-newer", ["info", "{P}"], {}, ["newer STS Studio"], setup=_set_version(999)),
        Case("db-zero-bytes", ["import", "{P}", "{D}/ok.csv"], {"ok.csv": _csv("a,b,1")},
             ["project.stsproj", "0 bytes"], setup=_truncate_db),
        Case("db-zero-bytes-info", ["info", "{P}"], {}, ["0 bytes"], setup=_truncate_db),
        Case("db-garbage", ["info", "{P}"], {}, ["project.stsproj", "could not be opened"],
             setup=_garbage_db),
        # -- commands
        Case("unknown-command", ["improt", "{P}", "x.csv"], {}, ["unknown command 'improt'",
                                                                "did you mean 'import'"]),
        Case("unknown-command-help", ["queu", "--help"], {}, ["unknown command 'queu'", "queue"]),
        Case("unknown-command-no-match", ["zzzzzz"], {}, ["unknown command 'zzzzzz'"]),
        Case("export-data-exists", ["export-data", "{P}", "{D}/exists.csv"], {"exists.csv": b"keep"},
             ["exists.csv", "already exists", "--force"]),
        Case("export-data-under-file", ["export-data", "{P}", "{D}/file.txt/sub.csv"],
             {"file.txt": b"x"}, ["file.txt", "is a file"]),
        Case("export-data-fifo", ["export-data", "{P}", "{D}/out-pipe.csv"], {},
             ["out-pipe.csv", "FIFO"], setup=_fifo("out-pipe.csv"), needs="fifo"),
        Case("export-data-loop", ["export-data", "{P}", "{D}/oloop.csv"], {},
             ["oloop.csv", "symbolic link loop"], setup=_loop("oloop.csv"), needs="symlink"),
        Case("export-data-extension", ["export-data", "{P}", "{D}/out.docx"], {}, ["out.docx"]),
        Case("export-data-missing-folder", ["export-data", "{P}", "{D}/no/such/out.csv"], {},
             ["does not exist"]),
        Case("export-data-folder", ["export-data", "{P}", "{D}/adir"], {"adir/x": b""}, ["adir"]),
        Case("export-no-run", ["export", "{P}", "{D}/model-out"], {}, ["no trained"]),
        Case("export-under-file", ["export", "{P}", "{D}/file2.txt/sub"], {"file2.txt": b"x"},
             []),
        Case("resume-missing-run", ["resume", "{P}", "99"], {}, ["99"]),
        Case("resume-corrupt-checkpoint", ["resume", "{P}", "1"], {}, ["checkpoint"],
             setup=_corrupt_checkpoint),
        Case("resume-garbage-weights", ["resume", "{P}", "1"], {}, ["checkpoint", "damaged"],
             setup=_garbage_weights),
        Case("assign-dev-fraction", ["assign-dev", "{P}", "--fraction", "2"], {}, ["fraction"]),
        Case("split-fraction", ["split", "{P}", "--to", "dev", "--fraction", "2"], {}, ["fraction"]),
        Case("split-same", ["split", "{P}", "--to", "train", "--from", "train"], {}, ["already in train"]),
        Case("import-annotator-column", ["import", "{P}", "{D}/ok2.csv", "--annotator-column", "who"],
             {"ok2.csv": _csv("a,b,1")}, ["ok2.csv", "no annotator column named 'who'"]),
        Case("info-on-file", ["info", "{D}/ok.csv"], {"ok.csv": _csv("a,b,1")},
             ["not an STS Studio project"]),
        Case("new-on-existing", ["new", "{P}"], {}, ["already holds a project"]),
    ]
    # -- inputs that must import, and come back exactly through export-data
    accept = [
        ("formulas.csv", b"sentence1,sentence2,score\n=SUM(A1),+1 plus,1\n@cmd,-2 minus,0\n",
         [("=SUM(A1)", "+1 plus"), ("@cmd", "-2 minus")]),
        ("unicode.csv", _csv("Café crème 😀,日本語の文,1", "שלום עולם,naïve façade,0"),
         [("Café crème 😀", "日本語の文"), ("שלום עולם", "naïve façade")]),
        ("quotes.csv", b'sentence1,sentence2,score\n"a, with comma","say ""hi""",1\n'
                       b'"multi\nline",b,0\n', [("a, with comma", 'say "hi"'), ("multi\nline", "b")]),
        ("latin1.csv", "sentence1,sentence2,score\nCafé,crème brûlée,1\n".encode("latin-1"),
         [("Café", "crème brûlée")]),
        ("bom.csv", b"\xef\xbb\xbf" + _csv("a,b,1"), [("a", "b")]),
        ("crlf.csv", b"sentence1,sentence2,score\r\nx,y,1\r\nz,w,0\r\n", [("x", "y"), ("z", "w")]),
        ("escapes.jsonl", _jsonl('{"sentence1": "smile \\ud83d\\ude00", "sentence2": "tab\\there", '
                                 '"score": 1}'), [("smile 😀", "tab\there")]),
        ("zwj-inside.csv", _csv("family 👨\u200d👩\u200d👧,co\u00adoperate,1"),
         [("family 👨\u200d👩\u200d👧", "co\u00adoperate")]),
        ("null-words.csv", _csv("NULL,NaN,1", "None,N/A,0"), [("NULL", "NaN"), ("None", "N/A")]),
        ("backslash.jsonl", _jsonl('{"sentence1": "C:\\\\path\\\\file", "sentence2": "a\\\\nb"}'),
         [("C:\\path\\file", "a\\nb")]),
    ]
    for name, data, pairs in accept:
        out.append(Case(f"accept-{name}", ["import", "{P}", "{D}/" + name], {name: data},
                        imports=pairs))
    return out + _issue24_cases()


def write_files(case: Case, work: Path) -> None:
    for rel, data in case.files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def argv_of(case: Case, work: Path, project: Path) -> list[str]:
    return [a.replace("{P}", str(project)).replace("{D}", str(work)) for a in case.argv]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    target.mkdir(parents=True, exist_ok=True)
    listing = []
    for c in cases():
        folder = target / c.id
        folder.mkdir(exist_ok=True)
        write_files(c, folder)
        listing.append({"id": c.id, "argv": c.argv, "expect": c.expect, "needs": c.needs,
                        "imports": c.imports})
    (target / "cases.json").write_text(json.dumps(listing, indent=1, ensure_ascii=False))
    print(f"{len(listing)} cases written to {target}")
