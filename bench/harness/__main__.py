"""bench/run: install what is missing, measure, write the report.

bench/run                 the full benchmark, every server (about 25 minutes)
bench/run --quick         a tiny configuration, one run (about 2 minutes)
bench/run --profile       py-spy profiles of collab-notes under load
bench/run --help          every option
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import environment, install, profiling
from harness.aggregate import aggregate
from harness.chart import latency_chart
from harness.config import FULL, QUICK, SCENARIOS
from harness.document import render, summary_json
from harness.orchestrate import Plan, execute
from harness.paths import BENCH, Paths
from harness.report import Report
from harness.servers import BASELINE, COLLAB, PEERS, SERVERS, use_baseline


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny counts and durations, one run")
    parser.add_argument("--runs", type=int, help="runs per measurement (default: 3, quick: 1)")
    parser.add_argument(
        "--servers",
        default=",".join(name for name in SERVERS if name != BASELINE),
        help=f"comma-separated subset of: {', '.join(SERVERS)}",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of: {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--results-dir", type=Path, help="where to write (default: bench/results/<date>-<config>)"
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="do not install anything; fail if something is missing",
    )
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG (and matplotlib)")
    parser.add_argument(
        "--publish",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="copy RESULTS.md and latency.png into bench/ (default: only for "
        "a full run of every scenario on every server)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="on a shared machine: before each server start, wait up to "
        "SECONDS for the rest of the machine to use under 25%% of a core",
    )
    parser.add_argument(
        "--redo-disturbed",
        action="store_true",
        help="on a shared machine: measure a server's scenario once more when "
        "the rest of the machine used over half a core meanwhile, and "
        "keep the less disturbed of the two",
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure collab-notes at this git commit (a branch, tag or hash), "
        "beside today's tree in the same run: before/after figures of a change",
    )
    parser.add_argument(
        "--rerender",
        type=Path,
        metavar="RESULTS_DIR",
        help="write RESULTS.md, summary.json and the chart again from the "
        "raw.jsonl of an earlier invocation, measuring nothing",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile collab-notes with py-spy instead of benchmarking",
    )
    return parser


def _names(raw: str, known: tuple[str, ...] | list[str], what: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(
            f"bench/run: unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})"
        )
    return names


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM unwind normally, so every server and client started is stopped.

    A shell starts background jobs with SIGINT ignored, and Python keeps that;
    SIGTERM would end Python at once, leaving the servers running.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _stop_on_signals()
    config = QUICK if args.quick else FULL
    paths = Paths.from_env()
    servers = _names(args.servers, list(SERVERS), "servers")
    if args.baseline:
        commit = use_baseline(args.baseline, paths)
        print(f"[bench] baseline: collab-notes at {commit}", flush=True)
        servers = (*servers, BASELINE) if BASELINE not in servers else servers
    plan = Plan(
        config,
        _names(args.scenarios, SCENARIOS, "scenarios"),
        servers,
        args.runs or config.runs,
        quiet_wait_s=args.wait_quiet,
        redo_disturbed=args.redo_disturbed,
    )
    if args.rerender:
        return rerender(args.rerender, plan, chart=not args.no_chart, publish=args.publish)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kind = "profile" if args.profile else config.name
    out = args.results_dir or BENCH / "results" / f"{stamp}-{kind}"
    out.mkdir(parents=True, exist_ok=True)
    if not args.no_install:
        peers = {SERVERS[name].kind for name in plan.servers} & set(PEERS)
        install.install(
            paths,
            peers=set() if args.profile else peers,
            chart=not args.no_chart and not args.profile,
            profile=args.profile,
        )
    if args.profile:
        return profiling.run(config, paths, out)
    return benchmark(plan, paths, out, chart=not args.no_chart, publish=args.publish)


def benchmark(plan: Plan, paths: Paths, out: Path, *, chart: bool, publish: bool | None) -> int:
    env = environment.describe(paths)
    print(f"[bench] {plan.measurements()} measurements; results in {out}", flush=True)
    records = execute(plan, paths, out)
    env["collab_notes_after"] = environment.collab_notes()
    write_report(plan, records, env, out, chart=chart, publish=publish)
    failed = [r for r in records if "error" in r and SERVERS[str(r["server"])].kind == COLLAB]
    return 1 if failed else 0


def rerender(out: Path, plan: Plan, *, chart: bool, publish: bool | None) -> int:
    """The report of an earlier invocation, written again (after a change to the report)."""
    records = [json.loads(line) for line in (out / "raw.jsonl").read_text().splitlines()]
    env = json.loads((out / "summary.json").read_text())["environment"]
    runs = max(int(r["run"]) for r in records)
    plan = replace(plan, config=QUICK if "quick" in out.name else plan.config, runs=runs)
    write_report(plan, records, env, out, chart=chart, publish=publish)
    return 0


def write_report(
    plan: Plan,
    records: list[dict[str, Any]],
    env: dict[str, Any],
    out: Path,
    *,
    chart: bool,
    publish: bool | None,
) -> None:
    report = Report(aggregate(records), plan.config, env)
    drawn = chart and latency_chart(
        report, out / "latency.png", f"{env['machine']['cores']} cores, {env['date']}"
    )
    text = render(report, env, chart="latency.png" if drawn else None, runs=plan.runs)
    (out / "RESULTS.md").write_text(text)
    (out / "summary.json").write_text(summary_json(report, env))
    everything = (
        plan.config is FULL
        and set(plan.scenarios) == set(SCENARIOS)
        and set(plan.servers) - {BASELINE} == set(SERVERS) - {BASELINE}
    )
    if publish if publish is not None else everything:
        shutil.copyfile(out / "RESULTS.md", BENCH / "RESULTS.md")
        if drawn:
            shutil.copyfile(out / "latency.png", BENCH / "latency.png")
        print("[bench] published bench/RESULTS.md and bench/latency.png", flush=True)
    print(f"[bench] wrote {out / 'RESULTS.md'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
