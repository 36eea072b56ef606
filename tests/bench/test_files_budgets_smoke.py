"""``bench/files_budgets.py`` in a tiny mode reports every row it should.

A smoke test, not a benchmark: it never looks at how fast anything was, only that
each kind of upload and each revalidation was timed (the script itself checks
that every upload was a 201 and every revalidation a 304).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "files_budgets.py"


def test_the_files_benchmark_reports_every_row(tmp_path: Path) -> None:
    out = tmp_path / "files.md"
    done = subprocess.run(
        [
            *(sys.executable, str(SCRIPT), "--uploads", "2", "--revalidations", "5"),
            *("--backends", "sqlite", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"files_budgets.py failed:\n{done.stdout}\n{done.stderr}"
    rows = [line for line in out.read_text().splitlines() if line.startswith("| SQLite |")]
    assert [row.split(" | ")[1] for row in rows] == [
        "upload, photo",
        "upload, screenshot",
        "304, cached image",
        "`/healthz` (the floor: HTTP and one query)",
    ]
