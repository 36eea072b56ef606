"""``bench/freeze_budgets.py`` in a tiny mode measures another note during every case.

A smoke test, not a benchmark: it never looks at how long anything took, only
that the probe was timed in each case's window and before them, that each
case's own work did what it should (hostile frames answered, honest edits
landed, the restore answered 200), and that the report gives each figure beside
the budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "freeze_budgets.py"
TINY = ["--items", "5000", "--lines", "200", "--note-chars", "100000"]
TINY += ["--offline-edits", "100", "--tail-s", "0.6", "--quiet-s", "0.3"]
CASES = ["view link", "edit link", "first sync", "find and replace", "restore"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("freeze-bench")
    files = ["--out", str(out / "FREEZE.md"), "--json", str(out / "freeze.json")]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *TINY, *files],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"freeze_budgets.py failed:\n{done.stdout}\n{done.stderr}"
    return json.loads((out / "freeze.json").read_text()), (out / "FREEZE.md").read_text()


def test_the_probe_was_timed_before_and_during_every_case(run: Any) -> None:
    results = run[0]
    assert len(results["quiet_ms"]) > 0
    assert [case["name"] for case in results["cases"]] == CASES
    for case in results["cases"]:
        assert len(case["delays_ms"]) > 0 and all(ms > 0 for ms in case["delays_ms"]), case


def test_each_cases_own_work_did_what_it_should(run: Any) -> None:
    outcomes = {case["name"]: case["outcome"] for case in run[0]["cases"]}
    assert outcomes["view link"].endswith("the note unchanged")
    for name in ("first sync", "find and replace"):
        assert outcomes[name].startswith("landed"), outcomes[name]
    assert outcomes["restore"] == "restore answered 200"


def test_the_report_gives_each_figure_beside_the_budget(run: Any) -> None:
    results, report = run
    for case in results["cases"]:
        row = next(line for line in report.splitlines() if line.startswith(f"| {case['name']} |"))
        assert f"| {max(case['delays_ms']):.1f} | 100 |" in row
    assert "Load average" in report and results["commit"] in report
