"""Where things are: the repository's bench folder, and the scratch folder outside it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent


@dataclass(frozen=True)
class Paths:
    """Every location the harness reads or writes."""

    home: Path  # the scratch folder: peers, their venv, databases of runs

    @classmethod
    def from_env(cls) -> Paths:
        """``$BENCH_HOME``, or ``~/.cache/collab-notes-bench``."""
        home = os.environ.get("BENCH_HOME") or Path.home() / ".cache" / "collab-notes-bench"
        return cls(home=Path(home).resolve())

    @property
    def loadgen(self) -> Path:
        return BENCH / "loadgen" / "main.mjs"

    @property
    def client_modules(self) -> Path:
        return BENCH / "node_modules"

    @property
    def node_peers(self) -> Path:
        return self.home / "node-peers"

    @property
    def pycrdt_venv(self) -> Path:
        return self.home / "pycrdt-venv"

    @property
    def pycrdt_python(self) -> Path:
        return self.pycrdt_venv / "bin" / "python"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def collab_notes(self) -> Path:
        """The ``collab-notes`` script of the venv running this harness."""
        return Path(sys.executable).parent / "collab-notes"
