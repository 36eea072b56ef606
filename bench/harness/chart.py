"""The latency chart: fan-out percentiles per server, one panel per case."""

from __future__ import annotations

from pathlib import Path

from harness.report import Report
from harness.servers import SERVERS

PERCENTILES = (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"), ("max_ms", "max"))
ORDER = (
    "collab-notes",
    "collab-notes-normal",
    "y-websocket-server",
    "hocuspocus",
    "pycrdt-websocket",
)


def latency_chart(report: Report, path: Path, subtitle: str) -> bool:
    """Write the PNG; False when there are no fan-out results to draw."""
    cases = report.cases("fanout")
    servers = report.servers("fanout", ORDER)
    if not cases or not servers:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(cases), figsize=(5.2 * len(cases), 4.8), squeeze=False)
    width = 0.8 / len(PERCENTILES)
    for ax, case in zip(axes[0], cases, strict=True):
        for i, (metric, label) in enumerate(PERCENTILES):
            values = [report.value("fanout", case, s, metric) for s in servers]
            shown = [(x, v) for x, v in enumerate(values) if v is not None]
            xs = [x + (i - (len(PERCENTILES) - 1) / 2) * width for x, _v in shown]
            ax.bar(xs, [max(v, 0.01) for _x, v in shown], width, label=label)
        ax.set_yscale("log")
        for x, server in enumerate(servers):
            if report.value("fanout", case, server, "p50_ms") is None:
                ax.text(
                    x,
                    1,
                    "no result",
                    ha="center",
                    rotation=90,
                    fontsize=8,
                    transform=ax.get_xaxis_transform(),
                    va="top",
                )
        ax.set_title(f"{case} (rooms x clients)")
        ax.set_xticks(range(len(servers)))
        ax.set_xticklabels(
            [SERVERS[s].label.replace(" (", "\n(") for s in servers],
            rotation=30,
            ha="right",
            fontsize=8,
        )
        ax.set_ylabel("edit delivery latency, ms (log)")
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0][0].legend(title="percentile", fontsize=8)
    fig.suptitle(
        f"Fan-out latency, each writer at 10 edits/s; medians of runs. {subtitle}", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
