"""The ``collab-notes`` command."""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import uvicorn

from storage.db import DatabaseInUse, create_schema, exclusive_sqlite, make_engine, sqlite_path
from storage.preflight import DatabaseUnusable, check_before_serving, check_location
from web import admin, logs, workers
from web.app import create_app
from web.deps import Services
from web.http_transport import http_protocol, limits_from
from web.settings import Settings, check, choices, env_names, flags
from web.settings_load import InvalidSettings, load
from web.transport import WebSocketProtocol

EXIT_USAGE = 2
EXIT_STARTUP_FAILED = 3
EXIT_FATAL = 4  # the server could not go on (its writer stopped); a supervisor should restart it
EXIT_DATABASE_UNUSABLE = 5  # the database cannot be served as it is; restarting will not help
EXIT_UNSAVED = workers.UNSAVED_EXIT_CODE  # stopped by a signal with writes unfinished
FATAL_EXIT_DELAY_S = 1.0
GIL_SWITCH_INTERVAL_S = 0.0005


def build_parser() -> argparse.ArgumentParser:
    """The parser, with one flag per setting; defaults come from ``COLLAB_*`` variables."""
    parser = argparse.ArgumentParser(prog="collab-notes", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the server",
        description="Run the collab-notes server. Every option can also be set with the "
        "environment variable shown; the command line wins.",
    )
    for name, field in Settings.model_fields.items():
        env = ", or ".join(env_names(name))
        help_text = f"{_plain(field.description or '')} [env: {env}] (default: {field.default})"
        if field.annotation is bool:
            serve.add_argument(
                *flags(name), dest=name, action=_GivenFlag, default=None, help=help_text
            )
        else:
            allowed = choices(name)
            metavar = "{" + ",".join(allowed) + "}" if allowed else name.split("_")[-1].upper()
            serve.add_argument(
                *flags(name), dest=name, action=_Given, metavar=metavar, help=help_text
            )
    admin.add_commands(commands)
    return parser


def _plain(markdown: str) -> str:
    """A README description as ``--help`` text: links as their words, no backticks."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", markdown).replace("`", "")
    return text.replace("%", "%%")  # argparse formats help with %


class _Given(argparse.Action):
    """Keeps the raw value with the flag it was given as (an old name, perhaps), for
    ``load`` to parse like a variable and to name in a bad value's message."""

    def __call__(
        self, parser: Any, namespace: argparse.Namespace, values: Any, flag: str | None = None
    ) -> None:
        setattr(namespace, self.dest, (flag, values))


