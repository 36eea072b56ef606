"""``bench/soak.py`` in a tiny mode prints the server's RSS over time and its summary.

A smoke test, not a soak: it checks that the clients typed, dropped and came
back, that the samples and the summary lines are there, never how much memory grew.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "soak.py"
TINY = ["--minutes", "0.25", "--clients", "4", "--notes", "2", "--sample-s", "3", "--stay-s", "2"]


def test_a_short_soak_prints_rss_samples_and_the_growth_per_half() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *TINY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"soak.py failed:\n{done.stdout}\n{done.stderr}"
    samples = re.findall(r"^\s*\d+ s  RSS\s+([\d.]+) MB  edits\s+(\d+)$", done.stdout, re.M)
    assert len(samples) >= 4 and all(float(rss) > 10 for rss, _ in samples)
    totals = re.search(r"^edits (\d+), drops (\d+), closes (\d+)", done.stdout, re.M)
    assert totals is not None and int(totals[1]) > 0
    assert int(totals[2]) + int(totals[3]) > 0  # the clients left and came back
    gained = re.search(r"^the notes gained (\d+) characters", done.stdout, re.M)
    assert gained is not None and 0 < int(gained[1]) <= int(totals[1])
    assert re.search(r"^second half: RSS .* MB a minute$", done.stdout, re.M)
