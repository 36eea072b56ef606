"""Warnings about limits that bite, which an attacker could otherwise make flood the log."""

from __future__ import annotations

import logging
import time

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
