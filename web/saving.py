"""Whether the server can save right now, and REST writes refused promptly when it cannot.

``/healthz`` and every REST write ask the same question (:func:`trouble`): the
writer stopped, saving fails or is delayed, or the disk beside a SQLite database
is full. A write request (any method but GET, HEAD and OPTIONS under ``/api/``)
that arrives while the answer is not None gets 503 with the reason and a
``Retry-After`` at once, instead of waiting on the database (a failed last commit
alone does not refuse it: the database may be back, and the request finds out). One that arrives
before anyone noticed waits for SQLite's write lock at most
:data:`REQUEST_BUSY_TIMEOUT_S`, not the writer's 30 s, and a database error
(locked, full, the server away) is answered the same way: 503, the reason,
``Retry-After``. 8da4d82 answered both with a bare 500 after 30 s.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any

from sqlalchemy.exc import DBAPIError
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from storage.db import sqlite_path, statement_busy_timeout
from web.deps import Services
from web.logs import first_line

logger = logging.getLogger("web.saving")

MIN_FREE_DISK_BYTES = 16 * 1024 * 1024
"""Below this much free space beside a SQLite database, saving is about to fail."""
REQUEST_BUSY_TIMEOUT_S = 3.0
"""How long a request waits for SQLite's write lock before it is answered 503."""
RETRY_AFTER_S = 5
READS = {"GET", "HEAD", "OPTIONS"}


def trouble(services: Services, *, failed: bool = True) -> str | None:
    """Why saving does not work right now, or None while it does (without a query).

    ``failed=False``: not because the last commit failed (see ``Writer.trouble``).
    """
    writer = services.store.writer
    # A full disk first: it is the cause of the writer's "database or disk is full",
    # and what to do about it (whichever background write met it first).
    return services.fatal or disk_full(services) or writer.trouble(failed=failed)


def disk_full(services: Services) -> str | None:
    """Why the disk holding a SQLite database cannot take more, or None."""
    path = sqlite_path(services.settings.database_url)
    if path is None:
        return None
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError as error:
        return f"cannot read the disk holding the database: {error}"
    if free < MIN_FREE_DISK_BYTES:
        return f"the disk holding the database is full ({free // 1024} KB free)"
    return None


def unavailable(reason: str) -> JSONResponse:
    """503: nothing was saved, why, and when to try again."""
    return JSONResponse(
        {"detail": f"cannot save right now: {reason}"},
        503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


class RefuseWritesWhileSavingFails:
    """ASGI middleware: REST writes get 503 at once while :func:`trouble` says why."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READS:
            await self.app(scope, receive, send)
            return
        if not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        services = getattr(scope["app"].state, "services", None)
        reason = trouble(services, failed=False) if isinstance(services, Services) else None
        if reason is not None:
            await unavailable(reason)(scope, receive, send)
            return
        with statement_busy_timeout(REQUEST_BUSY_TIMEOUT_S):
            await self.app(scope, receive, send)


async def database_error(connection: HTTPConnection, error: Exception) -> Response:
    """A REST request the database could not serve: 503 and why, not a bare 500."""
    assert isinstance(error, DBAPIError)
    if connection.scope["type"] != "http":
        raise error  # a websocket's: web.routes.ws closes it itself
    reason = database_reason(error)
    logger.warning("answered 503: %s", reason, extra={"error": repr(error.orig)[:200]})
    return unavailable(reason)


def database_reason(error: Exception) -> str:
    """What went wrong with the database, in a few words a client may be shown."""
    orig = error.orig if isinstance(error, DBAPIError) else error
    message = first_line(orig)
    if "database is locked" in message:
        return "the database is locked (another process holds it)"
    if "disk is full" in message:
        return "the disk holding the database is full"
    invalidated = isinstance(error, DBAPIError) and error.connection_invalidated
    if invalidated or "connect" in message:
        return "the database does not answer"
    return f"the database failed: {message[:120]}"


def install(app: Any) -> None:
    """Add the middleware and the handler of database errors to ``app``."""
    app.add_middleware(RefuseWritesWhileSavingFails)
    app.add_exception_handler(DBAPIError, database_error)
