"""The date, machine and software versions a set of results was measured with.

Only names and versions are recorded: nothing here names a path of the machine.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from harness.paths import REPO, Paths


def _output(argv: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()


def _package_version(root: Path, name: str) -> str | None:
    manifest = root / "node_modules" / name / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"])


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    with open("/proc/meminfo") as handle:
        kib = int(handle.readline().split()[1])
    return round(kib / 1024 / 1024, 1)


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


SERVER_CODE = ("collab", "storage", "web", "pyproject.toml")


def collab_notes() -> dict[str, Any]:
    """The server's code: its last commit and whether the working tree differs from it.

    ``fingerprint`` changes whenever the code a fresh server would run changes, so
    a run can tell whether the server changed under it.
    """
    commit = _output(["git", "log", "-1", "--format=%h", "--", *SERVER_CODE], cwd=REPO)
    diff = _output(["git", "diff", "HEAD", "--", *SERVER_CODE], cwd=REPO)
    versions = {
        name: importlib.metadata.version(name)
        for name in ("pycrdt", "uvicorn", "websockets", "fastapi", "sqlalchemy")
    }
    return {
        "commit": commit + (" + uncommitted server changes" if diff else ""),
        "fingerprint": hashlib.sha1(f"{commit}\n{diff}".encode()).hexdigest()[:12],
        "python": platform.python_version(),
        **versions,
    }


def peers(paths: Paths) -> dict[str, Any]:
    node = paths.node_peers
    ywss = node / "node_modules" / "@y" / "websocket-server"
    pycrdt = _output(
        [
            str(paths.pycrdt_python),
            "-c",
            "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) "
            "for n in ('pycrdt-websocket', 'pycrdt', 'uvicorn', 'websockets')}))",
        ]
    )
    return {
        "@y/websocket-server": _package_version(node, "@y/websocket-server"),
        "@y/websocket-server ws": _package_version(ywss, "ws") or _package_version(node, "ws"),
        "@hocuspocus/server": _package_version(node, "@hocuspocus/server"),
        "yjs (peers)": _package_version(node, "yjs"),
        "pycrdt-websocket venv": json.loads(pycrdt) if pycrdt else None,
    }


def clients(paths: Paths) -> dict[str, Any]:
    root = paths.client_modules.parent
    names = ("yjs", "y-websocket", "ws", "@hocuspocus/provider")
    return {name: _package_version(root, name) for name in names}


def describe(paths: Paths) -> dict[str, Any]:
    """Everything a reader needs to know about where and with what the numbers came from."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "node": _output(["node", "--version"]),
        "collab_notes": collab_notes(),
        "peers": peers(paths),
        "clients": clients(paths),
    }
