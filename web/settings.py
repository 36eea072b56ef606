"""Every option of the server, with its default, unit and description.

Settings are built once, from the command line and ``COLLAB_*`` environment
variables, and handed to :func:`web.app.create_app`; nothing reads the
environment at import time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

ENV_PREFIX = "COLLAB_"


def option(default: Any, description: str, *, choices: tuple[str, ...] = ()) -> Any:
    """A settings field with its description (shown by ``--help`` and in the README)."""
    return field(default=default, metadata={"description": description, "choices": choices})


@dataclass(frozen=True)
class Settings:
    """The server's configuration."""

    host: str = option("127.0.0.1", "Address to listen on; 0.0.0.0 listens on every interface.")
    port: int = option(8000, "TCP port to listen on.")
    database_url: str = option(
        "sqlite:///./collab-notes.db",
        "Where notes are kept: a SQLite file (sqlite:///path, created on first start) or "
        "PostgreSQL (postgresql+psycopg://user:password@host/database).",
    )
    redis_url: str = option(
        "",
        "Redis, to serve the same notes from several processes or hosts (redis://host:6379/0). "
        "Empty: one process, no Redis. Needs PostgreSQL.",
    )
    redis_prefix: str = option(
        "collab",
        "What every Redis channel and key of this deployment begins with. Deployments "
        "sharing one Redis server need different prefixes (pub/sub ignores the database "
        "number in --redis-url).",
    )
    log_level: str = option(
        "info", "How much the server logs.", choices=("debug", "info", "warning", "error")
    )
    log_format: str = option(
        "text",
        "text: one readable line per event. json: one JSON object per line, with the "
        "event's fields as keys.",
        choices=("text", "json"),
    )
    metrics: bool = option(True, "Serve Prometheus metrics at /metrics.")
    metrics_token: str = option(
        "",
        "If set, /metrics answers only requests with the header Authorization: Bearer "
        "<this token> (others get 401); empty: /metrics answers only clients on this "
        "machine (loopback, not through a proxy), others get 403.",
    )
    durability: str = option(
        "full",
        "full: every commit is synced to disk and survives power loss. "
        "normal: survives a crash of the server process; a power cut may lose the last commits.",
        choices=("full", "normal"),
    )
    keepalive_timeout_s: float = option(
        30.0, "A peer that answers no websocket ping for this many seconds is disconnected."
    )
    room_grace_s: float = option(
        10.0, "How long an empty room stays loaded so that a reconnect finds it."
    )
    compact_after_updates: int = option(
        1000,
        "Write a checkpoint of a note (its document, beside its log) after this many updates...",
    )
    compact_after_idle_s: float = option(
        30.0, "...or after this many seconds without edits, whichever comes first."
    )
    max_send_queue_messages: int = option(
        1000, "A peer with more messages than this waiting to be sent is disconnected (1013)."
    )
    max_message_bytes: int = option(
        16 * 1024 * 1024, "Largest websocket message accepted; a larger one closes with 1009."
    )
    max_awareness_state_bytes: int = option(
        16 * 1024, "Largest presence (awareness) state one client may set."
    )
    max_messages_per_s: float = option(
        1000.0,
        "Messages a second one connection may send on average (0: no limit); past its "
        "burst allowance the connection is closed with 4429.",
    )
    message_burst: int = option(
        5000, "Messages one connection may send at once above its average rate."
    )
    max_connections_per_note: int = option(
        256, "Connections one note accepts in each process; one more is closed with 4429."
    )
    max_connections_per_address: int = option(
        64,
        "Connections one client address may hold at once in each process (0: no limit); one "
        "more is closed with 4429. Behind a reverse proxy not in FORWARDED_ALLOW_IPS every "
        "client shares its address: raise it or use 0.",
    )
    max_connections: int = option(
        4096,
        "Open connections (HTTP and websocket) each process holds at once (0: no limit); one "
        "more is answered 503 and closed. Lowered, with a warning, if the process may not "
        "open that many files (ulimit -n) and cannot raise its limit.",
    )
    request_head_timeout_s: float = option(
        10.0,
        "A connection must send a whole request head within this many seconds of opening "
        "or of its previous response, and a request body may not stall for longer; "
        "otherwise it gets 408 and is closed.",
    )
    idle_connection_timeout_s: int = option(
        5, "An HTTP keep-alive connection idle this many seconds between requests is closed."
    )
    max_request_head_bytes: int = option(
        16 * 1024,
        "Largest request head (request line and headers); a larger one gets 431, or 414 "
        "when the request line alone is longer.",
    )
    max_request_body_bytes: int = option(
        8 * 1024 * 1024,
        "Largest request body (0: no limit); a larger one gets 413, before it is read when "
        "its length is declared. The default holds a 2,000,000-character note in UTF-8 JSON.",
    )
    max_notes_created_per_minute: int = option(
        60,
        "Notes one client address may create a minute in each process, in bursts of up to as "
        "many (0: no limit); past that, 429 with Retry-After.",
    )
    max_loaded_rooms: int = option(
        10_000,
        "Notes held in memory at once by each process; idle ones are unloaded first, and when "
        "none is idle a connection to another note is closed with 1013 (try again later).",
    )
    allowed_origins: str = option(
        "",
        "Comma-separated origins (scheme://host:port) whose pages may open websockets; "
        "empty allows only the server's own origin, * allows any. Others are closed with 4403.",
    )
    allow_missing_origin: bool = option(
        True,
        "Accept websockets that send no Origin header (programs rather than browsers).",
    )
    ws_per_message_deflate: bool = option(
        False,
        "Offer permessage-deflate on websockets. Off by default: it makes large syncs "
        "many times slower for a modest saving on the wire.",
    )
    deleted_note_retention_days: float = option(
        7.0,
        "How long a deleted note can be restored (undo); after that it is purged from the "
        "database with its whole history.",
    )
    version_gap_s: float = option(
        300.0,
        "A pause in a note's editing this long starts a new version in its history; so "
        "does someone new editing after a pause of a tenth of it, and every 30 minutes "
        "of continuous editing.",
    )
    history_days: float = option(
        30.0,
        "Keep every version of the last this many days; older history is thinned to one "
        "version a day (named versions are kept for ever). 0 keeps everything.",
    )
    shutdown_timeout_s: float = option(
        10.0,
        "On SIGTERM, how long to wait for pending writes (a locked or full disk can hold "
        "them) and again for the store to finish; edits still unwritten then were never "
        "acknowledged, so their clients keep them and send them again on reconnecting.",
    )
    workers: int = option(
        1,
        "Server processes sharing the port. More than 1 needs --redis-url and PostgreSQL, "
        "so that the processes see each other's edits.",
    )

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)


