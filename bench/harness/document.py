"""RESULTS.md: the date, machine and versions, the targets, every scenario's table, and
the per-run appendix."""

from __future__ import annotations

import json
from typing import Any

from harness.report import TITLES, Report, row
from harness.servers import NO_METRICS
from harness.targets import check_all

HOW_TO_READ = """\
Every figure is the median over {runs} run(s); each run started every server afresh,
and the servers took turns scenario by scenario (the order rotating between runs)
so that drift during the invocation touched all of them alike. A "÷ peer" column is
collab-notes' figure divided by that peer's: below 1.00x is better for ↓ metrics,
above 1.00x is better for ↑ metrics. CPU figures are % of one core, read from
`/proc` over the measuring window; "other work on the machine" is what the rest of
the machine used meanwhile (a large value means the run was disturbed)."""


CAVEATS = """\
- The load generator is one Node process on one of the two cores, holding every
  client. In throughput against the Node servers it is the limit (see its CPU
  and event-loop delay rows), so those edits/s are a floor for the server.
- Join storm, 30k-struct history: the 50 clients apply the note one after the
  other in that one process, so client-side Yjs work dominates the wall time
  for every server; the server CPU time row is the server's own share.
- pycrdt-websocket strands some of a crowd of clients that open a new room
  together until their provider reconnects 30 s later: that is its join storm
  on a new note, and its fan-out figures (all clients connect at once there)
  with their reconnects and "clients not synced when writing began".
- Idle KB per connection is the growth of the server's RSS, divided by the
  connections, 100 rooms included; a garbage-collected heap (Node) may not have
  shrunk back by the time it is read."""


def render(report: Report, env: dict[str, Any], *, chart: str | None, runs: int) -> str:
    out: list[str] = ["# collab-notes benchmark results", ""]
    out += _environment(env, report.config.name, runs)
    out += ["", "## How to read this", "", HOW_TO_READ.format(runs=runs), "", CAVEATS, ""]
    out += [
        "## Targets (collab-notes, `--durability full`)",
        "",
        row(["target", "measured", "verdict"]),
        row(["---"] * 3),
    ]
    out += [row(v) for v in check_all(report)]
    if chart:
        out += ["", f"![fan-out latency percentiles per server]({chart})"]
    for scenario in ("fanout", "throughput", "join", "idle", "restore"):
        if report.cases(scenario):
            out += ["", f"## {TITLES[scenario]}", "", *report.scenario_table(scenario)]
    durability = report.variant_table(
        "fanout", "collab-notes-normal", ["p50_ms", "p99_ms", "delivered_per_s", "server_cpu_pct"]
    )
    durability += report.variant_table(
        "throughput", "collab-notes-normal", ["edits_per_s", "server_cpu_pct"]
    )[2:]
    if len(durability) > 2:
        out += ["", "## Durability cost: `--durability full` against `normal`", "", *durability]
    deflate = report.variant_table(
        "join", "collab-notes-deflate", ["all_synced_ms", "server_cpu_pct"]
    )
    if len(deflate) > 2:
        out += ["", "## permessage-deflate off (default) against on, join storm", "", *deflate]
    metrics = report.variant_table(
        "fanout", NO_METRICS, ["p50_ms", "p99_ms", "server_cpu_ms_per_1k"]
    )
    metrics += report.variant_table(
        "throughput", NO_METRICS, ["edits_per_s", "server_cpu_ms_per_1k"]
    )[2:]
    if len(metrics) > 2:
        out += ["", "## Metrics cost: metrics on (default) against `--no-metrics`", "", *metrics]
    out += _scale_out(report)
    out += ["", "## Every run", "", *report.appendix(), ""]
    return "\n".join(out)


SCALE_OUT = """\
The same load on PostgreSQL (Debian's, default durability: fsync and synchronous
commit on), started by the bench on this machine: one collab-notes process, and
two processes sharing the notes through Redis. With two, every writer is connected
to the first process and every reader (fan-out) or the observer (throughput) to the
second, so each timed edit is committed by one process, published on Redis, applied
by the other and only then sent: the difference between the two columns is what the
hop costs. CPU is the sum of both processes'."""


def _scale_out(report: Report) -> list[str]:
    fanout = report.scale_out_table(
        "fanout", ["p50_ms", "p99_ms", "lost_edits", "server_cpu_ms_per_1k", "server_cpu_pct"]
    )
    throughput = report.scale_out_table(
        "throughput", ["edits_per_s", "lost_edits", "server_cpu_ms_per_1k", "server_cpu_pct"]
    )
    if fanout and throughput:
        throughput = throughput[2:]  # one table: the fan-out's header serves both
    if not fanout and not throughput:
        return []
    out = ["", "## Past one process: PostgreSQL, and two processes with Redis", "", SCALE_OUT]
    out += ["", *fanout, *throughput]
    hop = report.hop_table()
    if hop:
        out += ["", "What the hop between processes adds to fan-out latency (target: p99 ≤ 2 ms):"]
        out += ["", *hop]
    return out


def _environment(env: dict[str, Any], config: str, runs: int) -> list[str]:
    machine = env["machine"]
    collab = env["collab_notes"]
    node_peers = {k: v for k, v in env["peers"].items() if not k.endswith("venv")}
    python_peer = env["peers"].get("pycrdt-websocket venv") or {}
    lines = [
        f"- **Date**: {env['date']}; configuration `{config}`, {runs} run(s)",
        f"- **Machine**: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, Linux {machine['kernel']}; load average at the start "
        f"{', '.join(str(x) for x in machine['load_average'])}",
        f"- **collab-notes**: server code at commit {collab['commit']}{_changed(env)}, "
        f"Python {collab['python']}, "
        f"pycrdt {collab['pycrdt']}, uvicorn {collab['uvicorn']} (ws: websockets-sansio), "
        f"websockets {collab['websockets']}, FastAPI {collab['fastapi']}, "
        f"SQLAlchemy {collab['sqlalchemy']}",
        f"- **Node** {env['node']}; clients: {_versions(env['clients'])}",
        f"- **Peers**: {_versions(node_peers)}; pycrdt-websocket venv: {_versions(python_peer)}",
    ]
    return lines


def _changed(env: dict[str, Any]) -> str:
    before, after = env["collab_notes"], env.get("collab_notes_after", {})
    if after.get("fingerprint") and after["fingerprint"] != before.get("fingerprint"):
        return f" (**the server code changed during the run**: {after['commit']} at the end)"
    return ""


def _versions(versions: dict[str, Any]) -> str:
    shown = [f"{name} {version}" for name, version in versions.items() if version]
    return ", ".join(shown) or "not installed"


def summary_json(report: Report, env: dict[str, Any]) -> str:
    cells = {
        " / ".join(key): {
            "runs": cell.runs,
            "errors": cell.errors,
            "median": {m: f.median for m, f in cell.metrics.items()},
            "values": {m: f.values for m, f in cell.metrics.items()},
        }
        for key, cell in report.cells.items()
    }
    return json.dumps({"environment": env, "cells": cells}, indent=1, default=str)
