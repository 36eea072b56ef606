"""``bench/run --profile``: where collab-notes spends its time under load.

py-spy samples the server during the measuring window of fan-out 1x50 and
throughput with 2 writers, and, to explain where collab-notes falls behind, of
fan-out 20x10, ten join storms in a row (1 MB note, new empty note) and the idle
connections. Raw collapsed stacks are summed into the top functions by own and by
inclusive time, per thread; the first two also get a flame graph SVG (a second
run of the scenario).

Only the thread holding the GIL is sampled (``--gil``): that is the CPU a single
server process can spend, and it leaves out threads parked on a queue or a lock,
which py-spy otherwise counts as busy. Waiting for the disk (the writer's fsync
releases the GIL) is therefore not in these profiles; the throughput figures of
``--durability full`` against ``normal`` show that cost.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness import environment, loadgen
from harness.config import FULL, Case, Config
from harness.report import fmt, row
from harness.servers import COLLAB, SERVERS, RunningServer, running

# (scenario, case, with a flame graph): the first two are the profiles the benchmark
# promises; the others explain the figures where collab-notes falls behind.
PROFILED = (
    ("fanout", "1x50", True),
    ("throughput", "2 writers", True),
    ("fanout", "20x10", False),
    ("join", "50 clients, 1 MB note", False),
    ("join", "50 clients, new empty note", False),
    ("idle", "1000 connections / 100 rooms", False),
)
MEASURE_S = 8
JOIN_SAMPLE_S = 6  # py-spy stops after this; ten storms may take less, or more
TOP = 15


def py_spy() -> str:
    return str(Path(sys.executable).parent / "py-spy")


@dataclass
class Recorder:
    """Starts py-spy on the server when the load generator starts measuring."""

    server: RunningServer
    output: Path
    fmt: str
    seconds: int
    process: subprocess.Popen[bytes] | None = None

    def __call__(self, phase: str, _event: dict[str, Any]) -> None:
        if phase != "measure-start":
            return
        argv = [
            py_spy(),
            "record",
            "--pid",
            str(self.server.pid),
            "--rate",
            "200",
            "--duration",
            str(self.seconds),
            "--format",
            self.fmt,
            "--nolineno",
            "--threads",
            "--gil",
            "--output",
            str(self.output),
        ]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self) -> None:
        if self.process is None:
            raise RuntimeError("py-spy never started: the load generator sent no measure-start")
        self.process.wait(timeout=self.seconds + 30)
        if self.process.returncode != 0:
            raise RuntimeError(f"py-spy failed ({self.process.returncode}) on {self.output.name}")


def _profiled_case(config: Config, scenario: str, case: str) -> Case:
    found = next(c for c in FULL.cases if c.scenario == scenario and c.name == case)
    if scenario == "join":  # one storm is too short to sample: ten in a row
        return replace(found, params={**found.params, "repeat": 10})
    key = "idle_s" if scenario == "idle" else "measure_s"
    seconds = found.params[key] if scenario == "idle" else MEASURE_S
    return replace(found, params={**found.params, key: seconds if config is FULL else 3})


def _record(case: Case, paths: Any, out: Path, fmt_: str, suffix: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", case.name.lower()).strip("-")
    output = out / f"profile-{case.scenario}-{slug}.{suffix}"
    with running(SERVERS[COLLAB], paths, out / "logs") as server:
        seconds = int(case.params.get("measure_s", case.params.get("idle_s", JOIN_SAMPLE_S)))
        recorder = Recorder(server, output, fmt_, seconds)
        loadgen.run(
            paths,
            server,
            case.scenario,
            case.params,
            log=out / "logs" / "loadgen.log",
            timeout_s=case.timeout_s + 30,
            on_phase=recorder,
        )
        recorder.wait()
    return output


def run(config: Config, paths: Any, out: Path) -> int:
    server = environment.collab_notes()
    sections = [
        "# collab-notes profiles",
        "",
        f"Server code at commit {server['commit']}; {time.strftime('%Y-%m-%d %H:%M %Z')}.",
        "",
    ]
    for scenario, name, flame_graph in PROFILED:
        case = _profiled_case(config, scenario, name)
        print(f"[bench] profiling {scenario} {name}", flush=True)
        raw = _record(case, paths, out, "raw", "txt")
        sections += [f"## {scenario} {name}", ""]
        if flame_graph:
            svg = _record(case, paths, out, "flamegraph", "svg")
            sections += [f"Flame graph: `{svg.name}`", ""]
        sections += [*summarize(raw.read_text()), ""]
    text = "\n".join(sections)
    (out / "PROFILE.md").write_text(text)
    print(text)
    print(f"[bench] wrote {out / 'PROFILE.md'}", flush=True)
    return 0


def _frames(stack: str) -> tuple[str, list[str]]:
    """The thread name and the function frames of one collapsed stack (outermost first)."""
    frames = stack.split(";")
    if frames and frames[0].startswith("thread "):
        return frames[0].split(": ", 1)[-1], frames[1:]
    return "?", frames


def _package(frame: str) -> str:
    """``function (pkg/module.py)`` -> ``pkg``: where a frame's code lives."""
    where = frame.rpartition("(")[2].rstrip(")")
    return where.split("/", 1)[0] if "/" in where else where


@dataclass
class Samples:
    """Collapsed stacks of one thread, summed."""

    total: int = 0
    own: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)

    def add(self, frames: list[str], count: int) -> None:
        self.total += count
        if frames:
            self.own[frames[-1]] += count
            self.packages[_package(frames[-1])] += count
        for frame in set(frames):
            self.inclusive[frame] += count


def parse(collapsed: str) -> dict[str, Samples]:
    """Samples by thread name from py-spy's raw output."""
    threads: dict[str, Samples] = {}
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            thread, frames = _frames(stack)
            threads.setdefault(thread, Samples()).add(frames, int(count))
    return threads


def summarize(collapsed: str) -> list[str]:
    """Per thread, then the event loop's top functions and packages, as Markdown."""
    threads = parse(collapsed)
    total = sum(t.total for t in threads.values())
    if total == 0:
        return ["No samples: was the server busy at all?"]
    lines = [
        f"{total} samples of the thread holding the GIL, at 200 Hz.",
        "",
        row(["thread", "% of samples"]),
        row(["---"] * 2),
    ]
    lines += [
        row([name, _pct(t.total, total)])
        for name, t in sorted(threads.items(), key=lambda kv: -kv[1].total)
    ]
    for name in ("MainThread", "collab-notes writer"):
        if name in threads:
            lines += _thread_tables(name, threads[name])
    return lines


def _thread_tables(name: str, samples: Samples) -> list[str]:
    lines = []
    tables = (
        ("own time, by function", samples.own),
        ("own time, by package", samples.packages),
        ("inclusive time, by function", _below_roots(samples)),
    )
    for title, counter in tables:
        lines += [
            "",
            f"{name}: top {TOP} by {title} (% of this thread's samples)",
            "",
            row(["where", "%"]),
            row(["---"] * 2),
        ]
        lines += [
            row([f"`{where}`", _pct(n, samples.total)]) for where, n in counter.most_common(TOP)
        ]
    return lines


def _below_roots(samples: Samples) -> Counter[str]:
    """Inclusive counts without the frames every sample shares (the program's entry)."""
    return Counter({f: n for f, n in samples.inclusive.items() if n < samples.total})


def _pct(n: int, total: int) -> str:
    return fmt(100 * n / total, 1)
