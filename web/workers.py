"""``--workers N``: N server processes sharing one listening socket, kept running.

The parent migrates the database once, binds the port, then starts N children
(each a whole server: its own rooms, writer and fan-out, linked to the others
through Redis) and supervises them: a child that dies is started again after a
second, a child that cannot start at all (a usage error, an unusable database)
stops everything with its exit status, and SIGTERM or SIGINT is passed on to
every child, which then shuts down as a single server does; if a child could
not finish its writes, the parent exits with that child's status (6) too.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

from web.settings import Settings

logger = logging.getLogger("web.workers")

RESTART_DELAY_S = 1.0
FINAL_EXIT_CODES = {2, 5}  # usage, unusable database: restarting will not help
UNSAVED_EXIT_CODE = 6  # web.cli.EXIT_UNSAVED: a child stopped with writes unfinished


def bind(settings: Settings) -> socket.socket:
    """The listening socket the children share."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def supervise(
    settings: Settings, sock: socket.socket, child: Callable[[Settings, socket.socket], None]
) -> int:
    """Run ``settings.workers`` copies of ``child(settings, sock)`` until told to stop."""
    context = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}

    def start(index: int) -> BaseProcess:
        return _start(context.Process(target=child, args=(settings, sock)), index)

    workers = {index: start(index) for index in range(settings.workers)}
    status = 0
    try:
        while not stopping:
            wait([p.sentinel for p in workers.values()], timeout=0.5)
            for index, process in list(workers.items()):
                if process.exitcode is None or stopping:
                    continue
                code = process.exitcode
                if code in FINAL_EXIT_CODES:
                    logger.error("worker %d cannot start (exit %d): stopping", index, code)
                    status, stopping = code, True
                    break
                logger.error("worker %d stopped (exit %s): starting it again", index, code)
                time.sleep(RESTART_DELAY_S)
                workers[index] = start(index)
    finally:
        codes = _stop_all(list(workers.values()), 2 * settings.shutdown_timeout_s + 5)
        if status == 0 and UNSAVED_EXIT_CODE in codes:
            status = UNSAVED_EXIT_CODE
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    return status


def _start(process: BaseProcess, index: int) -> BaseProcess:
    process.name = f"collab-notes worker {index}"
    process.start()
    logger.info("started worker %d (pid %s)", index, process.pid)
    return process


def _stop_all(workers: list[BaseProcess], timeout_s: float) -> list[int | None]:
    """SIGTERM every worker (each shuts down as a server does); SIGKILL the late ones.

    Returns their exit statuses.
    """
    for process in workers:
        if process.exitcode is None:
            process.terminate()
    deadline = time.monotonic() + timeout_s
    for process in workers:
        process.join(max(0.1, deadline - time.monotonic()))
        if process.exitcode is None:
            logger.error("worker pid %s did not stop: killing it", process.pid)
            process.kill()
            process.join()
    return [process.exitcode for process in workers]
