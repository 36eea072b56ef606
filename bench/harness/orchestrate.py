"""The order of measurements: every run measures every case on every server.

Within a run, each scenario (or each case, where a case needs a server of its
own) is measured on each server one after another, in an order that rotates
from run to run; so whatever drifts during an invocation (the machine's other
work, temperature, disk caches) affects every server alike.
Each measurement is appended to ``raw.jsonl`` as soon as it is done.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import backends as services
from harness import restore, scenarios
from harness.backends import Backends
from harness.config import Case, Config
from harness.paths import Paths
from harness.procstat import wait_until_quiet
from harness.servers import SERVERS, ServerFailed, ServerSpec, running


@dataclass(frozen=True)
class Plan:
    """What to run: the configuration, narrowed to some scenarios and servers."""

    config: Config
    scenarios: tuple[str, ...]
    servers: tuple[str, ...]
    runs: int
    quiet_wait_s: float = 0.0  # before each server start, wait up to this for a quiet machine
    redo_disturbed: bool = False  # measure a group again if other work disturbed it

    def servers_for(self, scenario: str) -> list[ServerSpec]:
        wanted = self.config.servers[scenario]
        return [SERVERS[name] for name in wanted if name in self.servers]

    def measurements(self) -> int:
        return self.runs * sum(
            len(self.servers_for(case.scenario))
            for scenario in self.scenarios
            for case in self.config.cases_of(scenario)
        )


def rotated(items: list[ServerSpec], by: int) -> list[ServerSpec]:
    if not items:
        return items
    by %= len(items)
    return items[by:] + items[:by]


def execute(plan: Plan, paths: Paths, out: Path) -> list[dict[str, object]]:
    """Run the plan; return (and append to out/raw.jsonl) one record per measurement."""
    records: list[dict[str, object]] = []
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    total, started = plan.measurements(), time.monotonic()
    with open(out / "raw.jsonl", "a") as raw, services.started() as backends:
        for run in range(1, plan.runs + 1):
            for group in _groups(plan):
                for spec in rotated(plan.servers_for(group[0].scenario), run - 1):
                    measured = _measure_group_on_quiet(
                        plan, run, group, spec, paths, logs, backends
                    )
                    for record in measured:
                        records.append(record)
                        raw.write(json.dumps(record) + "\n")
                        raw.flush()
                        _progress(len(records), total, started, record)
    return records


def _groups(plan: Plan) -> Iterable[list[Case]]:
    """Cases measured on one server start: each alone, or a scenario's together."""
    for scenario in plan.scenarios:
        cases = plan.config.cases_of(scenario)
        if scenario not in plan.config.shared_server:
            yield from ([case] for case in cases)
        elif cases:
            yield cases


DISTURBED_PCT = 50.0  # the rest of the machine used more than half a core meanwhile


def _measure_group_on_quiet(
    plan: Plan,
    run: int,
    group: list[Case],
    spec: ServerSpec,
    paths: Paths,
    logs: Path,
    backends: Backends,
) -> list[dict[str, object]]:
    """Measure a group, after waiting for quiet; once more if other work disturbed it."""
    busy = wait_until_quiet(plan.quiet_wait_s) if plan.quiet_wait_s else None
    records = [
        {**r, "machine_busy_before_pct": busy}
        for r in _measure_group(run, group, spec, paths, logs, backends)
    ]
    if plan.redo_disturbed and _disturbance(records) > DISTURBED_PCT:
        busy = wait_until_quiet(max(plan.quiet_wait_s, 60.0))
        again = [
            {**r, "machine_busy_before_pct": busy, "redone": True}
            for r in _measure_group(run, group, spec, paths, logs, backends)
        ]
        if _disturbance(again) < _disturbance(records):
            records = again
    return records


def _disturbance(records: list[dict[str, object]]) -> float:
    """The most CPU the rest of the machine used during any of these measurements."""
    values = [
        r["metrics"].get("other_cpu_pct") or 0.0
        for r in records
        if isinstance(r.get("metrics"), dict)
    ]
    return float(max(values, default=0.0))


def _measure_group(
    run: int, group: list[Case], spec: ServerSpec, paths: Paths, logs: Path, backends: Backends
) -> Iterator[dict[str, object]]:
    if group[0].scenario == "restore":  # starts and restarts its own server
        yield from (
            _record(run, case, spec, logs, restore.measure, case, spec, paths, logs)
            for case in group
        )
        return
    try:
        with running(spec, paths, logs, backends=backends) as server:
            for case in group:
                yield _record(run, case, spec, logs, scenarios.measure, case, server, paths, logs)
    except (ServerFailed, services.MissingService) as error:  # every case of the group failed
        yield from (_failed(run, case, spec, logs, error) for case in group)


def _record(
    run: int,
    case: Case,
    spec: ServerSpec,
    logs: Path,
    measure: Callable[..., dict[str, object]],
    *args: object,
) -> dict[str, object]:
    t0 = time.monotonic()
    try:
        metrics = measure(*args)
    except Exception as error:  # a failed measurement is a result too; the run goes on
        return _failed(run, case, spec, logs, error)
    return {**_key(run, case, spec), "metrics": metrics, "seconds": round(time.monotonic() - t0, 1)}


def _failed(
    run: int, case: Case, spec: ServerSpec, logs: Path, error: BaseException
) -> dict[str, object]:
    with open(logs / "errors.log", "a") as sink:
        sink.write(f"--- run {run} {case.scenario} {case.name} {spec.name}\n")
        sink.write("".join(traceback.format_exception(error)) + "\n")
    return {**_key(run, case, spec), "error": f"{type(error).__name__}: {error}"}


def _key(run: int, case: Case, spec: ServerSpec) -> dict[str, object]:
    return {
        "run": run,
        "scenario": case.scenario,
        "case": case.name,
        "server": spec.name,
        "at": time.strftime("%H:%M:%S"),
    }


def _progress(done: int, total: int, started: float, record: dict[str, object]) -> None:
    elapsed = time.monotonic() - started
    metrics = record.get("metrics")
    headline = record.get("error") or _headline(record["scenario"], metrics)
    print(
        f"[bench] {done}/{total} {elapsed:5.0f}s run {record['run']} "
        f"{record['scenario']} {record['case']} {record['server']}: {headline}",
        flush=True,
    )


def _headline(scenario: object, metrics: object) -> str:
    if not isinstance(metrics, dict):
        return "?"
    keys = {
        "fanout": (
            "p50_ms",
            "p99_ms",
            "lost_edits",
            "reconnects",
            "server_cpu_pct",
            "loadgen_cpu_pct",
        ),
        "throughput": ("edits_per_s", "lost_edits", "server_cpu_pct", "loadgen_cpu_pct"),
        "join": ("all_synced_ms", "timed_out", "mismatched"),
        "idle": ("kb_per_conn", "server_cpu_pct", "reconnects"),
        "restore": ("before_ms", "after_ms", "compacted"),
    }[str(scenario)]
    return " ".join(f"{key}={metrics.get(key)}" for key in keys)
