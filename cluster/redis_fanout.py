"""The Redis fan-out: several processes serving the same notes, the database the only truth.

A process that commits an update broadcasts it to its own peers, then publishes
it on the note's channel (``collab:note:<id>``); every other process with the
note open applies it and broadcasts it to its peers. Redis is a doorbell:

* Redis pub/sub loses messages (a restart, a slow subscriber), so a room that
  sees positions skip reads the log from the database (:mod:`collab.logsync`),
  and every :attr:`RedisFanout.head_check_s` one query reads the heads of all
  the open notes and sends the rooms that are behind to read the log too. With
  Redis down, peers still converge this way; nothing is lost, only latency.
* One supervised task owns the subscription: when Redis goes away it retries
  with backoff, re-subscribes, says hello again on every open note (to relearn
  presence) and runs a head check at once. The log says so once per outage.
* Every process keeps a heartbeat key alive (``collab:alive:<origin>``, expiring
  after :attr:`RedisFanout.alive_ttl_s`); when one vanishes (a SIGKILL), the
  others forget its peers' presence within a few seconds, not the awareness
  protocol's 30.

Publishing never waits on Redis: messages queue for one publisher task, which
drops them while Redis is away (the head check repairs what that loses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from cluster.messages import BadMessage, Kind, Message, decode, encode, new_origin
from collab.fanout import FanoutCounts, RemoteRoom
from collab.persistence import DocumentStore

logger = logging.getLogger("cluster.redis_fanout")

MAX_CARRIED_BYTES = 64 * 1024  # a larger update travels as a doorbell: read from the log
MAX_QUEUED = 10_000  # messages waiting for the publisher; past that, new ones are dropped
_OUTAGE_ERRORS = (RedisError, OSError, asyncio.TimeoutError)


class RedisFanout:
    """Carries committed edits, presence and link changes between processes through Redis."""

    clustered = True

    def __init__(
        self,
        url: str,
        store: DocumentStore,
        *,
        prefix: str = "collab",
        head_check_s: float = 1.0,
        alive_ttl_s: float = 5.0,
        max_carried_bytes: int = MAX_CARRIED_BYTES,
    ) -> None:
        """Fan out through the Redis at ``url``; ``store`` is what the head check reads."""
        self.origin = new_origin()
        self.head_check_s = head_check_s
        self.alive_ttl_s = alive_ttl_s
        self.published = self.received = self.dropped = self.outages = 0
        self._url = url
        self._store = store
        self._on_access: Callable[[int], None] = lambda note: None
        self._prefix = prefix
        self._control = f"{prefix}:control"
        self._max_carried = max_carried_bytes
        self._redis: aioredis.Redis = aioredis.from_url(
            url,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            # Once, at once: a pooled connection from before a Redis restart fails on
            # first use. Anything longer is an outage, which the supervisor handles.
            retry=Retry(NoBackoff(), 1),
        )
        self._rooms: dict[int, RemoteRoom] = {}
        self._heard: dict[str, set[int]] = {}  # other origins, and the notes they spoke in
        self._queue: deque[tuple[str, bytes]] = deque()
        self._queued = asyncio.Event()
        self._up = asyncio.Event()  # subscribed and heard from
        self._up_since = 0.0
        self._down_since: float | None = None
        self._resync = asyncio.Event()  # run a head check now
        self._subscribed: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []

    def counts(self) -> FanoutCounts:
        up = self._up.is_set()
        return FanoutCounts(up, self.published, self.received, self.dropped, self.outages)

    def follows(self, note: int) -> bool:
        """Whether this process hears the note's channel now."""
        return note in self._subscribed

    def _channel(self, note: int) -> str:
        return f"{self._prefix}:note:{note}"

    def _alive_key(self, origin: str) -> str:
        return f"{self._prefix}:alive:{origin}"

    # -- lifetime ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening, publishing and checking; returns at once, Redis up or not."""
        loop = asyncio.get_running_loop()
        for work in (self._listen, self._publish_queued, self._heartbeat, self._check_heads):
            self._tasks.append(loop.create_task(work(), name=f"fanout {work.__name__}"))
        logger.info(
            "fan-out through %s (prefix %s) as process %s",
            _safe(self._url),
            self._prefix,
            self.origin[:8],
            extra={"origin": self.origin, "prefix": self._prefix},
        )

    async def stop(self) -> None:
        """Tell the others this process's peers are gone, then stop."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._up.is_set():
            with contextlib.suppress(*_OUTAGE_ERRORS):
                async with asyncio.timeout(1.0):
                    await self._redis.publish(
                        self._control, encode(Message(Kind.GONE, self.origin))
                    )
                    await self._redis.delete(self._alive_key(self.origin))
        await self._redis.aclose()

    # -- what rooms and routes call (collab.fanout.Fanout) -------------------------------

    def watch(self, room: RemoteRoom) -> None:
        self._rooms[room.note] = room
        self._resync.set()  # subscribe (the listener does) and check its head soon

    def unwatch(self, room: RemoteRoom) -> None:
        if self._rooms.get(room.note) is room:
            del self._rooms[room.note]
            for notes in self._heard.values():
                notes.discard(room.note)

    def committed(self, note: int, position: int, update: bytes) -> None:
        carried = len(update) <= self._max_carried  # a larger one rings: read it from the log
        kind, payload = (Kind.COMMITTED, update) if carried else (Kind.DOORBELL, b"")
        self._send(note, Message(kind, self.origin, position, payload=payload))

    def presence(self, note: int, payload: bytes) -> None:
        self._send(note, Message(Kind.PRESENCE, self.origin, payload=payload))

    def peers(self, note: int, count: int) -> None:
        self._send(note, Message(Kind.PEERS, self.origin, count=count))

    def notice(self, note: int, position: int, notice: str) -> None:  # best effort, as presence
        self._send(note, Message(Kind.NOTICE, self.origin, position, payload=notice.encode()))

    def access_changed(self, note: int) -> None:
        """This process changed the note's links: the others check their peers of it."""
        self._enqueue(self._control, encode(Message(Kind.ACCESS, self.origin, position=note)))

    def hear_access(self, changed: Callable[[int], None]) -> None:
        self._on_access = changed

    def _send(self, note: int, message: Message) -> None:
        self._enqueue(self._channel(note), encode(message))

    def _enqueue(self, channel: str, data: bytes) -> None:
        if not self._up.is_set() or len(self._queue) >= MAX_QUEUED:
            self.dropped += 1  # the head check and the hello after reconnecting repair it
            return
        self._queue.append((channel, data))
        self._queued.set()

    # -- publishing ----------------------------------------------------------------------

    async def _publish_queued(self) -> None:
        while True:
            await self._queued.wait()
            self._queued.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), 512))]
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for channel, data in batch:
                            pipe.publish(channel, data)
                        await pipe.execute()
                    self.published += len(batch)
                except _OUTAGE_ERRORS as error:
                    self.dropped += len(batch) + len(self._queue)
                    self._queue.clear()
                    self._lost(error)

    # -- listening -----------------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = 0.05
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._control)
                self._subscribed = set()
                await self._follow_rooms(pubsub)
                self._back()
                backoff = 0.05
                while True:
                    if not self._up.is_set():
                        raise ConnectionError("Redis stopped answering")
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
                    if message is not None and message["type"] == "message":
                        self._dispatch(message["channel"], message["data"])
                    if self._subscribed != self._rooms.keys():
                        await self._follow_rooms(pubsub)
            except asyncio.CancelledError:
                raise
            except _OUTAGE_ERRORS as error:
                self._lost(error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
            except Exception:  # a bug: log it, and keep the fan-out alive
                logger.exception("the fan-out listener failed; restarting it")
                self._up.clear()
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _follow_rooms(self, pubsub: Any) -> None:
        """Subscribe to the open notes' channels and leave the closed ones'."""
        opened = self._rooms.keys() - self._subscribed
        closed = self._subscribed - self._rooms.keys()
        if closed:
            await pubsub.unsubscribe(*(self._channel(note) for note in closed))
            self._subscribed -= closed
        if opened:
            await pubsub.subscribe(*(self._channel(note) for note in opened))
            self._subscribed |= opened
            for note in opened:  # messages sent before we listened: the head check reads them
                self._hello(note)
            self._resync.set()

    def _hello(self, note: int) -> None:
        """Ask the note's other processes who is present; tell them who is here."""
        room = self._rooms.get(note)
        if room is None:
            return
        self._send(note, Message(Kind.HELLO, self.origin))
        self._introduce(room)

    def _introduce(self, room: RemoteRoom) -> None:
        payload = room.present_local()
        if payload is not None:
            self.presence(room.note, payload)
        if room.peers_here():
            self.peers(room.note, room.peers_here())

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        try:
            message = decode(data)
        except BadMessage as error:
            logger.warning("ignored a message on %r: %s", channel, error)
            return
        if message.origin == self.origin:
            return
        self.received += 1
        if channel == self._control.encode():
            if message.kind is Kind.GONE:
                self._forget_process(message.origin)
            elif message.kind is Kind.ACCESS:
                self._on_access(message.position)
            return
        try:
            note = int(channel.rsplit(b":", 1)[1])
        except ValueError:
            return
        room = self._rooms.get(note)
        if room is None:
            return
        self._heard.setdefault(message.origin, set()).add(note)
        kind = message.kind
        if kind in (Kind.COMMITTED, Kind.DOORBELL):  # a doorbell carries no update
            room.remote_committed(message.position, message.payload or None)
        elif kind is Kind.PRESENCE:
            room.remote_presence(message.origin, message.payload)
        elif kind is Kind.PEERS:
            room.remote_peers(message.origin, message.count)
        elif kind is Kind.HELLO:
            self._introduce(room)
        elif kind is Kind.NOTICE:
            room.remote_notice(message.position, message.payload.decode())

    def _forget_process(self, origin: str) -> None:
        for note in self._heard.pop(origin, set()):
            room = self._rooms.get(note)
            if room is not None:
                room.remote_gone(origin)

    # -- outages -------------------------------------------------------------------------

    def _lost(self, error: BaseException) -> None:
        """Redis went away: say so once per outage."""
        self._up.clear()
        if self._down_since is None:
            self._down_since = time.monotonic()
            self.outages += 1
            logger.warning(
                "Redis is unreachable (%s): fan-out paused; peers on other processes still "
                "converge through the database every %.1f s",
                error or type(error).__name__,
                self.head_check_s,
                extra={"redis": _safe(self._url)},
            )

    def _back(self) -> None:
        self._up_since = time.monotonic()
        self._up.set()
        if self._down_since is not None:
            down_s = time.monotonic() - self._down_since
            self._down_since = None
            logger.warning(
                "Redis is back after %.1f s: fan-out resumed", down_s, extra={"down_s": down_s}
            )
        for room in list(self._rooms.values()):  # what we missed, and who is here now
            self._hello(room.note)
        self._resync.set()

    # -- periodic work -------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        """Keep this process's key alive; judge the others' by theirs."""
        interval = self.alive_ttl_s / 5
        while True:
            if self._up.is_set():
                try:
                    async with asyncio.timeout(interval * 2):
                        await self._redis.set(
                            self._alive_key(self.origin), b"1", px=int(self.alive_ttl_s * 1000)
                        )
                        await self._check_alive()
                except _OUTAGE_ERRORS as error:
                    self._lost(error)
            await asyncio.sleep(interval)

    async def _check_alive(self) -> None:
        # Keys vanish while Redis restarts: judge only once everyone had time to renew.
        if not self._heard or time.monotonic() - self._up_since < self.alive_ttl_s / 2:
            return
        origins = list(self._heard)
        alive = await self._redis.exists(*(self._alive_key(o) for o in origins))
        if alive == len(origins):
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for origin in origins:
                pipe.exists(self._alive_key(origin))
            found = await pipe.execute()
        for origin, exists in zip(origins, found, strict=True):
            if not exists:
                logger.warning(
                    "process %s stopped answering: its peers are gone",
                    origin[:8],
                    extra={"origin": origin},
                )
                self._forget_process(origin)

    async def _check_heads(self) -> None:
        """Send every open room that is behind its note's log to read it."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.head_check_s):
                    await self._resync.wait()
            self._resync.clear()
            rooms = dict(self._rooms)
            if not rooms:
                continue
            try:
                heads = await self._store.heads(list(rooms))
            except Exception as error:  # the database is away: rooms recover when it is back
                logger.debug("head check failed: %s", error)
                await asyncio.sleep(self.head_check_s)
                continue
            for note, head in heads.items():
                room = rooms[note]
                if self._rooms.get(note) is room:
                    room.remote_head(head)


def _safe(url: str) -> str:
    """The URL without its password, for the log."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
