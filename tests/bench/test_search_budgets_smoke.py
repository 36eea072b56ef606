"""``bench/search_budgets.py`` in a tiny mode runs to the end and reports every figure.

A smoke test, not a benchmark: it never looks at how fast anything was. The
generator writes rows straight into the tables, so a NOT NULL column it leaves
out fails here, not in the next full run (the note's comment token was left
out; SQLite's migrated column takes NULL, so PostgreSQL is the one to catch it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "search_budgets.py"


def test_the_search_benchmark_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "search.md"
    done = subprocess.run(
        [
            *(sys.executable, str(SCRIPT), "--notes", "40", "--note-chars", "1500"),
            *("--with-history", "4", "--requests", "3", "--import-notes", "5"),
            *("--backends", "sqlite,postgresql", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"search_budgets.py failed:\n{done.stdout}\n{done.stderr}"
    report = out.read_text()
    assert report.count("(40 notes, 0 failed); their history older than") == 2, report
    for label in ("one word", "three words", "common word", "one word, deleted"):
        assert report.count(f"| {label} |") == 2, label
    assert report.count("Catch-up: 5 notes of 10 KB posted") == 2, report
