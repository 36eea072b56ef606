"""What each scenario runs, in the full and in the --quick configuration.

Counts, rates and durations are parameters here and nowhere else; the README's
description of the scenarios follows the full configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.servers import (
    BASELINE,
    COLLAB,
    NO_METRICS,
    PEERS,
    POSTGRES,
    TWO_PROCESSES,
)

SCENARIOS = ("fanout", "throughput", "join", "idle", "restore")


@dataclass(frozen=True)
class Case:
    """One measurement: a scenario with its parameters."""

    scenario: str
    name: str
    params: dict[str, Any]
    timeout_s: float = 120.0


@dataclass(frozen=True)
class Config:
    """Every case, which servers each scenario runs against, and how often."""

    name: str
    runs: int
    cases: tuple[Case, ...]
    servers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Scenarios whose cases run one after another on one server start (each case
    # in rooms of its own). The others start a fresh server per case: idle, whose
    # memory baseline must be a server that never held a room, and restore, which
    # stops and restarts its server itself.
    shared_server: frozenset[str] = frozenset({"fanout", "throughput", "join"})

    def cases_of(self, scenario: str) -> list[Case]:
        return [case for case in self.cases if case.scenario == scenario]


# Which server configurations each scenario compares. The collab-notes variants
# appear only where they answer a question: durability normal where edits are
# written, permessage-deflate where large syncs are sent, PostgreSQL in one
# process and in two (with Redis between them) where edits cross processes.
SCALE_OUT = (POSTGRES, TWO_PROCESSES)
# Where edits are typed (fan-out, throughput): every configuration.
EDITING = (COLLAB, BASELINE, "collab-notes-normal", NO_METRICS, *SCALE_OUT, *PEERS)
SERVERS_BY_SCENARIO = {
    "fanout": EDITING,
    "throughput": EDITING,
    "join": (COLLAB, BASELINE, "collab-notes-deflate", *PEERS),
    "idle": (COLLAB, BASELINE, *PEERS),
    "restore": (COLLAB, BASELINE),
}


def _fanout(
    rooms: int,
    clients: int,
    *,
    warmup_s: float,
    measure_s: float,
    drain_s: float,
    recover_s: float = 36,
) -> Case:
    # recover_s: the stock y-websocket client gives up on a silent connection after
    # 30 s and reconnects, so a client stranded at the start has recovered by 36 s.
    params = {
        "rooms": rooms,
        "clients": clients,
        "writers": 1,
        "rate": 10,
        "sync_wait_s": 5,
        "warmup_s": warmup_s,
        "measure_s": measure_s,
        "drain_s": drain_s,
        "recover_s": recover_s,
        "seed": 7,
    }
    return Case("fanout", f"{rooms}x{clients}", params, timeout_s=150)


def _throughput(writers: int, *, warmup_s: float, measure_s: float) -> Case:
    params = {
        "writers": writers,
        "window": 50,
        "warmup_s": warmup_s,
        "measure_s": measure_s,
        "drain_s": 15,
        "max_edits": 500_000,
        "seed": 11,
    }
    return Case("throughput", f"{writers} writers", params, timeout_s=warmup_s + measure_s + 90)


def _join(note: str, clients: int, *, size: int = 0, structs: int = 0) -> Case:
    params = {
        "note": note,
        "clients": clients,
        "bytes": size,
        "structs": structs,
        "timeout_s": 60,
        "seed": 13,
    }
    label = {
        "large": f"{size / 1e6:g} MB note" if size >= 1e6 else f"{size // 1000} kB note",
        "history": f"{structs // 1000}k-struct history",
        "empty": "new empty note",
    }[note]
    return Case("join", f"{clients} clients, {label}", params, timeout_s=180)


def _idle(rooms: int, per_room: int, *, settle_s: float, idle_s: float) -> Case:
    params = {
        "rooms": rooms,
        "per_room": per_room,
        "batch": 100,
        "settle_s": settle_s,
        "idle_s": idle_s,
    }
    return Case(
        "idle",
        f"{rooms * per_room} connections / {rooms} rooms",
        params,
        timeout_s=settle_s + idle_s + 240,
    )


def _restore(updates: int) -> Case:
    return Case(
        "restore", f"{updates:,} updates", {"updates": updates, "timeout_s": 60}, timeout_s=120
    )


FULL = Config(
    name="full",
    runs=3,
    cases=(
        _fanout(1, 2, warmup_s=1, measure_s=5, drain_s=10),
        _fanout(1, 50, warmup_s=1, measure_s=5, drain_s=10),
        _fanout(20, 10, warmup_s=1, measure_s=5, drain_s=10),
        _throughput(2, warmup_s=1, measure_s=4),
        _throughput(10, warmup_s=1, measure_s=4),
        _join("large", 50, size=1_000_000),
        _join("history", 50, structs=30_000),
        _join("empty", 50),
        _idle(100, 10, settle_s=2, idle_s=16),
        _restore(100_000),
    ),
    servers=SERVERS_BY_SCENARIO,
)

QUICK = Config(
    name="quick",
    runs=1,
    cases=(
        _fanout(1, 2, warmup_s=0.5, measure_s=1, drain_s=5, recover_s=0),
        _fanout(2, 5, warmup_s=0.5, measure_s=1, drain_s=5, recover_s=0),
        _throughput(2, warmup_s=0.5, measure_s=1),
        _join("large", 10, size=100_000),
        _join("history", 10, structs=2_000),
        _join("empty", 10),
        _idle(5, 10, settle_s=0.5, idle_s=1),
        _restore(5_000),
    ),
    servers=SERVERS_BY_SCENARIO,
)
