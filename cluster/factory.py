"""Which fan-out a process runs: :func:`fanout_for`.

Without ``--redis-url`` there is one process and :func:`fanout_for` gives
:data:`~collab.fanout.NO_FANOUT`. With it, :class:`cluster.redis_fanout.RedisFanout`
links the rooms of every process; it is imported only then, since a single
process needs no Redis driver (redis-py is an optional extra).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from collab.fanout import NO_FANOUT, Fanout
from collab.persistence import DocumentStore


@asynccontextmanager
async def fanout_for(
    redis_url: str, store: DocumentStore, prefix: str = "collab"
) -> AsyncIterator[Fanout]:
    """The fan-out for ``redis_url`` ("" for none), running for as long as the context is open.

    ``store`` is what the head check reads. ``prefix`` begins every Redis key and
    channel it uses (pub/sub ignores the database number: deployments sharing a
    Redis server need different prefixes).
    """
    if not redis_url:
        yield NO_FANOUT
        return
    from cluster.redis_fanout import RedisFanout  # redis is an optional extra: imported only here

    fanout = RedisFanout(redis_url, store, prefix=prefix)
    await fanout.start()
    try:
        yield fanout
    finally:
        await fanout.stop()