class _GivenFlag(argparse.BooleanOptionalAction):
    """``--x`` / ``--no-x``, kept with the flag it was given as."""

    def __call__(
        self, parser: Any, namespace: argparse.Namespace, values: Any, flag: str | None = None
    ) -> None:
        super().__call__(parser, namespace, values, flag)
        setattr(namespace, self.dest, (flag, getattr(namespace, self.dest)))


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment first, then the command line on top; InvalidSettings on a bad value."""
    given = {
        name: value
        for name, value in vars(args).items()
        if name in Settings.model_fields and value is not None
    }
    return load(
        {name: value for name, (_flag, value) in given.items()},
        spelled={name: flag for name, (flag, _value) in given.items()},
    )


class Server(uvicorn.Server):
    """uvicorn's server, but on shutdown peers hear 1001 and writes finish first.

    uvicorn's own shutdown closes websockets with 1012 before the app's lifespan
    is told; we close rooms before that.
    """

    def __init__(self, config: uvicorn.Config, app: Any) -> None:
        super().__init__(config)
        self._app = app
        self._fatal_since = 0.0

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # uvicorn re-raises the signal it stopped on; a clean stop is a success: exit 0.
            self._captured_signals.clear()

    @property
    def fatal(self) -> str | None:
        """Why the server stopped on its own (its writer stopped), or None."""
        services = getattr(self._app.state, "services", None)
        return services.fatal if isinstance(services, Services) else None

    @property
    def unsaved(self) -> bool:
        """Whether it stopped with writes it could not finish (never acknowledged to anyone)."""
        services = getattr(self._app.state, "services", None)
        if not isinstance(services, Services):
            return False
        return bool(services.rooms.unsaved) or services.store.writer.unfinished

    async def on_tick(self, counter: int) -> bool:
        # Stop a moment after the writer stopped, not at once: health checks see the
        # 503 and a load balancer drains the process before its port closes.
        if self.fatal is not None and not self.should_exit:
            now = time.monotonic()
            self._fatal_since = self._fatal_since or now
            if now - self._fatal_since >= FATAL_EXIT_DELAY_S:
                logging.getLogger("web.cli").critical("stopping: %s", self.fatal)
                self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        services = getattr(self._app.state, "services", None)
        if isinstance(services, Services):
            await services.rooms.shutdown(services.settings.shutdown_timeout_s)
        await super().shutdown(sockets)


def serve(settings: Settings) -> int:
    """Run the server until SIGINT or SIGTERM; return the exit status."""
    problems = check(settings)
    if problems:
        for problem in problems:
            print(f"collab-notes: {problem}", file=sys.stderr)
        return EXIT_USAGE
    path = sqlite_path(settings.database_url)
    try:
        if path is not None:
            check_location(path)  # before the lock file beside it is opened
        with exclusive_sqlite(settings.database_url):
            # Fail early, with one clear line, if another server holds the database or
            # it would be served wrongly (empty, not SQLite, damaged, a damaged WAL).
            if path is not None:
                check_before_serving(path)
    except DatabaseInUse as error:
        print(f"collab-notes: {error}", file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as error:
        print(f"collab-notes: cannot use the database: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseUnusable as error:
        print(f"collab-notes: {error}", file=sys.stderr)
        return EXIT_DATABASE_UNUSABLE
    if settings.workers == 1:
        return _serve_one(settings)
    logs.configure(settings.log_level, settings.log_format)
    try:
        # Once, before the workers start: they would race to migrate it.
        migrate(settings.database_url)
        sock = workers.bind(settings)
    except Exception as error:
        logging.getLogger("web.cli").error("cannot start the workers: %s", error)
        return EXIT_STARTUP_FAILED
    return workers.supervise(settings, sock, _worker)


def _serve_one(settings: Settings, sock: socket.socket | None = None) -> int:
    """Run one server process (on ``sock`` if given, the port of the settings if not)."""
    # The writer thread needs the GIL back after each SQLite call; with Python's
    # default 5 ms switch interval a busy event loop kept it waiting that long, the
    # largest part of the fan-out latency's 99th percentile (bench/README.md).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    # Only now that it will serve does the command take over the process's logging
    # (configure replaces the root logger's handlers): a refused start leaves it alone.
    logs.configure(settings.log_level, settings.log_format)
    app = create_app(settings)
    server = Server(_uvicorn_config(app, settings), app)
    server.run(sockets=[sock] if sock is not None else None)
    if server.fatal is not None:
        return EXIT_FATAL
    if server.unsaved:
        logging.getLogger("web.cli").critical(
            "stopped with edits that could not be saved (the disk did not answer in "
            "--shutdown-timeout-s): exit status %d",
            EXIT_UNSAVED,
        )
        return EXIT_UNSAVED
    return 0 if server.started else EXIT_STARTUP_FAILED


def _worker(settings: Settings, sock: socket.socket) -> None:
    """One of ``--workers``' processes."""
    sys.exit(_serve_one(settings, sock))


def migrate(url: str) -> None:
    """Bring the database's schema up to date."""
    engine = make_engine(url)
    try:
        create_schema(engine)
    finally:
        engine.dispose()


def _uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    half = settings.keepalive_timeout_s / 2  # a ping every half, and half to answer it
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws=WebSocketProtocol,
        http=http_protocol(limits_from(settings)),
        timeout_keep_alive=settings.idle_connection_timeout_s,
        h11_max_incomplete_event_size=settings.max_request_head_bytes,
        ws_ping_interval=half,
        ws_ping_timeout=half,
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        timeout_graceful_shutdown=10,
        log_config=None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``collab-notes`` script."""
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        return admin.run(args)
    try:
        settings = settings_from(args)
    except InvalidSettings as error:
        for problem in error.problems:
            print(f"collab-notes: {problem}", file=sys.stderr)
        return EXIT_USAGE
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