def describe() -> list[tuple[str, Any, str, tuple[str, ...]]]:
    """Name, default, description and choices of every option."""
    out = []
    for f in fields(Settings):
        default = f.default if f.default is not MISSING else None
        out.append((f.name, default, f.metadata["description"], f.metadata["choices"]))
    return out


def env_name(name: str) -> str:
    """The environment variable for an option."""
    return ENV_PREFIX + name.upper()


def parse_value(name: str, raw: str) -> Any:
    """Convert a string (from the environment or the command line) to an option's type."""
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ValueError(f"{env_name(name)}: expected true or false, got {raw!r}")
        return lowered in {"1", "true", "yes", "on"}
    caster = {"int": int, "float": float, "str": str}[str(kind)]
    try:
        return caster(raw)
    except ValueError:
        raise ValueError(f"{name}: expected {kind}, got {raw!r}") from None


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``COLLAB_*`` variables, defaults for the rest."""
    environ = os.environ if environ is None else environ
    values = {
        f.name: parse_value(f.name, environ[env_name(f.name)])
        for f in fields(Settings)
        if env_name(f.name) in environ
    }
    return Settings(**values)


def check(settings: Settings) -> list[str]:
    """Problems that stop the server from starting, as sentences."""
    problems = []
    for name, _default, _description, choices in describe():
        value = getattr(settings, name)
        if choices and value not in choices:
            problems.append(f"--{name.replace('_', '-')} must be one of {', '.join(choices)}")
    sqlite = settings.database_url.startswith("sqlite")
    if settings.workers < 1:
        problems.append("--workers must be 1 or more")
    elif settings.workers > 1 and not settings.redis_url:
        problems.append(
            f"--workers {settings.workers} needs --redis-url: the people editing a note would "
            "be split between processes that cannot see each other's edits."
        )
    if settings.redis_url and sqlite:
        problems.append(
            "--redis-url needs PostgreSQL (--database-url postgresql+psycopg://...): a SQLite "
            "file is served by one process only."
        )
    if settings.redis_url and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        problems.append("--redis-url must start with redis://, rediss:// or unix://")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", settings.redis_prefix):
        problems.append(
            "--redis-prefix must be 1 to 64 letters, digits, dots, dashes or underscores"
        )
    if settings.deleted_note_retention_days <= 0:
        problems.append("--deleted-note-retention-days must be more than 0")
    for name in ("request_head_timeout_s", "idle_connection_timeout_s", "max_request_head_bytes"):
        if getattr(settings, name) <= 0:
            problems.append(f"--{name.replace('_', '-')} must be more than 0")
    for name in ("max_connections", "max_request_body_bytes", "max_notes_created_per_minute"):
        if getattr(settings, name) < 0:
            problems.append(f"--{name.replace('_', '-')} must be 0 or more")
    if not 0 < settings.port < 65536:
        problems.append(f"--port {settings.port} is not a TCP port")
    return problems
