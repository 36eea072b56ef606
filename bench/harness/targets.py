"""The targets collab-notes is held to, checked against the medians of a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.report import Report, fmt
from harness.servers import BASELINE, COLLAB, PYCRDT, SERVERS, YWSS

Verdict = tuple[str, str, str]  # target, what was measured, met or missed and by how much


@dataclass(frozen=True)
class AtMost:
    """collab-notes' median of ``metric`` is at most ``factor`` x the peer's (or a limit)."""

    scenario: str
    case: str
    metric: str
    unit: str
    peer: str | None = None
    factor: float = 1.0
    limit: float | None = None

    def check(self, report: Report) -> Verdict:
        ours = report.value(self.scenario, self.case, COLLAB, self.metric)
        bound = self.limit
        against = f"limit {fmt(bound, 1)} {self.unit}"
        if self.peer is not None:
            theirs = report.value(self.scenario, self.case, self.peer, self.metric)
            bound = None if theirs is None else theirs * self.factor
            against = f"{SERVERS[self.peer].label} {fmt(theirs, 1)} {self.unit}"
        times = f"{self.factor:g}x " if self.factor != 1.0 else ""
        target = f"{self.scenario} {self.case}: {self.metric} ≤ " + (
            f"{times}{SERVERS[self.peer].label}'s"
            if self.peer
            else f"{fmt(self.limit, 1)} {self.unit}"
        )
        if ours is None or bound is None:
            return target, "not measured", "-"
        measured = f"collab-notes {fmt(ours, 1)} {self.unit} vs {against}"
        share = ours / bound if bound else float("inf")
        verdict = (
            f"met ({share:.2f}x the bound)"
            if ours <= bound
            else (f"**missed**: {share:.2f}x the bound")
        )
        return target, measured, verdict


@dataclass(frozen=True)
class AtLeast:
    """collab-notes' median of ``metric`` is at least ``factor`` x the peer's."""

    scenario: str
    case: str
    metric: str
    unit: str
    peer: str
    factor: float

    def check(self, report: Report) -> Verdict:
        ours = report.value(self.scenario, self.case, COLLAB, self.metric)
        theirs = report.value(self.scenario, self.case, self.peer, self.metric)
        target = (
            f"{self.scenario} {self.case}: {self.metric} ≥ {self.factor:g}x "
            f"{SERVERS[self.peer].label}'s"
        )
        if ours is None or theirs is None or theirs == 0:
            return target, "not measured", "-"
        share = ours / theirs
        measured = (
            f"collab-notes {fmt(ours)} {self.unit} vs {fmt(theirs)} {self.unit} ({share:.2f}x)"
        )
        verdict = (
            f"met ({share / self.factor:.2f}x the bound)"
            if share >= self.factor
            else (f"**missed**: {share / self.factor:.2f}x the bound")
        )
        return target, measured, verdict


@dataclass(frozen=True)
class NoneInAnyRun:
    """No run of a scenario on collab-notes counted any of ``metric``."""

    scenario: str
    metric: str

    def check(self, report: Report) -> Verdict:
        target = f"{self.scenario}: zero {self.metric.replace('_', ' ')} in every run"
        figures = [
            cell.metrics[self.metric]
            for (scenario, _case, server), cell in report.cells.items()
            if (scenario, server) == (self.scenario, COLLAB) and self.metric in cell.metrics
        ]
        if not figures:
            return target, "not measured", "-"
        total = sum(sum(f.numbers) for f in figures)
        runs = sum(len(f.values) for f in figures)
        measured = f"{fmt(total)} over {runs} runs of collab-notes"
        return target, measured, "met" if total == 0 else "**missed**"


@dataclass(frozen=True)
class HopAtMost:
    """What crossing from one process to another adds to a fan-out percentile (#13)."""

    case: str
    metric: str
    limit_ms: float

    def check(self, report: Report) -> Verdict:
        target = f"fanout {self.case}: {self.metric} added by a process hop ≤ {self.limit_ms:g} ms"
        added = report.hop(self.case, self.metric)
        if added is None:
            return target, "not measured", "-"
        measured = f"{fmt(added, 2)} ms (2 processes with Redis - 1 process, both on PostgreSQL)"
        return target, measured, "met" if added <= self.limit_ms else "**missed**"


Check = Callable[[Report], Verdict]

CPU_PER_1K = "server_cpu_ms_per_1k"
IDLE = "1000 connections / 100 rooms"

# The targets of #16 (against @y/websocket-server; idle no worse than before it:
# 45.1 KB and 2.6 %), of #13 (the hop; SQLite figures within 5 % of the commit
# before scale-out, when that is the --baseline), and the earlier ones still held.
TARGETS: tuple[AtMost | AtLeast | NoneInAnyRun | HopAtMost, ...] = (
    AtMost("fanout", "1x50", "p99_ms", "ms", peer=YWSS),
    AtMost("fanout", "20x10", "p99_ms", "ms", peer=YWSS),
    NoneInAnyRun("fanout", "lost_edits"),
    NoneInAnyRun("fanout", "reconnects"),
    AtMost("throughput", "2 writers", CPU_PER_1K, "ms", peer=YWSS),
    AtMost("fanout", "20x10", CPU_PER_1K, "ms", peer=YWSS),
    AtMost("join", "50 clients, new empty note", "all_synced_ms", "ms", peer=YWSS),
    AtMost("join", "50 clients, 1 MB note", "all_synced_ms", "ms", peer=YWSS),
    AtMost("idle", IDLE, "kb_per_conn", "KB", limit=45.1),
    AtMost("idle", IDLE, "server_cpu_pct", "%", limit=2.6),
    HopAtMost("1x50", "p99_ms", 2.0),
    HopAtMost("20x10", "p99_ms", 2.0),
    AtMost("fanout", "1x50", CPU_PER_1K, "ms", peer=BASELINE, factor=1.05),
    AtMost("fanout", "20x10", CPU_PER_1K, "ms", peer=BASELINE, factor=1.05),
    AtMost("throughput", "2 writers", CPU_PER_1K, "ms", peer=BASELINE, factor=1.05),
    AtLeast("throughput", "2 writers", "edits_per_s", "edits/s", PYCRDT, 2.0),
    AtMost("join", "50 clients, 30k-struct history", "all_synced_ms", "ms", peer=PYCRDT),
    AtMost("restore", "100,000 updates", "before_ms", "ms", limit=500),
    AtMost("restore", "100,000 updates", "after_ms", "ms", limit=500),
)


def check_all(report: Report) -> list[Verdict]:
    return [target.check(report) for target in TARGETS]
