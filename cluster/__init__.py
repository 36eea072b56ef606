"""Serving the same notes from several processes: the Redis adapter of :mod:`collab.fanout`.

:mod:`cluster.factory` picks the fan-out a process runs, :mod:`cluster.redis_fanout`
is the one over Redis, and :mod:`cluster.messages` the bytes its processes
exchange. This file holds no code: under pytest, ``tests/cluster`` and
``cluster/`` merge into one namespace package, and it is not run.
"""
