"""Where a restore's server time goes: py-spy samples of the server, sorted into stages.

Optional: only when ``py-spy`` (PyPI) is installed beside the Python running the
benchmark or on PATH. It samples every thread of the server 200 times a second
while restores run; each sample falls in the first stage whose marker its
stack holds.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RATE_HZ = 200
STAGES = (
    ("text diff (diff-match-patch, a worker thread)", ("text_diff (",)),
    ("diff applied to the Y.Text (event loop)", ("Text.__delitem__ (", "Text.insert (")),
    ("rest of the restore in the room (event loop)", ("Room.restore (",)),
    ("version replayed from its checkpoint (worker thread)", ("_content_at (",)),
    ("commit (writer thread)", ("Writer._run (",)),
    ("rest of the request (event loop)", ("restore_version (",)),
)
OTHER = "anything else (HTTP, queries; and waits py-spy counts as busy)"


def py_spy() -> str | None:
    """The py-spy executable, if installed."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def sampling(pid: int, out: Path) -> Iterator[bool]:
    """Record ``pid`` into ``out`` meanwhile; yields whether py-spy runs at all."""
    executable = py_spy()
    if executable is None:
        yield False
        return
    command = [executable, "record", "-p", str(pid), "-r", str(RATE_HZ), "-f", "raw"]
    spy = subprocess.Popen(
        [*command, "-o", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)  # py-spy attaches and starts sampling
    try:
        yield spy.poll() is None
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def stages(folded: Path, restores: int) -> list[tuple[str, float]]:
    """Milliseconds per restore spent in each stage (samples over ``restores`` restores)."""
    counts: Counter[str] = Counter()
    for line in folded.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():  # a line of a stack that held a newline (a thread's name)
            continue
        counts[_stage(stack)] += int(samples)
    ms_per_sample = 1000 / RATE_HZ
    order = [name for name, _ in STAGES] + [OTHER]
    return [(name, counts[name] * ms_per_sample / restores) for name in order if counts[name]]


def _stage(stack: str) -> str:
    for name, markers in STAGES:
        if any(marker in stack for marker in markers):
            return name
    return OTHER
