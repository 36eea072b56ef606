"""What a process costs, read from ``/proc``: CPU time, resident memory, and the
machine's total busy time (so that a run disturbed by other work shows it)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime


def rss_kb(pid: int) -> int:
    """Resident set size of a process, in KiB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line; is {pid} a zombie?")


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent not idle since boot, summed over cores."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICKS_PER_S


@dataclass(frozen=True)
class Sample:
    """One reading of the server, the load generator and the machine."""

    wall: float
    server_cpu: float
    server_rss_kb: int
    loadgen_cpu: float
    machine_busy: float

    @classmethod
    def take(cls, server_pids: list[int], loadgen_pid: int) -> Sample:
        """A reading now; a server of several processes counts their sum."""
        return cls(
            wall=time.monotonic(),
            server_cpu=sum(cpu_seconds(pid) for pid in server_pids),
            server_rss_kb=sum(rss_kb(pid) for pid in server_pids),
            loadgen_cpu=cpu_seconds(loadgen_pid),
            machine_busy=machine_busy_seconds(),
        )


def usage_between(start: Sample, end: Sample) -> dict[str, float]:
    """CPU use between two samples, each in % of one core.

    ``other_cpu_pct`` is what the rest of the machine did meanwhile: a large
    value means something else competed with the benchmark for the cores.
    """
    wall = end.wall - start.wall
    if wall <= 0:
        raise RuntimeError("usage_between() needs samples in time order")
    server = end.server_cpu - start.server_cpu
    loadgen = end.loadgen_cpu - start.loadgen_cpu
    other = end.machine_busy - start.machine_busy - server - loadgen
    return {
        "window_s": round(wall, 3),
        "server_cpu_ms": round(1000 * server),
        "server_cpu_pct": round(100 * server / wall, 1),
        "loadgen_cpu_pct": round(100 * loadgen / wall, 1),
        "other_cpu_pct": round(max(0.0, 100 * other / wall), 1),
    }


def machine_busy_pct(over_s: float = 1.0) -> float:
    """How busy the whole machine is right now, in % of one core, over ``over_s``."""
    start, t0 = machine_busy_seconds(), time.monotonic()
    time.sleep(over_s)
    return 100 * (machine_busy_seconds() - start) / (time.monotonic() - t0)


def wait_until_quiet(max_wait_s: float, busy_pct: float = 25.0) -> float:
    """Wait (at most ``max_wait_s``) until the machine does less than ``busy_pct`` of a core.

    For shared machines: the benchmark's own processes are stopped when this runs,
    so whatever is busy is someone else. Returns the last reading.
    """
    deadline = time.monotonic() + max_wait_s
    reading = machine_busy_pct()
    while reading > busy_pct and time.monotonic() < deadline:
        reading = machine_busy_pct(2.0)
    return round(reading, 1)
