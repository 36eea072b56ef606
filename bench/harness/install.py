"""First-use installation: the load generator's npm clients in ``bench/node_modules``,
the Node peers and the pycrdt-websocket venv in the scratch folder, and the harness's
own Python needs (matplotlib, py-spy) in the running venv, each from its lock file
(requirements/dev.txt, bench/servers/requirements-pycrdt.txt; scripts/upgrade-deps makes them).

Each step is skipped when its inputs did not change since it last ran: a copy of
the manifest that was installed is kept next to what it installed.
"""

from __future__ import annotations

import filecmp
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from harness.paths import BENCH, Paths

LOCK = BENCH.parent / "requirements" / "dev.txt"

SERVERS = BENCH / "servers"


class InstallFailed(RuntimeError):
    """A package manager could not install what the benchmark needs."""


def _run(argv: list[str], cwd: Path | None = None) -> None:
    print(f"[bench] $ {' '.join(argv)}", flush=True)
    done = subprocess.run(
        argv,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise InstallFailed(f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}")


def _unchanged(manifest: Path, marker: Path) -> bool:
    return marker.exists() and filecmp.cmp(manifest, marker, shallow=False)


def node_clients(paths: Paths) -> None:
    """``npm ci`` in bench/ when its lock file changed (or was never installed)."""
    lock = BENCH / "package-lock.json"
    marker = paths.client_modules / ".bench-installed-lock.json"
    if _unchanged(lock, marker):
        return
    _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH)
    shutil.copyfile(lock, marker)


def node_peers(paths: Paths) -> None:
    """@y/websocket-server and Hocuspocus, with our start script for Hocuspocus."""
    target = paths.node_peers
    target.mkdir(parents=True, exist_ok=True)
    manifest = SERVERS / "package.json"
    marker = target / ".bench-installed-package.json"
    if not _unchanged(manifest, marker):
        shutil.copyfile(manifest, target / "package.json")
        _run(["npm", "install", "--no-audit", "--no-fund"], cwd=target)
        shutil.copyfile(manifest, marker)
    # Node resolves imports next to the script, so it runs from inside the peers' folder.
    shutil.copyfile(SERVERS / "hocuspocus.mjs", target / "hocuspocus.mjs")


def pycrdt_venv(paths: Paths) -> None:
    """A venv of its own for pycrdt-websocket, so its pins never touch ours."""
    requirements = SERVERS / "requirements-pycrdt.txt"
    marker = paths.pycrdt_venv / "bench-installed-requirements.txt"
    if _unchanged(requirements, marker):
        return
    _run([sys.executable, "-m", "venv", "--clear", str(paths.pycrdt_venv)])
    pip = [str(paths.pycrdt_python), "-m", "pip", "install", "--quiet", "--require-hashes"]
    _run([*pip, "-r", str(requirements)])
    shutil.copyfile(requirements, marker)


def harness_needs(*, chart: bool, profile: bool) -> None:
    """Install the lock (requirements/dev.txt has matplotlib and py-spy) if either is missing."""
    missing_chart = chart and importlib.util.find_spec("matplotlib") is None
    missing_spy = profile and not (Path(sys.executable).parent / "py-spy").exists()
    if missing_chart or missing_spy:
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--require-hashes"]
        _run([*pip, "-r", str(LOCK)])


def install(paths: Paths, *, peers: set[str], chart: bool, profile: bool) -> None:
    """Everything the selected servers and outputs need."""
    node_clients(paths)
    if peers & {"y-websocket-server", "hocuspocus"}:
        node_peers(paths)
    if "pycrdt-websocket" in peers:
        pycrdt_venv(paths)
    harness_needs(chart=chart, profile=profile)
