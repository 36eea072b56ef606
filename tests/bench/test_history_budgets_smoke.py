"""``bench/history_budgets.py`` in a tiny mode produces every figure it reports.

A smoke test, not a benchmark: it never looks at how fast anything was, only
that each request was timed as often as asked, that every typed keystroke
reached the log, and that the report names each figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "history_budgets.py"
UPDATES, KEYSTROKES, REPEAT, RESTORES = 2000, 500, 3, 4


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("history-bench")
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *("--updates", str(UPDATES), "--keystrokes", str(KEYSTROKES)),
            *("--repeat", str(REPEAT), "--restores", str(RESTORES)),
            *("--out", str(out / "HISTORY.md"), "--json", str(out / "history.json")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"history_budgets.py failed:\n{done.stdout}\n{done.stderr}"
    return json.loads((out / "history.json").read_text()), (out / "HISTORY.md").read_text()


def test_the_long_note_holds_the_updates_asked_for_in_several_versions(run: Any) -> None:
    seed = run[0]["seed"]
    assert seed["updates"] == seed["log_rows"] == UPDATES
    assert seed["versions"] > 1 and seed["checkpoints"] >= UPDATES // 1000
    assert seed["text_bytes"] > 0


def test_every_history_request_was_timed_as_often_as_asked(run: Any) -> None:
    timings = {t["what"].split(":")[0].split(" ")[0]: t for t in run[0]["timings"]}
    assert set(timings) == {"/healthz", "list", "open", "restore"}
    for timing in run[0]["timings"]:
        expected = RESTORES if timing["what"].startswith("restore") else REPEAT
        assert len(timing["samples_ms"]) == expected, timing["what"]
        assert 0 < timing["p50"] <= timing["p95"] <= timing["worst"], timing["what"]
    opened = [t["what"] for t in run[0]["timings"] if t["what"].startswith("open")]
    assert len(opened) == 4


def test_disk_use_counts_one_log_row_per_typed_keystroke(run: Any) -> None:
    disk = run[0]["disk"]
    assert disk["keystrokes"] == disk["log_rows"] == KEYSTROKES
    assert disk["text_bytes"] == KEYSTROKES
    assert disk["log_data_bytes"] > 0 and disk["grown_used_bytes"] > 0


def test_the_report_gives_each_figure(run: Any) -> None:
    results, report = run
    for timing in results["timings"]:
        assert f"| {timing['what']} |" in report
    for label in ("database (pages in use)", "net text written (UTF-8)", "Load average"):
        assert label in report
    assert results["commit"] in report
