"""Every option of the server: one pydantic-settings model, typed, bounded and described.

Settings are built once, from ``COLLAB_*`` environment variables with the
command line's flags on top (``web.settings_load``), and handed to
:func:`web.app.create_app`; nothing reads the environment at import time.
Each field's description is the README's text for it (Markdown): ``web.cli``
makes the flags and their help from these fields, and :func:`options_table`
the README's table of options (``scripts/options_table.py`` writes it there;
``tests/web/test_settings.py`` fails when the two differ).

Two options were renamed; their old names stay accepted, as flags and as
variables, and are documented in their rows (:data:`OLD_NAMES`).
"""

from __future__ import annotations

import re
import typing
from typing import Literal

from pydantic import AfterValidator, AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.retention import DEFAULT_HISTORY_DAYS

ENV_PREFIX = "COLLAB_"

_CLIENT_ADDRESSES = "docs/deploy.md#client-addresses-x-forwarded-for-and-the-per-address-limits"

# New name -> old names, still accepted (the new one wins when both are given).
OLD_NAMES = {
    "checkpoint_after_updates": ("compact_after_updates",),
    "checkpoint_after_idle_s": ("compact_after_idle_s",),
}


def env_names(name: str) -> tuple[str, ...]:
    """The environment variables of an option: its own, then its old ones."""
    return tuple(ENV_PREFIX + n.upper() for n in (name, *OLD_NAMES.get(name, ())))


def env_name(name: str) -> str:
    """The environment variable of an option."""
    return env_names(name)[0]


def flags(name: str) -> tuple[str, ...]:
    """The command-line flags of an option: its own, then its old ones."""
    return tuple("--" + n.replace("_", "-") for n in (name, *OLD_NAMES.get(name, ())))


def _env_aliases(name: str) -> AliasChoices:
    # A field with aliases is read only from them (the prefix is not added to them).
    return AliasChoices(*env_names(name))


