"""``bench/space_budgets.py`` in a tiny mode produces every figure it reports.

A smoke test, not a benchmark: it never looks at how fast anything was, only
that every request was timed and every imported file became a note.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "space_budgets.py"


def test_the_space_benchmark_reports_every_figure(tmp_path: Path, database_url: str) -> None:
    """On both databases: its rows go straight into the tables, and a NOT NULL column
    left out of them fails on PostgreSQL only (SQLite's migrated column takes NULL)."""
    out = tmp_path / "spaces.json"
    url = [] if database_url.startswith("sqlite") else ["--database-url", database_url]
    done = subprocess.run(
        [
            *(sys.executable, str(SCRIPT), "--notes", "120", "--chars", "2000", *url),
            *("--import-files", "7", "--repeat", "3", "--json", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"space_budgets.py failed:\n{done.stdout}\n{done.stderr}"
    figures = json.loads(out.read_text())
    for name in ("first page", "first page by title", "second page", "a tag's notes"):
        assert figures[name]["p50_ms"] > 0 and figures[name]["p95_ms"] > 0, name
    assert figures["import"]["files"] == 7
    assert "| first page |" in done.stdout and "Import of 7 files" in done.stdout
