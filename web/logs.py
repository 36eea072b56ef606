"""How the server logs: readable text or one JSON object per line, never a token.

Tokens are capabilities: whoever reads one in a log can open the note. Links
carry them in their path (``/n/{token}``, ``/ws/{token}``,
``/api/notes/{token}``), and uvicorn's access lines print paths, so every line
either format writes passes :func:`redact` last, which puts ``~`` and a short
hash in the token's place: requests of one link can still be told apart.

Events put their fields on the record with ``extra=`` (``note``, ``peer``,
``code``, ``peers``...); the text format shows only the message, as it always
did, and the JSON format makes each field a key. uvicorn's access and websocket
handshake lines get theirs (``client``, ``method``, ``path``, ``status``) from
their arguments.

Warnings about limits that bite go through a :class:`ThrottledLog`, so that an
attacker who trips one cannot flood the log with them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_TOKEN_IN_PATH = re.compile(r"(/(?:ws|n|api/notes)/)((?!~)[^/?#\s\"'\\]+)")

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's message with terminal colours: the message says it already
}

_ACCESS_FIELDS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    # uvicorn's format strings (uvicorn.access, and uvicorn.error for websockets):
    # the names of their arguments, and fixed fields.
    '%s - "%s %s HTTP/%s" %d': (("client", "method", "path", "http_version", "status"), {}),
    '%s - "WebSocket %s" [accepted]': (("client", "path"), {"method": "WEBSOCKET", "status": 101}),
    '%s - "WebSocket %s" 403': (("client", "path"), {"method": "WEBSOCKET", "status": 403}),
    '%s - "WebSocket %s" %d': (("client", "path", "status"), {"method": "WEBSOCKET"}),
}


def redact(text: str) -> str:
    """``text`` with every token in a link's path replaced by ``~`` and a short hash."""
    return _TOKEN_IN_PATH.sub(lambda match: match[1] + token_hash(match[2]), text)


def token_hash(token: str) -> str:
    """``~`` and the first 8 hex digits of the token's SHA-256: correlates, reveals nothing."""
    return "~" + hashlib.sha256(token.encode()).hexdigest()[:8]


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The event's own fields: what ``extra=`` put on the record, or an access line's."""
    found = {key: value for key, value in record.__dict__.items() if key not in _RESERVED}
    known = _ACCESS_FIELDS.get(record.msg) if isinstance(record.msg, str) else None
    if known is not None and isinstance(record.args, tuple):
        names, fixed = known
        found.update(zip(names, record.args, strict=False))
        found.update(fixed)
    return found


class TextFormatter(logging.Formatter):
    """The readable format: time, level, logger and message, tokens redacted."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
    ``message``, then the event's fields; ``exception`` holds a traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


LOG_EVERY_S = 10.0
"""At most one warning per kind of refusal in this many seconds; the rest are counted."""


class ThrottledLog:
    """Logs a warning per kind of event, at most once every ``every_s``, counting the rest."""

    def __init__(self, logger: logging.Logger, every_s: float = LOG_EVERY_S) -> None:
        self.logger = logger
        self.every_s = every_s
        self._next: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, message: str) -> None:
        """Log ``message`` unless a ``kind`` line went out less than ``every_s`` ago."""
        now = time.monotonic()
        if now < self._next.get(kind, 0.0):
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        skipped = self._skipped.pop(kind, 0)
        more = f" (and {skipped} more like it since the last such line)" if skipped else ""
        self.logger.warning("%s%s", message, more, extra={"refusal": kind, "skipped": skipped})
        self._next[kind] = now + self.every_s


def first_line(error: BaseException | None) -> str:
    """The first line of an error's message (a DBAPI's may run to several)."""
    lines = str(error).strip().splitlines() if error is not None else []
    return lines[0][:160] if lines else type(error).__name__


def is_database_error(error: BaseException, engine: Engine) -> bool:
    """Whether ``error`` is the database failing (wrapped by SQLAlchemy or not), not a bug.

    A pool's raw connection raises the driver's own error when it cannot connect.
    """
    if isinstance(error, DBAPIError):
        return True
    return isinstance(error, engine.dialect.loaded_dbapi.OperationalError)


class Failures:
    """How a background loop logs what failed: the database not answering as one line
    (at most one per kind every ten seconds, counting the rest: an outage is told where
    requests meet it too), anything else with its traceback, a bug to fix."""

    def __init__(self, logger: logging.Logger, engine: Engine, kind: str) -> None:
        self._logger, self._engine, self._kind = logger, engine, kind
        self._outages = ThrottledLog(logger)

    def failed(self, what: str, error: Exception, **extra: Any) -> None:
        """Log that ``what`` failed with ``error`` (called from its ``except``)."""
        if not is_database_error(error, self._engine):
            self._logger.exception("%s failed", what, extra=extra or None)
        else:
            message = f"{what} failed: the database does not answer ({first_line(error)})"
            self._outages.warning(self._kind, message)


def configure(level: str, log_format: str, stream: IO[str] | None = None) -> None:
    """Send every logger's records to ``stream`` (stderr) in ``log_format`` (text or json)."""
    if log_format not in {"text", "json"}:
        raise RuntimeError(f"log_format must be 'text' or 'json', not {log_format!r}")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # a warning is one line of the chosen format too
