"""The Markdown report: one table per scenario with every server's median and
collab-notes' ratio against each peer, the targets, and the per-run appendix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.aggregate import Cell, Key
from harness.config import Config
from harness.servers import BASELINE, COLLAB, PEERS, POSTGRES, SERVERS, TWO_PROCESSES


@dataclass(frozen=True)
class Metric:
    """How a metric is shown: its label, which way is better, and whether a ratio means anything."""

    key: str
    label: str
    better: str = ""  # "lower", "higher" or "" (context, no ratio)
    digits: int = 0
    kind: str = "number"  # "number" or "runs" (a boolean shown as true-runs/runs)

    @property
    def ratio(self) -> bool:
        return self.better != "" and self.kind == "number"

    @property
    def title(self) -> str:
        arrow = {"lower": " ↓", "higher": " ↑"}.get(self.better, "")
        return self.label + arrow


CPU = (
    Metric("server_cpu_pct", "server CPU %", digits=1),
    Metric("loadgen_cpu_pct", "load generator CPU %", digits=1),
    Metric("other_cpu_pct", "other work on the machine, CPU %", digits=1),
)

METRICS: dict[str, tuple[Metric, ...]] = {
    "fanout": (
        Metric("p50_ms", "p50 ms", "lower", 1),
        Metric("p95_ms", "p95 ms", "lower", 1),
        Metric("p99_ms", "p99 ms", "lower", 1),
        Metric("max_ms", "max ms", "lower", 1),
        Metric("delivered_per_s", "delivered/s", "higher"),
        Metric("server_cpu_ms_per_1k", "server CPU ms per 1,000 deliveries", "lower", 1),
        Metric("lost_edits", "lost edits"),
        Metric("converged", "converged", kind="runs"),
        Metric("reconnects", "reconnects"),
        Metric("unsynced_at_start", "clients not synced when writing began"),
        *CPU,
    ),
    "throughput": (
        Metric("edits_per_s", "edits/s applied by the observer", "higher"),
        Metric("server_cpu_ms_per_1k", "server CPU ms per 1,000 edits", "lower", 1),
        Metric("lost_edits", "lost edits"),
        Metric("converged", "converged", kind="runs"),
        Metric("reconnects", "reconnects"),
        *CPU,
        Metric("loadgen_loop_delay_p99_ms", "load generator event-loop delay p99 ms", digits=1),
    ),
    "join": (
        Metric("all_synced_ms", "all synced ms", "lower", 1),
        Metric("p50_synced_ms", "median client synced ms", "lower", 1),
        Metric("timed_out", "clients not synced in time"),
        Metric("mismatched", "wrong text"),
        Metric("structs", "structs in the note"),
        Metric("server_cpu_ms", "server CPU time during the storm ms", "lower"),
        *CPU,
    ),
    "idle": (
        Metric("kb_per_conn", "server RSS per connection KB", "lower", 1),
        Metric("server_cpu_pct", "idle server CPU %", "lower", 1),
        Metric("rss_baseline_mb", "server RSS before connecting MB", digits=1),
        Metric("awareness_updates_received", "awareness updates received while idle"),
        Metric("reconnects", "reconnects"),
        Metric("loadgen_cpu_pct", "load generator CPU %", digits=1),
    ),
    "restore": (
        Metric("before_ms", "open before a checkpoint ms", "lower", 1),
        Metric("after_ms", "open after a checkpoint ms", "lower", 1),
        Metric("compacted", "a checkpoint covers the whole log after restart", kind="runs"),
        Metric("complete", "whole text received", kind="runs"),
    ),
}

TITLES = {
    "fanout": "Fan-out latency",
    "throughput": "Throughput (one room, writers as fast as a 50-edit window allows)",
    "join": "Join storm",
    "idle": "Idle connections",
    "restore": "Restore",
}


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    if digits == 0 or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs == 0:
        return "-"
    value = ours / theirs
    if value < 0.01:
        return f"{value:.1g}x"
    return f"{value:.2f}x" if value < 10 else f"{value:,.0f}x"


class Report:
    """Builds the Markdown text from aggregated cells."""

    def __init__(self, cells: dict[Key, Cell], config: Config, environment: dict[str, Any]):
        self.cells = cells
        self.config = config
        self.env = environment

    def cell(self, scenario: str, case: str, server: str) -> Cell | None:
        return self.cells.get((scenario, case, server))

    def value(self, scenario: str, case: str, server: str, metric: str) -> float | None:
        cell = self.cell(scenario, case, server)
        return cell.median(metric) if cell else None

    def cases(self, scenario: str) -> list[str]:
        return [
            c.name
            for c in self.config.cases_of(scenario)
            if any(key[:2] == (scenario, c.name) for key in self.cells)
        ]

    def servers(self, scenario: str, names: Iterable[str]) -> list[str]:
        return [n for n in names if any(k[0] == scenario and k[2] == n for k in self.cells)]

    def shown(self, cell: Cell | None, metric: Metric) -> str:
        if cell is None:
            return "-"
        if metric.key not in cell.metrics:
            return "failed" if cell.errors else "-"
        figure = cell.metrics[metric.key]
        if metric.kind == "runs":
            return f"{figure.true_count}/{len(figure.values)}"
        text = fmt(figure.median, metric.digits)
        if cell.errors:
            text += f" ({len(cell.errors)} failed)"
        return text

    # -- sections ------------------------------------------------------------------

    def scenario_table(self, scenario: str) -> list[str]:
        servers = self.servers(scenario, (COLLAB, BASELINE, *PEERS))
        peers = [s for s in servers if s != COLLAB]
        head = [
            "case",
            "metric",
            *(SERVERS[s].label for s in servers),
            *(f"÷ {SERVERS[p].label}" for p in peers),
        ]
        lines = [row(head), row(["---"] * len(head))]
        for case in self.cases(scenario):
            for metric in METRICS[scenario]:
                cells = [self.shown(self.cell(scenario, case, s), metric) for s in servers]
                ours = self.value(scenario, case, COLLAB, metric.key)
                ratios = [
                    ratio(ours, self.value(scenario, case, p, metric.key))
                    if metric.ratio and COLLAB in servers
                    else ""
                    for p in peers
                ]
                lines.append(row([case, metric.title, *cells, *ratios]))
        return lines

    def variant_table(self, scenario: str, variant: str, metrics: list[str]) -> list[str]:
        """collab-notes against one of its own variants (durability normal, deflate)."""
        label = SERVERS[variant].label
        head = ["case", "metric", SERVERS[COLLAB].label, label, f"{label} ÷ collab-notes"]
        lines = [row(head), row(["---"] * len(head))]
        chosen = [m for m in METRICS[scenario] if m.key in metrics]
        for case in self.cases(scenario):
            for metric in chosen:
                ours = self.cell(scenario, case, COLLAB)
                theirs = self.cell(scenario, case, variant)
                if theirs is None:
                    continue
                r = ratio(
                    self.value(scenario, case, variant, metric.key),
                    self.value(scenario, case, COLLAB, metric.key),
                )
                lines.append(
                    row(
                        [
                            case,
                            metric.title,
                            self.shown(ours, metric),
                            self.shown(theirs, metric),
                            r,
                        ]
                    )
                )
        return lines

    def scale_out_table(self, scenario: str, metrics: list[str]) -> list[str]:
        """SQLite in one process, PostgreSQL in one, PostgreSQL + Redis in two."""
        servers = self.servers(scenario, (COLLAB, POSTGRES, TWO_PROCESSES))
        if TWO_PROCESSES not in servers:
            return []
        head = ["case", "metric", *(SERVERS[s].label for s in servers)]
        lines = [row(head), row(["---"] * len(head))]
        chosen = [m for m in METRICS[scenario] if m.key in metrics]
        for case in self.cases(scenario):
            for metric in chosen:
                cells = [self.shown(self.cell(scenario, case, s), metric) for s in servers]
                lines.append(row([case, metric.title, *cells]))
        return lines

    def hop(self, case: str, metric: str) -> float | None:
        """What crossing from one process to another adds to a fan-out percentile."""
        two = self.value("fanout", case, TWO_PROCESSES, metric)
        one = self.value("fanout", case, POSTGRES, metric)
        return None if two is None or one is None else two - one

    def hop_table(self) -> list[str]:
        head = ["case", "p50 added ms", "p99 added ms", "every run's p99, 2 processes / 1"]
        lines = [row(head), row(["---"] * len(head))]
        for case in self.cases("fanout"):
            if self.hop(case, "p50_ms") is None:
                continue
            two, one = self.cell("fanout", case, TWO_PROCESSES), self.cell("fanout", case, POSTGRES)
            runs = " / ".join(
                f"{fmt(a, 1)} vs {fmt(b, 1)}"
                for a, b in zip(
                    two.metrics["p99_ms"].numbers if two else [],
                    one.metrics["p99_ms"].numbers if one else [],
                    strict=False,
                )
            )
            added = [fmt(self.hop(case, m), 2) for m in ("p50_ms", "p99_ms")]
            lines.append(row([case, *added, runs]))
        return lines if len(lines) > 2 else []

    def appendix(self) -> list[str]:
        """Every run's value of the headline metrics, to show the spread behind each median."""
        headline = {
            "fanout": ["p99_ms"],
            "throughput": ["edits_per_s"],
            "join": ["all_synced_ms"],
            "idle": ["kb_per_conn", "server_cpu_pct"],
            "restore": ["before_ms", "after_ms"],
        }
        lines = [row(["scenario", "case", "metric", "server", "runs"]), row(["---"] * 5)]
        for (scenario, case, server), cell in sorted(self.cells.items()):
            for key in headline.get(scenario, []):
                if key in cell.metrics:
                    runs = " / ".join(
                        fmt(v, 1) if isinstance(v, float) else str(v)
                        for v in cell.metrics[key].values
                    )
                    lines.append(row([scenario, case, key, SERVERS[server].label, runs]))
            for error in cell.errors:
                lines.append(row([scenario, case, "error", SERVERS[server].label, error[:160]]))
        return lines


def row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
