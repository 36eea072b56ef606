"""Running the Node load generator (``bench/loadgen/main.mjs``) against a server.

The load generator is a process of its own. At each phase it announces, this
side reads the server's and its own CPU time and memory from ``/proc``, then
answers so the load moves on; CPU use between ``measure-start`` and
``measure-end`` is added to the load generator's result.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.paths import Paths
from harness.procstat import Sample, usage_between
from harness.servers import RunningServer

PhaseHook = Callable[[str, dict[str, Any]], None]


class LoadgenFailed(RuntimeError):
    """The load generator reported an error, timed out, or printed something unexpected."""


@dataclass
class Outcome:
    """The load generator's result plus the samples taken at its phases."""

    result: dict[str, Any]
    samples: dict[str, Sample] = field(default_factory=dict)

    def usage(self, start: str = "measure-start", end: str = "measure-end") -> dict[str, float]:
        if start not in self.samples or end not in self.samples:
            return {}
        return usage_between(self.samples[start], self.samples[end])


def run(
    paths: Paths,
    server: RunningServer,
    scenario: str,
    params: dict[str, Any],
    *,
    log: Path,
    timeout_s: float,
    on_phase: PhaseHook | None = None,
) -> Outcome:
    """Run one scenario once; raise LoadgenFailed unless it ends with a result."""
    spec = {
        "scenario": scenario,
        "server": server.loadgen_view(),
        "handshake": True,
        "params": params,
    }
    with open(log, "ab") as stderr:
        process = subprocess.Popen(
            ["node", str(paths.loadgen), json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        process.kill()

    timer = threading.Timer(timeout_s, expire)
    timer.start()
    try:
        return _converse(process, server, on_phase)
    except LoadgenFailed:
        if expired.is_set():
            raise LoadgenFailed(
                f"{scenario} on {server.spec.name}: no result within {timeout_s:.0f} s"
            ) from None
        raise
    finally:
        timer.cancel()
        try:
            process.wait(5)  # it exits by itself once it has printed its result
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _converse(
    process: subprocess.Popen[bytes], server: RunningServer, on_phase: PhaseHook | None
) -> Outcome:
    assert process.stdout is not None and process.stdin is not None
    samples: dict[str, Sample] = {}
    for raw in process.stdout:
        event = json.loads(raw)
        match event.get("event"):
            case "phase":
                server.check_alive()
                samples[event["name"]] = Sample.take(server.pids, process.pid)
                if on_phase is not None:
                    on_phase(event["name"], event)
                process.stdin.write(b"\n")
                process.stdin.flush()
            case "result":
                return Outcome(event, samples)
            case "error":
                raise LoadgenFailed(event.get("message", "no message"))
            case other:
                raise LoadgenFailed(f"unexpected line from the load generator: {other!r}")
    raise LoadgenFailed(f"the load generator exited ({process.wait()}) without a result")
