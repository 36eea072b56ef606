"""One measurement of one case on a running server, as a flat dict of numbers.

The load generator does the timing on the client side; this module adds what
only the outside can see (the server's CPU and memory) and flattens both into
the metric names the report uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import loadgen
from harness.config import Case
from harness.paths import Paths
from harness.servers import RunningServer

Metrics = dict[str, float | int | bool | None]


def measure(case: Case, server: RunningServer, paths: Paths, logs: Path) -> Metrics:
    """Run ``case`` once against ``server``."""
    outcome = loadgen.run(
        paths,
        server,
        case.scenario,
        case.params,
        log=logs / "loadgen.log",
        timeout_s=case.timeout_s,
    )
    server.check_alive()
    flatten = _FLATTEN[case.scenario]
    metrics = {**flatten(outcome), **outcome.usage(), **_self(outcome.result)}
    return {**metrics, **_cpu_per_edit(case.scenario, metrics)}


def _cpu_per_edit(scenario: str, metrics: Metrics) -> Metrics:
    """Server CPU ms per 1,000 edits delivered in the measuring window.

    On two cores the load generator and the server share the machine, so edits/s
    follows whichever is the limit; the server's CPU per edit moves least. Fan-out
    counts every delivery to a client; throughput counts the edits the observer
    applied (each also went to the other writers).
    """
    rate = {"fanout": "delivered_per_s", "throughput": "edits_per_s"}.get(scenario)
    cpu_ms, window_s = metrics.get("server_cpu_ms"), metrics.get("window_s")
    if rate is None or not cpu_ms or not window_s or not metrics.get(rate):
        return {}
    edits = float(metrics[rate] or 0) * float(window_s)
    return {"server_cpu_ms_per_1k": round(1000 * float(cpu_ms) / edits, 1)}


def _self(result: dict[str, Any]) -> Metrics:
    """The load generator's own view of how busy it was."""
    own = result.get("loadgen", {})
    return {"loadgen_loop_delay_p99_ms": own.get("loop_delay_p99_ms")}


def _fanout(outcome: loadgen.Outcome) -> Metrics:
    r = outcome.result
    latency = r["latency_ms"]
    return {
        "p50_ms": latency["p50"],
        "p95_ms": latency["p95"],
        "p99_ms": latency["p99"],
        "max_ms": latency["max"],
        "samples": latency["count"],
        "delivered_per_s": r["delivered_per_s"],
        "edits_sent": r["edits_sent"],
        "lost_edits": r["lost_edits"],
        "converged": r["converged"],
        "reconnects": r["reconnects"],
        "unsynced_at_start": r["unsynced_at_start"],
    }


def _throughput(outcome: loadgen.Outcome) -> Metrics:
    r = outcome.result
    return {
        "edits_per_s": r["edits_per_s"],
        "edits_sent": r["edits_sent"],
        "lost_edits": r["lost_edits"],
        "converged": r["converged"],
        "reconnects": r["reconnects"],
    }


def _join(outcome: loadgen.Outcome) -> Metrics:
    r = outcome.result
    return {
        "all_synced_ms": r["all_synced_ms"],
        "p50_synced_ms": r["synced_ms"]["p50"],
        "timed_out": r["timed_out"],
        "mismatched": r["mismatched"],
        "text_chars": r["text_chars"],
        "structs": r["structs"],
        "reconnects": r["reconnects"],
    }


def _idle(outcome: loadgen.Outcome) -> Metrics:
    r = outcome.result
    base = outcome.samples["baseline"].server_rss_kb
    loaded = outcome.samples["measure-end"].server_rss_kb
    connections = r["connections"]
    return {
        "connections": connections,
        "rss_baseline_mb": round(base / 1024, 1),
        "rss_loaded_mb": round(loaded / 1024, 1),
        "kb_per_conn": round((loaded - base) / connections, 1),
        "awareness_updates_received": r["awareness_updates_received"],
        "reconnects": r["reconnects"],
    }


_FLATTEN = {"fanout": _fanout, "throughput": _throughput, "join": _join, "idle": _idle}
