"""What the app's lifespan builds, in one typed record that routes reach through ``deps``."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine

from collab.manager import RoomManager
from storage.updates import SqlDocumentStore
from web.access import GrantCache
from web.metrics import Metrics
from web.notices import ThrottledLog
from web.ratelimit import AddressRateLimit
from web.settings import Settings
from web.summaries import SummaryKeeper


@dataclass
class Services:
    """The running server's parts: built by ``create_app``'s lifespan, in this order."""

    settings: Settings
    engine: Engine
    store: SqlDocumentStore
    rooms: RoomManager
    metrics: Metrics
    grants: GrantCache = field(default_factory=GrantCache)
    connections: Counter[str] = field(default_factory=Counter)  # open websockets by address
    fatal: str | None = None  # set when the server cannot go on (the writer stopped)
    note_creations: AddressRateLimit = field(init=False)
    notices: ThrottledLog = field(default_factory=lambda: ThrottledLog(logging.getLogger("web")))
    summaries: SummaryKeeper | None = None  # keeps what the space lists show of each note

    def __post_init__(self) -> None:
        self.note_creations = AddressRateLimit(self.settings.max_notes_created_per_minute)
