"""How fast is `import_pairs` on a million pairs, compared with the floor of this design?

The floor is what any SQLite-backed import must pay: ``pandas.read_csv`` of the file plus a bare
``sqlite3`` ``executemany`` of the same rows into an unindexed table, in one transaction.
Our import adds validation, score normalisation, a 64-bit hash of every normalised pair,
duplicate detection, indexes and the label history. The target is a ratio of at most 2.0.

    python bench/import_speed.py [--pairs 1000000] [--keep DIR] [--csv PATH]

``--csv`` reuses a CSV that an earlier run built (``--keep``), so repeated runs skip the build.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

SUBJECTS = ["My laptop", "The VPN client", "Outlook", "The printer on floor 3", "Teams", "My phone",
            "The shared drive", "The Wi-Fi in the meeting room", "My password", "The ticket portal",
            "SAP", "The docking station", "My second monitor", "The badge reader", "Excel",
            "The build server", "Jira", "My keyboard", "The guest network", "The intranet"]
PROBLEMS = ["keeps disconnecting", "is very slow", "shows an error", "will not start",
            "crashes on launch", "asks for my password again and again", "cannot connect",
            "freezes after a few minutes", "stopped syncing", "says access denied",
            "prints blank pages", "drops the call", "is not detected", "locks me out",
            "shows a certificate warning", "runs out of space", "will not update"]
TAILS = ["since this morning", "after the last update", "when I work from home",
         "every time I open it", "only on Mondays", "since I changed my password", "again",
         "for the whole team", "when I am on battery", "after I moved desks", "", "", ""]
ASKS = ["Can you help?", "Please fix it.", "It is urgent.", "Any idea why?", "", "", "",
        "I have a demo at 3 pm.", "Thanks in advance."]


def sentence(rng: random.Random, n: int) -> str:
    parts = [rng.choice(SUBJECTS), rng.choice(PROBLEMS), rng.choice(TAILS)]
    text = " ".join(p for p in parts if p) + "."
    ask = rng.choice(ASKS)
    # A ticket number keeps most sentences distinct, as in real ticket data.
    return f"{text} {ask} (ref {n})".replace("  ", " ") if rng.random() < 0.97 else f"{text} {ask}".strip()


def build_csv(path: Path, pairs: int, seed: int = 0) -> None:
    import pandas as pd

    rng = random.Random(seed)
    s1, s2, score, split = [], [], [], []
    for i in range(pairs):
        if i and rng.random() < 0.01:  # a repeated pair, half of them swapped
            j = rng.randrange(len(s1))
            a, b = (s1[j], s2[j]) if rng.random() < 0.5 else (s2[j], s1[j])
        else:
            a, b = sentence(rng, 2 * i), sentence(rng, 2 * i + 1)
        s1.append(a)
        s2.append(b)
        score.append(None if rng.random() < 0.1 else round(rng.uniform(0, 5), 2))
        split.append("train" if rng.random() < 0.9 else "dev")
    pd.DataFrame({"sentence1": s1, "sentence2": s2, "score": score, "split": split}).to_csv(
        path, index=False)


def floor_seconds(csv_path: Path, db_path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of the floor: read_csv plus a bare executemany, one transaction."""
    import pandas as pd

    w0, c0 = time.perf_counter(), time.process_time()
    frame = pd.read_csv(csv_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE pairs (sentence1 TEXT, sentence2 TEXT, score REAL, split TEXT)")
    scores = [None if s != s else s for s in frame["score"].tolist()]
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO pairs VALUES (?, ?, ?, ?)",
                     zip(frame["sentence1"].tolist(), frame["sentence2"].tolist(), scores,
                         frame["split"].tolist()))
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - w0, time.process_time() - c0


def import_seconds(csv_path: Path, project_dir: Path) -> tuple[float, float, float, object]:
    """(wall, CPU, wall of the prepare step, report) of import_pairs into a new project."""
    from stsstudio.core.importers import ImportOptions, commit_import, prepare_import
    from stsstudio.core.store import Project

    w0, c0 = time.perf_counter(), time.process_time()
    with Project.create(project_dir, name="bench") as project:
        # import_pairs is exactly these two calls; split here to show where the time goes.
        prepared = prepare_import(csv_path, ImportOptions(), project)  # everything detected
        prepare = time.perf_counter() - w0
        report = commit_import(project, prepared)
    return time.perf_counter() - w0, time.process_time() - c0, prepare, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--keep", help="keep the CSV and databases in this folder")
    parser.add_argument("--csv", help="import this CSV (e.g. one kept by an earlier run) instead of "
                        "building one; it must have the columns sentence1, sentence2, score, split")
    args = parser.parse_args(argv)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sts-import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        csv_path = Path(args.csv) if args.csv else work / "pairs.csv"
        if args.csv and not csv_path.is_file():
            parser.error(f"--csv: no such file: {csv_path}")
        if not csv_path.exists():
            t0 = time.perf_counter()
            build_csv(csv_path, args.pairs)
            print(f"built {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB, {args.pairs:,} pairs) "
                  f"in {time.perf_counter() - t0:.1f} s")
        for p in work.glob("floor.db*"):
            p.unlink()
        shutil.rmtree(work / "project", ignore_errors=True)
        # Warm the page cache and the imports so that neither side pays for them.
        import pandas as pd  # noqa: F401

        import stsstudio.core.importers  # noqa: F401

        csv_path.read_bytes()
        floor, floor_cpu = floor_seconds(csv_path, work / "floor.db")
        ours, ours_cpu, prepare, report = import_seconds(csv_path, work / "project")
        print(f"floor (pandas.read_csv + sqlite3 executemany, unindexed): {floor:.2f} s "
              f"(CPU {floor_cpu:.2f} s)")
        print(f"import_pairs (read, validate, hash, dedup, insert, labels): {ours:.2f} s "
              f"(CPU {ours_cpu:.2f} s; read+validate+dedup {prepare:.2f} s, write {ours - prepare:.2f} s)")
        print(f"  rows {report.rows:,}  imported {report.imported:,}  duplicates {report.duplicates:,} "
              f"(conflicting {report.conflicting_duplicates:,})  unlabeled {report.unlabeled:,}  "
              f"leakage {report.leakage:,} pairs / {report.leakage_sentences:,} sentences")
        print(f"ratio: {ours / floor:.2f}  (CPU-time ratio {ours_cpu / floor_cpu:.2f}; target <= 2.0)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
