"""Serving the same notes from several processes: the Redis fan-out (``--redis-url``)."""
