"""The application factory: ``create_app(settings)``.

The lifespan builds, in order, the database engine, the document store (and its
writer thread) and the room manager, and takes them down in the reverse order:
rooms first (peers get 1001, pending writes finish), then the store (its queue
drains), then the engine.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from cluster.factory import fanout_for
from collab.config import RoomConfig
from collab.events import NO_EVENTS
from collab.manager import RoomManager
from collab.yencoding import DEFAULT_LIMITS
from storage.db import Durability, create_schema, exclusive_sqlite, serving_engine, sqlite_path
from storage.updates import SqlDocumentStore
from web import saving
from web.access import GrantCache
from web.authors_keeper import AuthorsKeeper, keeping_authors
from web.deps import Services, services_of
from web.headers import ApiHeaders
from web.housekeeping import purging, thinning
from web.linkwatch import CLUSTER_GRANT_AGE_S, LinkWatch, watching
from web.metrics import Metrics
from web.routes import (
    api,
    authors,
    comments,
    files,
    history,
    note_archive,
    pages,
    search,
    space_files,
    space_notes,
    space_search,
    spaces,
    ws,
)
from web.routes.metrics import router as metrics_router
from web.searchindex import indexing
from web.settings import Settings
from web.summary_keeper import SummaryKeeper, keeping

logger = logging.getLogger("web.app")


def room_config(settings: Settings) -> RoomConfig:
    """The room tunables that the settings control."""
    return RoomConfig(
        max_send_queue_messages=settings.max_send_queue_messages,
        max_awareness_state_bytes=settings.max_awareness_state_bytes,
        checkpoint_after_updates=settings.checkpoint_after_updates,
        checkpoint_after_idle_s=settings.checkpoint_after_idle_s,
        max_messages_per_s=settings.max_messages_per_s,
        message_burst=settings.message_burst,
        max_peers=settings.max_connections_per_note,
        limits=DEFAULT_LIMITS,
    )


class NotesApp(FastAPI):
    """FastAPI, with the websocket's way in ahead of the middleware stack and the router.

    A join needs neither: no middleware acts on a websocket, and the route's own
    checks (Origin, connections per address, the token's grant) are in
    :func:`web.routes.ws.note_socket`. Through them (route matching, dependency
    solving with a thread-pool hop for ``get_services``, seven middleware), a
    storm of 50 clients on a new note spent a quarter of the event loop's samples
    before the route ran (bench/README.md, "Spikes of issue 30"). Everything
    else, a websocket on another path included, goes through FastAPI.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = ws.token_in(scope["path"]) if scope["type"] == "websocket" else None
        if token is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # as Starlette sets it, for services_of
        websocket = WebSocket(scope, receive, send)
        await ws.note_socket(websocket, token, services_of(websocket))


def create_app(settings: Settings) -> FastAPI:
    """Build the app; nothing is opened until the lifespan starts."""
    app = NotesApp(
        title="collab-notes",
        lifespan=partial(_lifespan, settings),
        # The schema, but no docs page: FastAPI's loads Swagger UI from a CDN at a
        # floating version, with no integrity hash, on the notes' origin.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.add_middleware(ApiHeaders)
    api.install_error_handlers(app)
    saving.install(app)
    app.include_router(api.router)
    app.include_router(files.router)
    app.include_router(note_archive.router)
    app.include_router(history.router)
    app.include_router(authors.router)
    app.include_router(comments.router)
    app.include_router(spaces.router)
    app.include_router(space_notes.router)
    app.include_router(search.router)
    app.include_router(space_search.router)
    app.include_router(space_files.router)
    if settings.metrics:
        app.include_router(metrics_router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.include_router(pages.router)
    return app


@asynccontextmanager
async def _lifespan(settings: Settings, app: FastAPI) -> AsyncIterator[None]:
    """Open the database, the store and the rooms; close them in the reverse order."""
    # Over 40 lines: one ``async with`` holds every service open in the order they
    # depend on each other, so that they close in the reverse order.
    _make_parent_dir(settings.database_url)
    with exclusive_sqlite(settings.database_url):
        engine, full = serving_engine(settings.database_url, Durability(settings.durability))
        if full is not None:
            logger.warning(
                "%s: serving what is saved; saving fails until space is freed. Until this "
                "server restarts, it holds the database alone (SQLite could not write its "
                "-shm index): `collab-notes backup` and `check` cannot open it meanwhile",
                full,
                extra={"disk_full": True},
            )
        create_schema(engine)
        services: list[Services] = []
        metrics = Metrics()  # one registry per app: tests run several servers in a process

        def fatal(reason: str) -> None:
            # The writer stopped for good: /healthz says so, and `serve` exits
            # non-zero so that a supervisor restarts the process.
            for running in services:
                running.fatal = reason

        try:
            async with (
                SqlDocumentStore(
                    engine,
                    on_fatal=fatal,
                    stop_timeout_s=settings.shutdown_timeout_s,
                    version_gap_s=settings.version_gap_s,
                    on_commit=metrics.transaction_committed if settings.metrics else _ignore,
                ) as store,
                fanout_for(settings.redis_url, store, settings.redis_prefix) as fanout,
                RoomManager(
                    store,
                    room_config(settings),
                    grace_s=settings.room_grace_s,
                    max_rooms=settings.max_loaded_rooms,
                    events=metrics if settings.metrics else NO_EVENTS,
                    fanout=fanout,
                ) as rooms,
                purging(store, rooms, settings.deleted_note_retention_days, settings.history_days),
                thinning(store, settings.history_days),
                keeping(SummaryKeeper(engine, rooms, store)) as keeper,
                keeping_authors(engine) as authors_keeper,
                indexing(engine, store),
            ):
                clustered = fanout.clustered
                grants = GrantCache(max_age_s=CLUSTER_GRANT_AGE_S if clustered else None)
                links = LinkWatch(engine, rooms, grants) if clustered else None
                if links is not None:
                    fanout.hear_access(links.changed)
                rooms.on_closed = _both(keeper, authors_keeper)
                metrics.watch(rooms)
                if clustered:
                    metrics.watch_fanout(fanout)
                services.append(
                    Services(settings, engine, store, rooms, metrics, grants, summaries=keeper)
                )
                # What is made by now lives as long as the process: out of the garbage
                # collector's way. A full collection over it (100,000 objects) cost 60 ms
                # of CPU, and a large update's allocations set one off: every note waited.
                gc.freeze()
                app.state.services = services[0]
                logger.info(
                    "serving notes from %s (durability %s)",
                    engine.url.render_as_string(hide_password=True),
                    settings.durability,
                )
                async with watching(links):
                    yield
        finally:
            engine.dispose()


def _both(keeper: SummaryKeeper, authors: AuthorsKeeper) -> Callable[[int], None]:
    """Tell both keepers of a note whose room closed."""

    def closed(note: int) -> None:
        keeper.closed(note)
        authors.closed(note)

    return closed


def _ignore(updates: int) -> None:
    """With --no-metrics, the writer's commits are not counted."""


def _make_parent_dir(url: str) -> None:
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
