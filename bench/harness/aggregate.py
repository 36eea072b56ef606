"""From one record per measurement to one figure per (scenario, case, server, metric):
the median over runs, with every run's value kept for the appendix."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str, str]  # scenario, case, server


@dataclass
class Figure:
    """One metric of one server in one case, over all runs."""

    values: list[Any] = field(default_factory=list)

    @property
    def numbers(self) -> list[float]:
        return [float(v) for v in self.values if isinstance(v, int | float) and v is not None]

    @property
    def median(self) -> float | None:
        numbers = self.numbers
        return statistics.median(numbers) if numbers else None

    @property
    def worst(self) -> float | None:
        numbers = self.numbers
        return max(numbers) if numbers else None

    @property
    def true_count(self) -> int:
        return sum(1 for v in self.values if v is True)


@dataclass
class Cell:
    """Everything measured for one server in one case."""

    metrics: dict[str, Figure] = field(default_factory=lambda: defaultdict(Figure))
    errors: list[str] = field(default_factory=list)
    runs: int = 0

    def median(self, metric: str) -> float | None:
        return self.metrics[metric].median if metric in self.metrics else None


def aggregate(records: list[dict[str, Any]]) -> dict[Key, Cell]:
    """Group records by (scenario, case, server)."""
    cells: dict[Key, Cell] = defaultdict(Cell)
    for record in records:
        cell = cells[(record["scenario"], record["case"], record["server"])]
        cell.runs += 1
        if "error" in record:
            cell.errors.append(str(record["error"]))
            continue
        for metric, value in record["metrics"].items():
            cell.metrics[metric].values.append(value)
    return dict(cells)