def _redis_prefix(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
        raise ValueError("expected 1 to 64 letters, digits, dots, dashes or underscores")
    return value


def _redis_url(value: str) -> str:
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("expected a URL starting with redis://, rediss:// or unix://")
    return value


class Settings(BaseSettings):
    """The server's configuration: fields by option name, read from ``COLLAB_<NAME>``."""

    # populate_by_name: code and tests set a renamed option by its field name; only
    # its environment variables are aliases (the old flags are web.cli's).
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, populate_by_name=True)

    host: str = Field(
        "127.0.0.1", description="Address to listen on; 0.0.0.0 listens on every interface."
    )
    port: int = Field(8000, gt=0, lt=65536, description="TCP port to listen on.")
    database_url: str = Field(
        "sqlite:///./collab-notes.db",
        description="Where notes are kept: a SQLite file (`sqlite:///path`, created on first "
        "start) or PostgreSQL (`postgresql+psycopg://user:password@host/database`).",
    )
    redis_url: typing.Annotated[str, AfterValidator(_redis_url)] = Field(
        "",
        description="Redis, to serve the same notes from several processes or hosts "
        "(`redis://host:6379/0`). Empty: one process, no Redis. Needs PostgreSQL. See "
        "[docs/deploy.md](docs/deploy.md).",
    )
    redis_prefix: typing.Annotated[str, AfterValidator(_redis_prefix)] = Field(
        "collab",
        description="What every Redis channel and key of this deployment begins with. "
        "Deployments sharing one Redis server need different prefixes (pub/sub ignores the "
        "database number in `--redis-url`).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info",
        description="How much the server logs (`debug`, `info`, `warning`, `error`). At "
        "`info` it logs every join and leave with the room's peer count.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="`text`: one readable line per event. `json`: one JSON object per line, "
        "with the event's fields as keys. Either way tokens are replaced by a short hash "
        "([Logs](docs/operations.md#logs)).",
    )
    metrics: bool = Field(
        True,
        description="Serve Prometheus metrics at `/metrics` "
        "([Metrics](docs/operations.md#metrics)); `--no-metrics` turns it off (`404`) and "
        "rooms and the writer then count nothing.",
    )
    metrics_token: str = Field(
        "",
        description="If set, `/metrics` answers only requests with the header "
        "`Authorization: Bearer <this token>`; others get `401`. Empty: `/metrics` answers "
        "only clients on this machine (a loopback address, with no `X-Forwarded-For`, "
        "`Forwarded` or `X-Real-IP` header), others get `403`. Prefer the variable to the "
        "flag: a flag shows in `ps`.",
    )
    durability: Literal["full", "normal"] = Field(
        "full",
        description="`full`: every commit is synced to disk (`synchronous=FULL`) and survives "
        "power loss. `normal`: survives a crash of the server process; a power cut may lose "
        "the last commits.",
    )
    keepalive_timeout_s: float = Field(
        30.0,
        gt=0,
        description="A peer that answers no websocket ping for this many seconds is "
        "disconnected (a ping every half of it).",
    )
    room_grace_s: float = Field(
        10.0,
        ge=0,
        description="How long an empty room stays loaded so that a reconnect finds it.",
    )
    checkpoint_after_updates: int = Field(
        1000,
        ge=1,
        validation_alias=_env_aliases("checkpoint_after_updates"),
        description="Write a checkpoint of a note (its document, beside its log) after this "
        "many updates...",
    )
    checkpoint_after_idle_s: float = Field(
        30.0,
        ge=0,
        validation_alias=_env_aliases("checkpoint_after_idle_s"),
        description="...or after this many seconds without edits, whichever comes first.",
    )
    max_send_queue_messages: int = Field(
        1000,
        ge=1,
        description="A peer with more messages than this waiting to be sent is disconnected "
        "(1013); its client reconnects and resyncs.",
    )
    max_message_bytes: int = Field(
        16 * 1024 * 1024,
        gt=0,
        description="Largest websocket message accepted; a larger one closes with 1009.",
    )
    max_awareness_state_bytes: int = Field(
        16 * 1024,
        gt=0,
        description="Largest presence (awareness) state one client may set.",
    )
    max_messages_per_s: float = Field(
        1000.0,
        ge=0,
        description="Messages a second one connection may send on average (`0`: no limit); "
        "past its burst allowance the connection is closed with `4429`.",
    )
    message_burst: int = Field(
        5000,
        ge=0,
        description="Messages one connection may send at once above its average rate.",
    )
    max_connections_per_note: int = Field(
        256,
        ge=1,
        description="Connections one note accepts in each process; one more is closed with `4429`.",
    )
    max_connections_per_address: int = Field(
        64,
        ge=0,
        description="Connections one client address may hold at once in each process (`0`: "
        "no limit); one more is closed with `4429`. Behind a reverse proxy, see "
        f"[docs/deploy.md]({_CLIENT_ADDRESSES}).",
    )
    max_connections: int = Field(
        4096,
        ge=0,
        description="Open connections (HTTP and websocket) each process holds at once (`0`: "
        "no limit); one more is answered `503` (with `Retry-After`) and closed at once. The "
        "server raises its descriptor limit (`ulimit -n`) to fit, up to the hard limit; if "
        "that is too low it serves fewer and logs a warning saying how many.",
    )
    request_head_timeout_s: float = Field(
        10.0,
        gt=0,
        description="A connection must send a whole request head within this many seconds of "
        "opening or of its previous response (trickled bytes do not extend it), and a request "
        "body may not stall for longer; otherwise `408` and closed.",
    )
    idle_connection_timeout_s: int = Field(
        5,
        gt=0,
        description="An HTTP keep-alive connection idle this many seconds between requests is "
        "closed.",
    )
    max_request_head_bytes: int = Field(
        16 * 1024,
        gt=0,
        description="Largest request head (request line and headers); a larger one gets "
        "`431`, or `414` when the request line alone is longer. A websocket handshake's "
        "request line is also limited to 8 KB (`414`).",
    )
    max_request_body_bytes: int = Field(
        8 * 1024 * 1024,
        ge=0,
        description="Largest request body (`0`: no limit); a larger one gets `413`, before it "
        "is read when its length is declared. The default holds a 2,000,000-character note "
        "in UTF-8 JSON. A file upload is bounded by `--max-file-bytes` instead.",
    )
    max_notes_created_per_minute: int = Field(
        60,
        ge=0,
        description="Notes one client address may create a minute in each process, in bursts "
        "of up to as many (`0`: no limit); past that `429` with `Retry-After`. Behind a "
        f"reverse proxy, see [docs/deploy.md]({_CLIENT_ADDRESSES}).",
    )
    max_loaded_rooms: int = Field(
        10_000,
        ge=1,
        description="Notes held in memory at once by each process; idle ones are unloaded "
        "first, and when none is idle a connection to another note is closed with `1013` "
        "(try again later).",
    )
    allowed_origins: str = Field(
        "",
        description="Comma-separated origins (`scheme://host:port`) whose pages may open "
        "websockets; empty allows only the server's own origin, `*` allows any. Others are "
        "closed with `4403`.",
    )
    allow_missing_origin: bool = Field(
        True,
        description="Accept websockets that send no `Origin` header (programs rather than "
        "browsers).",
    )
    ws_per_message_deflate: bool = Field(
        False,
        description="Offer permessage-deflate on websockets. Off by default: it makes large "
        "syncs many times slower for a modest saving on the wire.",
    )
    deleted_note_retention_days: float = Field(
        7.0,
        gt=0,
        description="How long a deleted note can be restored (undo); after that it is purged "
        "from the database with its whole history (checked at most an hour late).",
    )
    version_gap_s: float = Field(
        300.0,
        ge=0,
        description="A pause in a note's editing this long starts a new version in its "
        "history; so does someone new editing after a pause of a tenth of it, and every 30 "
        "minutes of continuous editing.",
    )
    history_days: float = Field(
        DEFAULT_HISTORY_DAYS,
        ge=0,
        description="Keep every version of the last this many days; older history is thinned "
        "to one version a day (named versions are kept for ever). A note's file that neither "
        "its text nor a version of these days shows is deleted by the purge. `0` keeps "
        "everything.",
    )
    shutdown_timeout_s: float = Field(
        10.0,
        ge=0,
        description="On SIGTERM, how long to wait for pending writes (a locked or full disk "
        "can hold them) and again for the store to finish; edits still unwritten then were "
        "never acknowledged, so their clients keep them and send them again on reconnecting.",
    )
    workers: int = Field(
        1,
        ge=1,
        description="Server processes sharing the port. More than 1 needs `--redis-url` and "
        "PostgreSQL, so that the processes see each other's edits.",
    )
    max_file_bytes: int = Field(
        10 * 1024 * 1024,
        gt=0,
        description="Largest file (or image) one upload may store in a note; a larger one "
        "gets `413`.",
    )
    max_note_files_bytes: int = Field(
        100 * 1024 * 1024,
        ge=0,
        description="The files of one note may take this many bytes in all (`0`: no limit); an "
        "upload past it gets `413`. A file uploaded twice counts once.",
    )
    max_uploads_per_minute: int = Field(
        30,
        ge=0,
        description="Files one client address may upload a minute in each process, in bursts "
        "of up to as many (`0`: no limit); past that `429` with `Retry-After`.",
    )
    max_image_pixels: int = Field(
        100_000_000,
        gt=0,
        description="Largest image accepted, in pixels (width times height), checked before "
        "it is decoded; a larger one (a decompression bomb, say) gets `422`.",
    )
    max_image_side_px: int = Field(
        20_000,
        gt=0,
        description="Widest or tallest image accepted, in pixels; a larger one gets `422`.",
    )
    keep_image_location: bool = Field(
        False,
        description="Keep where a photo was taken (EXIF GPS, and XMP that mentions GPS) in "
        "uploaded JPEG, PNG and WebP images. Off: it is removed before the image is stored, "
        "its pixels untouched.",
    )


