"""``bench/run --quick`` against collab-notes alone produces a well-formed result.

A smoke test, not a benchmark: it checks that every scenario produced its
numbers, that no edit was lost and that every client converged. It never looks
at how fast anything was. No peer is installed: only the load generator's npm
clients (``bench/node_modules``, installed by ``bench/run`` on first use).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCENARIOS = {"fanout", "throughput", "join", "idle", "restore"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "BENCH_PYTHON": sys.executable, "BENCH_HOME": str(out / "home")}
    done = subprocess.run(
        [
            str(BENCH / "run"),
            "--quick",
            "--servers",
            "collab-notes",
            "--results-dir",
            str(out),
            "--no-chart",
            "--no-publish",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, f"bench/run failed:\n{done.stdout}\n{done.stderr}"
    records = [json.loads(line) for line in (out / "raw.jsonl").read_text().splitlines()]
    return out, records


def _metrics(records: list[dict[str, Any]], scenario: str) -> list[dict[str, Any]]:
    found = [r["metrics"] for r in records if r["scenario"] == scenario]
    assert found, f"no {scenario} result"
    return found


def test_every_scenario_ran_on_collab_notes_without_an_error(results: Any) -> None:
    _out, records = results
    assert {r["scenario"] for r in records} == SCENARIOS
    assert {r["server"] for r in records} == {"collab-notes"}
    assert [r.get("error") for r in records if "error" in r] == []


def test_fanout_reports_latency_percentiles_and_loses_no_edit(results: Any) -> None:
    for m in _metrics(results[1], "fanout"):
        assert m["samples"] > 0
        assert 0 < m["p50_ms"] <= m["p95_ms"] <= m["p99_ms"] <= m["max_ms"]
        assert m["lost_edits"] == 0
        assert m["converged"] is True
        assert m["reconnects"] == 0
        assert m["server_cpu_pct"] >= 0 and m["loadgen_cpu_pct"] > 0


def test_throughput_counts_applied_edits_and_converges(results: Any) -> None:
    for m in _metrics(results[1], "throughput"):
        assert m["edits_per_s"] > 0
        assert m["lost_edits"] == 0
        assert m["converged"] is True


def test_join_storm_syncs_every_client_with_the_right_text(results: Any) -> None:
    for m in _metrics(results[1], "join"):
        assert m["all_synced_ms"] > 0
        assert m["timed_out"] == 0
        assert m["mismatched"] == 0


def test_idle_reports_memory_per_connection(results: Any) -> None:
    for m in _metrics(results[1], "idle"):
        assert m["connections"] == 50
        assert isinstance(m["kb_per_conn"], float)
        assert m["reconnects"] == 0


def test_restore_opens_the_whole_note_before_and_after_a_checkpoint(results: Any) -> None:
    for m in _metrics(results[1], "restore"):
        assert m["before_ms"] > 0 and m["after_ms"] > 0
        assert m["complete"] is True
        assert m["compacted"] is True


def test_the_report_holds_a_table_for_every_scenario(results: Any) -> None:
    out, _records = results
    text = (out / "RESULTS.md").read_text()
    for title in (
        "## Fan-out latency",
        "## Throughput",
        "## Join storm",
        "## Idle connections",
        "## Restore",
        "## Targets",
    ):
        assert title in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cells"]
