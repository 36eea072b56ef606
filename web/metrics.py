"""The server's Prometheus metrics: what they are, and how they are fed.

Every app has a :class:`Metrics` of its own, with its own registry (never
prometheus_client's global one), so one process can run several servers (the
tests do). It is fed three ways:

* the rooms report to it as a :class:`collab.events.RoomEvents` (commit and
  broadcast latencies, storage failures), on the event loop;
* the store's writer thread reports each committed transaction
  (:meth:`Metrics.transaction_committed`);
* the websocket route reports each connection's close code.

Gauges (connections, loaded rooms) are read from the room manager when
``/metrics`` is scraped, so the keystroke path pays nothing for them and they
cannot drift. The "Metrics" section of docs/operations.md lists every metric with
its unit; new ones (Redis scale-out's, for instance) belong here and there.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collab.errors import CloseCode
from collab.fanout import Fanout
from collab.manager import RoomManager
from collab.peer import Role

LATENCY_BUCKETS_S = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""A commit takes about a millisecond with ``--durability normal`` and a few with
``full`` (one fsync); the upper buckets catch a disk in trouble."""
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
"""The writer commits at most 2000 jobs a transaction (``storage.writer.MAX_BATCH``)."""


class Metrics:
    """One server's metrics, in a registry of its own; a :class:`collab.events.RoomEvents`."""

    def __init__(self) -> None:
        # Over 40 lines: one declaration per metric, in the order docs/operations.md lists them.
        self.registry = CollectorRegistry()
        registry = self.registry
        self.updates_committed = Counter(
            "collab_updates_committed",
            "Updates appended to notes' logs and committed.",
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "collab_commit_seconds",
            "Seconds from an update's arrival to its commit.",
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.broadcast_seconds = Histogram(
            "collab_broadcast_seconds",
            "Seconds from an update's arrival to its broadcast to the note's other peers.",
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.write_batch_updates = Histogram(
            "collab_write_batch_updates",
            "Updates committed per transaction (group commit), across every note.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.connections_closed = Counter(
            "collab_connections_closed",
            "Websocket connections closed, by close code (1000: the peer closed it).",
            ["code"],
            registry=registry,
        )
        self.storage_errors = Counter(
            "collab_storage_errors",
            "Failed loads of notes, appends of updates and checkpoints of notes.",
            registry=registry,
        )
        self.catchup_reads = Counter(
            "collab_catchup_reads",
            "Reads of a note's log for updates other processes committed (after a gap in "
            "the fan-out's positions, a head check or a Redis reconnect).",
            registry=registry,
        )
        for code in CloseCode:  # every code shows from the start, at 0
            self.connections_closed.labels(str(code.value))
        # The process's CPU, memory and file descriptors, and Python's garbage collector,
        # as in prometheus_client's default registry.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)

    def watch(self, rooms: RoomManager) -> None:
        """Read the connection and room gauges from ``rooms`` at each scrape."""
        self.registry.register(_RoomGauges(rooms))

    def watch_fanout(self, fanout: Fanout) -> None:
        """Read the Redis fan-out's state and message counts at each scrape."""
        self.registry.register(_FanoutMetrics(fanout))

    # -- collab.events.RoomEvents, on the event loop ----------------------------------

    def update_committed(self, waited_s: float) -> None:
        self.commit_seconds.observe(waited_s)

    def update_broadcast(self, waited_s: float) -> None:
        self.broadcast_seconds.observe(waited_s)

    def storage_failed(self) -> None:
        self.storage_errors.inc()

    def log_read(self) -> None:
        self.catchup_reads.inc()

    # -- the other reporters -------------------------------------------------------------

    def transaction_committed(self, updates: int) -> None:
        """The writer committed a transaction holding ``updates`` appends (its own thread)."""
        self.updates_committed.inc(updates)
        self.write_batch_updates.observe(updates)

    def connection_closed(self, code: int) -> None:
        """A websocket connection ended with ``code``."""
        self.connections_closed.labels(str(code)).inc()


class _RoomGauges(Collector):
    """``collab_connections`` and ``collab_rooms_loaded``, read from the manager.

    Collected on the event loop (``/metrics`` is an async route), so it reads the
    manager's state between two of its steps, never in the middle of one.
    """

    def __init__(self, rooms: RoomManager) -> None:
        self._rooms = rooms

    def collect(self) -> Iterator[Metric]:
        rooms = self._rooms.rooms
        roles = collections.Counter(
            peer.role for room in rooms.values() for peer in room.peers() if not peer.closing
        )
        connections = GaugeMetricFamily(
            "collab_connections",
            "Websocket connections served in a loaded room, by role.",
            labels=["role"],
        )
        for role in Role:
            connections.add_metric([role.value], roles[role])
        yield connections
        yield GaugeMetricFamily(
            "collab_rooms_loaded", "Notes loaded in memory (rooms open).", value=len(rooms)
        )


class _FanoutMetrics(Collector):
    """The Redis fan-out's metrics, read from it at each scrape (so it pays nothing)."""

    def __init__(self, fanout: Fanout) -> None:
        self._fanout = fanout

    def collect(self) -> Iterator[Metric]:
        fanout = self._fanout.counts()
        yield GaugeMetricFamily(
            "collab_redis_connected",
            "1 while this process is subscribed to Redis and hears from it, else 0.",
            value=int(fanout.connected),
        )
        yield CounterMetricFamily(
            "collab_redis_outages",
            "Times this process lost Redis (each is logged once, when it begins).",
            value=fanout.outages,
        )
        messages = CounterMetricFamily(
            "collab_fanout_messages",
            "Fan-out messages: published to Redis, received from other processes, or "
            "dropped unsent while Redis was unreachable (the head check repairs those).",
            labels=["direction"],
        )
        messages.add_metric(["published"], fanout.published)
        messages.add_metric(["received"], fanout.received)
        messages.add_metric(["dropped"], fanout.dropped)
        yield messages