def choices(name: str) -> tuple[str, ...]:
    """The values an option of a ``Literal`` type accepts; () for the others."""
    annotation = Settings.model_fields[name].annotation
    return typing.get_args(annotation) if typing.get_origin(annotation) is Literal else ()


def check(settings: Settings) -> list[str]:
    """Combinations of options that stop the server from starting, as sentences.

    Each value alone was checked when the settings were made.
    """
    problems = []
    if settings.workers > 1 and not settings.redis_url:
        problems.append(
            f"--workers {settings.workers} needs --redis-url: the people editing a note would "
            "be split between processes that cannot see each other's edits."
        )
    if settings.redis_url and settings.database_url.startswith("sqlite"):
        problems.append(
            "--redis-url needs PostgreSQL (--database-url postgresql+psycopg://...): a SQLite "
            "file is served by one process only."
        )
    return problems


def options_table() -> str:
    """The README's table of options, a row per option, made from the fields."""
    rows = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = "(empty)" if field.default == "" else f"`{field.default}`"
        meaning = field.description or ""
        if name in OLD_NAMES:
            old = [f"`{flag}`" for flag in flags(name)[1:]] + [
                f"`{n}`" for n in env_names(name)[1:]
            ]
            meaning += f" Its old names still work: {', '.join(old)}."
        rows.append(f"| `{flags(name)[0]}` | `{env_name(name)}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"
