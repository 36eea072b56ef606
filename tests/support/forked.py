"""Run ``collab-notes`` in a process forked from one that has already imported it.

A server process spends most of its start importing FastAPI, pydantic,
SQLAlchemy and uvicorn (about 1 s here), and the tests that kill, signal and
restart a real process start hundreds. multiprocessing's fork server imports
the server once; each start forks it and runs the command line's ``main``, so
what runs is the real command in a process of its own: its own signals, its own
exit status, nothing shared with the test or with the processes before it.

This module is imported in the fork server: it imports nothing of the tests.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess

_context: ForkServerContext | None = None


def _serve(argv: Sequence[str], env: dict[str, str], cwd: str, log_path: str) -> None:
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (the process's own)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    from web import cli

    sys.exit(cli.main(list(argv)))


def start(argv: Sequence[str], env: dict[str, str], log_path: str) -> BaseProcess:
    """Start ``collab-notes <argv>`` with ``env``, its output appended to ``log_path``."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        # The test run's own main module too: each process would import it again (pytest) if not.
        _context.set_forkserver_preload(["__main__", "support.forked", "web.cli"])
    process = _context.Process(
        target=_serve, args=(list(argv), env, os.getcwd(), log_path), daemon=True
    )
    process.start()
    return process
